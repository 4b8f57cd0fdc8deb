"""Conditional PatchGAN (pix2pix): judges (low, candidate) pairs patch by patch."""

from __future__ import annotations

from gan.backend import keras

layers = keras.layers


def build_discriminator(*, width: int = 32, name: str = "discriminator") -> keras.Model:
    """Takes the low-light input and a candidate output, returns a grid of patch logits.

    Three stride-2 convolutions and two stride-1 ones give a 70×70 receptive field per
    logit (pix2pix's default). Output: (H/8, W/8, 1) logits, no activation.
    """
    low = keras.Input(shape=(None, None, 3), name="low")
    candidate = keras.Input(shape=(None, None, 3), name="candidate")
    x = layers.Concatenate(name="pair")([low, candidate])
    x = layers.Conv2D(width, 4, strides=2, padding="same", name="c1")(x)
    x = layers.LeakyReLU(0.2)(x)
    for i, mult in enumerate((2, 4), start=2):
        x = layers.Conv2D(width * mult, 4, strides=2, padding="same", use_bias=False,
                          name=f"c{i}")(x)
        x = layers.BatchNormalization(name=f"c{i}_bn")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(width * 8, 4, padding="same", use_bias=False, name="c4")(x)
    x = layers.BatchNormalization(name="c4_bn")(x)
    x = layers.LeakyReLU(0.2)(x)
    logits = layers.Conv2D(1, 4, padding="same", dtype="float32", name="patch_logits")(x)
    return keras.Model([low, candidate], logits, name=name)
