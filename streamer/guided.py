"""Guided upsampling: carry a low-resolution result to full resolution, edge-aware.

He & Sun's fast guided filter ("Fast Guided Filter", 2015): at low resolution, fit
per-pixel local linear models `out ≈ a·guide + b` between a guide (the generator's
input in realtime mode; in quality mode the full-resolution result, downscaled) and the
generator's low-resolution output, upsample `a` and `b` bilinearly, and apply them to
the full-resolution guide. Where the output is flat, `a` is small and the result is the
smooth `b`; along edges `a` ≈ 1 and full-resolution detail survives. Cost at full resolution: two resizes
and a multiply-add. (Hand-written: OpenCV's guided filter lives in opencv-contrib, not a
dependency, and has no fast low-resolution variant.)
"""

from __future__ import annotations

import cv2
import numpy as np


def box(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² window, edges reflected."""
    return cv2.blur(image, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def guided_coefficients(guide: np.ndarray, target: np.ndarray, *, radius: int, eps: float
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel local linear fit `target ≈ a·guide + b` (float32 in [0, 1], both
    (H, W, C) of the same shape)."""
    mean_g, mean_t = box(guide, radius), box(target, radius)
    cov = box(guide * target, radius) - mean_g * mean_t
    var = box(guide * guide, radius) - mean_g * mean_g
    a = cov / (var + eps)
    b = mean_t - a * mean_g
    return box(a, radius), box(b, radius)


def guided_upsample(full: np.ndarray, small: np.ndarray, out: np.ndarray, *, radius: int,
                    eps: float) -> np.ndarray:
    """The full-resolution counterpart of `out`.

    Args:
        full: the guide at full resolution, uint8 (H, W, 3).
        small: the guide at `out`'s size, uint8 (h, w, 3).
        out: the generator's low-resolution output, float32 (h, w, 3) in [0, 1].
    Returns:
        uint8 (H, W, 3).
    """
    a, b = guided_coefficients(small.astype(np.float32) / 255.0, out, radius=radius, eps=eps)
    return _apply_upsampled(full, a, b)


def _apply_upsampled(image: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """uint8 `a·image + 255·b`, with low-resolution `a` and `b` upsampled bilinearly to the
    uint8 `image`'s size, clipped to [0, 255]. In OpenCV's fused ops (several times faster
    than numpy here); negatives are zeroed first, as convertScaleAbs would mirror them."""
    size = (image.shape[1], image.shape[0])
    a = cv2.resize(a, size, interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(b, size, interpolation=cv2.INTER_LINEAR)
    result = cv2.scaleAdd(b, 255.0, cv2.multiply(image, a, dtype=cv2.CV_32F))
    return cv2.convertScaleAbs(cv2.threshold(result, 0.0, 0.0, cv2.THRESH_TOZERO)[1])


def smooth_chroma(rgb: np.ndarray, *, radius: int, eps: float) -> np.ndarray:
    """Colour noise reduction: the frame's chroma (YCrCb) guided-filtered by its own luma.

    A camera pipeline's chroma NR. The generator leaves faint blotchy colour grain on
    heavily noisy frames; fitting chroma as a local linear function of luma removes it,
    while colour edges that follow luma edges stay. The fit runs at half size (as the
    fast guided filter does; video chroma is stored at half size anyway) and is applied
    to full-resolution luma. Luma itself is untouched. uint8 RGB in and out.
    """
    luma, *chroma = cv2.split(cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb))
    height, width = rgb.shape[:2]
    half = (max(1, width // 2), max(1, height // 2))
    small = [cv2.resize(plane, half, interpolation=cv2.INTER_AREA).astype(np.float32) * (1.0 / 255.0)
             for plane in (luma, *chroma)]
    a, b = guided_coefficients(cv2.merge(small[:1] * 2), cv2.merge(small[1:]), radius=radius,
                               eps=eps)
    # Plane by plane (OpenCV's split and merge, not numpy's strided channel views: 3× faster).
    smoothed = [_apply_upsampled(luma, a_c, b_c) for a_c, b_c in zip(cv2.split(a), cv2.split(b),
                                                                      strict=True)]
    return cv2.cvtColor(cv2.merge([luma, *smoothed]), cv2.COLOR_YCrCb2RGB)
