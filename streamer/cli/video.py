"""`enhance-video IN OUT`: enhance a video file, keeping its frames, timing and audio."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gan.cli import run_app
from gan.errors import UserError, exit_on_error, option_errors
from streamer.cli import common
from streamer.dashboard import Dashboard
from streamer.engine import RunInterrupted, enhance_video_file
from streamer.inference import create_enhancer
from streamer.sink import EncoderOptions, check_audio_copy, check_encoder
from streamer.source import Span, VideoInfo
from streamer.stats import PipelineStats

app = common.make_app("Enhance a low-light video: every frame, same timing, audio copied.")


@app.command()
def enhance_video(
    input_path: Annotated[Path, typer.Argument(metavar="IN", help="Input video file.")],
    output_path: Annotated[Path, typer.Argument(metavar="OUT", help="Output video file.")],
    mode: common.ModeOption = "quality",
    exposure: common.ExposureOption = 0.0,
    model: common.ModelOption = None,
    batch_size: common.BatchOption = common.DEFAULTS.batch_size,
    tile: common.TileOption = common.DEFAULTS.tile,
    overlap: common.OverlapOption = common.DEFAULTS.overlap,
    threads: common.ThreadsOption = common.DEFAULTS.threads,
    temporal_strength: common.TemporalOption = common.DEFAULTS.temporal_strength,
    codec: Annotated[str, typer.Option(help="Video encoder (FFmpeg name).")] = "libx264",
    crf: Annotated[int, typer.Option(**common.CRF_RANGE,
                                     help="Constant rate factor (lower = better).")] = 18,
    preset: Annotated[str, typer.Option(help="Encoder speed preset.")] = "medium",
    precision: common.PrecisionOption = "auto",
    start: Annotated[float, typer.Option(
        "--start", min=0, help="Seconds into IN to start at (like FFmpeg's -ss): try settings "
        "on a few seconds before enhancing it all.")] = 0.0,
    duration: Annotated[float | None, typer.Option(
        "--duration", min=0, help="Seconds of IN to enhance (like FFmpeg's -t); default: to "
        "the end.")] = None,
    no_audio: Annotated[bool, typer.Option(
        "--no-audio", help="Leave the input's audio out (FFmpeg's -an).")] = False,
    overwrite: common.OverwriteOption = False,
    quiet: common.QuietOption = False,
) -> None:
    """Enhance IN into OUT. Every check runs before any work starts."""
    with exit_on_error(), common.sigterm_as_interrupt():
        options = common.enhance_options(tile=tile, overlap=overlap, batch_size=batch_size,
                                         mode=mode, temporal_strength=temporal_strength,
                                         threads=threads, exposure=exposure)
        encoder = EncoderOptions(codec=codec, crf=crf, preset=preset)
        with option_errors():
            span = Span(start, duration)
        info = VideoInfo.from_path(input_path)
        span.check(info)
        common.check_output_file(input_path, output_path, overwrite=overwrite)
        check_encoder(encoder, info.width, info.height, suffix=output_path.suffix)
        if not no_audio:
            try:
                check_audio_copy(input_path, output_path.suffix)
            except UserError as exc:
                raise UserError(f"{exc}; --no-audio leaves it out") from None
        enhancer = create_enhancer(common.load_model(model, precision), options)
        stats = PipelineStats(total_frames=span.frame_count(info))
        part = "" if span.whole else f" ({span.describe()})"
        dashboard = Dashboard(stats, quiet=quiet, title=f"{input_path}{part} → {output_path} "
                              f"({common.where_it_runs(mode, precision)})")
        try:
            result = enhance_video_file(input_path, output_path, enhancer, options,
                                        encoder=encoder, stats=stats, display=dashboard,
                                        span=span, copy_audio=not no_audio, info=info)
        except RunInterrupted as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            raise SystemExit(130) from None
        if result.lost_frames:
            print(f"warning: {result.lost_frames} frame(s) of {input_path} could not be decoded "
                  f"(truncated or damaged file); enhanced the {result.frames_written} that did",
                  file=sys.stderr)
        if not quiet:
            Console().print(f"wrote {output_path} ({result.frames_written} frames)",
                            highlight=False)


def main() -> None:
    """Console-script entry point."""
    run_app(app, "enhance-video")


if __name__ == "__main__":
    main()
