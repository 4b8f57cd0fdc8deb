"""Enhancing frames with the generator: exposure, tiling, batched inference, stitching.

`FrameEnhancer` is the "quality" mode: every frame is first brought to a normal exposure
with `gan.exposure` (the generator was trained on frames prepared that way), then cut
into overlapping tiles; tiles of several frames go through the model together in full
batches, and are stitched back. For video the exposure gain is smoothed over time (an
exponential moving average of the log-gain, by timestamp), so brightness does not flicker.

Other modes plug in through `create_enhancer`: anything with `enhance(frames, timestamps)`
and `reset()` (the `Enhancer` protocol) can drive the pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from gan.backend import keras
from gan.data import to_uint8
from gan.exposure import ExposureConfig, apply_gain, estimate_gain
from streamer.tiles import check_tiling, plan_tiles, split, stitch

Mode = Literal["quality", "realtime"]
MODES: tuple[Mode, ...] = ("quality", "realtime")
TileModel = Callable[[np.ndarray], np.ndarray]
LEVELS = np.arange(256, dtype=np.float32) / 255.0


@dataclass(frozen=True)
class EnhanceOptions:
    """How frames are enhanced.

    Attributes:
        mode: "quality" (tiled full-resolution generator) or "realtime" (generator on a
            small copy, guided upsampling: `streamer.realtime`).
        tile: tile side in pixels (a multiple of 4).
        overlap: pixels shared by neighbouring tiles (blended with a raised cosine).
        batch_size: tiles per model call; the last call of a batch is padded to full size.
        exposure: the frame-level exposure target.
        smoothing_s: time constant (seconds) of the log-gain EMA for video; 0 disables it.
        work_size: realtime mode: the long side of the copy the generator sees.
        guide_radius, guide_eps: realtime mode: the guided filter's window and smoothness.
    """

    mode: Mode = "quality"
    tile: int = 256
    overlap: int = 32
    batch_size: int = 8
    exposure: ExposureConfig = field(default_factory=ExposureConfig)
    smoothing_s: float = 0.5
    work_size: int = 256
    guide_radius: int = 1
    guide_eps: float = 1e-3

    def __post_init__(self) -> None:
        check_tiling(self.tile, self.overlap)
        if self.batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1. Received: {self.batch_size}")
        if self.smoothing_s < 0:
            raise ValueError(f"`smoothing_s` must be >= 0. Received: {self.smoothing_s}")


class Enhancer(Protocol):
    """What the pipeline needs from an enhancement mode."""

    def enhance(self, frames: Sequence[np.ndarray],
                timestamps: Sequence[float | None] | None = None) -> list[np.ndarray]: ...

    def reset(self) -> None: ...


def as_tile_model(model: keras.Model | TileModel) -> TileModel:
    """A function from a (N, t, t, 3) float32 batch in [-1, 1] to the same, for any model."""
    if isinstance(model, keras.Model):
        return lambda batch: np.asarray(model.predict_on_batch(batch), dtype=np.float32)
    return model


class GainSmoother:
    """EMA of the log exposure gain over time: `tau` seconds to move ~63% of the way."""

    def __init__(self, tau: float) -> None:
        self.tau = tau
        self._log_gain: float | None = None
        self._time: float | None = None

    def reset(self) -> None:
        self._log_gain = self._time = None

    def __call__(self, gain: float, timestamp: float | None) -> float:
        """The smoothed gain for a frame at `timestamp` (None: no history, use `gain`)."""
        log_gain = math.log(gain)
        restart = timestamp is None or self._log_gain is None or self._time is None \
            or timestamp <= self._time or self.tau == 0
        if not restart:
            alpha = 1.0 - math.exp(-(timestamp - self._time) / self.tau)
            log_gain = self._log_gain + alpha * (log_gain - self._log_gain)
        self._log_gain, self._time = log_gain, timestamp
        return math.exp(log_gain)


class FrameEnhancer:
    """The "quality" mode: exposure-normalised, tiled, batched full-resolution inference.

    Args:
        model: a generator (`keras.Model`) or any function mapping a float32 tile batch
            (N, tile, tile, 3) in [-1, 1] to the same shape and range.
        options: tiling, batching and exposure settings.
    """

    def __init__(self, model: keras.Model | TileModel, options: EnhanceOptions = EnhanceOptions()):
        self.options = options
        self._model = as_tile_model(model)
        self._smoother = GainSmoother(options.smoothing_s)

    def reset(self) -> None:
        """Forget the exposure history (call between unrelated videos)."""
        self._smoother.reset()

    def enhance(self, frames: Sequence[np.ndarray],
                timestamps: Sequence[float | None] | None = None) -> list[np.ndarray]:
        """Enhance uint8 RGB frames, returned in order as uint8 RGB of the same sizes.

        Args:
            frames: (H, W, 3) uint8 arrays; sizes may differ.
            timestamps: seconds, one per frame, for smoothing exposure over a video;
                None treats each frame as an independent image.
        """
        timestamps = check_timestamps(frames, timestamps)
        o = self.options
        grids = [plan_tiles(*f.shape[:2], tile=o.tile, overlap=o.overlap) for f in frames]
        inputs = [self.normalise(f, t) for f, t in zip(frames, timestamps, strict=True)]
        tiles = [split(x, g) for x, g in zip(inputs, grids, strict=True)]
        outputs = self._run_batches(np.concatenate(tiles)) if tiles else np.empty((0,))
        results, start = [], 0
        for grid in grids:
            image = stitch(outputs[start:start + grid.count], grid)
            results.append(to_uint8(image))
            start += grid.count
        return results

    def enhance_image(self, image: np.ndarray) -> np.ndarray:
        """Enhance one independent uint8 RGB image."""
        return self.enhance([image])[0]

    def normalise(self, frame: np.ndarray, timestamp: float | None) -> np.ndarray:
        """Exposure-normalised frame as float32 in [-1, 1] (the generator's input)."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be uint8 RGB (H, W, 3). "
                             f"Received: {frame.dtype} {frame.shape}")
        return (self.exposure_lut(frame, timestamp) * 2.0 - 1.0)[frame]

    def exposure_lut(self, frame: np.ndarray, timestamp: float | None) -> np.ndarray:
        """The frame's (time-smoothed) exposure curve on the 256 levels: float32 in [0, 1]."""
        config = self.options.exposure
        gain = self._smoother(estimate_gain(frame, config), timestamp)
        return apply_gain(LEVELS, gain)

    def _run_batches(self, tiles: np.ndarray) -> np.ndarray:
        """Run tiles through the model in full batches of `batch_size` (the last one padded)."""
        size = self.options.batch_size
        count = len(tiles)
        padded = -count % size
        if padded:
            tiles = np.concatenate([tiles, np.zeros((padded, *tiles.shape[1:]), tiles.dtype)])
        outputs = [self._model(tiles[i:i + size]) for i in range(0, len(tiles), size)]
        result = np.concatenate(outputs)[:count]
        if result.shape != (count, *tiles.shape[1:]):
            raise ValueError(f"model returned {result.shape[1:]} for tiles of {tiles.shape[1:]}")
        return result


def check_timestamps(frames: Sequence[np.ndarray], timestamps: Sequence[float | None] | None
                     ) -> Sequence[float | None]:
    """One timestamp per frame (all None when not given), or `ValueError`."""
    if timestamps is None:
        return [None] * len(frames)
    if len(timestamps) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(timestamps)} timestamps")
    return timestamps


def create_enhancer(model: keras.Model | TileModel, options: EnhanceOptions = EnhanceOptions()
                    ) -> Enhancer:
    """The enhancer for `options.mode` (the one place a new mode is registered)."""
    if options.mode == "quality":
        return FrameEnhancer(model, options)
    if options.mode == "realtime":
        from streamer.realtime import RealtimeEnhancer

        return RealtimeEnhancer(model, options)
    raise ValueError(f"unknown enhancement mode {options.mode!r}: use 'quality' or 'realtime'")
