"""Cutting frames into overlapping tiles and stitching them back without seams.

A frame is reflection-padded (so any size works, from 1x1 to 4K, portrait or not),
covered by square tiles that overlap by at least `overlap` pixels, and rebuilt as a
weighted average in which each tile fades in and out with a raised-cosine window.
Weights are normalised per pixel, so an identity model gives the input back exactly
and a flat image stays flat: no seams, unlike pasting tile centres.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from gan.data import SIZE_MULTIPLE


def check_tiling(tile: int, overlap: int) -> None:
    """Raise `ValueError` unless `tile` is a positive multiple of 8 and 0 <= overlap <= tile/2."""
    if tile <= 0 or tile % SIZE_MULTIPLE:
        raise ValueError(f"`tile` must be a positive multiple of {SIZE_MULTIPLE}. Received: {tile}")
    if not 0 <= overlap <= tile // 2:
        raise ValueError(f"`overlap` must be between 0 and tile/2 ({tile // 2}). "
                         f"Received: {overlap}")


def _starts(length: int, tile: int, overlap: int) -> tuple[int, ...]:
    """Tile starts spread evenly over `length` (>= tile), neighbours sharing >= overlap."""
    count = 1 if length <= tile else math.ceil((length - overlap) / (tile - overlap))
    return tuple(int(round(s)) for s in np.linspace(0, length - tile, count))


def _ramp(tile: int, overlap: int) -> np.ndarray:
    """1-D window: raised cosine over `overlap` pixels at each end, 1 in the middle, never 0."""
    window = np.ones(tile, np.float32)
    if overlap:
        rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)
        window[:overlap] = rise
        window[-overlap:] = rise[::-1]
    return window


@dataclass(frozen=True)
class TileGrid:
    """Where the tiles of an `height` x `width` frame lie, in padded coordinates.

    The frame sits at (`margin`, `margin`) inside a padded canvas of `padded_shape`;
    the margin keeps the frame's own borders away from the tiles' edges.
    """

    height: int
    width: int
    tile: int
    overlap: int
    margin: int
    padded_shape: tuple[int, int]
    ys: tuple[int, ...]
    xs: tuple[int, ...]

    @property
    def count(self) -> int:
        """Number of tiles per frame."""
        return len(self.ys) * len(self.xs)

    @functools.cached_property
    def window(self) -> np.ndarray:
        """(tile, tile, 1) blending weights of one tile."""
        ramp = _ramp(self.tile, self.overlap)
        return np.outer(ramp, ramp)[..., None]

    @functools.cached_property
    def inverse_weight(self) -> np.ndarray:
        """(H, W, 1) reciprocal of the summed window weights over the frame."""
        total = np.zeros((*self.padded_shape, 1), np.float32)
        for y in self.ys:
            for x in self.xs:
                total[y:y + self.tile, x:x + self.tile] += self.window
        m = self.margin
        return 1.0 / total[m:m + self.height, m:m + self.width]


@functools.lru_cache(maxsize=16)
def plan_tiles(height: int, width: int, *, tile: int = 256, overlap: int = 32) -> TileGrid:
    """The tile grid for a frame of `height` x `width` (cached: video frames share one)."""
    check_tiling(tile, overlap)
    if height < 1 or width < 1:
        raise ValueError(f"frame must be at least 1x1. Received: {height}x{width}")
    margin = overlap // 2
    padded = (max(tile, height + 2 * margin), max(tile, width + 2 * margin))
    return TileGrid(height, width, tile, overlap, margin, padded,
                    _starts(padded[0], tile, overlap), _starts(padded[1], tile, overlap))


def split(image: np.ndarray, grid: TileGrid) -> np.ndarray:
    """Cut an (H, W, C) image into (grid.count, tile, tile, C) tiles, row by row."""
    if image.shape[:2] != (grid.height, grid.width):
        raise ValueError(f"image is {image.shape[:2]}, grid is for {(grid.height, grid.width)}")
    m = grid.margin
    pad_y = (m, grid.padded_shape[0] - grid.height - m)
    pad_x = (m, grid.padded_shape[1] - grid.width - m)
    padded = np.pad(image, (pad_y, pad_x, (0, 0)), mode="symmetric")
    t = grid.tile
    windows = np.lib.stride_tricks.sliding_window_view(padded, (t, t), axis=(0, 1))
    tiles = windows[np.ix_(grid.ys, grid.xs)]  # (ny, nx, C, t, t)
    return np.ascontiguousarray(tiles.reshape(-1, image.shape[2], t, t).transpose(0, 2, 3, 1))


def stitch(tiles: np.ndarray, grid: TileGrid) -> np.ndarray:
    """Blend (grid.count, tile, tile, C) tiles back into an (H, W, C) float32 image."""
    if tiles.shape[0] != grid.count:
        raise ValueError(f"expected {grid.count} tiles, got {tiles.shape[0]}")
    t, m = grid.tile, grid.margin
    canvas = np.zeros((*grid.padded_shape, tiles.shape[-1]), np.float32)
    weighted = tiles * grid.window
    i = 0
    for y in grid.ys:
        for x in grid.xs:
            canvas[y:y + t, x:x + t] += weighted[i]
            i += 1
    return canvas[m:m + grid.height, m:m + grid.width] * grid.inverse_weight
