"""Tests for the low-light simulator (gan/simulate.py)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from skimage import data

from gan.exposure import linear_to_srgb, srgb_to_linear
from gan.simulate import (
    LowLightParams,
    SimulatorConfig,
    draw_params,
    noisy_mosaic,
    render,
    simulate_lowlight,
)

LUMA = np.array([0.2126, 0.7152, 0.0722])
# Exposure fixed, no cast, noise negligible: only the exposure cut is left to measure.
NOISELESS = dict(wb_cast=0.0, shot=(1e-9, 1e-9))


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """A 128×128 natural RGB crop."""
    return cv2.resize(data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)


def linear_luminance(rgb: np.ndarray) -> float:
    return float((srgb_to_linear(rgb / 255.0) @ LUMA).mean())


@pytest.mark.parametrize("exposure", [0.02, 0.1, 0.3])
def test_exposure_cut_scales_linear_luminance(scene: np.ndarray, exposure: float) -> None:
    config = SimulatorConfig(exposure=(exposure, exposure), **NOISELESS)
    low, params = simulate_lowlight(scene, np.random.default_rng(0), config)
    assert params["exposure"] == pytest.approx(exposure)
    ratio = linear_luminance(low) / linear_luminance(scene)
    assert ratio == pytest.approx(exposure, rel=0.05)


@pytest.mark.parametrize(("shot", "read"), [
    (1e-2, 1e-4),  # the noisiest end of the shared data's range
    (1e-3, 2e-6),  # a mid-range camera: shot noise dominates
])
def test_noise_variance_is_shot_times_signal_plus_read(shot: float, read: float) -> None:
    # A flat grey ramp: 16 vertical bands, each one linear level, 64×32 pixels each.
    levels = np.linspace(0.0, 0.8, 16)
    codes = np.round(255 * linear_to_srgb(levels)).astype(np.uint8)
    ramp = np.repeat(np.repeat(codes, 32)[None, :, None], 64, axis=0).repeat(3, axis=2)
    params = LowLightParams(exposure=1.0, wb=(1.0, 1.0, 1.0), shot=shot, read=read)
    mosaic = noisy_mosaic(ramp, params, np.random.default_rng(1)).reshape(64, 16, 32)
    clean = srgb_to_linear(codes / 255.0)
    variance = mosaic.var(axis=(0, 2))
    assert mosaic.mean(axis=(0, 2)) == pytest.approx(clean, rel=0.02, abs=1e-3)
    # Weighted least squares: a variance estimate's error is proportional to the variance.
    slope, intercept = np.polyfit(clean, variance, 1, w=1 / variance)
    assert slope == pytest.approx(shot, rel=0.1)
    assert intercept == pytest.approx(read, rel=0.15)


@pytest.mark.parametrize("colour", [(200, 40, 40), (40, 200, 40), (40, 40, 200)])
def test_bayer_pattern_keeps_colours(colour: tuple[int, int, int]) -> None:
    flat = np.full((32, 32, 3), colour, np.uint8)
    config = SimulatorConfig(exposure=(0.3, 0.3), **NOISELESS)
    low, _ = simulate_lowlight(flat, np.random.default_rng(0), config)
    assert low.reshape(-1, 3).mean(axis=0).argmax() == int(np.argmax(colour))


def test_read_noise_follows_brooks_line() -> None:
    rng = np.random.default_rng(2)
    draws = [draw_params(rng) for _ in range(2000)]
    log_shot = np.log([p.shot for p in draws])
    log_read = np.log([p.read for p in draws])
    slope, intercept = np.polyfit(log_shot, log_read, 1)
    residual = log_read - (2.18 * log_shot + 1.20)
    assert slope == pytest.approx(2.18, abs=0.05)
    assert intercept == pytest.approx(1.20, abs=0.3)
    assert residual.std() == pytest.approx(0.26, rel=0.1)


def test_default_preset_matches_shared_data_ranges() -> None:
    rng = np.random.default_rng(3)
    draws = [draw_params(rng, SimulatorConfig.default()) for _ in range(1000)]
    exposure = np.array([p.exposure for p in draws])
    shot = np.array([p.shot for p in draws])
    wb = np.array([p.wb for p in draws])
    assert 0.02 <= exposure.min() < 0.025 and 0.17 < exposure.max() <= 0.2
    assert 1e-4 <= shot.min() < 1.5e-4 and 9e-3 < shot.max() <= 1.2e-2
    np.testing.assert_allclose(wb.mean(axis=1), 1.0, atol=1e-9)
    assert 0.7 < wb.min() and wb.max() < 1.3
    assert all(p.codec_crf is None and p.blur_length == 0 for p in draws)


def test_wide_preset_contains_default() -> None:
    default, wide = SimulatorConfig.default(), SimulatorConfig.wide()
    assert wide.exposure[0] < default.exposure[0] and wide.exposure[1] > default.exposure[1]
    assert wide.shot[0] < default.shot[0] and wide.shot[1] > default.shot[1]
    assert wide.wb_cast > default.wb_cast and wide.codec_prob > 0


@pytest.mark.parametrize("bad", [
    dict(exposure=(0.3, 0.1)),  # reversed range
    dict(shot=(1e-4, 2.0)),  # beyond 1
    dict(exposure=(0.0, 0.1)),  # log-uniform needs > 0
    dict(codec_prob=1.5),  # not a probability
    dict(codec_crf=(10, 60)),  # beyond x264's CRF scale
])
def test_config_rejects_bad_ranges(bad: dict) -> None:
    with pytest.raises(ValueError):
        SimulatorConfig(**bad)


# Every stage on, so determinism covers blur, noise reduction and the codec too.
EVERYTHING = SimulatorConfig(motion_blur_prob=1.0, denoise_prob=1.0, codec_prob=1.0)


@pytest.mark.parametrize("config", [SimulatorConfig.default(), EVERYTHING])
def test_same_seed_same_output_different_seed_different(scene: np.ndarray,
                                                         config: SimulatorConfig) -> None:
    first, params1 = simulate_lowlight(scene, np.random.default_rng(7), config)
    again, params2 = simulate_lowlight(scene, np.random.default_rng(7), config)
    other, params3 = simulate_lowlight(scene, np.random.default_rng(8), config)
    np.testing.assert_array_equal(first, again)
    assert params1 == params2
    assert not np.array_equal(first, other) and params1 != params3


@pytest.mark.parametrize("shape", [
    (255, 257, 3),  # odd height and width
    (1, 1, 3),  # a single pixel
    (2, 3, 3),  # one odd side, tiny
    (96, 64, 3),  # even
])
@pytest.mark.parametrize("config", [SimulatorConfig.default(), SimulatorConfig.wide(),
                                    EVERYTHING])
def test_output_matches_input_shape_and_dtype(shape: tuple[int, int, int],
                                              config: SimulatorConfig) -> None:
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, shape, dtype=np.uint8)
    low, params = simulate_lowlight(rgb, rng, config)
    assert low.shape == rgb.shape and low.dtype == np.uint8 and low.flags.c_contiguous
    assert json.loads(json.dumps(params)) == params


def test_output_is_darker_and_noisier(scene: np.ndarray) -> None:
    low, _ = simulate_lowlight(scene, np.random.default_rng(5))
    assert low.mean() < 0.75 * scene.mean()
    flat = np.full((64, 64, 3), 128, np.uint8)
    params = LowLightParams(exposure=0.2, wb=(1.0, 1.0, 1.0), shot=1e-2, read=1e-4)
    assert render(flat, params, np.random.default_rng(6)).std() > 3


@pytest.mark.parametrize("rgb", [
    np.zeros((8, 8, 3), np.float32),  # not uint8
    np.zeros((8, 8), np.uint8),  # grey, no channel axis
    np.zeros((0, 8, 3), np.uint8),  # empty
])
def test_rejects_non_rgb8(rgb: np.ndarray) -> None:
    with pytest.raises(ValueError):
        simulate_lowlight(rgb, np.random.default_rng(0))
