"""Still images on disk: listing, reading as uint8 RGB, writing (OpenCV underneath)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gan.errors import UserError
from gan.frame_sources import IMAGE_SUFFIXES
from gan.frame_sources import image_files as list_images
from gan.frame_sources import read_image as read_rgb

__all__ = ["IMAGE_SUFFIXES", "check_image_suffix", "list_images", "read_rgb", "write_rgb"]


def check_image_suffix(path: Path) -> None:
    """Raise `UserError` unless OpenCV can write files named like `path`."""
    if path.suffix.lower() not in IMAGE_SUFFIXES or not cv2.haveImageWriter(str(path)):
        raise UserError(f"cannot write {path}: use one of {', '.join(sorted(IMAGE_SUFFIXES))}")


def write_rgb(path: Path, image: np.ndarray) -> None:
    """Write uint8 RGB `image` to `path` (format from the suffix)."""
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise UserError(f"cannot write {path}")
