"""Loading and saving generator files (`.keras`), with the precision chosen per device."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Literal

from gan import generator as _generator  # noqa: F401  (registers ResidualTanh for loading)
from gan.backend import keras
from gan.errors import UserError

DEFAULT_MODEL_PATH = Path(__file__).parent / "weights" / "default.keras"

Precision = Literal["auto", "float32", "bfloat16"]


@functools.cache
def cpu_has_fast_bfloat16() -> bool:
    """True when this CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: Precision) -> Literal["float32", "bfloat16"]:
    """`auto` → bfloat16 on TensorFlow CPUs that compute it natively, float32 elsewhere.

    (Real-ESRGAN's fp16 default breaks on CPUs: the dtype is chosen per device, never global.)
    """
    if precision not in ("auto", "float32", "bfloat16"):
        raise UserError(f"unknown precision {precision!r}: use auto, float32 or bfloat16")
    if precision != "auto":
        return precision
    if keras.backend.backend() == "tensorflow" and cpu_has_fast_bfloat16():
        return "bfloat16"
    return "float32"


def with_compute_dtype(model: keras.Model, policy: str) -> keras.Model:
    """Rebuild `model` with every layer but the float32 output layers under `policy`."""
    config = copy.deepcopy(model.get_config())
    for layer in config["layers"]:
        layer_config = layer["config"]
        dtype = layer_config.get("dtype")
        is_float32_output = isinstance(dtype, dict) and dtype.get("config", {}).get("name") == "float32" \
            and layer["class_name"] != "InputLayer" and layer_config.get("name") in ("delta", "enhanced")
        if layer["class_name"] != "InputLayer" and not is_float32_output:
            layer_config["dtype"] = policy
    rebuilt = keras.Model.from_config(config)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def load_generator(path: str | Path | None = None, *, precision: Precision = "float32") -> keras.Model:
    """Load a generator `.keras` file (default: the shipped model) with a clear error if it fails."""
    path = Path(path) if path is not None else DEFAULT_MODEL_PATH
    if path.is_dir():
        raise UserError(f"model {path} is a directory: give a .keras file")
    if not path.is_file():
        hint = " (the shipped default model is missing: reinstall the package)" \
            if path == DEFAULT_MODEL_PATH else ""
        raise UserError(f"model file not found: {path}{hint}")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file
        raise UserError(f"cannot load model file {path}: not a valid .keras generator "
                        f"({type(exc).__name__})") from None
    if not isinstance(model, keras.Model) or len(model.inputs) != 1 or model.inputs[0].shape[-1] != 3:
        raise UserError(f"model file {path} is not a generator (expects one RGB input)")
    if resolve_precision(precision) == "bfloat16":
        model = with_compute_dtype(model, "mixed_bfloat16")
    return model


def save_generator(model: keras.Model, path: str | Path) -> None:
    """Save a generator as a `.keras` file (atomically: written beside, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.keras")
    model.save(tmp)
    tmp.replace(path)
