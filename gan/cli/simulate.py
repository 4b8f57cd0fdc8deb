"""`simulate`: write a reproducible paired low/normal-light set from images or a video."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gan.cli import run_app
from gan.errors import UserError, exit_on_error
from gan.frame_io import load_named_frames, write_image
from gan.simulate import PRESETS, simulate_lowlight

app = typer.Typer(add_completion=False)


def check_output(source: Path, out_dir: Path, *, overwrite: bool) -> None:
    """Refuse before any work: OUT_DIR is a file, its low/ or high/ holds SOURCE, or it holds
    a set already (without --overwrite)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"output {out_dir} is a file: give a folder")
    for folder in (out_dir / "low", out_dir / "high"):
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{folder} is a file: OUT_DIR/low and /high must be folders")
        if folder.resolve() in (source.resolve(), *source.resolve().parents):
            raise UserError(f"{source} is in {folder}, where the set is written: choose another "
                            "OUT_DIR (the source is never overwritten, even with --overwrite)")
    if _old_set(out_dir) and not overwrite:
        raise UserError(f"{out_dir} already holds a paired set; pass --overwrite to replace it")


def _old_set(out_dir: Path) -> list[Path]:
    params = out_dir / "params.jsonl"
    return [*(out_dir / "low").glob("*.png"), *(out_dir / "high").glob("*.png"),
            *([params] if params.exists() else [])]


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Rename the new set's low/, high/ and params.jsonl into OUT_DIR, the old ones into
    the scratch folder (deleted next); files in the old low/ and high/ that are not
    part of a set (not .png) move over to the new folders."""
    replaced = staging / "replaced"
    replaced.mkdir()
    for side in ("low", "high"):
        if (out_dir / side).is_dir():
            for path in (out_dir / side).iterdir():
                if path.suffix != ".png":
                    path.replace(staging / side / path.name)
    for name in ("low", "high", "params.jsonl"):
        if (out_dir / name).exists():
            (out_dir / name).replace(replaced / name)
        (staging / name).replace(out_dir / name)


@contextmanager
def staged_set(out_dir: Path) -> Iterator[Path]:
    """A scratch folder in OUT_DIR (with low/ and high/) to write the new set into. When the
    block succeeds the new set takes the old one's place in a few renames; otherwise (an
    error, Ctrl-C) the scratch folder is removed and the old set is left as it was."""
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".simulate-", dir=out_dir))
    try:
        for side in ("low", "high"):
            (staging / side).mkdir()
        yield staging
        _swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(out_dir.iterdir()):  # a failed first run leaves no folder
            out_dir.rmdir()


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
        check_output(source, out_dir, overwrite=overwrite)
        columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())
        with staged_set(out_dir) as staging, Progress(*columns) as progress, \
                open(staging / "params.jsonl", "w") as log:
            for index, (name, rgb) in enumerate(progress.track(frames)):
                # One generator per pair: a pair depends only on (seed, index).
                low, params = simulate_lowlight(rgb, np.random.default_rng([seed, index]), config)
                write_image(staging / "high" / f"{name}.png", rgb)
                write_image(staging / "low" / f"{name}.png", low)
                record = {"name": name, "preset": preset, "seed": seed, "index": index, **params}
                log.write(json.dumps(record) + "\n")
        print(f"wrote {len(frames)} pairs to {out_dir}")


def main() -> None:
    """Console-script entry point."""
    run_app(app, "simulate")


if __name__ == "__main__":
    main()
