"""`simulate`: write a reproducible paired low/normal-light set from images or a video."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gan.cli import run_app
from gan.errors import UserError, exit_on_error
from gan.frame_sources import load_named_frames, write_image
from gan.simulate import PRESETS, simulate_lowlight

app = typer.Typer(add_completion=False)


def prepare_output(source: Path, out_dir: Path, *, overwrite: bool) -> tuple[Path, Path]:
    """Create OUT_DIR/low and OUT_DIR/high; refuse to mix with an earlier set unless told,
    and refuse outright to write where the source images are."""
    low_dir, high_dir, params_path = out_dir / "low", out_dir / "high", out_dir / "params.jsonl"
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"output {out_dir} is a file: give a folder")
    for folder in (low_dir, high_dir):
        if folder.resolve() in (source.resolve(), *source.resolve().parents):
            raise UserError(f"{source} is in {folder}, where the set is written: choose another "
                            "OUT_DIR (the source is never overwritten, even with --overwrite)")
    old = [*low_dir.glob("*.png"), *high_dir.glob("*.png")]
    if params_path.exists():
        old.append(params_path)
    if old and not overwrite:
        raise UserError(f"{out_dir} already holds a paired set; pass --overwrite to replace it")
    for path in old:
        path.unlink()
    low_dir.mkdir(parents=True, exist_ok=True)
    high_dir.mkdir(parents=True, exist_ok=True)
    return low_dir, high_dir


@app.command()
def simulate(
    source: Annotated[Path, typer.Argument(
        help="Normal-light image folder, image file or video file.")],
    out_dir: Annotated[Path, typer.Argument(help="Output folder for low/, high/, params.jsonl.")],
    count: Annotated[int, typer.Option(min=1, help="Frames sampled per video.")] = 50,
    seed: Annotated[int, typer.Option(min=0, help="Random seed; the same seed gives the same set.")] = 0,
    preset: Annotated[str, typer.Option(help="Simulator preset: default or wide.")] = "default",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing set in OUT_DIR.")] = False,
) -> None:
    """Simulate low-light captures of SOURCE and write low/high PNG pairs to OUT_DIR."""
    with exit_on_error():
        if preset not in PRESETS:
            raise UserError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        config = PRESETS[preset]()
        frames = load_named_frames([source], frames_per_video=count)
        low_dir, high_dir = prepare_output(source, out_dir, overwrite=overwrite)
        columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())
        with Progress(*columns) as progress, open(out_dir / "params.jsonl", "w") as log:
            for index, (name, rgb) in enumerate(progress.track(frames)):
                # One generator per pair: a pair depends only on (seed, index).
                low, params = simulate_lowlight(rgb, np.random.default_rng([seed, index]), config)
                write_image(high_dir / f"{name}.png", rgb)
                write_image(low_dir / f"{name}.png", low)
                record = {"name": name, "preset": preset, "seed": seed, "index": index, **params}
                log.write(json.dumps(record) + "\n")
        print(f"wrote {len(frames)} pairs to {out_dir}")


def main() -> None:
    """Console-script entry point."""
    run_app(app, "simulate")


if __name__ == "__main__":
    main()
