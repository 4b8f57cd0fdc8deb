"""Scoring a generator on whole validation frames: what `train` reports after each epoch.

The raw generator on the exposure-normalised frame, without the engine's tiling,
noise-adaptive scale or colour noise reduction (`evaluate` scores the engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from gan.data import SIZE_MULTIPLE, Pair, prepare_input, to_uint8
from gan.metrics import psnr_ssim

if TYPE_CHECKING:
    from gan.backend import keras


def enhance_full(model: keras.Model, low: np.ndarray) -> np.ndarray:
    """Run `model` on a whole frame (reflect-padded to multiples of SIZE_MULTIPLE, then cropped)."""
    h, w = low.shape[:2]
    x = prepare_input(low)
    ph, pw = (-h) % SIZE_MULTIPLE, (-w) % SIZE_MULTIPLE
    x = np.pad(x, ((0, ph), (0, pw), (0, 0)), mode="reflect") if (ph or pw) else x
    out = model.predict_on_batch(x[None])[0][:h, :w]
    return to_uint8(out)


def validate(model: keras.Model, pairs: Sequence[Pair]) -> tuple[float, float]:
    """Mean PSNR/SSIM of `model` on whole validation frames."""
    scores = [psnr_ssim(p.high, enhance_full(model, p.low)) for p in pairs]
    return float(np.mean([s[0] for s in scores])), float(np.mean([s[1] for s in scores]))
