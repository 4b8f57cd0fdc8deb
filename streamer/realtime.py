"""The "realtime" mode: the generator sees a small copy of the frame; a guided filter
carries its result back to full resolution (`streamer.guided`).

The idea behind HDRNet and Zero-DCE++: predict the enhancement at low resolution, then
apply it per pixel at full resolution, edge-aware. On noisy frames the filter is made
smoother, as the full-resolution guide is then mostly grain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from gan.data import from_signed, to_signed, to_uint8, to_unit
from streamer.guided import guided_upsample
from streamer.inference import (
    EnhanceOptions,
    ExposureNormaliser,
    LogSmoother,
    TileModel,
    as_tile_model,
    check_timestamps,
    run_grouped,
    with_strength,
)
from streamer.noise import NOISE_FLOOR, estimate_noise
from streamer.temporal import TemporalFilter
from streamer.threads import resolve_threads, thread_map
from streamer.tiles import SIZE_MULTIPLE

if TYPE_CHECKING:
    from gan.backend import keras


def work_shape(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) of the generator's copy: at most `long_side` long, multiples of `SIZE_MULTIPLE`."""
    scale = min(1.0, long_side / max(height, width))
    m = SIZE_MULTIPLE
    return (max(m, round(height * scale / m) * m), max(m, round(width * scale / m) * m))


class RealtimeEnhancer:
    """Generator on a ≤ `options.work_size` copy of each frame, guided upsampling back.

    Frames of one size (a video) share one model call.

    Args:
        model: a generator (`keras.Model`) or a tile function (`streamer.inference.TileModel`).
        options: exposure, work size and guided-filter settings.
    """

    def __init__(self, model: keras.Model | TileModel,
                 options: EnhanceOptions = EnhanceOptions(mode="realtime")):
        self.options = options
        self._model = as_tile_model(model)
        self._exposure = ExposureNormaliser(options)
        self._noise = LogSmoother(options.smoothing_s)
        self._threads = resolve_threads(options.threads)
        # On the generator's small result: cheap (~1 ms), and the guided filter carries it up.
        self._temporal = TemporalFilter(options.temporal_strength, options.temporal_tolerance)

    def reset(self) -> None:
        """Forget the exposure, noise and frame history (call between unrelated videos)."""
        for history in (self._exposure, self._noise, self._temporal):
            history.reset()

    def set_exposure(self, stops: float) -> None:
        """As `FrameEnhancer.set_exposure`."""
        self._exposure.compensate(stops)

    def enhance(self, frames: Sequence[np.ndarray],
                timestamps: Sequence[float | None] | None = None) -> list[np.ndarray]:
        """As `FrameEnhancer.enhance`. The work at full resolution (exposure, the small
        copies, noise measures, guided upsampling) runs on `options.threads` threads, a
        frame each; the model call and what depends on the frames before (the smoothed
        gain and noise, the temporal filter on the small results) run in order."""
        timestamps = check_timestamps(frames, timestamps)
        o = self.options
        with thread_map(self._threads) as map_:
            work = [exposure[1:] for exposure in self._exposure(frames, timestamps, map_)]
            smalls = list(map_(self._small, work))
            noises = map_(_noise, [full for full, _ in work], smalls)
            eps = [None if noise is None else self._guide_eps(noise, t)
                   for noise, t in zip(noises, timestamps, strict=True)]
            dark = [to_signed(to_unit(s))[None] for s in smalls if s is not None]
            outputs = iter(run_grouped(self._model, dark, batch_size=None))
            carried = []  # the small results to carry up, in order through the temporal filter
            for small, timestamp in zip(smalls, timestamps, strict=True):
                # As in quality mode, a photo (no timestamp) and a bright frame (no generator:
                # its exposure curve alone) pass the temporal filter and end its history.
                steady = small is not None and timestamp is not None and o.temporal_strength > 0
                if not steady:
                    self._temporal.reset()
                out = None if small is None else next(outputs)[0]
                if steady:
                    out = self._temporal(to_uint8(out), timestamp) / np.float32(255)
                elif out is not None:
                    out = from_signed(out)
                carried.append(out)
            return list(map_(self._carry_up, work, smalls, carried, eps))

    def _small(self, exposure: tuple[np.ndarray, float]) -> np.ndarray | None:
        """The generator's copy of an exposure-normalised frame; None for a frame that is
        not dark (no generator)."""
        full, strength = exposure
        if strength == 0:
            return None
        return cv2.resize(full, work_shape(*full.shape[:2], self.options.work_size)[::-1],
                          interpolation=cv2.INTER_AREA)

    def _carry_up(self, exposure: tuple[np.ndarray, float], small: np.ndarray | None,
                  out: np.ndarray | None, eps: float | None) -> np.ndarray:
        """The frame: the small result carried up along it, at the generator's strength."""
        full, strength = exposure
        enhanced = None if out is None else guided_upsample(
            full, small, out, radius=self.options.guide_radius, eps=eps)
        return with_strength(enhanced, full, strength)

    def _guide_eps(self, noise: float, timestamp: float | None) -> float:
        """The guided filter's smoothness for a frame of this noise level: `guide_eps`, or
        more on a noisy frame (`guide_eps_noise`·σ², σ smoothed over time), whose
        full-resolution guide is then mostly grain."""
        o = self.options
        return max(o.guide_eps, o.guide_eps_noise * self._noise(noise, timestamp) ** 2)


def _noise(full: np.ndarray, small: np.ndarray | None) -> float | None:
    """An exposure-normalised frame's noise level (one band of rows in four, the realtime
    budget); None for a frame that is not dark (`small` None: no generator)."""
    return None if small is None else max(estimate_noise(full, sample=4), NOISE_FLOOR)
