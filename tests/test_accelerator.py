"""The GPU path (`streamer.accelerator`), run here on the CPU: it must give what the tiled,
OpenCV path gives, and stand aside where it cannot."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gan.metrics import psnr_ssim
from gan.model_io import load_generator
from streamer.accelerator import DeviceTemporalFilter, fits, to_host
from streamer.inference import MOST_PIXELS, EnhanceOptions, FrameEnhancer, create_enhancer
from streamer.synthetic import dark_frames
from streamer.temporal import TemporalFilter


@pytest.fixture(autouse=True)
def opencv_threads():
    """The device path turns OpenCV's own threads off, process-wide: restored after."""
    threads = cv2.getNumThreads()
    yield
    cv2.setNumThreads(threads)


@pytest.fixture(scope="module")
def shipped_model():
    return load_generator(None, precision="float32")


def night(count: int, width: int, height: int, noise: float) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [np.clip(f + rng.normal(0, noise, f.shape), 0, 255).astype(np.uint8)
            for f in dark_frames(count, width, height)]


@pytest.mark.parametrize("kind, size, noise, video", [
    ("clean video: full pass", (320, 256), 0.0, True),
    ("noisy video: both passes, along the input", (320, 256), 3.0, True),
    ("noisy photo: both passes, along the full result", (320, 256), 3.0, False),
    ("two tiles a row", (640, 256), 3.0, True),
])
def test_whole_frames_on_the_device_match_the_tiled_path(shipped_model, kind, size, noise, video):
    frames = night(3, *size, noise)
    timestamps = [i / 30 for i in range(3)] if video else None
    tiled, device = (create_enhancer(shipped_model, EnhanceOptions(on_device=on, threads=1,
                                                                   tile=512))
                     for on in (False, True))
    assert not tiled.on_device and device.on_device
    expected, got = tiled.enhance(frames, timestamps), device.enhance(frames, timestamps)
    for e, g, frame in zip(expected, got, frames, strict=True):
        assert g.shape == frame.shape and g.dtype == np.uint8
        # Rounding apart, they differ only where tiles are blended (65 dB; 74-76 dB in
        # one tile; a broken step, or rounding halves to even at half size, < 50 dB).
        assert psnr_ssim(e, g)[0] > 60, kind
        assert abs(float(np.mean(e.astype(float) - g))) < 0.02, kind  # no bias
        assert psnr_ssim(e, frame)[0] < 20  # and both really enhanced


def test_noisy_frames_take_the_half_pass_on_the_device(shipped_model):
    frames = night(2, 320, 256, 3.0)
    enhancer = create_enhancer(shipped_model, EnhanceOptions(on_device=True, threads=1))
    enhancer.enhance(frames, [0.0, 1 / 30])
    assert {key[1:] for key in enhancer._device._compiled} == {(True, True, False)}


def test_temporal_average_on_the_device_matches_the_cpu_one():
    rng = np.random.default_rng(0)
    scene = (next(dark_frames(1, 700, 420)).astype(np.float32) * 5).clip(0, 255)
    frames = [np.clip(np.roll(scene, 3 * i, axis=1) + rng.normal(0, 8, scene.shape), 0, 255)
              .astype(np.uint8) for i in range(5)]  # panning, noisy
    timestamps = [i / 30 for i in range(5)]
    expected = TemporalFilter().filter(frames, timestamps)
    device = DeviceTemporalFilter()
    got = device.filter(frames, timestamps)
    for e, g in zip(expected, got, strict=True):
        assert np.abs(e.astype(int) - g).max() <= 1
    assert np.abs(got[-1].astype(int) - frames[-1]).mean() > 3  # it did average
    smaller = [f[:200, :300] for f in frames[:2]]  # a new size compiles anew
    assert [f.shape for f in device.filter(smaller, timestamps[:2])] == [(200, 300, 3)] * 2


def test_grey_copies_on_the_device_are_opencvs():
    frames = [np.random.default_rng(i).integers(0, 256, (90, 120, 3), np.uint8) for i in range(2)]
    got = to_host(DeviceTemporalFilter().grays(frames))
    for frame, gray in zip(frames, got, strict=True):
        np.testing.assert_array_equal(gray, cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))


