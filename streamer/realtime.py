"""The "realtime" mode: the generator sees a small copy of the frame; a guided filter
carries its result back to full resolution (`streamer.guided`).

The idea behind HDRNet and Zero-DCE++: predict the enhancement at low resolution, then
apply it per pixel at full resolution, edge-aware.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from streamer.guided import guided_upsample
from streamer.inference import EnhanceOptions, FrameEnhancer, check_frame, check_timestamps, with_strength
from streamer.tiles import SIZE_MULTIPLE


def work_shape(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) of the generator's copy: at most `long_side` long, multiples of `SIZE_MULTIPLE`."""
    scale = min(1.0, long_side / max(height, width))
    m = SIZE_MULTIPLE
    return (max(m, round(height * scale / m) * m), max(m, round(width * scale / m) * m))


class RealtimeEnhancer(FrameEnhancer):
    """Generator on a ≤ `options.work_size` copy of each frame, guided upsampling back.

    Frames of one size (a video) share one model call.
    """

    def __init__(self, model, options: EnhanceOptions = EnhanceOptions(mode="realtime")):
        super().__init__(model, options)

    def enhance(self, frames: Sequence[np.ndarray],
                timestamps: Sequence[float | None] | None = None) -> list[np.ndarray]:
        timestamps = check_timestamps(frames, timestamps)
        fulls, smalls, strengths = [], [], []
        for frame, timestamp in zip(frames, timestamps, strict=True):
            check_frame(frame)
            lut, strength = self.exposure(frame, timestamp)
            full = cv2.LUT(frame, np.rint(lut * 255).astype(np.uint8))
            h, w = work_shape(*frame.shape[:2], self.options.work_size)
            fulls.append(full)
            smalls.append(cv2.resize(full, (w, h), interpolation=cv2.INTER_AREA))
            strengths.append(strength)
        outputs = self._run_grouped(smalls)
        o = self.options
        return [with_strength(guided_upsample(full, small, out, radius=o.guide_radius,
                                              eps=o.guide_eps), full, strength)
                for full, small, out, strength in zip(fulls, smalls, outputs, strengths,
                                                      strict=True)]

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
