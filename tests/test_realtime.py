"""The realtime mode: right sizes, brighter output, no NaNs, close to the quality mode."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamer.guided import guided_coefficients
from streamer.inference import EnhanceOptions, create_enhancer
from streamer.realtime import work_shape
from tests.synthetic import clean_images, darken


def identity(batch: np.ndarray) -> np.ndarray:
    return batch


@pytest.mark.parametrize("height,width", [(1, 1), (255, 257), (720, 1280), (1280, 720)])
def test_output_has_the_input_size(height, width):
    enhancer = create_enhancer(identity, EnhanceOptions(mode="realtime"))
    frame = np.random.default_rng(0).integers(0, 40, (height, width, 3), dtype=np.uint8)
    out = enhancer.enhance([frame])[0]
    assert out.shape == frame.shape and out.dtype == np.uint8


@pytest.mark.parametrize("value", [0, 255])
def test_black_and_saturated_frames_stay_finite(value):
    enhancer = create_enhancer(identity, EnhanceOptions(mode="realtime"))
    out = enhancer.enhance([np.full((90, 160, 3), value, np.uint8)])[0]
    assert abs(int(out.mean()) - value) <= 2  # no NaN garbage, no overflow


def test_dark_frames_come_out_brighter_and_close_to_quality_mode():
    rng = np.random.default_rng(1)
    dark = darken(clean_images(size=192, count=1)[0], rng)
    options = EnhanceOptions(mode="realtime", work_size=96, guide_eps_noise=0)  # fixed eps
    realtime = create_enhancer(identity, options).enhance([dark])[0]
    # No smoothing pass, no colour noise reduction:
    full_resolution = EnhanceOptions(half_scale_noise=(np.inf, np.inf), chroma_radius=0)
    quality = create_enhancer(identity, full_resolution).enhance([dark])[0]
    assert realtime.mean() > dark.mean() + 40
    # With an identity generator both modes return the exposure-normalised frame.
    assert np.abs(realtime.astype(int) - quality.astype(int)).mean() < 6


def test_noisy_frames_get_a_smoother_guided_filter():
    """The grain of a noisy frame's full-resolution guide is not carried into the result;
    a clean frame's detail is."""
    rng = np.random.default_rng(4)
    clean = darken(clean_images(size=192, count=1)[0], rng, noise=0.0)
    noisy = darken(clean_images(size=192, count=1)[0], rng)

    def roughness(options: EnhanceOptions, frame: np.ndarray) -> float:
        out = create_enhancer(identity, options).enhance([frame])[0].astype(np.float32)
        return float(np.abs(out - cv2.blur(out, (3, 3))).mean())

    fixed = EnhanceOptions(mode="realtime", work_size=96, guide_eps_noise=0)
    adaptive = EnhanceOptions(mode="realtime", work_size=96)
    assert roughness(adaptive, noisy) < 0.8 * roughness(fixed, noisy)
    assert roughness(adaptive, clean) == pytest.approx(roughness(fixed, clean), rel=0.05)
    with pytest.raises(ValueError, match="guide_eps_noise"):
        EnhanceOptions(guide_eps_noise=-1)


def test_guided_filter_keeps_an_identity_mapping():
    guide = np.random.default_rng(2).random((40, 50, 3)).astype(np.float32)
    a, b = guided_coefficients(guide, guide, radius=1, eps=1e-4)
    np.testing.assert_allclose(a * guide + b, guide, atol=0.02)


def test_guided_filter_flattens_what_the_generator_flattened():
    rng = np.random.default_rng(3)
    noisy = (0.5 + rng.normal(0, 0.05, (40, 50, 3))).astype(np.float32)
    flat = np.full_like(noisy, 0.5)
    a, b = guided_coefficients(noisy, flat, radius=2, eps=1e-2)
    assert np.std(a * noisy + b) < 0.2 * np.std(noisy)


@pytest.mark.parametrize("shape,expected", [((720, 1280), (144, 256)), ((1, 1), (8, 8)),
                                            ((100, 60), (96, 64))])
def test_work_shape_is_small_and_divisible_by_eight(shape, expected):
    assert work_shape(*shape, 256) == expected
