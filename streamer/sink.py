"""Writing the enhanced video: encode frames with the input's clock and copy its audio.

`VideoSink` is a context manager that always finalises the file (encoder flushed,
trailer written), whatever happens inside it. Audio packets are remuxed from the input,
not re-encoded, interleaved with the video as it is written; a run that stops early
gets the audio up to its last frame. The video is written to a temporary file beside the
output and renamed over it once finalised, so a file being replaced (`--overwrite`) stays
whole until then, and a sink that received no frames leaves no file and replaces none.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from gan.errors import UserError
from gan.frame_io import drop_scratch, finish_scratch, scratch_path
from streamer.frames import Frame
from streamer.source import SPAN_SLACK, Span, VideoInfo, seek_before

RATE_CONTROL_CODECS = ("libx264", "libx265", "libsvtav1", "libvpx-vp9")
# Checked here: x264 prints its own complaint about an unknown preset straight to stderr.
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")
CONVERTIBLE_COLORSPACES = {int(c) for c in av.video.reformatter.Colorspace}  # swscale's matrices
# What opening, muxing or finalising a file can raise: not all of PyAV's FFmpegError family
# derives from OSError or ValueError.
WRITE_ERRORS = (av.error.FFmpegError, OSError, ValueError)
AUDIO_CONTAINERS = (".mkv", ".mov", ".mp4")  # what a refused audio copy suggests instead
LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG: what RGB → YUV conversion produces by default


def _wrap(pixels: np.ndarray) -> av.VideoFrame:
    """A uint8 RGB array as a PyAV frame: its buffer wrapped (`from_numpy_buffer`; the
    frame keeps the array alive) where its rows are plain and a multiple of 64 bytes
    (1280, 1920 or 3840 wide), else copied into a frame of FFmpeg's own.

    Copying a 1080p frame holds the GIL for ~0.6 ms, time the engine's other threads wait.
    swscale's vector code reads up to 64 bytes past the end of other rows, which FFmpeg's
    own buffers are padded for and an array is not (a helper's review crashed it so).
    """
    if pixels.strides[1:] == (3, 1) and pixels.strides[0] > 0 and pixels.strides[0] % 64 == 0:
        return av.VideoFrame.from_numpy_buffer(pixels, format="rgb24")
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")


@dataclass(frozen=True)
class EncoderOptions:
    """Video encoder settings (`crf` and `preset` apply to codecs that understand them)."""

    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"

    def codec_options(self) -> dict[str, str]:
        """The options passed to FFmpeg's encoder."""
        if self.codec not in RATE_CONTROL_CODECS:
            return {}
        options = {"crf": str(self.crf)}
        if self.codec == "libvpx-vp9":
            options["b"] = "0"
        elif self.codec == "libx265":
            options["x265-params"] = "log-level=error"
        if self.codec != "libvpx-vp9":
            options["preset"] = self.preset
        return options


def pixel_format(codec: str, width: int, height: int) -> str:
    """yuv420p where it fits, yuv444p for odd sizes (4:2:0 needs even sides), else the codec's."""
    formats = [f.name for f in av.codec.Codec(codec, "w").video_formats or []]
    preferred = ["yuv420p", "yuv444p"] if width % 2 == 0 and height % 2 == 0 else ["yuv444p"]
    for name in preferred:
        if name in formats:
            return name
    return formats[0] if formats else "yuv420p"


def check_encoder(options: EncoderOptions, width: int | None = None, height: int | None = None,
                  *, suffix: str = ".mp4") -> None:
    """Encode one frame (of the output's size, when known) into a scratch `suffix` file, so a
    bad codec, preset or container fails before any work (with a `UserError` naming it)."""
    try:
        codec = av.codec.Codec(options.codec, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        raise UserError(f"unsupported --codec {options.codec!r}: this FFmpeg build has no such "
                        f"encoder (try libx264, libx265 or libsvtav1)") from None
    if codec.type != "video":
        raise UserError(f"unsupported --codec {options.codec!r}: "
                        f"it encodes {codec.type}, not video")
    if options.codec in ("libx264", "libx265") and options.preset not in X26X_PRESETS:
        raise UserError(f"unknown --preset {options.preset!r}: use one of {', '.join(X26X_PRESETS)}")
    size = "" if width is None or height is None else f" at {width}x{height}"
    width, height = width or 64, height or 64
    with tempfile.TemporaryDirectory() as folder:
        try:
            with av.open(str(Path(folder) / f"probe{suffix}"), "w") as container:
                stream = container.add_stream(options.codec, rate=30)
                stream.width, stream.height = width, height
                stream.pix_fmt = pixel_format(options.codec, width, height)
                stream.options = options.codec_options()
                frame = av.VideoFrame(width, height, "rgb24")
                frame.pts = 0
                for packet in [*stream.encode(frame), *stream.encode(None)]:
                    container.mux(packet)
        except av.error.FFmpegError as exc:
            raise UserError(f"cannot encode {options.codec} video with crf={options.crf}, "
                            f"preset={options.preset!r}{size}: {exc.strerror}") from None
        except ValueError as exc:  # PyAV: unknown container, or codec not allowed in it
            kind = f"a {suffix} file" if suffix else "a file without an extension"
            raise UserError(f"cannot write {options.codec} video to {kind}: {exc} "
                            "(use .mp4, .mkv or .mov)") from None


def check_audio_copy(source: Path, suffix: str) -> None:
    """Raise `UserError` unless `source`'s audio can be copied as-is into a `suffix` file;
    the message names the usual containers that can take it, if any."""
    with av.open(str(source), metadata_errors="ignore") as container:
        if not container.streams.audio:
            return
        codec = container.streams.audio[0].codec_context.name
    if _audio_copies_into(source, suffix):
        return
    others = [s for s in AUDIO_CONTAINERS if s != suffix.lower() and _audio_copies_into(source, s)]
    advice = f": choose {' or '.join(others)} for the output" if others else ""
    raise UserError(f"the input's audio ({codec}) cannot be copied into a {suffix} file{advice}")


def _audio_copies_into(source: Path, suffix: str) -> bool:
    """Whether the first few audio packets of `source` remux into a scratch `suffix` file,
    header to trailer."""
    try:
        with av.open(str(source), metadata_errors="ignore") as container, \
                tempfile.TemporaryDirectory() as folder, \
                av.open(str(Path(folder) / f"probe{suffix}"), "w") as scratch:
            audio = container.streams.audio[0]
            stream = scratch.add_stream_from_template(audio)
            for count, packet in enumerate(container.demux(audio)):
                if packet.dts is None or not packet.size or count >= 4:
                    break
                packet.stream = stream
                scratch.mux(packet)
    except (av.error.FFmpegError, ValueError):
        return False
    return True


class _AudioCopier:
    """Remuxes the input's first audio stream into the output, up to a given time.

    From `begin` (seconds in the input; None: from the start) it copies the packets that
    start there or later, `shift` seconds earlier (a `Span`'s).
    """

    def __init__(self, source: Path, output: av.container.OutputContainer, *,
                 begin: float | None = None, shift: float = 0.0) -> None:
        self._input = av.open(str(source), metadata_errors="ignore")
        self._begin, self._shift = begin, shift
        try:
            template = self._input.streams.audio[0]
            self._stream = output.add_stream_from_template(template)
            packets = None if begin is None else seek_before(
                self._input, template, begin, lambda: self._input.demux(template), _packet_time)
            if packets is None:
                if begin is not None:  # no seek got there: from the start, reopened
                    self._input.close()
                    self._input = av.open(str(source), metadata_errors="ignore")
                packets = self._input.demux(self._input.streams.audio[0])
        except BaseException:
            self._input.close()
            raise
        self._packets: Iterator[av.Packet] = packets
        self._pending: av.Packet | None = None
        self._output = output

    def copy_until(self, seconds: float | None) -> None:
        """Mux packets that start before `seconds` of the output (all remaining ones when
        None)."""
        while True:
            packet = self._pending or self._next()
            if packet is None:
                return
            if seconds is not None and packet.pts is not None \
                    and packet.pts * packet.time_base - Fraction(self._shift) > seconds:
                self._pending = packet
                return
            self._pending = None
            if self._shift:
                ticks = math.floor(self._shift / packet.time_base)
                packet.pts, packet.dts = packet.pts - ticks, packet.dts - ticks
                if self._begin is not None:  # a span: what its seek let in just before it starts it
                    packet.pts, packet.dts = max(0, packet.pts), max(0, packet.dts)
                # A whole file's audio from before its first frame stays before 0, where the
                # muxer keeps it as pre-roll (MP4's edit list, as for AAC's priming).
            packet.stream = self._stream
            self._output.mux(packet)

    def _next(self) -> av.Packet | None:
        try:
            for packet in self._packets:
                if packet.dts is None or not packet.size:  # the demuxer's empty flush packets
                    continue
                if self._begin is not None and (packet.pts is None or packet.pts
                                                * packet.time_base < self._begin - SPAN_SLACK):
                    continue  # before the span (the seek lands on or before it)
                return packet
        except av.error.FFmpegError:  # a truncated input: keep what was copied
            pass
        return None

    def close(self) -> None:
        self._input.close()


def _packet_time(packet: av.Packet) -> float | None:
    return None if packet.pts is None else float(packet.pts * packet.time_base)


class VideoSink:
    """Encodes `Frame`s into `path` with the input's size, rate, time base and audio.

    Use as `with VideoSink(path, info, options) as sink: sink.write(frame)`. Leaving the
    block normally copies the rest of the audio (of the `span`, whose frames `VideoSource`
    yields); leaving it by an exception (or after `stop_early()`) keeps audio only up to
    the last frame. Either way the file is closed properly and playable.
    """

    def __init__(self, path: str | Path, info: VideoInfo,
                 options: EncoderOptions = EncoderOptions(), *, copy_audio: bool = True,
                 span: Span = Span()) -> None:
        self.path = Path(path)
        self.info = info
        self.options = options
        self.span = span
        self.copy_audio = copy_audio and info.has_audio
        self.frames_written = 0
        self.last_time: float | None = None
        self._stopped_early = False
        self._partial: Path | None = None  # where the video is written until it is finalised
        self._container: av.container.OutputContainer | None = None
        self._stream = None
        self._audio: _AudioCopier | None = None

    def __enter__(self) -> VideoSink:
        # Same folder (so the rename is atomic), same suffix (it picks the container).
        self._partial = scratch_path(self.path)
        try:
            self._container = av.open(str(self._partial), "w")
        except WRITE_ERRORS as exc:
            drop_scratch(self._partial)
            raise UserError(f"cannot write {self.path}: {exc}") from None
        try:
            self._add_video_stream()
            if self.copy_audio:
                begin = self.span.bounds(self.info)[0] if self.span.seeks else None
                self._audio = _AudioCopier(self.info.path, self._container, begin=begin,
                                           shift=self.span.shift(self.info))
        except BaseException:
            self._container.close()
            drop_scratch(self._partial)
            raise
        return self

    def _add_video_stream(self) -> None:
        info = self.info
        stream = self._container.add_stream(self.options.codec, rate=info.frame_rate)
        stream.width, stream.height = info.width, info.height
        stream.pix_fmt = pixel_format(self.options.codec, info.width, info.height)
        stream.time_base = info.time_base
        stream.codec_context.time_base = info.time_base
        stream.options = self.options.codec_options()
        if self.options.codec == "libx264":
            # Frame threads, not FFmpeg's default slice threads: 1080p veryfast encoded at
            # 50 fps instead of 32 on 16 cores (a few frames more latency, none for a file).
            stream.codec_context.thread_type = "FRAME"
        if info.colorspace in CONVERTIBLE_COLORSPACES:  # keep the input's colour tags
            context = stream.codec_context
            context.colorspace, context.color_range = info.colorspace, LIMITED_RANGE
            context.color_primaries, context.color_trc = info.color_primaries, info.color_trc
        self._stream = stream

    def write(self, frame: Frame) -> None:
        """Encode one frame (uint8 RGB, the input's size) at its own timestamp."""
        if self._container is None:
            raise RuntimeError("VideoSink must be used inside `with`")
        av_frame = _wrap(frame.pixels)
        if self.info.colorspace in CONVERTIBLE_COLORSPACES:  # the matrix the input used
            av_frame = av_frame.reformat(format=self._stream.pix_fmt,
                                         dst_colorspace=self.info.colorspace)
        if frame.pts is not None and frame.time_base is not None:
            av_frame.pts = round(frame.pts * frame.time_base / self.info.time_base)
        else:
            av_frame.pts = round(frame.index / (self.info.frame_rate * self.info.time_base))
        av_frame.time_base = self.info.time_base
        for packet in self._stream.encode(av_frame):
            self._container.mux(packet)
        self.frames_written += 1
        self.last_time = float(av_frame.pts * self.info.time_base)
        if self._audio is not None:
            self._audio.copy_until(self.last_time)

    def _audio_end(self) -> float | None:
        """Where a complete output's audio ends, in its seconds (None: the input's end)."""
        end = self.span.bounds(self.info)[1]
        return None if end is None else end - self.span.shift(self.info)

    def stop_early(self) -> None:
        """Mark the output as cut short: audio is copied only up to the last frame written."""
        self._stopped_early = True

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None and not self._stopped_early)

    def close(self, *, complete: bool = True) -> None:
        """Flush the encoder, copy the remaining audio, write the trailer (safe to call twice)."""
        if self._container is None:
            return
        container, self._container = self._container, None
        failure: Exception | None = None
        try:
            if self.frames_written:
                for packet in self._stream.encode(None):
                    container.mux(packet)
                if self._audio is not None:
                    frame_time = 1 / float(self.info.frame_rate)
                    self._audio.copy_until(self._audio_end() if complete
                                           else self.last_time + frame_time)
        except WRITE_ERRORS as exc:
            failure = exc
        finally:
            if self._audio is not None:
                self._audio.close()
            try:
                container.close()  # writes the trailer
            except WRITE_ERRORS as exc:
                failure = failure or exc
            if self.frames_written and failure is None:
                finish_scratch(self._partial, self.path)
            else:  # nothing written, or not playable (a full disk): the old output stays
                drop_scratch(self._partial)
        if failure is not None:
            raise UserError(f"cannot write {self.path}: "
                            f"{getattr(failure, 'strerror', None) or failure}") from None
