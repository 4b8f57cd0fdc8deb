"""`train`: train or fine-tune the generator on paired frames and/or simulated pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gan.cli import run_app
from gan.errors import UserError, exit_on_error, option_errors

app = typer.Typer(add_completion=False, help=__doc__)


def _pairs(data: Path | None, low: Path | None, high: Path | None, frames: int):
    from gan.data import load_pairs, load_video_pairs

    pairs = load_pairs(data) if data is not None else []
    if (low is None) != (high is None):
        raise UserError("paired videos need both --low and --high")
    if low is not None:
        pairs += load_video_pairs(low, high, frames)
    return pairs


def json_ready(options: dict) -> dict:
    """`options` with paths (and lists of them) as strings."""
    def plain(value):
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return str(value) if isinstance(value, Path) else value

    return {key: plain(value) for key, value in options.items()}


def _simulator(preset: str):
    from gan.simulate import PRESETS, simulate_lowlight

    if preset not in PRESETS:
        raise UserError(f"unknown --simulator {preset!r}: use {' or '.join(PRESETS)}")
    config = PRESETS[preset]()

    def simulate(clean, rng):
        return simulate_lowlight(clean, rng, config)[0]

    return simulate


@app.command()
def train(
    data: Annotated[Path | None, typer.Argument(help="Folder with low/ and high/ (or LOL layouts).")] = None,
    out: Annotated[Path, typer.Option(help="Run folder: checkpoint, logs, best.keras.")
                   ] = Path("runs/default"),
    epochs: int = 100,
    steps_per_epoch: int = 200,
    batch_size: int = 8,
    crop: Annotated[int, typer.Option(help="Training crop size (multiple of 8).")] = 128,
    width: Annotated[int, typer.Option(help="Generator width (64 = the seed's size).")] = 32,
    res_blocks: int = 2,
    levels: Annotated[int, typer.Option(help="Times the generator halves the resolution (1-3).")
                      ] = 2,
    lr: float = 3e-4,
    adv_weight: Annotated[float, typer.Option(help="Adversarial weight (0 = L1+SSIM only).")] = 0.0,
    ssim_weight: float = 0.5,
    gan_type: Annotated[str, typer.Option(help="vanilla, lsgan or hinge.")] = "lsgan",
    val: Annotated[Path | None, typer.Option(help="Validation pairs (default: 10% of DATA).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --out.")] = False,
    from_model: Annotated[Path | None,
                          typer.Option("--from", help="Fine-tune this .keras (its width, levels and residual "
                                                    "blocks replace those options).")] = None,
    simulate: Annotated[list[Path] | None, typer.Option(
        help="Normal-light images/folders/videos to render low-light pairs from, on the fly.")] = None,
    simulate_ratio: Annotated[float, typer.Option(help="Share of simulated crops when mixing.")] = 0.5,
    simulator: Annotated[str, typer.Option(help="Simulator preset: default or wide.")] = "default",
    half_size_ratio: Annotated[float, typer.Option(
        help="Share of crops downscaled ×2 (input and target), as the quality mode's "
             "half-resolution pass on noisy frames sees them.")] = 0.0,
    frames_per_video: Annotated[int, typer.Option(min=1, help="Frames sampled from each video.")
                                ] = 200,
    low: Annotated[Path | None, typer.Option(help="Paired video: the low-light one.")] = None,
    high: Annotated[Path | None, typer.Option(help="Paired video: the normal-light one.")] = None,
    precision: Annotated[str, typer.Option(help="auto, float32 or bfloat16.")] = "auto",
    seed: int = 0,
    quiet: bool = False,
) -> None:
    """Train the generator; every epoch writes a resumable checkpoint and exports best.keras."""
    with exit_on_error():
        from gan.data import CropSampler, load_pairs, split_validation
        from gan.generator import architecture_of
        from gan.model_io import load_generator, resolve_precision
        from gan.training import TrainConfig, Trainer

        if data is None and low is None and not simulate:
            raise UserError("nothing to train on: give DATA, --low/--high videos or --simulate")
        # Settings first: a bad one fails before any data is loaded.
        bfloat16 = resolve_precision(precision) == "bfloat16"
        sim = _simulator(simulator) if simulate else None
        start = None if from_model is None else load_generator(from_model, fold=False)
        if start is not None:
            shape = architecture_of(start)
            width, levels, res_blocks = shape["width"], shape["levels"], shape["res_blocks"]
        with option_errors():
            config = TrainConfig(
                epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, crop=crop,
                width=width, res_blocks=res_blocks, levels=levels, lr=lr, adv_weight=adv_weight,
                ssim_weight=ssim_weight, gan_type=gan_type, seed=seed, bfloat16=bfloat16)
        pairs = _pairs(data, low, high, frames_per_video)
        train_pairs, val_pairs = split_validation(pairs) if val is None else (pairs, load_pairs(val))
        clean = []
        if simulate:
            from gan.frame_io import load_named_frames

            # Validation scenes never feed the simulator (their clean frames may be in SIMULATE).
            held_out = {p.name for p in val_pairs}
            clean = [rgb for name, rgb in load_named_frames(simulate, frames_per_video=frames_per_video)
                     if name not in held_out]
        with option_errors():
            sampler = CropSampler(train_pairs, crop=crop, batch_size=batch_size, seed=seed,
                                  clean=clean, simulator=sim, simulate_ratio=simulate_ratio,
                                  half_size_ratio=half_size_ratio)
            # The sources' paths are recorded; the settings in effect are checked on resume.
            recipe = {"data": data, "low": low, "high": high, "val": val, "simulate": simulate,
                      "from": from_model,
                      "sources": [name for name, given in (("pairs", data), ("videos", low),
                                                           ("simulated", simulate)) if given],
                      "simulate_ratio": sampler.simulate_ratio,
                      "simulator": simulator if sampler.simulate_ratio > 0 else None,
                      "half_size_ratio": sampler.half_size_ratio,
                      "frames_per_video": frames_per_video if low or simulate else None}
            trainer = Trainer(config, sampler, val_pairs, out, resume=resume, init_model=start,
                              data=json_ready(recipe))
        _run_with_progress(trainer, quiet)


def _run_with_progress(trainer, quiet: bool) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    config, console = trainer.config, Console(quiet=quiet)
    total = config.epochs * config.steps_per_epoch
    done = trainer.start_epoch * config.steps_per_epoch
    if trainer.start_epoch:
        console.print(f"resuming {trainer.out} at epoch {trainer.start_epoch + 1}")
    columns = (TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"), BarColumn(),
               TextColumn("{task.fields[losses]}"), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=quiet) as progress:
        task = progress.add_task("train", total=total, completed=done, epoch=trainer.start_epoch + 1,
                                 epochs=config.epochs, losses="")

        def on_step(epoch, step, logs):
            losses = " ".join(f"{k}={float(v):.4f}" for k, v in logs.items() if float(v))
            progress.update(task, advance=1, epoch=epoch + 1, losses=losses)

        def on_epoch(r):
            mark = " (best)" if r.is_best else ""
            console.print(f"epoch {r.epoch}: val PSNR {r.val_psnr:.2f} dB, SSIM {r.val_ssim:.3f}{mark}")

        trainer.run(on_step, on_epoch)
    console.print(f"done: best model {trainer.out / 'best.keras'}, log {trainer.out / 'log.csv'}")


def main() -> None:
    """Console-script entry point."""
    run_app(app, "train")


if __name__ == "__main__":
    main()
