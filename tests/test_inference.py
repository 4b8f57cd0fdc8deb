"""FrameEnhancer: shapes, shared batches, exposure smoothing, the Keras model path."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from gan.data import to_signed
from gan.exposure import ExposureConfig
from streamer.inference import (
    EnhanceOptions,
    ExposureNormaliser,
    FrameEnhancer,
    LogSmoother,
    create_enhancer,
    signed_tiles,
)
from streamer.tiles import plan_tiles, split


class RecordingModel:
    """Identity on tiles, remembering the batch shapes it was called with."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.shapes.append(batch.shape)
        return batch


@pytest.mark.parametrize("size", [(1, 1), (257, 255), (64, 200), (300, 40)])
def test_output_has_input_size_and_dtype(size: tuple[int, int]):
    enhancer = FrameEnhancer(lambda x: x, EnhanceOptions(tile=64, overlap=16))
    frame = np.full((*size, 3), 30, np.uint8)
    (out,) = enhancer.enhance([frame])
    assert out.shape == frame.shape and out.dtype == np.uint8


def test_tiles_of_several_frames_share_batches():
    model = RecordingModel()
    enhancer = FrameEnhancer(model, EnhanceOptions(tile=64, overlap=16, batch_size=5))
    frames = [np.full((60, 100, 3), i * 20, np.uint8) for i in range(3)]
    outputs = enhancer.enhance(frames)
    tiles = 3 * plan_tiles(60, 100, tile=64, overlap=16).count
    # Tiles of several frames share batches; only the last one is short (never padded).
    assert [shape[0] for shape in model.shapes] == [5] * (tiles // 5) + [tiles % 5] * (tiles % 5 > 0)
    assert [o.shape for o in outputs] == [f.shape for f in frames]


def test_dark_frame_is_brightened_and_black_and_white_survive():
    frame = np.full((32, 32, 3), 20, np.uint8)
    frame[:4], frame[-4:] = 0, 255
    (out,) = FrameEnhancer(lambda x: x, EnhanceOptions(tile=32, overlap=8)).enhance([frame])
    assert out[10:20].mean() > 2 * frame[10:20].mean()
    assert out[:4].max() == 0 and out[-4:].min() == 255


def test_exposure_gain_is_smoothed_over_time():
    smoother = LogSmoother(tau=0.5)
    assert smoother(2.0, 0.0) == pytest.approx(2.0)
    half_way = smoother(8.0, 0.5)  # one time constant later: 63% of the way in log space
    assert half_way == pytest.approx(2.0 * 4.0 ** (1 - np.exp(-1)), rel=1e-6)
    assert smoother(8.0, None) == pytest.approx(8.0)  # no timestamp: an independent image
    smoother.reset()
    assert smoother(3.0, 10.0) == pytest.approx(3.0)


def test_video_brightness_does_not_jump_when_a_light_flickers():
    enhancer = FrameEnhancer(lambda x: x, EnhanceOptions(tile=32, overlap=8))
    dark, bright = np.full((32, 32, 3), 10, np.uint8), np.full((32, 32, 3), 40, np.uint8)
    frames = [dark, dark, bright, dark]
    smoothed = [o.mean() for o in enhancer.enhance(frames, [0.0, 0.04, 0.08, 0.12])]
    # the gain barely moves in 40 ms, so the brief light shows as brighter and the next
    # dark frame looks like the ones before it (per-frame gains would pump instead)
    assert smoothed[2] > smoothed[1] + 40
    assert abs(smoothed[3] - smoothed[1]) < 10


def test_untrained_generator_is_close_to_exposure_only(tiny_model_path):
    from gan.model_io import load_generator

    options = EnhanceOptions(tile=32, overlap=8, batch_size=4)
    frame = np.random.default_rng(0).integers(0, 80, (40, 50, 3), dtype=np.uint8)
    with_model = FrameEnhancer(load_generator(tiny_model_path), options).enhance([frame])[0]
    exposure_only = FrameEnhancer(lambda x: x, options).enhance([frame])[0]
    assert np.abs(with_model.astype(int) - exposure_only).max() <= 2


def test_bad_options_and_modes_are_rejected():
    with pytest.raises(ValueError, match="batch_size"):
        EnhanceOptions(batch_size=0)
    with pytest.raises(ValueError, match="tile"):
        EnhanceOptions(tile=30)
    with pytest.raises(ValueError, match="threads"):
        EnhanceOptions(threads=-1)
    with pytest.raises(ValueError, match="mode"):
        create_enhancer(lambda x: x, EnhanceOptions(mode="turbo"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="uint8"):
        FrameEnhancer(lambda x: x).enhance([np.zeros((4, 4, 3), np.float32)])


def test_arrays_of_one_tile_shape_share_batches_and_come_back_in_order():
    from streamer.inference import run_grouped

    model = RecordingModel()
    groups = [np.full((n, h, 8, 3), i, np.float32)
              for i, (n, h) in enumerate([(3, 16), (2, 24), (3, 16), (0, 24)])]
    outputs = run_grouped(model, groups, batch_size=4)
    assert [o.shape for o in outputs] == [g.shape for g in groups]
    assert all((o == g).all() for o, g in zip(outputs, groups, strict=True))
    # 6 tiles of 16 rows: batches of 4 + 2; 2 tiles of 24 rows: one batch of 2.
    assert sorted(model.shapes) == [(2, 16, 8, 3), (2, 24, 8, 3), (4, 16, 8, 3)]


@pytest.mark.parametrize("mode", ["quality", "realtime"])
def test_worker_threads_change_nothing_but_speed(mode):
    # Frames of a noisy, panning video (both passes, the temporal filter) with a bright one
    # among them: the same bytes with one thread and with four.
    rng = np.random.default_rng(4)
    scene = np.tile(skimage.data.astronaut()[::2, ::2], (1, 2, 1)) // 12
    frames = [np.clip(scene[:, 5 * i:5 * i + 200] + rng.normal(0, 1, (256, 200, 3)), 0, 255)
              .astype(np.uint8) for i in range(6)]
    frames[3] = np.full_like(frames[3], 150)
    times = [i / 25 for i in range(6)]

    def run(threads: int) -> list[np.ndarray]:
        enhancer = create_enhancer(lambda x: np.tanh(1.5 * x),
                                   EnhanceOptions(mode, tile=64, overlap=16, threads=threads,
                                                  work_size=96))
        return enhancer.enhance(frames[:4], times[:4]) + enhancer.enhance(frames[4:], times[4:])

    serial, threaded = run(1), run(4)
    assert all(np.array_equal(a, b) for a, b in zip(serial, threaded, strict=True))


def test_tiles_cut_before_the_exposure_curve_are_the_curved_frames_tiles():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 700, 3), dtype=np.uint8)
    curve = np.sqrt(np.arange(256, dtype=np.float32) / 255)  # any curve on the 256 levels
    grid = plan_tiles(300, 700, tile=256, overlap=32)
    expected = split(to_signed(curve[image]), grid)
    np.testing.assert_array_equal(signed_tiles(image, grid, curve), expected)


