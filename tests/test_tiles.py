"""Tiling: round trips at awkward sizes, flat images stay flat, argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from streamer.tiles import check_tiling, plan_tiles, split, stitch


def identity_round_trip(image: np.ndarray, *, tile: int = 256, overlap: int = 32) -> np.ndarray:
    """uint8 image → tiles → (identity model) → stitched uint8 image."""
    grid = plan_tiles(*image.shape[:2], tile=tile, overlap=overlap)
    tiles = split(image.astype(np.float32) / 255.0, grid)
    assert tiles.shape == (grid.count, *grid.tile_shape, 3)
    assert all(0 < side <= tile and side % 8 == 0 for side in grid.tile_shape)
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


def weighted_average(tiles: np.ndarray, grid) -> np.ndarray:
    """What `stitch` computes, the plain way: every tile weighted by its window on a canvas,
    divided by the summed weights."""
    canvas = np.zeros((*grid.padded_shape, tiles.shape[-1]))
    total = np.zeros((*grid.padded_shape, 1))
    th, tw = grid.tile_shape
    for tile, (y, x) in zip(tiles, grid.corners, strict=True):
        canvas[y:y + th, x:x + tw] += tile * grid.window
        total[y:y + th, x:x + tw] += grid.window
    m = grid.margin
    return (canvas / total)[m:m + grid.height, m:m + grid.width]


@pytest.mark.parametrize(("height", "width", "tile", "overlap"), [
    (480, 854, 1024, 32),  # one tile: the frame is a view of it
    (720, 1280, 1024, 32),  # one row of two
    (1080, 1920, 1024, 32),  # 2 × 2
    (333, 4000, 256, 48),  # one row of many
    (30, 8, 48, 24),  # overlap > tile / 3: the overlaps are wider than the fades
    (100, 100, 64, 32),  # three tiles share pixels
])
def test_stitch_is_the_windowed_average(height, width, tile, overlap):
    grid = plan_tiles(height, width, tile=tile, overlap=overlap)
    tiles = np.random.default_rng(0).normal(size=(grid.count, *grid.tile_shape, 3))
    np.testing.assert_allclose(stitch(tiles.astype(np.float32), grid),
                               weighted_average(tiles, grid), atol=2e-6)


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


@pytest.mark.parametrize(("height", "width"), [(1000, 1000), (720, 1280), (333, 4000)])
def test_neighbouring_tiles_overlap_by_at_least_overlap(height: int, width: int):
    grid = plan_tiles(height, width, tile=256, overlap=48)
    for starts, side, padded in zip((grid.ys, grid.xs), grid.tile_shape, grid.padded_shape,
                                    strict=True):
        assert all(b - a <= side - 48 for a, b in zip(starts, starts[1:], strict=False))
        assert starts[0] == 0 and starts[-1] == padded - side


@pytest.mark.parametrize(("height", "width", "tile", "shape", "count"), [
    (320, 480, 512, (352, 512), 1),  # a small photo (+ margins) is one tile, not six 256² ones
    (720, 1280, 512, (392, 464), 6),  # 2 rows × 3 columns, each the least that covers
    (1080, 1920, 256, (248, 248), 45),
    (1, 1, 256, (40, 40), 1),  # 1 + 2 × 16 margin, rounded up to a multiple of 8
])
def test_tiles_are_sized_to_the_frame(height, width, tile, shape, count):
    grid = plan_tiles(height, width, tile=tile, overlap=32)
    assert grid.tile_shape == shape and grid.count == count


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


def test_tiles_hold_both_fades_when_the_overlap_is_large():
    grid = plan_tiles(30, 8, tile=48, overlap=24)  # 54 padded rows: two tiles of >= 48
    assert grid.tile_shape[0] >= 48 and grid.count == 2
    ramp = grid.window[..., 0].max(axis=1) / grid.window.max()  # the window along the rows
    assert np.abs(np.diff(ramp)).max() < 0.1  # a smooth rise and fall, no jump
