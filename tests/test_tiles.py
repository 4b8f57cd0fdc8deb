"""Tiling: round trips at awkward sizes, flat images stay flat, argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from streamer.tiles import check_tiling, plan_tiles, split, stitch


def identity_round_trip(image: np.ndarray, *, tile: int = 256, overlap: int = 32) -> np.ndarray:
    """uint8 image → tiles → (identity model) → stitched uint8 image."""
    grid = plan_tiles(*image.shape[:2], tile=tile, overlap=overlap)
    tiles = split(image.astype(np.float32) / 255.0, grid)
    assert tiles.shape == (grid.count, tile, tile, 3)
    return np.clip(np.rint(stitch(tiles, grid) * 255.0), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("height", "width", "overlap"), [
    (1, 1, 32),  # smaller than a tile in both directions
    (257, 255, 32),  # odd sides, just over / under a tile
    (256, 256, 32),  # exactly one tile (the margin makes it four)
    (720, 1280, 32),  # 720p landscape
    (1280, 720, 32),  # 720p portrait
    (2160, 3840, 16),  # 4K (smaller overlap keeps it quick)
])
def test_identity_round_trip_within_one_level(height: int, width: int, overlap: int):
    image = np.random.default_rng(height).integers(0, 256, (height, width, 3), dtype=np.uint8)
    back = identity_round_trip(image, overlap=overlap)
    assert back.shape == image.shape
    assert np.abs(back.astype(int) - image).max() <= 1


def test_flat_image_comes_back_flat():
    flat = np.full((300, 700, 3), 0.3, np.float32)
    grid = plan_tiles(300, 700, tile=128, overlap=32)
    out = stitch(split(flat, grid), grid)
    assert np.ptp(out) < 1e-5


def test_seams_are_blended_not_pasted():
    # tiles that each add a different offset: the blend must change smoothly across overlaps
    image = np.zeros((200, 400, 3), np.float32)
    grid = plan_tiles(200, 400, tile=128, overlap=32)
    tiles = split(image, grid) + np.arange(grid.count, dtype=np.float32)[:, None, None, None]
    out = stitch(tiles, grid)[..., 0]
    assert np.abs(np.diff(out, axis=1)).max() < 0.5  # steps of a whole tile index would be >= 1


def test_neighbouring_tiles_overlap_by_at_least_overlap():
    grid = plan_tiles(1000, 1000, tile=256, overlap=48)
    assert all(b - a <= 256 - 48 for a, b in zip(grid.xs, grid.xs[1:], strict=False))
    assert grid.xs[0] == 0 and grid.xs[-1] == grid.padded_shape[1] - 256


@pytest.mark.parametrize(("tile", "overlap"), [
    (252, 32),  # not a multiple of 8
    (0, 0),  # empty tile
    (64, 40),  # overlap more than half a tile
    (64, -1),  # negative overlap
])
def test_bad_tiling_is_rejected(tile: int, overlap: int):
    with pytest.raises(ValueError, match="tile|overlap"):
        check_tiling(tile, overlap)


def test_wrong_image_size_for_grid_is_rejected():
    grid = plan_tiles(10, 10, tile=64, overlap=8)
    with pytest.raises(ValueError, match="grid"):
        split(np.zeros((11, 10, 3), np.float32), grid)
