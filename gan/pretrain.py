"""Reconstruction pre-training (L1 + SSIM) with `Model.fit`, on any Keras backend.

`train` (`gan.training`) runs the conditional GAN and needs TensorFlow. This first phase
needs only a loss, so it is plain Keras and runs where TensorFlow is absent: a GPU machine
with the JAX backend. Pairs are simulated on the fly from normal-light images by worker
processes, so the model never sees the same noise twice; training stops when a wall-clock
budget is spent, with a cosine learning rate over that budget. It writes a float32
generator `.keras` (EMA weights) that `train --from` fine-tunes, adversarially if asked.

    python -m gan.pretrain CLEAN_DIR --out runs/pre --minutes 7 --levels 3 --res-blocks 4
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import math
import multiprocessing
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer

from gan.backend import built_in_bfloat16, keras
from gan.cli import run_app
from gan.data import CropSampler, check_size, frames_for_crops
from gan.errors import UserError, exit_on_error, option_errors
from gan.frame_io import load_images
from gan.generator import build_generator, check_architecture
from gan.losses import pixel_losses
from gan.model_io import save_generator, with_compute_dtype
from gan.simulate import SimulatorConfig, simulate_lowlight

_SAMPLER: CropSampler | None = None


def _init_worker(clean_dir: str, crop: int, batch_size: int, wide_share: float) -> None:
    """Worker start: load the clean images once and build this process's sampler."""
    global _SAMPLER
    cv2.setNumThreads(1)  # one simulation per process; the processes are the parallelism
    default, wide = SimulatorConfig.default(), SimulatorConfig.wide()
    if importlib.util.find_spec("av") is None:  # no FFmpeg here: no codec round trips
        wide = dataclasses.replace(wide, codec_prob=0.0)

    def simulate(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return simulate_lowlight(clean, rng, wide if rng.random() < wide_share else default)[0]

    clean = [rgb for _, rgb in load_images(clean_dir)]
    _SAMPLER = CropSampler([], crop=crop, batch_size=batch_size, clean=clean, simulator=simulate,
                           simulate_ratio=1.0)


def _make_batch(index: int) -> tuple[np.ndarray, np.ndarray]:
    return _SAMPLER.batch(index, 0)


def simulated_batches(pool, workers: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless (low, high) batches, `2 × workers` always in flight, in order."""
    # Pool.imap would consume an endless index stream eagerly; a bounded window does not.
    ahead = 2 * workers
    pending = deque(pool.apply_async(_make_batch, (seed + i,)) for i in range(ahead))
    index = seed + ahead
    while True:
        batch = pending.popleft().get()
        pending.append(pool.apply_async(_make_batch, (index,)))
        index += 1
        yield batch


def reconstruction_loss(l1_weight: float = 1.0, ssim_weight: float = 0.5):
    """The pixel terms of `train`'s generator loss, in float32 whatever the compute dtype."""
    def loss(target, output):
        target, output = keras.ops.cast(target, "float32"), keras.ops.cast(output, "float32")
        terms = pixel_losses(target, output, l1_weight=l1_weight, ssim_weight=ssim_weight)
        return sum(terms.values())
    return loss


class TimeBudget(keras.callbacks.Callback):
    """Cosine learning rate over wall-clock time; stops when `seconds` are spent.

    Each epoch also exports the current (non-EMA) weights, so a run cut short leaves a model.
    """

    def __init__(self, seconds: float, lr: float, min_lr: float, out: Path):
        super().__init__()
        self.seconds, self.lr, self.min_lr, self.out = seconds, lr, min_lr, out
        self.started = time.monotonic()

    def fraction(self) -> float:
        return min(1.0, (time.monotonic() - self.started) / self.seconds)

    def on_epoch_begin(self, epoch, logs=None):
        cosine = 0.5 * (1 + math.cos(math.pi * self.fraction()))
        self.model.optimizer.learning_rate = self.min_lr + (self.lr - self.min_lr) * cosine

    def on_epoch_end(self, epoch, logs=None):
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row = {"epoch": epoch + 1, "seconds": round(time.monotonic() - self.started, 1),
               "lr": f"{lr:.3g}", "loss": f"{logs['loss']:.5f}"}
        log = self.out / "log.csv"
        with log.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if f.tell() == 0:
                writer.writeheader()
            writer.writerow(row)
        print(row, flush=True)
        save_generator(with_compute_dtype(self.model, "float32"), self.out / "last.keras")
        if self.fraction() >= 1.0:
            self.model.stop_training = True


def pretrain(clean_dir: Path, out: Path, *, minutes: float, width: int, levels: int,
             res_blocks: int, crop: int, batch_size: int, steps_per_epoch: int, lr: float,
             wide_share: float, workers: int, bfloat16: bool, seed: int = 0) -> Path:
    """Train a fresh generator for `minutes` and export it; returns the `.keras` path."""
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    with built_in_bfloat16(bfloat16):
        model = build_generator(width=width, levels=levels, res_blocks=res_blocks)
    model.compile(optimizer=keras.optimizers.Adam(lr, beta_2=0.99, use_ema=True,
                                                  ema_momentum=0.999),
                  loss=reconstruction_loss())
    print(f"generator: width {width}, levels {levels}, res blocks {res_blocks}, "
          f"{model.count_params():,} parameters; backend {keras.backend.backend()}", flush=True)
    # Spawned, not forked: forking a process that holds a GPU runtime can deadlock.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, _init_worker, (str(clean_dir), crop, batch_size, wide_share)) as pool:
        budget = TimeBudget(minutes * 60, lr, lr * 0.02, out)
        model.fit(simulated_batches(pool, workers, seed * 10**9), epochs=10**6,
                  steps_per_epoch=steps_per_epoch, callbacks=[budget], shuffle=False, verbose=0)
    path = out / "generator.keras"  # fit ends by swapping the EMA weights in
    save_generator(with_compute_dtype(model, "float32"), path)
    return path


def main(
    clean: Annotated[Path, typer.Argument(help="Folder of normal-light images.")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("runs/pretrain"),
    minutes: Annotated[float, typer.Option(help="Wall-clock training budget.")] = 10.0,
    width: Annotated[int, typer.Option(min=1)] = 32,
    levels: Annotated[int, typer.Option(min=1)] = 3,
    res_blocks: Annotated[int, typer.Option(min=0)] = 4,
    crop: Annotated[int, typer.Option(min=8)] = 256,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    steps_per_epoch: Annotated[int, typer.Option(min=1)] = 200,
    lr: Annotated[float, typer.Option()] = 4e-4,
    wide_share: Annotated[float, typer.Option(min=0, max=1, help="Share of crops from the wide "
                                                                "simulator.")] = 0.35,
    workers: Annotated[int, typer.Option(min=1, help="Simulation processes.")] = 4,
    bfloat16: Annotated[bool, typer.Option(help="Mixed bfloat16 compute.")] = False,
) -> None:
    with exit_on_error():
        if not minutes > 0 or not lr > 0:
            raise UserError(f"--minutes and --lr must be > 0. Received: {minutes}, {lr}")
        # Checked here, as the workers' CropSampler would: a worker that fails to start is
        # restarted by the pool, forever.
        with option_errors():
            check_size("crop", crop)
            check_architecture(width=width, levels=levels, res_blocks=res_blocks)
        frames_for_crops([rgb for _, rgb in load_images(clean)], crop)
        path = pretrain(clean, out, minutes=minutes, width=width, levels=levels,
                        res_blocks=res_blocks, crop=crop, batch_size=batch_size,
                        steps_per_epoch=steps_per_epoch, lr=lr, wide_share=wide_share,
                        workers=workers, bfloat16=bfloat16)
    print(f"wrote {path}")


app = typer.Typer(add_completion=False)
app.command()(main)

if __name__ == "__main__":
    run_app(app, "python -m gan.pretrain")
