"""The quality mode's noise-adaptive scale (the noise estimate, the passes it picks) and the
generator's strength by exposure gain."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamer.inference import EnhanceOptions, FrameEnhancer, create_enhancer
from streamer.noise import estimate_noise
from streamer.tiles import plan_tiles


def gradient(height: int = 120, width: int = 160) -> np.ndarray:
    ramp = np.linspace(60, 190, width, dtype=np.float32)
    return np.repeat(np.repeat(ramp[None, :, None], height, 0), 3, 2)


@pytest.mark.parametrize("sigma", [0.01, 0.03, 0.08])
def test_noise_estimate_recovers_added_gaussian_noise(sigma: float):
    rng = np.random.default_rng(0)
    noisy = gradient() + rng.normal(0, sigma * 255, (120, 160, 1))  # same noise in R, G, B
    frame = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    assert estimate_noise(frame) == pytest.approx(sigma, rel=0.15)


def test_sampled_noise_estimate_agrees_with_the_full_one():
    rng = np.random.default_rng(5)
    noisy = gradient(300, 160) + rng.normal(0, 0.03 * 255, (300, 160, 1))
    frame = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    assert estimate_noise(frame, sample=4) == pytest.approx(estimate_noise(frame), rel=0.05)
    assert estimate_noise(frame[:100], sample=4) == estimate_noise(frame[:100])  # too short


def test_noise_estimate_ignores_smooth_structure_and_tiny_frames():
    assert estimate_noise(gradient().astype(np.uint8)) < 0.003
    assert estimate_noise(np.zeros((2, 5, 3), np.uint8)) == 0.0


def darken(batch: np.ndarray) -> np.ndarray:
    return np.clip(batch - 0.5, -1.0, 1.0)  # a "generator" that visibly changes every tile


class CountingModel:
    """`function` (identity by default) on tiles; counts the tiles it was given."""

    def __init__(self, function=lambda batch: batch) -> None:
        self.function, self.tiles = function, 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.tiles += len(batch)
        return self.function(batch)


# generator_gains: full strength at any gain, so these grey test frames reach the model.
OPTIONS = dict(tile=32, overlap=8, batch_size=1, half_scale_noise=(0.02, 0.05),
               generator_gains=(0.1, 0.1))


def grey(sigma: float, size: tuple[int, int] = (64, 96)) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.clip(np.rint(rng.normal(120, sigma * 255, (*size, 3))), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("sigma", "video", "full", "half"), [
    (0.0, False, True, False),  # clean: full resolution only
    (0.035, False, True, True),  # in between: both, cross-faded
    (0.2, False, True, True),  # very noisy photo: the half-resolution result along the full
    (0.035, True, True, True),
    (0.2, True, False, True),  # very noisy video frame: half resolution only
])
def test_noise_level_picks_the_passes(sigma: float, video: bool, full: bool, half: bool):
    model = CountingModel()
    frame = grey(sigma)
    (out,) = FrameEnhancer(model, EnhanceOptions(**OPTIONS)).enhance([frame], [0.0] if video else None)
    expected = full * plan_tiles(64, 96, tile=32, overlap=8).count \
        + half * plan_tiles(32, 48, tile=32, overlap=8).count
    assert model.tiles == expected
    assert out.shape == frame.shape and out.dtype == np.uint8


def test_half_scale_pass_keeps_brightness_and_size_on_odd_frames():
    frame = grey(0.2, size=(61, 77))
    (out,) = FrameEnhancer(lambda x: x, EnhanceOptions(**OPTIONS)).enhance([frame])
    assert out.shape == frame.shape
    assert abs(float(out.mean()) - float(frame.mean())) < 6  # identity model, identity result


def test_half_scale_result_is_carried_up_along_the_full_resolution_result():
    """On a very noisy photo the half-resolution result takes the full-resolution result's
    edges, not the noisy input's grain."""
    from gan.data import to_signed, to_unit
    from streamer.inference import FrameWork
    from streamer.tiles import split

    clean = np.full((64, 96, 3), 90, np.uint8)
    clean[:, 45:] = 170  # a sharp edge off the 2-px grid, so the half-size copy blurs it
    noisy = grey(0.2)
    work = FrameWork(noisy, np.linspace(0, 1, 256, dtype=np.float32), noisy, strength=1.0,
                      half_weight=1.0, photo=True, options=EnhanceOptions(**OPTIONS))
    small = cv2.resize(clean, work.small_size, interpolation=cv2.INTER_AREA)
    outputs = [split(to_signed(to_unit(image)), grid)
               for image, grid in ((clean, work.full_grid), (small, work.small_grid))]
    out = work.finish(outputs, EnhanceOptions(**{**OPTIONS, "chroma_radius": 0}))
    error = np.abs(out.astype(int) - clean)
    assert error.mean() < 1.2  # the edge kept sharp, no grain (along the noisy input: 1.7)
    assert error.max() <= 24  # along the noisy input: 40


def test_half_scale_can_be_turned_off_and_bad_thresholds_are_refused():
    model = CountingModel()
    options = EnhanceOptions(**{**OPTIONS, "half_scale_noise": (float("inf"), float("inf"))})
    FrameEnhancer(model, options).enhance([grey(0.2)])
    assert model.tiles == plan_tiles(64, 96, tile=32, overlap=8).count
    with pytest.raises(ValueError, match="half_scale_noise"):
        EnhanceOptions(half_scale_noise=(0.05, 0.02))


