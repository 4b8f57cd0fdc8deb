"""Frame-level exposure normalisation, shared by training and the video engine.

A tile-based network cannot judge how bright a whole frame should be, so the frame's
exposure is fixed first, globally: a gain is chosen from the frame's log-average
luminance (Reinhard's "key") and applied in linear light through a smooth highlight
roll-off that never clips. The generator then only removes noise and fixes colour and
local tone. The same function prepares training inputs, so train and test match.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ExposureConfig:
    """How bright a normalised frame should be.

    Attributes:
        key: target log-average linear luminance (0.18 is photographic mid-grey's key).
        max_gain: largest gain applied (x64 = 6 stops).
        analysis_size: long side of the thumbnail the gain is measured on.
    """

    key: float = 0.18
    max_gain: float = 64.0
    analysis_size: int = 128


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] to linear light in [0, 1] (IEC 61966-2-1)."""
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] to sRGB in [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def log_average_luminance(rgb01: np.ndarray, analysis_size: int = 128) -> float:
    """Geometric mean of linear luminance, measured on a thumbnail (robust to small lights)."""
    h, w = rgb01.shape[:2]
    scale = analysis_size / max(h, w)
    if scale < 1.0:
        rgb01 = cv2.resize(rgb01, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    lin = srgb_to_linear(rgb01)
    lum = lin @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    return float(np.exp(np.mean(np.log(lum + 1e-4))))


def estimate_gain(rgb01: np.ndarray, config: ExposureConfig = ExposureConfig()) -> float:
    """Gain (>= 1) that brings the frame's log-average luminance to `config.key`."""
    key = log_average_luminance(rgb01, config.analysis_size)
    return float(np.clip(config.key / key, 1.0, config.max_gain))


def apply_gain(rgb01: np.ndarray, gain: float) -> np.ndarray:
    """Brighten by `gain` in linear light with a rational roll-off: y = g·x / (1 + (g−1)·x).

    Slope `gain` in the shadows, 1 → 1 at white, so highlights compress instead of clipping.
    """
    lin = srgb_to_linear(rgb01)
    out = gain * lin / (1.0 + (gain - 1.0) * lin)
    return linear_to_srgb(out)


def normalise_exposure(rgb01: np.ndarray, config: ExposureConfig = ExposureConfig()) -> np.ndarray:
    """Estimate and apply the frame-level gain: float32 RGB [0, 1] in, same out."""
    return apply_gain(rgb01, estimate_gain(rgb01, config))
