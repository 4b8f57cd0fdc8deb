"""Generated test data: small low/normal-light pairs made by darkening `skimage.data` images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import skimage.data

from gan.exposure import linear_to_srgb, srgb_to_linear

SOURCES = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "colorwheel")


def clean_images(size: int = 96, count: int = 6) -> list[np.ndarray]:
    """`count` RGB uint8 images of size×size from scikit-image's bundled photos."""
    images = []
    for name in SOURCES[:count]:
        image = getattr(skimage.data, name)()
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        images.append(cv2.resize(image[..., :3], (size, size), interpolation=cv2.INTER_AREA))
    return images


def darken(image: np.ndarray, rng: np.random.Generator, *, exposure: float = 0.08,
           noise: float = 0.02) -> np.ndarray:
    """A simple low-light rendering: exposure cut and a warm cast in linear light, plus noise."""
    lin = srgb_to_linear(image.astype(np.float32) / 255.0) * exposure
    lin = lin * np.array([1.15, 1.0, 0.8], np.float32)
    low = linear_to_srgb(lin) + rng.normal(0.0, noise, image.shape).astype(np.float32)
    return np.clip(low * 255 + 0.5, 0, 255).astype(np.uint8)


def write_pairs(folder: Path, *, size: int = 96, count: int = 6, seed: int = 0) -> Path:
    """Write `folder/low/*.png` and `folder/high/*.png` with matching names; returns `folder`."""
    rng = np.random.default_rng(seed)
    for sub in ("low", "high"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(clean_images(size, count)):
        cv2.imwrite(str(folder / "high" / f"img{i}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        low = darken(image, rng)
        cv2.imwrite(str(folder / "low" / f"img{i}.png"), cv2.cvtColor(low, cv2.COLOR_RGB2BGR))
    return folder
