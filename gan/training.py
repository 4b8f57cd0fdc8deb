"""The training loop: epochs of crop batches, validation, checkpoints, logs and exports.

Side effects live in small functions called after each epoch: the checkpoint (resumable),
the CSV log, the loss-curve PNG, the sample grid and the best model's `.keras` export.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan.backend import built_in_bfloat16, keras
from gan.checkpoint import load_checkpoint, read_checkpoint_meta, save_checkpoint
from gan.data import CropSampler, Pair, check_size
from gan.discriminator import build_discriminator
from gan.errors import UserError
from gan.gan_model import LossWeights, LowLightGAN
from gan.generator import build_generator, check_architecture
from gan.losses import GAN_TYPES
from gan.model_io import load_generator, save_generator
from gan.validation import validate


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run; stored in the checkpoint and checked on resume."""

    epochs: int = 100
    steps_per_epoch: int = 200
    batch_size: int = 8
    crop: int = 128
    width: int = 32
    res_blocks: int = 2
    levels: int = 2
    disc_width: int = 32
    lr: float = 3e-4
    min_lr_ratio: float = 0.05
    l1_weight: float = 1.0
    ssim_weight: float = 0.5
    adv_weight: float = 0.0
    gan_type: str = "lsgan"
    ema_decay: float = 0.999
    seed: int = 0
    bfloat16: bool = False

    ARCHITECTURE = ("width", "res_blocks", "levels", "disc_width")

    def __post_init__(self) -> None:
        check_architecture(width=self.width, levels=self.levels, res_blocks=self.res_blocks)
        for name in ("epochs", "steps_per_epoch", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1. Received: {getattr(self, name)}")
        check_size("crop", self.crop)
        if not self.lr > 0:
            raise ValueError(f"`lr` must be > 0. Received: {self.lr}")
        for name in ("l1_weight", "ssim_weight", "adv_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0. Received: {getattr(self, name)}")
        if self.gan_type not in GAN_TYPES:
            raise ValueError(f"`gan_type` must be one of {', '.join(GAN_TYPES)}. "
                             f"Received: {self.gan_type!r}")


@dataclass
class EpochResult:
    epoch: int
    losses: dict[str, float]
    val_psnr: float
    val_ssim: float
    is_best: bool


def build_gan(config: TrainConfig) -> LowLightGAN:
    """Generator, discriminator and EMA copy under the run's precision, compiled; their
    initial weights drawn from `config.seed` (the same whatever ran before in the process)."""
    keras.utils.set_random_seed(config.seed)
    with built_in_bfloat16(config.bfloat16):
        shape = dict(width=config.width, res_blocks=config.res_blocks, levels=config.levels)
        generator = build_generator(**shape)
        ema = build_generator(**shape, name="ema")
        ema.set_weights(generator.get_weights())
        discriminator = build_discriminator(width=config.disc_width)
    gan = LowLightGAN(generator, discriminator, ema,
                      weights=LossWeights(config.l1_weight, config.ssim_weight, config.adv_weight),
                      gan_type=config.gan_type, ema_decay=config.ema_decay)
    gan.compile(g_optimizer=keras.optimizers.Adam(config.lr, beta_1=0.9, beta_2=0.99),
                d_optimizer=keras.optimizers.Adam(config.lr, beta_1=0.5, beta_2=0.999))
    return gan


def export_generator(gan: LowLightGAN, config: TrainConfig) -> keras.Model:
    """A float32 copy of the EMA generator: the model that ships and that validation scores."""
    model = build_generator(width=config.width, res_blocks=config.res_blocks, levels=config.levels)
    model.set_weights([np.asarray(w, np.float32) for w in gan.ema.get_weights()])
    return model


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """Cosine decay from `lr` to `lr·min_lr_ratio` over the run's epochs."""
    t = min(epoch / max(config.epochs - 1, 1), 1.0)
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


# `Trainer(data=...)` keys that must match on resume (the others, paths, are only recorded).
RESUMED_DATA_OPTIONS = frozenset({"sources", "simulate_ratio", "simulator", "half_size_ratio",
                                  "frames_per_video"})


class Trainer:
    """Runs (and resumes) a training run writing into `out_dir`."""

    def __init__(self, config: TrainConfig, sampler: CropSampler, val_pairs: Sequence[Pair],
                 out_dir: str | Path, *, resume: bool = False,
                 init_model: str | Path | keras.Model | None = None, data: dict | None = None):
        if keras.backend.backend() != "tensorflow":
            raise UserError(f"training runs on the TensorFlow backend (this is "
                            f"{keras.backend.backend()}): pip install tensorflow")
        self.config, self.sampler, self.val_pairs = config, sampler, list(val_pairs)
        self.data = data or {}  # the data options (`train`'s), stored and checked on resume
        self.out = Path(out_dir)
        if self.out.exists() and not self.out.is_dir():
            raise UserError(f"--out {self.out} is a file: give a folder for the run")
        self.checkpoint_path = self.out / "checkpoint.npz"
        self.gan = build_gan(config)
        self.start_epoch, self.best_psnr = 0, -math.inf
        if resume and self.checkpoint_path.exists():
            self._check_resumable()
            meta = load_checkpoint(self.checkpoint_path, self.gan)
            self.start_epoch, self.best_psnr = meta["epoch"], meta["best_psnr"]
        elif resume:
            raise UserError(f"--resume: no checkpoint at {self.checkpoint_path}")
        elif self.checkpoint_path.exists() or (self.out / "log.csv").exists():
            raise UserError(f"{self.out} already holds a run: add --resume, or choose another --out")
        elif init_model is not None:
            if not isinstance(init_model, keras.Model):
                init_model = load_generator(init_model, fold=False)
            weights = init_model.get_weights()
            try:
                self.gan.generator.set_weights(weights)
                self.gan.ema.set_weights(weights)
            except ValueError:
                raise UserError(f"--from: the model's architecture differs from --width "
                                f"{config.width} --levels {config.levels} --res-blocks "
                                f"{config.res_blocks}") from None
        self.out.mkdir(parents=True, exist_ok=True)

    def _check_resumable(self) -> None:
        meta = read_checkpoint_meta(self.checkpoint_path)
        saved = meta["config"]
        for key in TrainConfig.ARCHITECTURE:
            was = saved.get(key, getattr(TrainConfig(), key))  # older checkpoints lack new keys
            if was != getattr(self.config, key):
                raise UserError(f"--resume: checkpoint has {key}={was}, "
                                f"this run asks for {getattr(self.config, key)}")
        # Data options change what the run learns from: resuming with others is a new recipe.
        # (Older checkpoints lack them; paths may differ, e.g. on another machine.)
        saved_data = meta.get("data") or {}
        for key in sorted(RESUMED_DATA_OPTIONS & saved_data.keys() & self.data.keys()):
            if saved_data[key] != self.data[key]:
                name = key if key == "sources" else f"--{key.replace('_', '-')}"
                raise UserError(f"--resume: the run was trained with {name} {saved_data[key]}, "
                                f"this run asks for {self.data[key]}")

    def run(self, on_step: Callable[[int, int, dict], None] | None = None,
            on_epoch: Callable[[EpochResult], None] | None = None) -> None:
        """Train from `start_epoch` to `config.epochs`, checkpointing after every epoch."""
        for epoch in range(self.start_epoch, self.config.epochs):
            lr = learning_rate(self.config, epoch)
            self.gan.g_optimizer.learning_rate.assign(lr)
            self.gan.d_optimizer.learning_rate.assign(lr)
            self.gan.reset_metrics()
            logs: dict = {}
            for step in range(self.config.steps_per_epoch):
                x, y = self.sampler.batch(epoch, step)
                logs = self.gan.train_on_batch(x, y, return_dict=True)
                if on_step:
                    on_step(epoch, step, logs)
            result = self._end_epoch(epoch, {k: float(v) for k, v in logs.items()})
            if on_epoch:
                on_epoch(result)

    def _end_epoch(self, epoch: int, losses: dict[str, float]) -> EpochResult:
        model = export_generator(self.gan, self.config)
        val_psnr, val_ssim = validate(model, self.val_pairs) if self.val_pairs else (math.nan, math.nan)
        is_best = not self.val_pairs or val_psnr > self.best_psnr
        if is_best:
            self.best_psnr = val_psnr if self.val_pairs else self.best_psnr
            save_generator(model, self.out / "best.keras")
        save_checkpoint(self.checkpoint_path, self.gan, epoch=epoch + 1, best_psnr=self.best_psnr,
                        config=dataclasses.asdict(self.config), data=self.data)
        result = EpochResult(epoch + 1, losses, val_psnr, val_ssim, is_best)
        append_log(self.out / "log.csv", result)
        from gan.reports import plot_curves, sample_grid  # matplotlib only when reporting

        plot_curves(self.out / "log.csv", self.out / "loss_curve.png")
        if self.val_pairs:
            sample_grid(model, self.val_pairs[:4], self.out / "samples.png")
        return result


LOG_COLUMNS = ("epoch", "val_psnr", "val_ssim", "l_g_pix", "l_g_ssim", "l_g_gan", "l_d_real",
               "l_d_fake")


def append_log(path: Path, result: EpochResult) -> None:
    """One CSV row per epoch, under a fixed header (losses a run does not use stay empty)."""
    row = {"epoch": result.epoch, "val_psnr": round(result.val_psnr, 4),
           "val_ssim": round(result.val_ssim, 4), **{k: round(v, 5) for k, v in result.losses.items()}}
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=LOG_COLUMNS, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)
