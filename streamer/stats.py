"""Counters that the pipeline's stages bump and the dashboard reads.

Stages only record (a lock-protected append or addition); every rate, latency and ETA is
derived on read from bounded deques, so memory stays flat on long runs. The clock is
injectable, so tests control time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gan.exposure import LUMA_WEIGHTS

STAGES = ("decode", "inference", "encode")


def mean_luma(pixels: np.ndarray) -> float:
    """Mean Rec.709 luma of a uint8 RGB frame in [0, 255], sampled on every 4th pixel."""
    return float((pixels[::4, ::4].astype(np.float32) @ LUMA_WEIGHTS).mean())


class RateMeter:
    """Events per second over the last `window` events."""

    def __init__(self, window: int = 60) -> None:
        self._times: deque[float] = deque(maxlen=window)

    def tick(self, now: float, count: int = 1) -> None:
        self._times.extend([now] * count)

    def rate(self, now: float) -> float:
        """Events per second between the oldest sample kept and `now` (0 before two samples)."""
        if len(self._times) < 2 or now <= self._times[0]:
            return 0.0
        return (len(self._times) - 1) / (now - self._times[0])


@dataclass
class LumaTrack:
    """Mean luma of a frame sequence and its flicker: mean |Δ luma| between consecutive frames."""

    total: float = 0.0
    count: int = 0
    change_total: float = 0.0
    last: float | None = None

    def add(self, luma: float) -> None:
        if self.last is not None:
            self.change_total += abs(luma - self.last)
        self.total += luma
        self.count += 1
        self.last = luma

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    @property
    def flicker(self) -> float:
        return self.change_total / (self.count - 1) if self.count > 1 else 0.0


@dataclass
class PipelineStats:
    """Progress, speed and per-stage latency of one run.

    Attributes:
        total_frames: frames expected (None when unknown), for progress and ETA.
        clock: seconds, monotonic (injectable for tests).
    """

    total_frames: int | None = None
    clock: Callable[[], float] = time.monotonic
    window: int = 60
    frames_in: int = 0
    frames_out: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    luma_in: LumaTrack = field(default_factory=LumaTrack)
    luma_out: LumaTrack = field(default_factory=LumaTrack)
    queue_depths: dict[str, Callable[[], int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rate_in = RateMeter(self.window)
        self._rate_out = RateMeter(self.window)
        self._latency: dict[str, deque[float]] = {s: deque(maxlen=self.window) for s in STAGES}
        self._latency["end-to-end"] = deque(maxlen=self.window)

    def start(self) -> None:
        self.started_at = self.clock()

    def finish(self) -> None:
        self.finished_at = self.clock()

    def frame_in(self, pixels: np.ndarray) -> None:
        """A frame was decoded."""
        luma = mean_luma(pixels)
        with self._lock:
            self.frames_in += 1
            self._rate_in.tick(self.clock())
            self.luma_in.add(luma)

    def frame_out(self, pixels: np.ndarray, captured_at: float) -> None:
        """A frame was written; `captured_at` is when it entered the engine."""
        luma = mean_luma(pixels)
        with self._lock:
            now = self.clock()
            self.frames_out += 1
            self._rate_out.tick(now)
            self.luma_out.add(luma)
            self._latency["end-to-end"].append(now - captured_at)

    def stage_time(self, stage: str, seconds: float, frames: int = 1) -> None:
        """`stage` spent `seconds` on `frames` frames (recorded per frame)."""
        with self._lock:
            self._latency[stage].extend([seconds / max(frames, 1)] * max(frames, 1))

    def latency(self, stage: str) -> float:
        """Mean recent seconds per frame in `stage` (0 before any)."""
        with self._lock:
            samples = list(self._latency[stage])
        return sum(samples) / len(samples) if samples else 0.0

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or self.clock()) - self.started_at

    @property
    def fps_in(self) -> float:
        with self._lock:
            return self._rate_in.rate(self.clock())

    @property
    def fps_out(self) -> float:
        with self._lock:
            return self._rate_out.rate(self.clock())

    @property
    def mean_fps(self) -> float:
        """Frames written per second over the whole run."""
        return self.frames_out / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the recent output rate (None when unknown)."""
        fps = self.fps_out
        if self.total_frames is None or fps <= 0:
            return None
        return max(self.total_frames - self.frames_out, 0) / fps

    def depths(self) -> dict[str, int]:
        """Current size of each registered queue."""
        return {name: depth() for name, depth in self.queue_depths.items()}
