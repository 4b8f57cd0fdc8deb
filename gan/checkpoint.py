"""One resumable checkpoint file: weights, EMA, optimiser state, epoch, best score, config and
data recipe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gan.errors import UserError


def _variables(gan) -> dict[str, list]:
    return {"g": gan.generator.weights, "d": gan.discriminator.weights, "ema": gan.ema.weights,
            "g_opt": gan.g_optimizer.variables, "d_opt": gan.d_optimizer.variables}


def save_checkpoint(path: Path, gan, *, epoch: int, best_psnr: float, config: dict,
                    data: dict | None = None) -> None:
    """Write the whole training state to `path` (atomically: a temp file, then rename);
    `data`: what the crops were drawn from (JSON-able), so the run's recipe can be read back."""
    arrays = {f"{group}/{i}": np.asarray(v.numpy() if hasattr(v, "numpy") else v)
              for group, vs in _variables(gan).items() for i, v in enumerate(vs)}
    meta = {"epoch": epoch, "best_psnr": best_psnr, "config": config, "data": data or {}}
    tmp = path.with_name(path.stem + ".tmp.npz")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, __meta__=np.array(json.dumps(meta)), **arrays)
    tmp.replace(path)


def read_checkpoint_meta(path: Path) -> dict:
    """The checkpoint's epoch, best PSNR, training config and data recipe."""
    try:
        with np.load(path) as data:
            return json.loads(str(data["__meta__"]))
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"cannot read checkpoint {path}: {exc}") from None


def load_checkpoint(path: Path, gan) -> dict:
    """Restore the state saved by `save_checkpoint` into a built, compiled `gan`."""
    with np.load(path) as data:
        # An optimiser is built on its first step; the discriminator's never is without --adv-weight.
        for group, optimizer, model in (("g_opt", gan.g_optimizer, gan.generator),
                                        ("d_opt", gan.d_optimizer, gan.discriminator)):
            saved = sum(k.startswith(group + "/") for k in data.files)
            if saved > len(optimizer.variables) and not optimizer.built:
                optimizer.build(model.trainable_variables)
        for group, variables in _variables(gan).items():
            saved = sorted((k for k in data.files if k.startswith(group + "/")),
                           key=lambda k: int(k.split("/")[1]))
            if len(saved) != len(variables):
                raise UserError(f"checkpoint {path} does not match this model ({group}: "
                                f"{len(saved)} arrays saved, {len(variables)} expected)")
            for var, key in zip(variables, saved, strict=True):
                var.assign(data[key])
        return json.loads(str(data["__meta__"]))
