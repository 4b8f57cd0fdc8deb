"""Still images on disk: listing, reading as uint8 RGB, writing (OpenCV underneath)."""

from __future__ import annotations

from pathlib import Path

import cv2

from gan.errors import UserError
from gan.frame_io import IMAGE_SUFFIXES, image_files, read_image, write_image

__all__ = ["IMAGE_SUFFIXES", "check_image_suffix", "image_files", "read_image", "write_image"]


def check_image_suffix(path: Path) -> None:
    """Raise `UserError` unless OpenCV can write files named like `path`."""
    if path.suffix.lower() not in IMAGE_SUFFIXES or not cv2.haveImageWriter(str(path)):
        raise UserError(f"cannot write {path}: use one of {', '.join(sorted(IMAGE_SUFFIXES))}")

