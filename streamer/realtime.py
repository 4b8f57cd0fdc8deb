"""The "realtime" mode: the generator sees a small copy of the frame; a guided filter
carries its result back to full resolution.

The idea behind HDRNet and Zero-DCE++: predict the enhancement at low resolution, then
apply it per pixel at full resolution, edge-aware. Here the carrier is He & Sun's fast
guided filter ("Fast Guided Filter", 2015): at low resolution, fit per-pixel local linear
models `out ≈ a·in + b` between the exposure-normalised input and the generator's output,
upsample `a` and `b` bilinearly, and apply them to the full-resolution input. Where the
generator flattened noise, `a` is small and the output is the smooth `b`; along edges
`a` ≈ 1 and full-resolution detail survives. Cost at full resolution: two resizes and a
multiply-add. (Hand-written: OpenCV's guided filter lives in opencv-contrib, not a
dependency, and has no fast low-resolution variant.)
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from streamer.inference import EnhanceOptions, FrameEnhancer, check_timestamps


def box(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² window, edges reflected."""
    return cv2.blur(image, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def guided_coefficients(guide: np.ndarray, target: np.ndarray, *, radius: int, eps: float
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel local linear fit `target ≈ a·guide + b` (float32 (H, W, 3) in [0, 1])."""
    mean_g, mean_t = box(guide, radius), box(target, radius)
    cov = box(guide * target, radius) - mean_g * mean_t
    var = box(guide * guide, radius) - mean_g * mean_g
    a = cov / (var + eps)
    b = mean_t - a * mean_g
    return box(a, radius), box(b, radius)


def work_shape(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) of the generator's copy: at most `long_side` long, multiples of 4, at least 4."""
    scale = min(1.0, long_side / max(height, width))
    return (max(4, round(height * scale / 4) * 4), max(4, round(width * scale / 4) * 4))


class RealtimeEnhancer(FrameEnhancer):
    """Generator on a ≤ `options.work_size` copy of each frame, guided upsampling back.

    Frames of one size (a video) share one model call.
    """

    def __init__(self, model, options: EnhanceOptions = EnhanceOptions(mode="realtime")):
        super().__init__(model, options)

    def enhance(self, frames: Sequence[np.ndarray],
                timestamps: Sequence[float | None] | None = None) -> list[np.ndarray]:
        timestamps = check_timestamps(frames, timestamps)
        fulls, smalls = [], []
        for frame, timestamp in zip(frames, timestamps, strict=True):
            lut = self.exposure_lut(frame, timestamp)
            full = cv2.LUT(frame, np.rint(lut * 255).astype(np.uint8))
            h, w = work_shape(*frame.shape[:2], self.options.work_size)
            fulls.append(full)
            smalls.append(cv2.resize(full, (w, h), interpolation=cv2.INTER_AREA))
        outputs = self._run_grouped(smalls)
        return [self._carry_up(full, small, out)
                for full, small, out in zip(fulls, smalls, outputs, strict=True)]

    def _run_grouped(self, smalls: list[np.ndarray]) -> list[np.ndarray]:
        """Generator outputs in [0, 1], one model call per distinct frame size."""
        outputs: list[np.ndarray | None] = [None] * len(smalls)
        for shape in {s.shape for s in smalls}:
            idx = [i for i, s in enumerate(smalls) if s.shape == shape]
            batch = np.stack([smalls[i] for i in idx]).astype(np.float32) / 127.5 - 1.0
            result = self._model(batch)
            for i, out in zip(idx, result, strict=True):
                outputs[i] = np.clip((out + 1.0) * 0.5, 0.0, 1.0).astype(np.float32)
        return outputs  # type: ignore[return-value]

    def _carry_up(self, full: np.ndarray, small: np.ndarray, out: np.ndarray) -> np.ndarray:
        o = self.options
        a, b = guided_coefficients(small.astype(np.float32) / 255.0, out,
                                   radius=o.guide_radius, eps=o.guide_eps)
        size = (full.shape[1], full.shape[0])
        a = cv2.resize(a, size, interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, size, interpolation=cv2.INTER_LINEAR)
        # a·full + 255·b, in OpenCV's fused ops (several times faster than numpy here);
        # negatives are zeroed first, as convertScaleAbs would mirror them.
        result = cv2.scaleAdd(b, 255.0, cv2.multiply(full, a, dtype=cv2.CV_32F))
        return cv2.convertScaleAbs(cv2.threshold(result, 0.0, 0.0, cv2.THRESH_TOZERO)[1])
