"""Generator and discriminator contracts, losses, and the model file round trip."""

from __future__ import annotations

import numpy as np
import pytest

from gan.backend import keras
from gan.discriminator import build_discriminator
from gan.errors import UserError
from gan.exposure import apply_gain, estimate_gain, normalise_exposure
from gan.generator import build_generator
from gan.losses import GANLoss, ssim
from gan.model_io import fold_batchnorm, load_generator, save_generator


@pytest.mark.parametrize("height,width,levels", [(256, 256, 2), (384, 512, 2), (36, 20, 2),
                                                 (384, 512, 3), (40, 24, 3)])
def test_generator_keeps_shape_and_range(height, width, levels):
    model = build_generator(width=8, res_blocks=1, levels=levels)
    x = np.random.default_rng(0).uniform(-1, 1, (2, height, width, 3)).astype("float32")
    y = np.asarray(model.predict_on_batch(x))
    assert y.shape == x.shape
    assert np.all(np.abs(y) <= 1.0)


def test_levels_set_the_depth_and_bad_sizes_are_refused():
    deep = build_generator(width=4, res_blocks=1, levels=3)
    assert deep.get_layer("enc4_conv").output.shape[-1] == 4 * 2**3  # bottleneck at 1/8
    assert "enc4_conv" not in {layer.name for layer in build_generator(width=4).layers}
    with pytest.raises(ValueError, match="levels"):
        build_generator(levels=0)


def test_untrained_generator_is_close_to_identity():
    model = build_generator(width=8, res_blocks=1)
    x = np.random.default_rng(1).uniform(-0.9, 0.9, (1, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(model.predict_on_batch(x)), x, atol=1e-3)


def test_discriminator_returns_a_patch_grid():
    model = build_discriminator(width=8)
    low = np.zeros((2, 256, 256, 3), "float32")
    logits = np.asarray(model.predict_on_batch([low, low]))
    assert logits.shape == (2, 32, 32, 1)  # one logit per patch, not a single number


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = build_generator(width=8, res_blocks=1)
    x = np.random.default_rng(2).uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    model.layers[-2].set_weights([w + 0.01 for w in model.layers[-2].get_weights()])
    save_generator(model, tmp_path / "g.keras")
    loaded = load_generator(tmp_path / "g.keras", precision="float32", fold=False)
    np.testing.assert_array_equal(model.predict_on_batch(x), loaded.predict_on_batch(x))


def test_batchnorm_folds_into_the_convolutions_with_the_same_outputs():
    model = build_generator(width=8, res_blocks=1)
    rng = np.random.default_rng(5)
    for layer in model.layers:  # trained-looking statistics, so a wrong fold shows
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2, n), rng.normal(0, 0.3, n),
                               rng.normal(0, 0.5, n), rng.uniform(0.2, 3, n)])
    folded = fold_batchnorm(model)
    norms = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    kinds = [type(layer).__name__ for layer in folded.layers]
    assert norms > 0 and len(folded.layers) == len(model.layers) - norms  # every one folded
    assert "BatchNormalization" not in kinds and "Conv2DTranspose" in kinds
    x = rng.uniform(-1, 1, (2, 48, 64, 3)).astype("float32")
    np.testing.assert_allclose(folded.predict_on_batch(x), model.predict_on_batch(x), atol=1e-5)


def test_batchnorm_that_cannot_fold_exactly_stays():
    # Folding is exact only for a linear, channels-last convolution whose output nothing
    # else reads, neither a layer nor the model's outputs.
    inputs = keras.Input((16, 16, 3))
    relu = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    shared = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    exposed = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    width_first = keras.layers.Conv2D(16, 3, padding="same", data_format="channels_first")(inputs)
    merged = keras.layers.Concatenate()([keras.layers.BatchNormalization()(relu),
                                         keras.layers.BatchNormalization()(shared), shared,
                                         keras.layers.BatchNormalization()(exposed)])
    model = keras.Model(inputs, [merged, exposed, keras.layers.BatchNormalization()(width_first)])
    assert fold_batchnorm(model) is model