def test_frames_the_device_cannot_take_go_through_tiles(shipped_model):
    options = EnhanceOptions(on_device=True)
    assert fits(np.zeros((1080, 1920, 3), np.uint8), options)
    assert fits(np.zeros((48, 400, 3), np.uint8), options)
    assert not fits(np.zeros((46, 400, 3), np.uint8), options)  # its half: under the margin
    assert not fits(np.zeros((400, 400, 3), np.uint8), EnhanceOptions(guide_radius=201))
    assert not fits(np.empty((1, MOST_PIXELS + 1, 3), np.uint8), options)
    enhancer = create_enhancer(shipped_model, EnhanceOptions(on_device=True, threads=1))
    tiled = create_enhancer(shipped_model, EnhanceOptions(on_device=False, threads=1))
    for width, height, noise in ((400, 12, 0.0), (400, 30, 6.0)):
        frame = night(1, width, height, noise)[0]  # tiny clean, tiny noisy
        np.testing.assert_array_equal(enhancer.enhance([frame])[0], tiled.enhance([frame])[0])
    assert not enhancer._device._compiled  # the tiled path took them


def test_odd_sides_are_evened_on_the_device(shipped_model):
    tiled, device = (create_enhancer(shipped_model, EnhanceOptions(on_device=on, threads=1))
                     for on in (False, True))
    for noise, least_psnr in ((0.0, 48), (3.0, 40)):  # clean: full pass; noisy: both passes
        frames = night(2, 333, 261, noise)
        expected, got = tiled.enhance(frames, [0, 1 / 30]), device.enhance(frames, [0, 1 / 30])
        for e, g in zip(expected, got, strict=True):
            assert g.shape == (261, 333, 3)
            # The half sizes differ (OpenCV's area resize of an odd side against 2×2 means
            # of a repeated edge): ~1.4 levels apart on average when noisy, same scores.
            assert psnr_ssim(e, g)[0] > least_psnr
            assert abs(float(np.mean(e.astype(float) - g))) < 2
    assert {key[0] for key in device._device._compiled} == {(262, 334, 3)}


def test_the_path_follows_the_device_without_a_flag(shipped_model, monkeypatch):
    import streamer.inference

    cv2.setNumThreads(2)
    monkeypatch.setattr(streamer.inference, "_on_gpu", lambda: False)
    assert not create_enhancer(shipped_model, EnhanceOptions()).on_device
    assert cv2.getNumThreads() == 2  # the CPU path leaves OpenCV's threads alone
    monkeypatch.setattr(streamer.inference, "_on_gpu", lambda: True)
    assert create_enhancer(shipped_model, EnhanceOptions()).on_device
    assert cv2.getNumThreads() == 1  # a frame a thread already
    assert not create_enhancer(lambda batch: batch, EnhanceOptions()).on_device  # not Keras
    assert not create_enhancer(shipped_model, EnhanceOptions(on_device=False)).on_device
    with pytest.raises(ValueError, match="keras.Model"):
        FrameEnhancer(lambda batch: batch, EnhanceOptions(on_device=True))


def test_compiled_functions_are_bounded(shipped_model, monkeypatch):
    from streamer.accelerator import DevicePasses

    monkeypatch.setattr(DevicePasses, "KEPT", 2)
    enhancer = create_enhancer(shipped_model, EnhanceOptions(on_device=True, threads=1))
    for width in (64, 72, 80):  # photos of three sizes
        enhancer.enhance(night(1, width, 48, 0.0))
    assert [key[0][1] for key in enhancer._device._compiled] == [72, 80]


@pytest.mark.parametrize("setting, kept", [("{tmp}/xla", True), ("", False),
                                           ("{tmp}/a-file/xla", False)])  # cannot be made
def test_jax_keeps_compiled_code_between_runs(tmp_path, setting, kept):
    import os
    import subprocess
    import sys

    pytest.importorskip("jax")
    script = ("import gan.backend, jax; print(jax.config.jax_compilation_cache_dir); "
              "jax.jit(lambda x: x * 2)(1.0).block_until_ready()")
    (tmp_path / "a-file").write_text("")
    folder = setting.format(tmp=tmp_path)
    env = {**os.environ, "KERAS_BACKEND": "jax", "LOWLIGHT_CACHE_DIR": folder,
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}  # CPU compilations are quick
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert (run.stdout.strip() == folder) == kept
    assert (tmp_path / "xla").is_dir() == kept and any((tmp_path / "xla").glob("*")) == kept
    assert "compilation cache" not in run.stderr  # no warning at each compilation
