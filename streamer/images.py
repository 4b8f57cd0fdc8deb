"""Still images on disk: listing, reading as uint8 RGB, writing (OpenCV underneath)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gan.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside `folder`, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_rgb(path: Path) -> np.ndarray:
    """uint8 RGB (H, W, 3): grey and 16-bit images converted, EXIF orientation applied."""
    if not path.is_file():
        raise UserError(f"image not found: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"cannot read {path}: not an image OpenCV can decode")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def check_image_suffix(path: Path) -> None:
    """Raise `UserError` unless OpenCV can write files named like `path`."""
    if path.suffix.lower() not in IMAGE_SUFFIXES or not cv2.haveImageWriter(str(path)):
        raise UserError(f"cannot write {path}: use one of {', '.join(IMAGE_SUFFIXES)}")


def write_rgb(path: Path, image: np.ndarray) -> None:
    """Write uint8 RGB `image` to `path` (format from the suffix)."""
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise UserError(f"cannot write {path}")
