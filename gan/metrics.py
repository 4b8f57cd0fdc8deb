"""PSNR and SSIM, computed one way everywhere (scikit-image, uint8 RGB, full resolution)."""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def psnr_ssim(reference: np.ndarray, output: np.ndarray) -> tuple[float, float]:
    """PSNR (dB) and SSIM of `output` against `reference`: both uint8 RGB (H, W, 3).

    The data README's protocol: data_range=255, SSIM over channels, no GT-mean correction.
    """
    if reference.shape != output.shape:
        raise ValueError(f"shapes differ: reference {reference.shape}, output {output.shape}")
    if reference.dtype != np.uint8 or output.dtype != np.uint8:
        raise ValueError("psnr_ssim expects uint8 images")
    psnr = peak_signal_noise_ratio(reference, output, data_range=255)
    ssim = structural_similarity(reference, output, channel_axis=-1, data_range=255)
    return float(psnr), float(ssim)
