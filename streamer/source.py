"""Reading a video file: `VideoInfo` describes it, `VideoSource` yields upright RGB frames.

Decoding is threaded (`thread_type="AUTO"`), the display rotation of phone videos is
applied, and every pixel format (grey, 10-bit, ...) comes out as 8-bit RGB. A damaged
or truncated file yields the frames that decode; the source records what was lost. A
`Span` reads part of a file, as FFmpeg's `-ss` and `-t` do.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av

from gan.errors import UserError
from gan.frame_io import upright
from streamer.frames import Frame

DEFAULT_FRAME_RATE = Fraction(30)
UNSPECIFIED = 2  # FFmpeg's AVCOL_*_UNSPECIFIED
SPAN_SLACK = 1e-3  # seconds: a frame this close to a span's start or end counts as on it
SEEK_BACKOFF_S = (0.0, 1.0, 5.0, 30.0)  # seek this far before a span, until it lands there
T = TypeVar("T")


def _open_input(path: Path) -> av.container.InputContainer:
    """Open a media file for reading, or raise a `UserError` that names the problem."""
    if not path.exists():
        raise UserError(f"input not found: {path}")
    if path.is_dir():
        raise UserError(f"input is a directory, not a video file: {path}")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        if _is_mp4_without_index(path):
            raise UserError(f"cannot read {path}: an MP4/MOV file without its index (moov), "
                            "probably cut short while recording; nothing in it can be "
                            "located") from None
        raise UserError(f"cannot read {path}: not a readable video file ({exc.strerror})") from None


def _is_mp4_without_index(path: Path) -> bool:
    """An ISO-BMFF file (`ftyp` first) that FFmpeg could not open: its moov box is missing."""
    try:
        with path.open("rb") as file:
            return file.read(12)[4:8] == b"ftyp"
    except OSError:
        return False


def _video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    if not container.streams.video:
        kinds = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
        raise UserError(f"no video stream in {path} (it has: {kinds})")
    return container.streams.video[0]


@dataclass(frozen=True)
class VideoInfo:
    """What the engine needs to know about an input video before reading it.

    Attributes:
        path: the file (its audio is copied from here).
        width, height: displayed size (after rotation).
        frame_rate: average frame rate (the output's rate).
        time_base: seconds per timestamp tick (the output keeps it).
        frame_count: frames the container announces, less an edit list's pre-roll (an
            estimate from the duration when `exact_count` is False).
        has_audio: whether an audio stream exists (it is copied to the output).
        colorspace, color_primaries, color_trc: FFmpeg's colour tags of the first frame
            (2 = unspecified); frames are decoded with this matrix and the output keeps it.
        first_time: the first frame's timestamp in seconds (where a `Span` counts from).
        duration: seconds, as the container states it (0: unknown, e.g. a raw stream).
    """

    path: Path
    width: int
    height: int
    frame_rate: Fraction
    time_base: Fraction
    frame_count: int
    exact_count: bool
    has_audio: bool
    colorspace: int = UNSPECIFIED
    color_primaries: int = UNSPECIFIED
    color_trc: int = UNSPECIFIED
    first_time: float = 0.0
    duration: float = 0.0

    @classmethod
    def from_path(cls, path: str | Path) -> VideoInfo:
        """Probe `path` (decoding its first frame); `UserError` if it has no decodable video."""
        path = Path(path)
        with _open_input(path) as container:
            stream = _video_stream(container, path)
            first, preroll = _first_frame(container, stream)
            if first is None:
                raise UserError(f"no video frames could be decoded from {path}")
            height, width = upright(first).shape[:2]
            rate = (stream.average_rate or stream.guessed_rate or stream.base_rate
                    or DEFAULT_FRAME_RATE)
            time_base = stream.time_base or Fraction(1, 90000)
            duration = _duration(container, stream)
            count = max(0, stream.frames - preroll)
            return cls(
                path=path, width=width, height=height, frame_rate=Fraction(rate),
                time_base=Fraction(time_base),
                frame_count=count or max(1, round(duration * float(rate))),
                exact_count=count > 0, has_audio=bool(container.streams.audio),
                colorspace=int(first.colorspace), color_primaries=int(first.color_primaries),
                color_trc=int(first.color_trc), first_time=float(first.time or 0.0),
                duration=duration,
            )


@dataclass(frozen=True)
class Span:
    """The part of a video to enhance: `duration` seconds (None: to the end) from `start`
    seconds after its first frame, as FFmpeg's `-ss START -t DURATION`.

    A part is written as a video of its own: its timestamps, audio included, start at 0.
    """

    start: float = 0.0
    duration: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and self.start >= 0):
            raise ValueError(f"`start` must be a number of seconds >= 0. Received: {self.start}")
        if self.duration is not None and not (math.isfinite(self.duration) and self.duration > 0):
            raise ValueError(f"`duration` must be a number of seconds > 0. "
                             f"Received: {self.duration}")

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.duration is None

    @property
    def seeks(self) -> bool:
        """Whether reading starts by seeking (and timestamps are shifted to start at 0)."""
        return self.start > 0

    def describe(self) -> str:
        """E.g. "from 60 s for 5 s"."""
        return f"from {self.start:g} s" + ("" if self.duration is None
                                          else f" for {self.duration:g} s")

    def bounds(self, info: VideoInfo) -> tuple[float, float | None]:
        """The span in the file's own seconds: (from, to); `to` is None for the end."""
        begin = info.first_time + self.start
        return begin, None if self.duration is None else begin + self.duration

    def shift(self, info: VideoInfo) -> float:
        """Seconds taken off every timestamp, so that the part starts at 0. A part that
        starts at the beginning keeps the file's own timestamps, moved up to 0 where they
        start below it (an MPEG-TS whose clock wraps, once FFmpeg unwraps it): MP4 and MOV
        hide frames before 0, as FFmpeg's `-avoid_negative_ts make_non_negative` avoids."""
        return self.bounds(info)[0] if self.seeks else min(0.0, info.first_time)

    @property
    def end_slack(self) -> float:
        """How close to the span's end a frame may be and still be left out (never more
        than half a short span)."""
        return SPAN_SLACK if self.duration is None else min(SPAN_SLACK, self.duration / 2)

    def frame_count(self, info: VideoInfo) -> int:
        """Frames expected in the span, at the average frame rate (an estimate, for
        progress)."""
        if self.whole:
            return info.frame_count
        rate = float(info.frame_rate)
        left = max(0, info.frame_count - math.ceil((self.start - SPAN_SLACK) * rate))
        wanted = math.inf if self.duration is None else (self.duration - self.end_slack) * rate
        return left if wanted >= left else math.ceil(wanted)

    def check(self, info: VideoInfo) -> None:
        """`UserError` for a span that starts after the video's last frame (found by
        reading there: a container's stated length can be wrong, or missing)."""
        if not self.seeks:
            return
        with VideoSource(info.path, span=Span(self.start), info=info) as source:
            if next(iter(source), None) is None:
                stated = f" (it states {info.duration:.2f} s)" if info.duration > 0 else ""
                raise UserError(f"start {self.start:g} s is past the last frame of "
                                f"{info.path}{stated}")