def test_bfloat16_load_stays_close_to_float32(tmp_path):
    model = build_generator(width=8, res_blocks=1)
    save_generator(model, tmp_path / "g.keras")
    x = np.random.default_rng(3).uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    fast = load_generator(tmp_path / "g.keras", precision="bfloat16")
    np.testing.assert_allclose(fast.predict_on_batch(x), model.predict_on_batch(x), atol=0.02)


def test_bad_model_files_name_the_file(tmp_path):
    junk = tmp_path / "junk.keras"
    junk.write_text("not a model")
    with pytest.raises(UserError, match="junk.keras"):
        load_generator(junk)
    with pytest.raises(UserError, match="not found"):
        load_generator(tmp_path / "missing.keras")


def test_ssim_is_one_for_equal_images_and_lower_for_noise():
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-5)
    noisy = np.clip(x + rng.normal(0, 0.3, x.shape), -1, 1).astype("float32")
    assert float(ssim(x, noisy)) < 0.9


@pytest.mark.parametrize("gan_type", ["vanilla", "lsgan", "hinge"])
def test_gan_loss_prefers_correct_labels(gan_type):
    loss = GANLoss(gan_type)
    confident_real = np.full((1, 4, 4, 1), 3.0, "float32")
    assert float(loss(confident_real, True)) < float(loss(confident_real, False))


def test_gan_loss_rejects_unknown_type():
    with pytest.raises(ValueError, match="gan_type"):
        GANLoss("wgan")


def test_exposure_brightens_dark_frames_and_leaves_bright_ones():
    dark = np.full((64, 64, 3), 0.05, np.float32)
    bright = np.full((64, 64, 3), 0.7, np.float32)
    assert normalise_exposure(dark).mean() > 0.3
    assert estimate_gain(bright) == 1.0
    np.testing.assert_allclose(normalise_exposure(bright), bright, atol=1e-5)


def test_gain_rolls_off_instead_of_clipping():
    ramp = np.linspace(0, 1, 256, dtype=np.float32)[None, :, None].repeat(3, axis=2)
    out = apply_gain(ramp, 16.0)
    assert np.all(np.diff(out[0, :, 0]) >= 0)  # monotone
    assert out.max() <= 1.0 and out[0, -2, 0] < 1.0  # nothing but white reaches white


def test_low_key_scenes_get_a_lower_target_than_flat_ones():
    from gan.exposure import ExposureConfig, _log_luminance, target_key

    rng = np.random.default_rng(5)
    flat = rng.uniform(0.04, 0.06, (64, 64, 3)).astype(np.float32)
    night = np.full((64, 64, 3), 0.02, np.float32)
    night[:9, :9] = 1.0  # street lights: 2 % of the frame
    config = ExposureConfig()
    key_flat, key_night = (target_key(_log_luminance(x, 128), config) for x in (flat, night))
    assert key_night < key_flat
    for key in (key_flat, key_night):  # never more than `key_stops` from mid-grey
        down, up = config.key_stops
        assert config.key / 2**down - 1e-6 <= key <= config.key * 2**up + 1e-6


def test_exposure_compensation_moves_the_gain_by_stops_but_never_darkens():
    from gan.exposure import ExposureConfig, compensated_gain

    for stops in (-2.0, -1.0, 0.5, 1.0, 2.0):
        assert compensated_gain(16.0, ExposureConfig(compensation=stops)) == 16.0 * 2**stops
    assert compensated_gain(64.0, ExposureConfig(compensation=-1.0)) == 32.0  # at the cap too
    assert compensated_gain(1.0, ExposureConfig(compensation=-1.0)) == 1.0  # not darker
    with pytest.raises(ValueError, match="compensation"):
        ExposureConfig(compensation=2.5)
