"""The temporal filter: averages a still scene's noise away, leaves motion and cuts alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
import skimage.data

from streamer.inference import EnhanceOptions
from streamer.temporal import TemporalFilter

SCENE = np.ascontiguousarray(skimage.data.astronaut()[100:292, 100:356])  # 192×256 RGB


def noisy(image: np.ndarray, rng: np.random.Generator, sigma: float = 6.0) -> np.ndarray:
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b).mean())


def test_noise_of_a_still_scene_is_averaged_away():
    rng, still = np.random.default_rng(0), TemporalFilter()
    for i in range(15):
        frame = noisy(SCENE, rng)
        out = still(frame, i / 30)
    assert error(out, SCENE) < 0.5 * error(frame, SCENE)  # about 0.41 here


def test_moving_content_leaves_no_trail():
    # A pan of 3 px per frame: the flow follows it, so each output is its own frame.
    pan, wide = TemporalFilter(), np.tile(SCENE, (1, 2, 1))
    for i in range(10):
        frame = np.ascontiguousarray(wide[:, 3 * i:3 * i + 256])
        out = pan(frame, i / 30)
    assert error(out, frame) < 2.0


def test_what_pans_into_view_has_no_history():
    # A smooth sky-like gradient with faint texture (so the flow locks on), panning 6 px a
    # frame: the rows that enter at the bottom must not reuse the previous frame's last row.
    rng = np.random.default_rng(5)
    texture = cv2.GaussianBlur(rng.normal(0, 12, (600, 256)).astype(np.float32), (0, 0), 2)
    sky = np.linspace(20, 120, 600, dtype=np.float32)[:, None] + texture
    scene = np.repeat(np.clip(sky, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    pan = TemporalFilter()
    for i in range(12):
        frame = np.ascontiguousarray(scene[6 * i:6 * i + 192])
        out = pan(frame, i / 30)
    assert error(out[-12:], frame[-12:]) < 0.5  # a replicated border left ~3 levels here


def test_a_scene_cut_drops_the_history():
    cut = TemporalFilter()
    for i in range(5):
        cut(SCENE, i / 30)
    other = np.ascontiguousarray(skimage.data.chelsea()[:192, :256])
    assert error(cut(other, 5 / 30), other) < 1.0


@pytest.mark.parametrize("gap", [-0.1, 0.0, 2.0])  # back in time, the same time, a long gap
def test_frames_that_do_not_follow_start_afresh(gap):
    rng, fresh = np.random.default_rng(1), TemporalFilter()
    fresh(noisy(SCENE, rng), 1.0)
    frame = noisy(SCENE, rng)
    np.testing.assert_array_equal(fresh(frame, 1.0 + gap), frame)


def test_a_new_size_starts_afresh():
    sizes = TemporalFilter()
    sizes(SCENE, 0.0)
    frame = np.ascontiguousarray(SCENE[:96, :128])
    np.testing.assert_array_equal(sizes(frame, 1 / 30), frame)


def test_a_new_size_with_the_same_flow_size_starts_afresh():
    # 1280 and 1281 wide both take their flow at 640 × 360: the sizes, not the flow
    # copies, must differ
    rng = np.random.default_rng(0)
    sizes = TemporalFilter()
    sizes(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), 0.0)
    frame = rng.integers(0, 256, (720, 1281, 3), dtype=np.uint8)
    np.testing.assert_array_equal(sizes(frame, 1 / 30), frame)


# (24, 96) and (30, 100) crashed OpenCV 5.0's DIS (segfault) before frames under 32 px were
# left unfiltered.
@pytest.mark.parametrize("shape", [(1, 1), (16, 16), (24, 96), (30, 100), (32, 32), (8, 300),
                                   (20, 3000), (3000, 17), (100, 3000), (200, 700)])
def test_tiny_and_thin_frames_pass(shape):
    rng, odd = np.random.default_rng(2), TemporalFilter()
    frames = [rng.integers(0, 256, (*shape, 3), dtype=np.uint8) for _ in range(3)]
    outputs = [odd(f, i / 30) for i, f in enumerate(frames)]
    assert all(o.shape == f.shape and o.dtype == np.uint8 for o, f in zip(outputs, frames, strict=True))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="strength"):
        TemporalFilter(strength=1.0)
    with pytest.raises(ValueError, match="temporal_strength"):
        EnhanceOptions(temporal_strength=-0.1)


@pytest.mark.parametrize("mode", ["quality", "realtime"])
def test_both_modes_steady_a_still_video_and_leave_photos_alone(mode):
    from streamer.inference import create_enhancer

    rng = np.random.default_rng(3)
    dark = (SCENE * 0.1).astype(np.uint8)
    frames = [noisy(dark, rng, sigma=2.0) for _ in range(8)]
    times = [i / 30 for i in range(8)]

    def change(strength: float, timestamps) -> float:
        """Mean |difference| of the last two outputs: what boils from frame to frame."""
        enhancer = create_enhancer(lambda tiles: tiles, EnhanceOptions(
            mode=mode, temporal_strength=strength, tile=64, overlap=16))
        outputs = [enhancer.enhance([f], [t])[0] for f, t in zip(frames, timestamps, strict=True)]
        return error(outputs[-1], outputs[-2])

    # 0.20 (quality) and 0.65 (realtime, whose guided upsampling brings some of the
    # frame's own noise back) here; 1.0 unfiltered.
    assert change(0.9, times) < 0.75 * change(0.0, times)
    assert change(0.9, [None] * 8) == change(0.0, [None] * 8)  # photos: no history


@pytest.mark.parametrize("mode", ["quality", "realtime"])
def test_bright_frames_that_skip_the_generator_are_not_filtered(mode):
    from streamer.inference import create_enhancer

    rng = np.random.default_rng(4)
    bright = np.clip(SCENE * 1.5, 0, 255).astype(np.uint8)  # only the exposure curve for it
    frames = [noisy(bright, rng) for _ in range(4)]

    def outputs(strength: float) -> list[np.ndarray]:
        enhancer = create_enhancer(lambda tiles: tiles, EnhanceOptions(
            mode=mode, temporal_strength=strength, tile=64, overlap=16))
        return [enhancer.enhance([f], [i / 30])[0] for i, f in enumerate(frames)]

    for on, off in zip(outputs(0.9), outputs(0.0), strict=True):
        np.testing.assert_array_equal(on, off)


def test_a_sequence_through_a_thread_pool_equals_frame_by_frame():
    # `filter` computes the flows through the pool's map (in parallel) and averages in order;
    # a photo (no timestamp) in between ends the history in both.
    rng = np.random.default_rng(3)
    wide = np.tile(SCENE, (1, 2, 1))
    frames = [noisy(np.ascontiguousarray(wide[:, 4 * i:4 * i + 256]), rng) for i in range(8)]
    times = [0.0, 0.04, 0.08, None, 0.16, 0.2, 0.24, 0.28]
    one_by_one, expected = TemporalFilter(), []
    for frame, time in zip(frames, times, strict=True):
        if time is None:
            one_by_one.reset()
        expected.append(frame if time is None else one_by_one(frame, time))
    with ThreadPoolExecutor(4) as pool:
        in_parallel = TemporalFilter()
        got = in_parallel.filter(frames[:5], times[:5], pool.map) \
            + in_parallel.filter(frames[5:], times[5:], pool.map)
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
    assert error(got[2], frames[2]) > 0.5  # the history was used before the photo
    assert np.array_equal(got[4], frames[4])  # and not right after it


def test_bands_of_rows_join_exactly():
    # Averaged in 6 bands on threads, each with a halo for the blur: the same bytes as whole.
    rng = np.random.default_rng(6)
    wide = np.tile(skimage.data.astronaut(), (1, 2, 1))
    frames = [noisy(np.ascontiguousarray(wide[:, 7 * i:7 * i + 384]), rng) for i in range(4)]
    times = [i / 30 for i in range(4)]
    with ThreadPoolExecutor(6) as pool:
        banded = TemporalFilter().filter(frames, times, pool.map, bands=6)
    whole = TemporalFilter().filter(frames, times)
    assert all(np.array_equal(a, b) for a, b in zip(banded, whole, strict=True))
    assert error(banded[-1], frames[-1]) > 0.5  # the history was used
