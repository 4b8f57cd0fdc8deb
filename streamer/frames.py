"""The unit that flows through the engine: a frame's pixels plus its timing."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass
class Frame:
    """One video frame on its way through the engine.

    Attributes:
        pixels: uint8 RGB, shape (H, W, 3), already upright (rotation applied).
        index: position in the stream, from 0.
        pts: presentation timestamp in `time_base` units (None when the source has none).
        time_base: seconds per `pts` tick (None when the source has none).
        captured_at: `time.monotonic()` when the frame entered the engine (for latency).
    """

    pixels: np.ndarray
    index: int
    pts: int | None = None
    time_base: Fraction | None = None
    captured_at: float = 0.0

    @property
    def time(self) -> float | None:
        """Presentation time in seconds, or None when the frame carries no timestamp."""
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)

    def with_pixels(self, pixels: np.ndarray) -> Frame:
        """The same frame (index, timing) carrying new pixels, e.g. the enhanced ones."""
        return Frame(pixels, self.index, self.pts, self.time_base, self.captured_at)
