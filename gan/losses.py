"""Loss terms, one small function each, and the GAN loss with a `gan_type` switch.

Pixels are in [-1, 1]. All terms are written with `keras.ops`, so they run on any backend.
"""

from __future__ import annotations

import numpy as np

from gan.backend import keras

ops = keras.ops

GAN_TYPES = ("vanilla", "lsgan", "hinge")


def l1_loss(target, output):
    """Mean absolute error: pix2pix's reconstruction term."""
    return ops.mean(ops.abs(target - output))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    g = np.exp(-((np.arange(size) - size // 2) ** 2) / (2 * sigma**2))
    g = np.outer(g, g) / np.sum(g) ** 2
    return np.tile(g[:, :, None, None], (1, 1, 3, 1)).astype(np.float32)


_WINDOW = _gaussian_window()


def ssim(target, output):
    """Mean SSIM (Wang et al. 2004, 11×11 Gaussian window, σ = 1.5) on [0, 1]-scaled pixels.

    Hand-written because `tf.image.ssim` is TensorFlow-only; this one runs on any backend.
    """
    x, y = (ops.cast(target, "float32") + 1) / 2, (ops.cast(output, "float32") + 1) / 2
    window = ops.convert_to_tensor(_WINDOW)

    def blur(t):
        return ops.depthwise_conv(t, window, strides=1, padding="valid")

    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = blur(x), blur(y)
    sigma_xx = blur(x * x) - mu_x**2
    sigma_yy = blur(y * y) - mu_y**2
    sigma_xy = blur(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (sigma_xx + sigma_yy + c2))
    return ops.mean(ssim_map)


def ssim_loss(target, output):
    """1 − SSIM."""
    return 1.0 - ssim(target, output)


def pixel_losses(target, output, *, l1_weight: float, ssim_weight: float) -> dict:
    """The weighted reconstruction terms, shared by the train and test steps."""
    return {"l_g_pix": l1_weight * l1_loss(target, output),
            "l_g_ssim": ssim_weight * ssim_loss(target, output)}


class GANLoss:
    """Adversarial loss on patch logits: `vanilla` (BCE with logits), `lsgan` or `hinge`.

    LSGAN is the default: least squares on PatchGAN logits gives non-saturating, smooth
    gradients, which keeps a small-batch conditional GAN stable (Mao et al. 2017).
    """

    def __init__(self, gan_type: str = "lsgan"):
        if gan_type not in GAN_TYPES:
            raise ValueError(f"`gan_type` must be one of {GAN_TYPES}. Received: {gan_type!r}")
        self.gan_type = gan_type

    def __call__(self, logits, target_is_real: bool, *, for_discriminator: bool = True):
        logits = ops.cast(logits, "float32")
        if self.gan_type == "vanilla":
            labels = ops.ones_like(logits) if target_is_real else ops.zeros_like(logits)
            return ops.mean(ops.binary_crossentropy(labels, logits, from_logits=True))
        if self.gan_type == "lsgan":
            return ops.mean((logits - (1.0 if target_is_real else 0.0)) ** 2)
        if for_discriminator:  # hinge
            sign = -1.0 if target_is_real else 1.0
            return ops.mean(ops.relu(1.0 + sign * logits))
        return -ops.mean(logits)