def _first_frame(container: av.container.InputContainer, stream
                 ) -> tuple[av.VideoFrame | None, int]:
    """The first frame shown, and the packets before it that the container marks to be
    discarded: an edit list's pre-roll, counted in `stream.frames` but never shown."""
    discarded = 0
    try:
        for packet in container.demux(stream):
            discarded += bool(packet.is_discard)
            for frame in packet.decode():
                return frame, discarded
    except av.error.FFmpegError:
        pass
    return None, discarded


def _duration(container: av.container.InputContainer, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


class VideoSource:
    """Decoded frames of a file, as a context manager and an iterator of `Frame`s.

    Timestamps are kept (and forced strictly increasing, which encoders require);
    frames without one get a timestamp from the frame rate. Decoding errors do not
    stop the stream: `frames_read`, `decode_errors` and `lost_frames` say what happened.
    With a `span`, the file is read from the keyframe before its start, and the frames
    in it are yielded with `span.shift` taken off their timestamps.
    """

    def __init__(self, path: str | Path, *, span: Span = Span(), info: VideoInfo | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.info = info if info is not None else VideoInfo.from_path(self.path)  # probed once
        self.span = span
        self.frames_read = 0
        self.decode_errors = 0
        self._clock = clock
        self._container: av.container.InputContainer | None = None

    def __enter__(self) -> VideoSource:
        self._container = _open_input(self.path)
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (safe to call twice)."""
        if self._container is not None:
            self._container.close()
            self._container = None

    @property
    def lost_frames(self) -> int:
        """Frames announced by the container, or damaged, that did not decode."""
        if not self.span.whole:  # a part's frame count is an estimate
            return self.decode_errors
        announced = self.info.frame_count if self.info.exact_count else self.frames_read
        return max(announced - self.frames_read, self.decode_errors)

    def __iter__(self) -> Iterator[Frame]:
        if self._container is None:
            raise RuntimeError("VideoSource must be used inside `with`")
        stream = self._decoding_stream()
        time_base = Fraction(stream.time_base or self.info.time_base)
        ticks_per_frame = 1 / (self.info.frame_rate * time_base)
        begin, end = self.span.bounds(self.info)
        shift = math.floor(self.span.shift(self.info) / time_base)
        decoded = self._decoded_from(stream, begin) if self.span.seeks else self._decoded(stream)
        last_pts: int | None = None
        timestamp = BestEffortTimestamp()
        for index, av_frame in enumerate(decoded):  # index: this read's, before a span too
            pts = timestamp(av_frame)
            if pts is None:
                pts = round(index * ticks_per_frame)
            if self.span.seeks:
                if pts * time_base < begin - SPAN_SLACK:
                    continue  # decoded from the keyframe before the span
                if last_pts is None:
                    self.decode_errors = 0  # what failed before the span is not its loss
            if end is not None and pts * time_base >= end - self.span.end_slack:
                return
            pts = max(0, pts - shift) if shift else pts
            if last_pts is not None and pts <= last_pts:
                pts = last_pts + 1
            last_pts = pts
            yield Frame(upright(av_frame), self.frames_read, pts, time_base, self._clock())
            self.frames_read += 1

    def _decoded_from(self, stream: av.VideoStream, seconds: float) -> Iterator[av.VideoFrame]:
        """Decoded frames from a keyframe at or before `seconds` (the whole file where no
        seek gets there)."""
        frames = seek_before(self._container, stream, seconds, lambda: self._decoded(stream),
                             lambda frame: frame.time)
        if frames is None:  # read from the start: reopened, as a failed seek may have moved
            self._container.close()
            self._container = _open_input(self.path)
            frames = self._decoded(self._decoding_stream())
        yield from frames

    def _decoding_stream(self) -> av.VideoStream:
        """The open container's video stream, decoded on threads."""
        stream = _video_stream(self._container, self.path)
        stream.thread_type = "AUTO"
        return stream

    def _decoded(self, stream) -> Iterator[av.VideoFrame]:
        """Decoded frames; a bad packet is counted and skipped, a broken container ends it."""
        demuxed = self._container.demux(stream)
        while True:
            try:
                packet = next(demuxed)
            except StopIteration:
                return
            except av.error.FFmpegError:
                self.decode_errors += 1
                return
            try:
                yield from packet.decode()
            except av.error.FFmpegError:
                self.decode_errors += 1


class BestEffortTimestamp:
    """A decoded frame's timestamp by the rule of FFmpeg's `best_effort_timestamp` (its
    `guess_correct_pts`, which PyAV does not expose): the pts, unless pts have gone
    backwards more often than dts. AVI with B-frames stores no pts, and the ones FFmpeg
    guesses come out of order while dts are right. Unlike FFmpeg's, once dts are chosen
    it also continues them, a step at a time, over the last frames the decoder flushes
    (which carry none)."""

    def __init__(self) -> None:
        self.faulty_pts = self.faulty_dts = 0
        self.last_pts: int | None = None
        self.last_dts: int | None = None
        self.dts_step = 0

    def __call__(self, frame: av.VideoFrame) -> int | None:
        pts, dts = frame.pts, frame.dts
        if dts is None and self.faulty_pts > self.faulty_dts and self.last_dts is not None:
            dts = self.last_dts + self.dts_step  # the frames flushed at the end carry none
        if dts is not None:
            if self.last_dts is not None:
                self.faulty_dts += dts <= self.last_dts
                self.dts_step = dts - self.last_dts
            self.last_dts = dts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts
        return pts if pts is not None and (dts is None or self.faulty_pts <= self.faulty_dts) \
            else dts


def seek_before(container: av.container.InputContainer, stream: av.stream.Stream,
                seconds: float, read: Callable[[], Iterator[T]],
                time_of: Callable[[T], float | None]) -> Iterator[T] | None:
    """`read()`'s items (decoded frames or packets of `stream`) from a point at or before
    `seconds`, or None where no seek gets there.

    FFmpeg's backward seek is exact in MP4, MKV or AVI but can land after the target in
    MPEG-TS, and raw streams (.h264) cannot seek: each landing is checked on the first
    item read, and a seek that lands late is retried further back.
    """
    for back in SEEK_BACKOFF_S:
        try:
            container.seek(math.floor((seconds - back) / stream.time_base), stream=stream,
                           backward=True)
        except av.error.FFmpegError:
            return None
        items = read()
        try:
            first = next(items, None)
        except av.error.FFmpegError:  # damage at the landing: read from the start instead
            return None
        landed = None if first is None else time_of(first)
        if landed is not None and landed <= seconds + SPAN_SLACK:
            return itertools.chain([first], items)
    return None
