"""Keras 3 model code: generator, PatchGAN discriminator, losses, data and training."""

import os

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) is noise for our users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
