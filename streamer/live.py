"""The latency-first live loop: newest frame in, enhanced frame out, nothing queued between.

    camera ──▶ [capture thread] ──▶ Mailbox (one slot) ──▶ [calling thread] enhance → record → preview

The capture thread reads the source as fast as it delivers and puts each frame in a
one-slot mailbox; a frame still there when the next arrives is dropped (and counted), so
when inference is slower than the camera the loop always works on the newest frame and
no backlog can grow. The calling thread (which owns the preview window, as GUI toolkits
require) enhances, records and shows each frame it takes; the glass-to-glass latency of a
frame is the time from its capture to the moment it has been recorded and shown.

The loop ends when the source ends or is lost, the user quits the preview, `max_frames`
frames were enhanced, or the `stop` event is set (Ctrl-C / SIGTERM through
`SignalStop`); the capture thread is always joined before `run_live` returns.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from streamer.camera import TIME_BASE, CameraInfo
from streamer.frames import Frame
from streamer.inference import Enhancer
from streamer.sink import VideoSink
from streamer.source import VideoInfo
from streamer.stats import PipelineStats

POLL_S = 0.05
JOIN_TIMEOUT_S = 10.0
CLOSED = object()  # what `Mailbox.take` returns once the producer closed it and it is empty


class LiveSource(Protocol):
    """What the loop needs from a source (`streamer.camera.CameraSource`)."""

    name: str
    end_reason: str
    lost: bool

    def read(self) -> Frame | None: ...

    def abandon(self) -> None: ...


class Mailbox:
    """A one-slot, drop-oldest hand-over between one producer and one consumer."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: object | None = None
        self._closed = False

    def put(self, item: object) -> bool:
        """Leave `item` for the consumer; True when it replaced (dropped) an unread one."""
        with self._cond:
            dropped = self._item is not None
            self._item = item
            self._cond.notify()
            return dropped

    def take(self, timeout: float) -> object | None:
        """The newest item, `CLOSED` after `close()` once empty, or None after `timeout` s."""
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            if item is None and self._closed:
                return CLOSED
            return item

    def close(self) -> None:
        """No more items will come (the consumer still gets the one left, if any)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@dataclass
class LiveStats(PipelineStats):
    """`PipelineStats` plus what a live run adds: the source, dropped frames, worst latency."""

    source: CameraInfo | None = None
    frames_dropped: int = 0
    frames_recorded: int = 0
    last_latency: float = 0.0
    max_latency: float = 0.0
    first_capture_at: float | None = None
    last_capture_at: float | None = None

    def frame_in(self, pixels: np.ndarray) -> None:
        """A frame was captured."""
        super().frame_in(pixels)
        now = self.clock()
        with self._lock:
            if self.first_capture_at is None:  # (not `or`: a test clock may start at 0.0)
                self.first_capture_at = now
            self.last_capture_at = now

    @property
    def capture_fps(self) -> float:
        """Frames captured per second, from the first capture to the last."""
        if self.first_capture_at is None or self.last_capture_at is None \
                or self.last_capture_at <= self.first_capture_at:
            return 0.0
        return (self.frames_in - 1) / (self.last_capture_at - self.first_capture_at)

    def frame_dropped(self) -> None:
        """A captured frame was replaced by a newer one before it was enhanced."""
        with self._lock:
            self.frames_dropped += 1

    def frame_out(self, pixels: np.ndarray, captured_at: float) -> None:
        """A frame was enhanced, recorded and shown; its glass-to-glass latency is kept."""
        super().frame_out(pixels, captured_at)
        with self._lock:
            self.last_latency = self._latency["end-to-end"][-1]
            self.max_latency = max(self.max_latency, self.last_latency)


@dataclass(frozen=True)
class LiveResult:
    """How a live run ended.

    Attributes:
        reason: what ended it, in words.
        lost: True when the run failed: the source was lost (unplugged, stream dropped,
            no frames) or, in the CLI, the model or the recording crashed.
    """

    reason: str
    lost: bool
    frames_captured: int
    frames_enhanced: int
    frames_dropped: int
    frames_recorded: int
    max_latency: float

    @classmethod
    def from_stats(cls, stats: LiveStats, reason: str, lost: bool) -> LiveResult:
        """The result of a run whose counters are `stats`."""
        return cls(reason, lost, stats.frames_in, stats.frames_out, stats.frames_dropped,
                   stats.frames_recorded, stats.max_latency)


class Viewer(Protocol):
    """What the loop needs from a preview (`streamer.preview.Preview`)."""

    quit_reason: str

    def show(self, original: np.ndarray, enhanced: np.ndarray) -> bool: ...


class _Capture(threading.Thread):
    """Reads `source` into `mailbox` until it ends or `stop` is set; keeps any error."""

    def __init__(self, source: LiveSource, mailbox: Mailbox, stats: LiveStats,
                 stop: threading.Event) -> None:
        super().__init__(name="streamer-live-capture", daemon=True)
        self.source, self.mailbox, self.stats, self.stop = source, mailbox, stats, stop
        self.error: BaseException | None = None
        # Waited on instead of `join`, which a Ctrl-C leaves unreliable (see streamer.pipeline).
        self.ended = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                frame = self.source.read()
                if frame is None:
                    return
                self.stats.frame_in(frame.pixels)
                if self.mailbox.put(frame):
                    self.stats.frame_dropped()
        except BaseException as exc:  # noqa: BLE001  (reported by the calling thread)
            self.error = exc
        finally:
            self.mailbox.close()
            self.ended.set()


def recording_info(path: str | Path, info: CameraInfo) -> VideoInfo:
    """What `VideoSink` needs to record a live source (millisecond capture timestamps)."""
    rate = Fraction(info.fps).limit_denominator(1001) if info.fps else Fraction(30)
    return VideoInfo(path=Path(path), width=info.width, height=info.height, frame_rate=rate,
                     time_base=TIME_BASE, frame_count=0, exact_count=False, has_audio=False)


def warm_up(enhancer: Enhancer, width: int, height: int) -> None:
    """Run the enhancer at the live size as the loop will: a frame a call, timestamped (so
    the temporal filter's optical flow runs too), dim and grainy as a camera's are (after
    a black frame, the first real one still took 74–77 ms on a 720p clip here, against
    ~25 ms), so that the first real frames are not slowed by tracing and first-use set-up."""
    dim = np.random.default_rng(0).integers(10, 30, (height, width, 3), np.uint8)
    for timestamp in (0.0, 1 / 30):
        enhancer.enhance([dim], [timestamp])
    enhancer.reset()


def run_live(source: LiveSource, enhancer: Enhancer, *, stats: LiveStats | None = None,
             sink: VideoSink | None = None, preview: Viewer | None = None,
             stop: threading.Event | None = None, max_frames: int | None = None,
             stall_s: float = 10.0) -> LiveResult:
    """Enhance the newest frame of `source`, again and again, until something ends the run.

    Args:
        source: an opened live source.
        enhancer: from `streamer.inference.create_enhancer`.
        sink: records the enhanced frames at their capture timestamps (optional).
        preview: shows original and enhanced; returns False when the user quits (optional).
        stop: set it (e.g. from a signal handler) to end the run cleanly.
        max_frames: end after this many enhanced frames.
        stall_s: a source that delivers nothing for this long is treated as lost.
    """
    stats = stats if stats is not None else LiveStats()
    stop = stop if stop is not None else threading.Event()
    mailbox = Mailbox()
    capture = _Capture(source, mailbox, stats, stop)
    stats.start()
    capture.start()
    try:
        reason, lost = _loop(source, enhancer, stats, mailbox, sink, preview, stop,
                             max_frames, stall_s)
    finally:
        stop.set()
        released = False
        try:
            released = capture.ended.wait(JOIN_TIMEOUT_S)
        finally:  # also on a second Ctrl-C while waiting
            if not released:  # stuck in a read: releasing the device under it could crash
                source.abandon()
        leftover = mailbox.take(0)
        if leftover is not None and leftover is not CLOSED:
            stats.frame_dropped()  # captured after the loop's last frame
        stats.finish()
    if not released:
        reason, lost = f"{reason}; {source.name} did not release within {JOIN_TIMEOUT_S:g} s", True
    if capture.error is not None:
        error = capture.error
        reason, lost = f"reading {source.name} failed: {type(error).__name__}: {error}", True
    return LiveResult.from_stats(stats, reason, lost)


def _loop(source: LiveSource, enhancer: Enhancer, stats: LiveStats, mailbox: Mailbox,
          sink: VideoSink | None, preview: Viewer | None, stop: threading.Event,
          max_frames: int | None, stall_s: float) -> tuple[str, bool]:
    """The calling thread's part; returns (why it ended, whether the source was lost)."""
    last_frame_at = time.monotonic()
    while True:
        if stop.is_set():
            return "stop requested", False
        if max_frames is not None and stats.frames_out >= max_frames:
            return f"{max_frames} frames enhanced (--max-frames)", False
        item = mailbox.take(POLL_S)
        if item is CLOSED:
            return source.end_reason or f"{source.name} ended", source.lost
        if item is None:
            if time.monotonic() - last_frame_at > stall_s:
                return f"no frame from {source.name} for {stall_s:g} s", True
            continue
        last_frame_at = time.monotonic()
        frame: Frame = item
        started = time.perf_counter()
        pixels = enhancer.enhance([frame.pixels], [frame.time])[0]
        stats.stage_time("inference", time.perf_counter() - started)
        if sink is not None:
            started = time.perf_counter()
            sink.write(frame.with_pixels(_fit(pixels, sink.info)))
            stats.stage_time("encode", time.perf_counter() - started)
            stats.frames_recorded += 1
        keep_going = preview.show(frame.pixels, pixels) if preview is not None else True
        stats.frame_out(pixels, frame.captured_at)
        if not keep_going:
            return preview.quit_reason, False


def _fit(pixels: np.ndarray, info: VideoInfo) -> np.ndarray:
    """`pixels` at the recording's size (a stream may change size mid-way)."""
    if pixels.shape[:2] == (info.height, info.width):
        return pixels
    return cv2.resize(pixels, (info.width, info.height), interpolation=cv2.INTER_AREA)


class SignalStop:
    """While active, SIGINT (Ctrl-C) and SIGTERM set `event` instead of killing the run.

    A second signal raises `KeyboardInterrupt` (for a run stuck somewhere). Handlers are
    installed only in the main thread (elsewhere this does nothing).
    """

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self.received: str | None = None

    def _handle(self, signum: int, frame) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        self.event.set()

    @contextmanager
    def installed(self) -> Iterator[SignalStop]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
