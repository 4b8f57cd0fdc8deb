"""Keras 3 model code: generator, PatchGAN discriminator, losses, data and training.

Modules that use Keras import it as `from gan.backend import keras`, which picks the
backend and silences TensorFlow's start-up chatter; the rest (data, simulator) stay light.
"""
