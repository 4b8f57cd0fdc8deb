"""The conditional GAN: generator + PatchGAN discriminator + an EMA copy for export.

The train step uses `tf.GradientTape`, so training runs on the TensorFlow backend; the
models themselves are backend-neutral Keras and run anywhere (JAX included).
"""

from __future__ import annotations

from dataclasses import dataclass

from gan.backend import keras
from gan.losses import GANLoss, pixel_losses


@dataclass(frozen=True)
class LossWeights:
    """Weights of the generator's loss terms (pix2pix weighs L1 ~100× the adversarial term)."""

    l1: float = 1.0
    ssim: float = 0.5
    adversarial: float = 0.0


class LowLightGAN(keras.Model):
    """Holds G, D and the EMA generator; `train_step` updates D then G (if adversarial > 0)."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, ema: keras.Model,
                 *, weights: LossWeights = LossWeights(), gan_type: str = "lsgan",
                 ema_decay: float = 0.999, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.ema = generator, discriminator, ema
        self.loss_weights_ = weights
        self.gan_loss = GANLoss(gan_type)
        self.ema_decay = ema_decay
        self.trackers = {k: keras.metrics.Mean(name=k) for k in
                         ("l_g_pix", "l_g_ssim", "l_g_gan", "l_d_real", "l_d_fake")}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, g_optimizer: keras.optimizers.Optimizer,
                d_optimizer: keras.optimizers.Optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def train_step(self, data):
        import tensorflow as tf  # the step is TensorFlow's; see the module docstring

        low, high, _ = keras.utils.unpack_x_y_sample_weight(data)
        w = self.loss_weights_
        use_gan = w.adversarial > 0
        if use_gan:
            fake = self.generator(low, training=True)
            with tf.GradientTape() as tape:
                l_d_real = self.gan_loss(self.discriminator([low, high], training=True), True)
                l_d_fake = self.gan_loss(self.discriminator([low, fake], training=True), False)
                l_d = 0.5 * (l_d_real + l_d_fake)
            grads = tape.gradient(l_d, self.discriminator.trainable_variables)
            self.d_optimizer.apply(grads, self.discriminator.trainable_variables)
            self.trackers["l_d_real"].update_state(l_d_real)
            self.trackers["l_d_fake"].update_state(l_d_fake)
        with tf.GradientTape() as tape:
            fake = self.generator(low, training=True)
            terms = pixel_losses(high, fake, l1_weight=w.l1, ssim_weight=w.ssim)
            if use_gan:
                logits = self.discriminator([low, fake], training=False)
                terms["l_g_gan"] = w.adversarial * self.gan_loss(logits, True, for_discriminator=False)
            l_g = sum(terms.values())
        grads = tape.gradient(l_g, self.generator.trainable_variables)
        self.g_optimizer.apply(grads, self.generator.trainable_variables)
        self._update_ema()
        for k, v in terms.items():
            self.trackers[k].update_state(v)
        return {k: m.result() for k, m in self.trackers.items()}

    def _update_ema(self):
        # Warm-up (as TensorFlow's ExponentialMovingAverage with num_updates): short
        # fine-tunes still move the exported EMA weights; long runs reach `ema_decay`.
        step = keras.ops.cast(self.g_optimizer.iterations, "float32")
        d = keras.ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for ema_var, var in zip(self.ema.weights, self.generator.weights, strict=True):
            if var.trainable:
                ema_var.assign(d * ema_var + (1.0 - d) * keras.ops.cast(var, ema_var.dtype))
            else:  # BatchNorm statistics are copied, not averaged
                ema_var.assign(var)
