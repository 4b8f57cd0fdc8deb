"""How noisy is a frame? Immerkær's fast estimator ("Fast Noise Variance Estimation", 1996).

The mean absolute response of a kernel that cancels smooth image structure (the difference
of two Laplacians) gives σ of additive white noise. (scikit-image's `estimate_sigma` would
do, but needs PyWavelets, which is not a dependency.)
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def estimate_noise(frame: np.ndarray) -> float:
    """σ of a uint8 RGB frame's luma noise, in [0, 1] units (0.01 ≈ 2.6 levels of 255).

    Measured at full resolution: a downscaled copy would have averaged the noise away.
    """
    luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    if min(luma.shape) < 3:
        return 0.0
    response = np.abs(cv2.filter2D(luma, -1, _KERNEL))[1:-1, 1:-1]
    return float(math.sqrt(math.pi / 2) * response.mean() / 6.0)
