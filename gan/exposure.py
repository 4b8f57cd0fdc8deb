"""Frame-level exposure normalisation, shared by training and the video engine.

A tile-based network cannot judge how bright a whole frame should be, so the frame's
exposure is fixed first, globally: a gain brings the frame's log-average luminance to a
target "key" (Reinhard et al. 2002) and is applied in linear light through a smooth
highlight roll-off that never clips. The key itself is predicted from the shape of the
frame's log-luminance histogram (a low-key night scene with a few bright lights should
stay darker than a flat dim room): a ridge regression fitted on the training pairs
(`python -m gan.exposure DATA` refits it), clamped to [-2, +1] stops around mid-grey.
The generator then only removes noise and fixes colour and local tone. The same function
prepares training inputs, so train and test match.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MAX_COMPENSATION = 2.0  # stops either way: further, the generator sees frames unlike its training


@dataclass(frozen=True)
class ExposureConfig:
    """How bright a normalised frame should be.

    Attributes:
        key: the centre of the target log-average linear luminance (0.18 = mid-grey's key).
        key_weights: ridge weights predicting log(key) from `histogram_features`
            (fitted on sim-lowlight/train by `python -m gan.exposure`); () = fixed key.
        key_stops: how far (in stops) the predicted key may move below and above `key`
            (further down than up: night scenes may stay dark, bright ones are not pushed).
        max_gain: largest gain the frame's own exposure gets (x64 = 6 stops).
        analysis_size: long side of the thumbnail the gain is measured on.
        compensation: a camera's exposure compensation in stops (`--exposure`), applied to
            the gain by `compensated_gain`, not by `estimate_gain` (training keeps 0).
    """

    key: float = 0.18
    key_weights: tuple[float, ...] = (-0.3681, -0.1657, -0.034, -0.0381, 0.0256, 0.4302,
                                      -1.323)
    key_stops: tuple[float, float] = (2.0, 1.0)
    max_gain: float = 64.0
    analysis_size: int = 128
    compensation: float = 0.0

    def __post_init__(self) -> None:
        if not -MAX_COMPENSATION <= self.compensation <= MAX_COMPENSATION:
            raise ValueError(f"`compensation` must be between -{MAX_COMPENSATION:g} and "
                             f"+{MAX_COMPENSATION:g} stops. Received: {self.compensation}")


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] to linear light in [0, 1] (IEC 61966-2-1)."""
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] to sRGB in [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


LUMA_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec. 709


def _log_luminance(frame: np.ndarray, analysis_size: int) -> np.ndarray:
    """log(linear luminance + 1e-4) on a thumbnail (long side `analysis_size`)."""
    lum = srgb_to_linear(thumbnail(frame, analysis_size)) @ LUMA_WEIGHTS
    return np.log(lum + 1e-4)


HISTOGRAM_PERCENTILES = (5, 25, 50, 75, 95, 99.5)


def histogram_features(log_lum: np.ndarray) -> np.ndarray:
    """[1, percentiles of log-luminance minus its mean]: the histogram's shape, not its level."""
    return np.concatenate([[1.0], np.percentile(log_lum, HISTOGRAM_PERCENTILES) - log_lum.mean()])


def target_key(log_lum: np.ndarray, config: ExposureConfig = ExposureConfig()) -> float:
    """The log-average luminance this frame should have once normalised."""
    if not config.key_weights:
        return config.key
    log_key = float(histogram_features(log_lum) @ np.asarray(config.key_weights))
    down, up = (stops * np.log(2.0) for stops in config.key_stops)
    return float(np.exp(np.clip(log_key, np.log(config.key) - down, np.log(config.key) + up)))


def estimate_gain(frame: np.ndarray, config: ExposureConfig = ExposureConfig()) -> float:
    """Gain (>= 1) that brings the frame's log-average luminance to its target key.

    `frame`: RGB, uint8 or float in [0, 1] (both give the same gain for the same picture).
    """
    log_lum = _log_luminance(frame, config.analysis_size)
    key = target_key(log_lum, config)
    return float(np.clip(key / np.exp(log_lum.mean()), 1.0, config.max_gain))


def compensated_gain(gain: float, config: ExposureConfig) -> float:
    """`gain` (from `estimate_gain`) moved by `config.compensation` stops, never below 1: a
    frame is not made darker than it came. Applied after the gain is measured (and, for
    video, smoothed), so it acts at once and the same on frames at the `max_gain` cap."""
    return max(1.0, gain * 2.0 ** config.compensation)


def apply_gain(rgb01: np.ndarray, gain: float) -> np.ndarray:
    """Brighten by `gain` in linear light with a rational roll-off: y = g·x / (1 + (g−1)·x).

    Slope `gain` in the shadows, 1 → 1 at white, so highlights compress instead of clipping.
    """
    lin = srgb_to_linear(rgb01)
    out = gain * lin / (1.0 + (gain - 1.0) * lin)
    return linear_to_srgb(out)


def normalise_exposure(frame: np.ndarray, config: ExposureConfig = ExposureConfig()) -> np.ndarray:
    """Estimate and apply the frame-level gain: RGB (uint8, or float in [0, 1]) in,
    float32 RGB in [0, 1] out."""
    rgb01 = frame.astype(np.float32) / 255.0 if frame.dtype == np.uint8 else frame
    return apply_gain(rgb01, estimate_gain(frame, config))


def fit_key_weights(pairs, *, ridge: float = 1.0, config: ExposureConfig = ExposureConfig()
                    ) -> tuple[float, ...]:
    """Fit `key_weights` on (low, high) uint8 pairs: for each pair, the key whose
    normalisation best matches the reference (PSNR on thumbnails), regressed on
    `histogram_features` of the low frame."""
    from skimage.metrics import peak_signal_noise_ratio

    keys = np.exp(np.linspace(np.log(0.03), np.log(0.8), 30))
    features, targets = [], []
    for low, high in pairs:
        low01 = low.astype(np.float32) / 255.0
        log_lum = _log_luminance(low01, config.analysis_size)
        small = thumbnail(low01, config.analysis_size)
        reference = (thumbnail(high.astype(np.float32) / 255.0, config.analysis_size) * 255
                     + 0.5).astype(np.uint8)
        level = np.exp(log_lum.mean())
        scores = [peak_signal_noise_ratio(reference, (apply_gain(
            small, float(np.clip(k / level, 1.0, config.max_gain))) * 255 + 0.5).astype(np.uint8),
            data_range=255) for k in keys]
        features.append(histogram_features(log_lum))
        targets.append(np.log(keys[int(np.argmax(scores))]))
    x, y = np.array(features), np.array(targets)
    weights = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    return tuple(round(float(v), 4) for v in weights)


def thumbnail(frame: np.ndarray, analysis_size: int = 128) -> np.ndarray:
    """Float32 RGB [0, 1] at most `analysis_size` on its long side; uint8 frames are shrunk
    before conversion, so a 4K frame costs no more than a small one."""
    h, w = frame.shape[:2]
    scale = analysis_size / max(h, w)
    if scale < 1.0:
        frame = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) / 255.0
    return frame.astype(np.float32, copy=False)


if __name__ == "__main__":
    import sys

    from gan.data import load_pairs, split_validation

    train_pairs, _ = split_validation(load_pairs(sys.argv[1]))
    print(fit_key_weights([(p.low, p.high) for p in train_pairs]))
