"""Keras, imported once with the backend chosen and TensorFlow's start-up notices muted.

Use `from gan.backend import keras` wherever Keras is needed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager


def _choose_backend() -> None:
    """TensorFlow where it is installed (fastest on CPU), else JAX (e.g. a GPU box without TF)."""
    if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("tensorflow") is None \
            and importlib.util.find_spec("jax") is not None:
        os.environ["KERAS_BACKEND"] = "jax"


def _import_keras_quietly():
    """Import Keras with stderr muted: TensorFlow's C++ start-up notices ignore its log level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe logs here, once
        return keras
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _keep_compiled_code() -> None:
    """On JAX, keep XLA's compiled code on disk between runs (JAX's persistent compilation
    cache) in `$LOWLIGHT_CACHE_DIR`, else `~/.cache/lowlight-enhancer/xla`; an empty
    `LOWLIGHT_CACHE_DIR`, a folder that cannot be made, or a cache folder of the user's own
    leaves JAX as it is.

    On a GPU each function of the quality mode compiles for seconds (XLA tries several
    kernels), so `enhance-video` spends most of a short clip's run compiling. JAX stores
    only what took a second or more to compile (little on a CPU). Its size is not bounded
    (JAX's bound needs the `filelock` package): a few MB per frame size and set of passes.
    """
    import jax

    folder = os.environ.get("LOWLIGHT_CACHE_DIR")
    if folder is None:
        cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(cache_home, "lowlight-enhancer", "xla")
    if not folder or jax.config.jax_compilation_cache_dir:
        return
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:  # e.g. a read-only home: JAX would warn at every compilation
        return
    jax.config.update("jax_compilation_cache_dir", folder)


_choose_backend()
keras = _import_keras_quietly()
if keras.backend.backend() == "jax":
    _keep_compiled_code()


@contextmanager
def built_in_bfloat16(enabled: bool = True) -> Iterator[None]:
    """Layers built inside compute in bfloat16 with float32 weights (Keras's
    "mixed_bfloat16"), when `enabled`; float32 is the policy again afterwards."""
    keras.config.set_dtype_policy("mixed_bfloat16" if enabled else "float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy("float32")


def compute_device() -> str:
    """Where Keras runs the model, as the backend picked it: e.g. "GPU (NVIDIA H100 80GB
    HBM3)" or "CPU". (No flag picks it: TensorFlow and JAX take a GPU when one is usable.)"""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return "CPU" if device.platform == "cpu" else f"{device.platform.upper()} ({device.device_kind})"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return f"GPU ({tf.config.experimental.get_device_details(gpus[0]).get('device_name', 'GPU')})"
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return f"GPU ({torch.cuda.get_device_name(0)})"
    return "CPU"
