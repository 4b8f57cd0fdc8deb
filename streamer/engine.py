"""Enhancing one video file: source → pipeline → sink, with the output always finalised.

The choice on failure, stated once: whatever stops a run (a crash in a stage, Ctrl-C,
SIGTERM), the output file is finalised under its final name with the frames enhanced so
far and the audio up to them, so it plays; `RunFailed` / `RunInterrupted` say how far
the run got. A run that wrote no frame leaves no file. A damaged input is enhanced as far
as it decodes, and the result counts the frames lost.
"""

from __future__ import annotations

import math
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from gan.errors import UserError
from streamer.inference import MOST_PIXELS, EnhanceOptions, Enhancer
from streamer.pipeline import StageError, run_pipeline
from streamer.sink import EncoderOptions, VideoSink
from streamer.source import Span, VideoInfo, VideoSource
from streamer.stats import PipelineStats
from streamer.threads import resolve_threads
from streamer.tiles import plan_tiles


@dataclass(frozen=True)
class VideoResult:
    """What a finished run did (`stopped`: ended early by the `stop` event)."""

    frames_read: int
    frames_written: int
    lost_frames: int
    stopped: bool = False


class RunFailed(UserError):
    """A stage failed; the output holds the frames written before it (see the module doc)."""


class RunInterrupted(KeyboardInterrupt):
    """The run was interrupted; `message` says how far it got."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def frames_per_call(width: int, height: int, options: EnhanceOptions, *,
                    most_pixels: int = MOST_PIXELS) -> int:
    """Frames handed to the enhancer at once: the fewest whose tiles fill whole batches,
    times as many such groups as give each of the enhancer's threads a frame
    (`options.threads`).

    E.g. 2 tiles a frame (720p) with batches of 4 → 2 frames (4 tiles, a full batch), so
    no full-resolution batch is short; with 8 threads, 8 frames. Their tiles never hold
    more than `most_pixels` pixels (memory), unless one batch needs more. The realtime mode
    runs whole small frames: 4 a call (measured: ~30 % less model time a frame than one at
    a time, with no added latency for files).
    """
    if options.mode == "realtime":
        return 4
    grid = plan_tiles(height, width, tile=options.tile, overlap=options.overlap)
    frame_pixels = grid.count * grid.tile_shape[0] * grid.tile_shape[1]
    frames = math.lcm(grid.count, options.batch_size) // grid.count
    if frames * frame_pixels > most_pixels:
        return math.ceil(options.batch_size / grid.count)
    wanted = min(resolve_threads(options.threads), most_pixels // frame_pixels)
    return frames * max(1, wanted // frames)


def _how_far(output: Path, written: int, total: int) -> str:
    if not written:
        return f"no frame was written, so {output} was not written"
    return f"{output} was finalised with the first {written} of {total} frames"


def enhance_video_file(input_path: str | Path, output_path: str | Path, enhancer: Enhancer,
                       options: EnhanceOptions, *, encoder: EncoderOptions | None = None,
                       stats: PipelineStats | None = None, queue_size: int = 8,
                       display: AbstractContextManager | None = None,
                       stop: threading.Event | None = None, span: Span = Span(),
                       copy_audio: bool = True, info: VideoInfo | None = None) -> VideoResult:
    """Enhance `input_path` into `output_path` (same frames, timing and audio).

    Args:
        enhancer: from `streamer.inference.create_enhancer`.
        options: the enhancer's options (tile and batch sizes choose frames per model call).
        stats: counters to show while running (e.g. a `Dashboard` reading them).
        display: a context manager active while frames flow (the dashboard).
        span: the part of the input to enhance (default: all of it).
        copy_audio: False leaves the input's audio out.
        info: `input_path`'s `VideoInfo`, where the caller has probed it already.

    Raises:
        UserError: unreadable input, or no frame decoded (in the span).
        RunFailed: a stage crashed (the output holds the frames before the crash).
        RunInterrupted: Ctrl-C / SIGTERM (the output holds the frames so far).
    """
    output_path = Path(output_path)
    with VideoSource(input_path, span=span, info=info) as source:
        info = source.info
        total = span.frame_count(info)
        stats = stats if stats is not None else PipelineStats(total_frames=total)
        enhancer.reset()
        with VideoSink(output_path, info, encoder or EncoderOptions(), span=span,
                       copy_audio=copy_audio) as sink:
            try:
                with display or nullcontext():
                    result = run_pipeline(source, enhancer, sink.write, stats=stats,
                                          queue_size=queue_size, stop=stop,
                                          frames_per_call=frames_per_call(info.width, info.height, options))
            except StageError as exc:
                sink.stop_early()
                where = _how_far(output_path, sink.frames_written, total)
                raise RunFailed(f"{exc}; {where}") from exc
            except KeyboardInterrupt:
                sink.stop_early()
                where = _how_far(output_path, sink.frames_written, total)
                raise RunInterrupted(f"interrupted; {where}") from None
            if result.stopped:
                sink.stop_early()
        if not result.frames_written:
            if not span.whole and not source.decode_errors:
                raise UserError(f"no frame of {input_path} falls in the span asked for "
                                f"({span.describe()})")
            raise UserError(f"no video frames could be decoded from {input_path}")
        lost = source.decode_errors if result.stopped else source.lost_frames
        return VideoResult(result.frames_read, result.frames_written, lost, result.stopped)
