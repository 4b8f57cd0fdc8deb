"""Cutting frames into overlapping tiles and stitching them back without seams.

A frame is reflection-padded (so any size works, from 1x1 to 4K, portrait or not),
covered by tiles that overlap by at least `overlap` pixels, and rebuilt as a weighted
average in which each tile fades in and out with a raised-cosine window.
Tiles are at most `tile` pixels a side and sized to the frame: on each axis the fewest
tiles that cover it, each as short as that allows (a multiple of 8), so little is computed
twice. A 480×320 photo is one 352×512 tile, not six 256² ones (2.5× its pixels).
Weights are normalised per pixel, so an identity model gives the input back exactly
and a flat image stays flat: no seams, unlike pasting tile centres.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from gan.data import SIZE_MULTIPLE, check_size


def check_tiling(tile: int, overlap: int) -> None:
    """Raise `ValueError` unless `tile` is a positive multiple of 8 and 0 <= overlap <= tile/2."""
    check_size("tile", tile)
    if not 0 <= overlap <= tile // 2:
        raise ValueError(f"`overlap` must be between 0 and tile/2 ({tile // 2}). "
                         f"Received: {overlap}")


def _axis(length: int, tile: int, overlap: int) -> tuple[int, tuple[int, ...]]:
    """Tile length and starts covering `length` padded pixels with tiles of at most `tile`.

    The fewest tiles whose neighbours share >= `overlap`, each the shortest multiple of 8
    that lets them cover `length`; starts spread evenly (the last tile ends at the end).
    """
    if length <= tile:
        return _round_up(length), (0,)
    count = math.ceil((length - overlap) / (tile - overlap))
    # At least 2 × overlap, so each end's fade fits (only matters when overlap > tile / 3).
    size = _round_up(max(math.ceil((length + (count - 1) * overlap) / count), 2 * overlap))
    return size, tuple(int(round(s)) for s in np.linspace(0, length - size, count))


def _round_up(length: int) -> int:
    return -(-length // SIZE_MULTIPLE) * SIZE_MULTIPLE


def _ramp(length: int, overlap: int) -> np.ndarray:
    """1-D window: raised cosine over `overlap` pixels at each end, 1 in the middle, never 0."""
    window = np.ones(length, np.float32)
    if overlap:
        rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)
        window[:overlap] = rise
        window[-overlap:] = rise[::-1]
    return window


@dataclass(frozen=True)
class TileGrid:
    """Where the tiles of an `height` x `width` frame lie, in padded coordinates.

    The frame sits at (`margin`, `margin`) inside a padded canvas of `padded_shape`;
    the margin keeps the frame's own borders away from the tiles' edges. Every tile is
    `tile_shape` (height, width).
    """

    height: int
    width: int
    tile_shape: tuple[int, int]
    overlap: int
    margin: int
    padded_shape: tuple[int, int]
    ys: tuple[int, ...]
    xs: tuple[int, ...]

    @property
    def count(self) -> int:
        """Number of tiles per frame."""
        return len(self.ys) * len(self.xs)

    @property
    def corners(self) -> list[tuple[int, int]]:
        """(y, x) of every tile's top-left corner, row by row (the order of `split`)."""
        return [(y, x) for y in self.ys for x in self.xs]

    @functools.cached_property
    def window(self) -> np.ndarray:
        """(tile height, tile width, 1) blending weights of one tile."""
        return np.outer(*(_ramp(n, self.overlap) for n in self.tile_shape))[..., None]

    @functools.cached_property
    def inverse_weight(self) -> np.ndarray:
        """(H, W, 1) reciprocal of the summed window weights over the frame."""
        total = np.zeros((*self.padded_shape, 1), np.float32)
        th, tw = self.tile_shape
        for y, x in self.corners:
            total[y:y + th, x:x + tw] += self.window
        m = self.margin
        return 1.0 / total[m:m + self.height, m:m + self.width]


@functools.lru_cache(maxsize=16)
def plan_tiles(height: int, width: int, *, tile: int = 512, overlap: int = 32) -> TileGrid:
    """The tile grid for a frame of `height` x `width`, tiles at most `tile` a side
    (cached: video frames share one)."""
    check_tiling(tile, overlap)
    if height < 1 or width < 1:
        raise ValueError(f"frame must be at least 1x1. Received: {height}x{width}")
    margin = overlap // 2
    (th, ys), (tw, xs) = (_axis(n + 2 * margin, tile, overlap) for n in (height, width))
    padded = (max(th, height + 2 * margin), max(tw, width + 2 * margin))
    return TileGrid(height, width, (th, tw), overlap, margin, padded, ys, xs)


def split(image: np.ndarray, grid: TileGrid) -> np.ndarray:
    """Cut an (H, W, C) image into (grid.count, tile height, tile width, C) tiles, row by row."""
    if image.shape[:2] != (grid.height, grid.width):
        raise ValueError(f"image is {image.shape[:2]}, grid is for {(grid.height, grid.width)}")
    m = grid.margin
    pad_y = (m, grid.padded_shape[0] - grid.height - m)
    pad_x = (m, grid.padded_shape[1] - grid.width - m)
    padded = np.pad(image, (pad_y, pad_x, (0, 0)), mode="symmetric")
    th, tw = grid.tile_shape
    windows = np.lib.stride_tricks.sliding_window_view(padded, (th, tw), axis=(0, 1))
    tiles = windows[np.ix_(grid.ys, grid.xs)]  # (ny, nx, C, th, tw)
    return np.ascontiguousarray(tiles.reshape(-1, image.shape[2], th, tw).transpose(0, 2, 3, 1))


def stitch(tiles: np.ndarray, grid: TileGrid) -> np.ndarray:
    """Blend (grid.count, tile height, tile width, C) tiles back into an (H, W, C) float32 image."""
    if tiles.shape[0] != grid.count:
        raise ValueError(f"expected {grid.count} tiles, got {tiles.shape[0]}")
    (th, tw), m = grid.tile_shape, grid.margin
    canvas = np.zeros((*grid.padded_shape, tiles.shape[-1]), np.float32)
    weighted = np.empty(tiles.shape[1:], np.float32)  # one tile's worth, reused
    for tile, (y, x) in zip(tiles, grid.corners, strict=True):
        canvas[y:y + th, x:x + tw] += np.multiply(tile, grid.window, out=weighted)
    return canvas[m:m + grid.height, m:m + grid.width] * grid.inverse_weight
