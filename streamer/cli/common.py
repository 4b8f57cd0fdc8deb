"""What the console scripts share: option types, path checks, model loading, signals."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from gan.errors import UserError, option_errors
from gan.exposure import MAX_COMPENSATION, ExposureConfig
from streamer.inference import MODES, EnhanceOptions

ModelOption = Annotated[Path | None, typer.Option(
    "--model", help="Generator .keras file (default: the shipped model).")]
BatchOption = Annotated[int, typer.Option("--batch-size", help="Tiles per model call.")]
TileOption = Annotated[int, typer.Option("--tile", help="Longest tile side in pixels (multiple of 8).")]
OverlapOption = Annotated[int, typer.Option("--overlap", help="Pixels shared by neighbour tiles.")]
ThreadsOption = Annotated[int, typer.Option(
    "--threads", help="Threads for the per-frame work around the model, a frame each "
    "(0 = one per core).")]
TemporalOption = Annotated[float, typer.Option(
    "--temporal-strength", help="Temporal noise reduction: the share of the motion-compensated "
    "earlier frames kept where they agree with the new one (0 = off).")]
ExposureOption = Annotated[float, typer.Option(
    "--exposure", min=-MAX_COMPENSATION, max=MAX_COMPENSATION,
    help="Exposure compensation in stops, as on a camera: +1 a stop brighter (twice the light), "
    "-1 a stop darker (never darker than the input).")]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")]
QuietOption = Annotated[bool, typer.Option("--quiet", help="No dashboard or summary.")]
ModeOption = Annotated[str, typer.Option(
    "--mode", help="quality (tiled full resolution) or realtime (the generator on a small copy, "
    "carried to full resolution by a guided filter: many times faster).")]
PrecisionOption = Annotated[str, typer.Option(
    "--precision", help="auto (bfloat16 where the CPU computes it natively), float32 or bfloat16.")]
CRF_RANGE = {"min": 0, "max": 51}  # x264's --crf scale; out of range is a usage error (exit 2)


DEFAULTS = EnhanceOptions()  # the CLI defaults are the library's, defined once


def make_app(help_text: str) -> typer.Typer:
    """A one-command Typer app with plain (non-boxed) help and errors."""
    return typer.Typer(add_completion=False, help=help_text, pretty_exceptions_enable=False,
                       rich_markup_mode=None)


def enhance_options(*, tile: int, overlap: int, batch_size: int, mode: str = "quality",
                    temporal_strength: float = DEFAULTS.temporal_strength,
                    threads: int = DEFAULTS.threads, exposure: float = 0.0) -> EnhanceOptions:
    """`EnhanceOptions` from CLI values, bad values reported as `UserError`."""
    if mode not in MODES:
        raise UserError(f"unknown --mode {mode!r}: use {' or '.join(MODES)}")
    with option_errors():
        return EnhanceOptions(mode=mode, tile=tile, overlap=overlap, batch_size=batch_size,
                              temporal_strength=temporal_strength, threads=threads,
                              exposure=ExposureConfig(compensation=exposure))


def where_it_runs(mode: str, precision: str) -> str:
    """E.g. "quality mode on CPU, bfloat16", for a run's heading."""
    from gan.backend import compute_device
    from gan.model_io import resolve_precision

    return f"{mode} mode on {compute_device()}, {resolve_precision(precision)}"


def load_model(path: Path | None, precision: str):
    """The generator from `path` (default model when None) at `precision`."""
    from gan.model_io import load_generator  # here: Keras takes seconds to import

    return load_generator(path, precision=precision)


def check_output_file(input_path: Path, output_path: Path, *, overwrite: bool) -> None:
    """Refuse before any work: output is the input, exists (no --overwrite), or can't be written."""
    same = output_path.resolve() == input_path.resolve() or (
        output_path.exists() and input_path.exists() and os.path.samefile(input_path, output_path))
    if same:
        raise UserError(f"output {output_path} is the input file: choose another name "
                        "(the input is never overwritten, even with --overwrite)")
    if output_path.is_dir():
        raise UserError(f"output {output_path} is a directory: give a file name")
    if output_path.exists() and not overwrite:
        raise UserError(f"output {output_path} exists: use --overwrite to replace it")
    check_writable_dir(output_path.parent)


def check_output_folder(folder: Path, names: Sequence[str], *, inputs: Iterable[Path],
                        overwrite: bool) -> None:
    """Refuse before any work: `folder` is one of the `inputs` folders, is a file, cannot be
    created or written, or already holds one of `names` (without --overwrite)."""
    if any(folder.resolve() == source.resolve() for source in inputs):
        raise UserError(f"output folder {folder} is an input folder: choose another "
                        "(inputs are never overwritten, even with --overwrite)")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"output {folder} is a file: give a folder")
    check_writable_dir(folder if folder.is_dir() else folder.parent)
    existing = [name for name in names if (folder / name).exists()]
    if existing and not overwrite:
        raise UserError(f"{len(existing)} output(s) exist in {folder} (e.g. {existing[0]}): "
                        "use --overwrite to replace them")


def can_write(directory: Path) -> bool:
    """Whether this user may create files in `directory`."""
    return os.access(directory, os.W_OK | os.X_OK)


def check_writable_dir(directory: Path) -> None:
    """Raise `UserError` unless `directory` exists and this user may create files in it."""
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{directory} is a file, not a folder")
    if not directory.is_dir():
        raise UserError(f"output directory does not exist: {directory}")
    if not can_write(directory):
        raise UserError(f"output directory is not writable: {directory}")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while the block runs, so runs stop the same clean way."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
