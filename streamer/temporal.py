"""Temporal noise reduction: a motion-compensated recursive average of the enhanced frames.

The generator sees one frame at a time, so what noise it leaves (and the worm-like strokes
it paints from strong or compressed grain) is new in every frame and boils in a video.
Video denoisers answer this by averaging each pixel along its motion. Here each enhanced
frame is mixed with the previous result warped onto it by dense optical flow (OpenCV's
DIS, Kroeger et al. 2016, computed on the enhanced frames, which are cleaner than the
input); where the two disagree (occlusions, scene cuts, flow errors) the history is
dropped, so moving objects do not leave trails. Hand-written around OpenCV's flow and
remap: OpenCV's own multi-frame denoiser (`fastNlMeansDenoisingColoredMulti`) takes
seconds per frame and keeps no state between calls.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence

import cv2
import numpy as np

FLOW_SIZE = 640  # the longest side the optical flow is computed at
# OpenCV's DIS fails on frames under 12 px, and crashes (segfault) on some landscape ones
# under 32 px high (opencv-python 5.0) or much longer than wide: frames whose flow copy is
# under 32 px or over 4:1 pass unfiltered (checked in forked processes on 24–384 px sizes).
MIN_SIDE, MAX_ASPECT = 32, 4
_MEAN = np.full((1, 3), 1 / 3, np.float32)  # RGB → the mean of the three channels


class TemporalFilter:
    """Recursive, motion-compensated averaging of a frame sequence (uint8 RGB, one size).

    Args:
        strength: the previous result's share where it agrees with the new frame exactly
            (0 turns the filter off; 0.9 averages about the last 19 frames of a still scene).
        tolerance: mean RGB difference in levels (after a Gaussian blur of `blur` px) at
            which the history is dropped; the share falls linearly from `strength` to 0.
        max_gap_s: frames further apart than this (or going back in time) start afresh.
    """

    def __init__(self, strength: float = 0.9, tolerance: float = 30.0, blur: float = 5.0,
                 max_gap_s: float = 1.0) -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"`strength` must be in [0, 1). Received: {strength}")
        if tolerance <= 0 or blur <= 0:
            raise ValueError(f"`tolerance` and `blur` must be > 0. Received: {tolerance}, {blur}")
        self.strength, self.tolerance, self.blur, self.max_gap_s = strength, tolerance, blur, max_gap_s
        self._local = threading.local()
        self.reset()

    def reset(self) -> None:
        """Forget the history (between unrelated videos)."""
        self._result: np.ndarray | None = None  # float32 RGB
        self._gray: np.ndarray | None = None  # uint8, of the last enhanced frame (unfiltered),
        # at `flow_size`
        self._time: float | None = None
        self._shape: tuple[int, int] | None = None  # the last frame's (height, width)

    def __call__(self, frame: np.ndarray, timestamp: float) -> np.ndarray:
        """The filtered frame (uint8 RGB) for the enhanced `frame` shown at `timestamp` s."""
        return self.filter([frame], [timestamp])[0]

    def grays(self, frames: Sequence[np.ndarray], map_: Callable = map) -> list[np.ndarray]:
        """The grey copies of the (unfiltered) frames the optical flow is computed on."""
        return list(map_(_gray, frames))

    def filter(self, frames: Sequence[np.ndarray], timestamps: Sequence[float | None],
               map_: Callable = map, bands: int = 1, grays: Sequence[np.ndarray] | None = None
               ) -> list[np.ndarray]:
        """The filtered frames, in order. A frame without a timestamp passes as it is and
        ends the history.

        The optical flow of each pair of frames needs only the unfiltered frames (their
        `grays`, made here when not given), so the flows are computed through `map_` (a
        thread pool's `map` computes them in parallel). The averaging needs the previous
        result, so frames are averaged in order, each in up to `bands` horizontal bands
        through `map_`.
        """
        grays = self.grays(frames, map_) if grays is None else grays
        smalls = list(map_(_flow_copy, grays))
        pairs = []  # (this frame's small gray, the previous frame's) where the history carries on
        previous = (self._gray, self._time, self._shape)
        for frame, small, timestamp in zip(frames, smalls, timestamps, strict=True):
            carries = timestamp is not None and self._continues(frame.shape, timestamp, *previous)
            pairs.append((small, previous[0]) if carries else None)
            previous = (small, timestamp, frame.shape[:2]) if timestamp is not None \
                else (None, None, None)
        flows = map_(self._motion, pairs, (frame.shape[:2] for frame in frames))
        results = []
        for frame, small, timestamp, flow in zip(frames, smalls, timestamps, flows, strict=True):
            if timestamp is None:
                self.reset()
                results.append(frame)
                continue
            result = self._average(frame, flow, map_, bands)
            self._result, self._gray, self._time = result, small, timestamp
            self._shape = frame.shape[:2]
            results.append(self._as_frame(result))
        return results

    @staticmethod
    def _as_frame(result: np.ndarray) -> np.ndarray:
        """The uint8 frame of a float32 result: rounded and saturated."""
        return cv2.convertScaleAbs(result)

    def _average(self, frame: np.ndarray, flow: np.ndarray | None, map_: Callable,
                 bands: int) -> np.ndarray:
        """`frame` (uint8 RGB) mixed with the previous result along `flow` (None: no
        history), in up to `bands` bands of rows through `map_`; float32.

        Each band is computed with `halo` rows of its neighbours on both sides, which the
        blur of the difference reads, so the bands join exactly (hand-written: OpenCV runs
        its element-wise calls on one thread).
        """
        current = frame.astype(np.float32)
        if flow is None:
            return current
        h, w = flow.shape[:2]
        flow = cv2.add(flow, _pixel_grid(h, w))  # where each pixel was, not how far it moved
        halo = math.ceil(4 * self.blur) + 1  # OpenCV's float kernel reaches 4σ
        bands = max(1, min(bands, h // (4 * halo)))  # thin bands would repeat their halo
        edges = np.linspace(0, h, bands + 1).astype(int)
        result = np.empty_like(current)

        def band(top: int, bottom: int) -> None:
            above, below = max(0, top - halo), min(h, bottom + halo)
            rows = self._average_rows(current[above:below], flow[above:below], w, h)
            result[top:bottom] = rows[top - above:bottom - above]

        list(map_(band, edges[:-1], edges[1:]))
        return result

    def _average_rows(self, current: np.ndarray, flow: np.ndarray, w: int, h: int) -> np.ndarray:
        """`_average` on a band of rows: `flow` holds absolute positions in the previous
        result, which is `w` × `h`."""
        history = cv2.remap(self._result, flow, None, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
        # What moved in from outside the previous frame has no history (a replicated
        # border, kept, smeared the edge rows of panning shots into streaks).
        inside = cv2.inRange(flow, (0.0, 0.0), (w - 1.0, h - 1.0))
        # OpenCV's element-wise calls, not numpy's: 3× faster on a 720p frame here.
        disagreement = cv2.GaussianBlur(cv2.transform(cv2.absdiff(history, current), _MEAN),
                                        (0, 0), self.blur)
        share = cv2.max(cv2.min(1.0 - disagreement / self.tolerance, 1.0), 0.0)
        share = cv2.multiply(share, inside, scale=self.strength / 255, dtype=cv2.CV_32F)
        # One pass for current + share·(history - current); it divides by the weights' sum
        # plus 1e-5, which moves a level by at most 0.003.
        return cv2.blendLinear(history, current, share, 1.0 - share)

    def _motion(self, pair: tuple[np.ndarray, np.ndarray] | None, shape: tuple[int, int]
                ) -> np.ndarray | None:
        """flow[y, x]: how far the pixel (x, y) of this frame of `shape` moved from the
        previous one, for a pair of grey frames at `flow_size` (this, previous); None for None.

        Computed on copies at most `FLOW_SIZE` px long and scaled up: motion is smooth, and
        DIS costs 40 ms on a 720p frame here against 12 ms on a 640×360 one.
        """
        small = self._small_motion(pair)
        if small is None or small.shape[:2] == shape:
            return small
        h, w = shape
        flow = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.multiply(flow, (w / small.shape[1], h / small.shape[0], 0.0, 0.0))

    def _small_motion(self, pair: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray | None:
        """`_motion` at `flow_size`, in its pixels (not scaled up)."""
        return None if pair is None else self._dis().calc(*pair, None)

    def _dis(self) -> cv2.DISOpticalFlow:
        """This thread's DIS (one instance must not compute two flows at once)."""
        if not hasattr(self._local, "dis"):
            self._local.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        return self._local.dis

    def _continues(self, shape: tuple[int, ...], timestamp: float,
                   previous_gray: np.ndarray | None, previous_time: float | None,
                   previous_shape: tuple[int, int] | None) -> bool:
        """Whether a frame of `shape` at `timestamp` follows the previous one (its grey
        copy, time and size) closely enough to use the history."""
        return (previous_gray is not None and previous_time is not None
                and previous_shape == shape[:2] and self.strength > 0
                and 0 < timestamp - previous_time <= self.max_gap_s
                and flowable(*flow_size(*shape[:2])))


def flow_size(height: int, width: int) -> tuple[int, int]:
    """(width, height) the flow of such frames is computed at: at most `FLOW_SIZE` long."""
    scale = min(1.0, FLOW_SIZE / max(height, width))
    return round(width * scale), round(height * scale)


def flowable(width: int, height: int) -> bool:
    """Whether DIS handles a frame of this size."""
    short, long = sorted((width, height))
    return short >= MIN_SIDE and long <= MAX_ASPECT * short


def _flow_copy(gray: np.ndarray) -> np.ndarray:
    """A grey frame at `flow_size` (as it is where no flow is computed)."""
    size = flow_size(*gray.shape)
    if size == gray.shape[::-1] or not flowable(*size):
        return gray
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


@functools.lru_cache(maxsize=2)
def _pixel_grid(height: int, width: int) -> np.ndarray:
    """(height, width, 2) float32: each pixel's (x, y)."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    grid = np.dstack([xs, ys])
    grid.flags.writeable = False
    return grid


def _gray(frame: np.ndarray) -> np.ndarray:
    """uint8 luma of a uint8 RGB frame, what the optical flow is computed on."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