@pytest.mark.parametrize("mode", ["quality", "realtime"])
def test_frames_that_are_not_dark_only_get_their_exposure_curve(mode: str):
    from skimage import data

    from gan.data import prepare_input, to_uint8

    bright = data.coffee()  # a normally exposed photo: gain 1.3
    model = CountingModel(darken)  # were it used at all, the output would be darker
    enhancer = create_enhancer(model, EnhanceOptions(mode=mode, tile=64, overlap=16))
    (out,) = enhancer.enhance([bright])
    assert np.abs(out.astype(int) - to_uint8(prepare_input(bright)).astype(int)).max() <= 1
    if mode == "quality":
        assert model.tiles == 0  # not even run


@pytest.mark.parametrize("mode", ["quality", "realtime"])
def test_dark_frames_get_the_generator_in_full(mode: str):
    from gan.data import prepare_input, to_uint8

    dark = np.clip(gradient() * 0.05, 0, 255).astype(np.uint8)  # needs far more than 5×
    options = EnhanceOptions(mode=mode, tile=64, overlap=16, work_size=64)
    (out,) = create_enhancer(darken, options).enhance([dark])
    normalised = to_uint8(prepare_input(dark)).astype(int)
    assert out.astype(int).mean() < normalised.mean() - 40  # all of the generator's darkening


def test_generator_strength_thresholds_are_checked():
    with pytest.raises(ValueError, match="generator_gains"):
        EnhanceOptions(generator_gains=(5.0, 2.0))


def blocky(size: tuple[int, int] = (64, 96)) -> np.ndarray:
    """A smooth gradient with a random step on every 8×8 block, as strong compression leaves."""
    rng = np.random.default_rng(2)
    steps = np.kron(rng.normal(0, 6, (size[0] // 8, size[1] // 8)), np.ones((8, 8)))
    return np.clip(gradient(*size) + steps[..., None], 0, 255).astype(np.uint8)


def test_blocking_estimate_sees_8_pixel_blocks_and_nothing_else():
    from streamer.noise import estimate_blocking

    assert estimate_blocking(blocky()) > 1.6
    assert 0.9 < estimate_blocking(grey(0.03)) < 1.1  # noise alone is not blocking
    assert estimate_blocking(np.zeros((8, 8, 3), np.uint8)) == 1.0  # too small to tell


def test_blocky_frames_take_the_half_resolution_pass():
    model = CountingModel()
    FrameEnhancer(model, EnhanceOptions(**OPTIONS)).enhance([blocky()])
    assert model.tiles == plan_tiles(64, 96, tile=32, overlap=8).count \
        + plan_tiles(32, 48, tile=32, overlap=8).count  # both passes


def chroma_spread(rgb: np.ndarray) -> float:
    """Mean standard deviation of the Cr and Cb planes."""
    import cv2

    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 1:].std(axis=(0, 1)).mean())


def test_chroma_smoothing_removes_colour_grain_and_keeps_luma_and_colour_edges():
    import cv2

    from streamer.guided import smooth_chroma

    rng = np.random.default_rng(3)
    # Left half dark red, right half light blue (a colour edge on a luma edge), colour grain.
    ycc = np.zeros((64, 96, 3), np.float32)
    ycc[:, :48] = (70, 170, 110)
    ycc[:, 48:] = (170, 100, 160)
    grainy = ycc + np.concatenate([np.zeros((64, 96, 1)), rng.normal(0, 8, (64, 96, 2))], axis=2)
    frame = cv2.cvtColor(np.clip(np.rint(grainy), 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB)
    out = smooth_chroma(frame, radius=1, eps=1e-3)

    assert out.shape == frame.shape and out.dtype == np.uint8
    for half in (slice(0, 44), slice(52, 96)):  # each flat side, away from the edge
        assert chroma_spread(out[:, half]) < chroma_spread(frame[:, half]) / 3
    luma = [cv2.cvtColor(x, cv2.COLOR_RGB2YCrCb)[..., 0].astype(int) for x in (frame, out)]
    assert np.abs(luma[0] - luma[1]).max() <= 2  # luma is left alone (up to RGB rounding)
    clean = cv2.cvtColor(np.rint(ycc).astype(np.uint8), cv2.COLOR_YCrCb2RGB).astype(int)
    for column in range(44, 52):  # both colours hold right up to the edge (a blur would not)
        assert np.abs(out[:, column].astype(int) - clean[:, column]).mean() < 10


def test_quality_mode_smooths_colour_grain_unless_turned_off():
    rng = np.random.default_rng(4)
    frame = np.clip(120 + rng.normal(0, 10, (64, 96, 3)), 0, 255).astype(np.uint8)  # colour grain
    options = {**OPTIONS, "half_scale_noise": (np.inf, np.inf)}  # identity generator, no half pass
    on = FrameEnhancer(lambda x: x, EnhanceOptions(**options)).enhance([frame])[0]
    off = FrameEnhancer(lambda x: x, EnhanceOptions(**options, chroma_radius=0)).enhance([frame])[0]
    assert chroma_spread(on) < chroma_spread(off) / 2
    with pytest.raises(ValueError, match="chroma_radius"):
        EnhanceOptions(chroma_radius=-1)
