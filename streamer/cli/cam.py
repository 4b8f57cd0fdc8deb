"""`enhance-cam`: enhance a camera (or a stream, or a file standing in for one) live.

Latency first: the newest frame is always the one enhanced; older ones are dropped and
counted (see `streamer.live`). Exit status: 0 when the run was ended on purpose (q/Esc,
Ctrl-C, SIGTERM, --max-frames, the end of a file source), 1 when the source could not
be opened or was lost mid-stream. Either way a recording is finalised and playable.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gan.cli import run_app
from gan.errors import UserError, exit_on_error
from streamer.camera import CameraSource, CaptureRequest, open_source
from streamer.cli.common import (
    CRF_RANGE,
    DEFAULTS,
    BatchOption,
    ExposureOption,
    ModelOption,
    ModeOption,
    OverlapOption,
    OverwriteOption,
    PrecisionOption,
    QuietOption,
    TemporalOption,
    TileOption,
    check_output_file,
    check_writable_dir,
    enhance_options,
    load_model,
    make_app,
    sigterm_as_interrupt,
    where_it_runs,
)
from streamer.inference import EnhanceOptions, Enhancer, create_enhancer
from streamer.live import LiveResult, LiveStats, SignalStop, recording_info, run_live, warm_up
from streamer.live_dashboard import LiveDashboard
from streamer.preview import OpenCVWindow, Preview, check_display
from streamer.sink import EncoderOptions, VideoSink, check_encoder

app = make_app("Enhance a camera live: preview, dashboard and optional recording.")


def _validate(width: int | None, height: int | None, fps: float | None,
              max_frames: int | None) -> CaptureRequest:
    if max_frames is not None and max_frames < 1:
        raise UserError(f"--max-frames must be >= 1. Received: {max_frames}")
    try:
        return CaptureRequest(width, height, fps)
    except ValueError as exc:
        raise UserError(re.sub(r"`(\w+)`", r"--\1", str(exc))) from None


def _enhancer(model: Path | None, precision: str, options: EnhanceOptions,
              source: CameraSource) -> Enhancer:
    enhancer = create_enhancer(load_model(model, precision), options)
    warm_up(enhancer, source.info.width, source.info.height)
    return enhancer


def _report(result: LiveResult, record: Path | None, preview: Preview | None, quiet: bool,
            interrupted_by: str | None) -> None:
    """Say how the run ended (stderr for a lost source), then exit 1 if it was lost."""
    reason = f"interrupted by {interrupted_by}" if interrupted_by and not result.lost \
        else result.reason
    kept = ""
    if record is not None:
        kept = (f"; recording {record} finalised with {result.frames_recorded} frames"
                if result.frames_recorded else f"; no frame was recorded, so {record} was not written")
    if result.lost:
        print(f"error: {reason}{kept}", file=sys.stderr)
        raise SystemExit(1)
    if not quiet:
        console = Console(highlight=False, soft_wrap=True)
        console.print(f"stopped: {reason}{kept}")
        for path in preview.snapshots if preview else []:
            console.print(f"snapshot: {path}")
    for message in preview.snapshot_errors if preview else []:
        print(f"warning: {message}", file=sys.stderr)


@app.command()
def enhance_cam(
    camera: Annotated[int, typer.Option(min=0, help="Camera index (ignored with --source).")] = 0,
    source: Annotated[str | None, typer.Option(
        help="Camera index, device path (/dev/video2), stream URL (rtsp://, http://) "
             "or a video file standing in for a camera.")] = None,
    loop: Annotated[bool, typer.Option(help="Restart a file source at its end.")] = False,
    width: Annotated[int | None, typer.Option(help="Frame width to ask the camera for.")] = None,
    height: Annotated[int | None, typer.Option(help="Frame height to ask the camera for.")] = None,
    fps: Annotated[float | None, typer.Option(help="Frame rate to ask the camera for.")] = None,
    mode: ModeOption = "realtime",
    exposure: ExposureOption = 0.0,
    model: ModelOption = None,
    precision: PrecisionOption = "auto",
    tile: TileOption = DEFAULTS.tile,
    overlap: OverlapOption = DEFAULTS.overlap,
    batch_size: BatchOption = DEFAULTS.batch_size,
    temporal_strength: TemporalOption = DEFAULTS.temporal_strength,
    record: Annotated[Path | None, typer.Option(
        help="Also write the enhanced stream to this file, at the real capture rate.")] = None,
    crf: Annotated[int, typer.Option(
        **CRF_RANGE, help="Recording quality (H.264 CRF, lower = better).")] = 20,
    preset: Annotated[str, typer.Option(
        help="Recording encoder preset (ultrafast: least CPU taken from the model, larger files).")
    ] = "ultrafast",
    overwrite: OverwriteOption = False,
    preview: Annotated[bool, typer.Option(
        "--preview/--no-preview", help="Show the preview window (--no-preview: dashboard only).")
    ] = True,
    quiet: QuietOption = False,
    max_frames: Annotated[int | None, typer.Option(help="Stop after N enhanced frames.")] = None,
    snapshot_dir: Annotated[Path, typer.Option(help="Where the s key saves snapshots.")] = Path("."),
) -> None:
    """Enhance a live source. In the preview: q/Esc quit, space switches view, s saves a
    snapshot, +/- change the exposure by a quarter stop."""
    with exit_on_error(), sigterm_as_interrupt(), ExitStack() as stack:
        request = _validate(width, height, fps, max_frames)
        options = enhance_options(tile=tile, overlap=overlap, batch_size=batch_size, mode=mode,
                                  temporal_strength=temporal_strength, exposure=exposure)
        encoder = EncoderOptions(crf=crf, preset=preset)
        if record is not None:
            # No input file to collide with for a camera: compare against /dev/null instead.
            input_path = Path(source) if source and os.path.isfile(source) else Path(os.devnull)
            check_output_file(input_path, record, overwrite=overwrite)
            check_encoder(encoder, suffix=record.suffix)
        if preview:
            check_display()
            check_writable_dir(snapshot_dir)
        camera_source = stack.enter_context(open_source(camera, source, request=request, loop=loop))
        enhancer = _enhancer(model, precision, options, camera_source)
        info = camera_source.info
        sink = None if record is None else stack.enter_context(
            VideoSink(record, recording_info(record, info), encoder, copy_audio=False))
        viewer = None
        if preview:
            viewer = Preview(OpenCVWindow(f"enhance-cam: {info.name}"), snapshot_dir=snapshot_dir,
                             exposure=exposure, on_exposure=getattr(enhancer, "set_exposure", None))
            stack.callback(viewer.close)
        stats = LiveStats(source=info)
        signals = stack.enter_context(SignalStop(threading.Event()).installed())
        with LiveDashboard(stats, title=f"{info.name} ({where_it_runs(mode, precision)})", quiet=quiet):
            try:
                result = run_live(camera_source, enhancer, stats=stats, sink=sink, preview=viewer,
                                  stop=signals.event, max_frames=max_frames)
            except Exception as exc:  # noqa: BLE001  (model or encoder crash: still finalise)
                result = LiveResult.from_stats(stats, f"{type(exc).__name__}: {exc}", lost=True)
        stack.close()  # finalise the recording and release the camera before reporting
        _report(result, record, viewer, quiet, signals.received)


def main() -> None:
    """Console-script entry point."""
    run_app(app, "enhance-cam")
