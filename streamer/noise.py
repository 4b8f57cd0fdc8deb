"""How rough is a frame? Its noise level, and how blocky its compression left it.

- Noise: Immerkær's fast estimator ("Fast Noise Variance Estimation", 1996). The mean
  absolute response of a kernel that cancels smooth image structure (the difference of two
  Laplacians) gives σ of additive white noise. (scikit-image's `estimate_sigma` would do,
  but needs PyWavelets, which is not a dependency.)
- Blocking: how much stronger the luma steps are across the 8-pixel grid of H.264/JPEG
  blocks than elsewhere, the idea of Wang, Bovik & Evans ("Blind measurement of blocking
  artifacts in images", 2000) in its simplest form. Hand-written: no dependency has one.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


BAND = 32  # rows of each band `estimate_noise(..., sample=N)` measures
# The least noise level the modes smooth over time: below any real grain, so a black frame
# (σ 0) does not drag the smoothed level down for long.
NOISE_FLOOR = 1e-3


def estimate_noise(frame: np.ndarray, *, sample: int = 1) -> float:
    """σ of a uint8 RGB frame's luma noise, in [0, 1] units (0.01 ≈ 2.6 levels of 255).

    Measured at full resolution: a downscaled copy would have averaged the noise away.
    `sample` > 1 measures one band of `BAND` rows in every `sample` bands, about `sample`×
    cheaper (the realtime mode's budget), on frames at least that tall.
    """
    if sample > 1 and frame.shape[0] >= BAND * sample:
        usable = frame.shape[0] // (BAND * sample) * BAND * sample
        bands = frame[:usable].reshape(-1, sample, BAND, *frame.shape[1:])[:, 0]
        frame = bands.reshape(-1, *frame.shape[1:])  # the bands, stacked
    else:
        bands = frame[None]
    luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    if min(bands.shape[1:3]) < 3:
        return 0.0
    response = np.abs(cv2.filter2D(luma, -1, _KERNEL)).reshape(len(bands), -1, luma.shape[1])
    # Each band's edge rows would see its neighbour band: dropped, with the edge columns.
    return float(math.sqrt(math.pi / 2) * response[:, 1:-1, 1:-1].mean() / 6.0)


BLOCK = 8  # H.264 and JPEG transform blocks (H.264's 4×4 ones sit on this grid too)


def estimate_blocking(frame: np.ndarray) -> float:
    """Mean luma step across the 8-pixel block grid ÷ the mean step anywhere (uint8 RGB).

    About 1 for uncompressed and well-compressed frames (every photo and simulated pair
    we have: 0.92–1.11); 1.4–1.6 for a dark H.264 dashcam clip brightened 30×.
    """
    luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    if min(luma.shape) <= 2 * BLOCK:
        return 1.0
    dx, dy = np.abs(np.diff(luma, axis=1)), np.abs(np.diff(luma, axis=0))
    across = (dx[:, BLOCK - 1::BLOCK].mean() + dy[BLOCK - 1::BLOCK].mean()) / 2
    return float(across / max((dx.mean() + dy.mean()) / 2, 1e-6))