@pytest.mark.parametrize(("low", "high", "strength"), [
    (40, 80, 1.0),  # x8 at 0 stops: x4 at -1 would be under the x5 of the full generator
    (170, 200, 0.0),  # daylight: no generator, however dark it is asked to be
])
def test_exposure_compensation_leaves_the_generator_as_the_frame_needs(low, high, strength):
    frame = np.random.default_rng(3).integers(low, high, (48, 64, 3), dtype=np.uint8)
    results = []
    for stops in (-2.0, -1.0, 0.0, 1.0):
        options = EnhanceOptions(exposure=ExposureConfig(compensation=stops))
        (_, normalised, got), = ExposureNormaliser(options)([frame], [None])
        results.append((float(normalised.mean()), got))
    means, strengths = zip(*results, strict=True)
    assert strengths == (strength,) * 4
    assert list(means) == sorted(means) and means[3] > means[2]  # brighter by the stop
    assert means[0] >= frame.mean() - 0.5  # never darker than it came


@pytest.mark.parametrize("mode", ["quality", "realtime"])
def test_exposure_can_change_between_frames(mode):
    frame = np.random.default_rng(4).integers(40, 80, (48, 64, 3), dtype=np.uint8)
    enhancer = create_enhancer(lambda batch: batch, EnhanceOptions(mode=mode))
    plain = enhancer.enhance([frame])[0].mean()
    enhancer.set_exposure(1.0)
    assert enhancer.enhance([frame])[0].mean() > plain + 10
    with pytest.raises(ValueError, match="compensation"):
        enhancer.set_exposure(3.0)
