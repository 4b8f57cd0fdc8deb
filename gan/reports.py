"""Training reports: the loss/validation curve PNG and a low | enhanced | reference grid."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gan.data import Pair  # noqa: E402
from gan.frame_io import write_image  # noqa: E402
from gan.validation import enhance_full  # noqa: E402


def plot_curves(log_csv: Path, out_png: Path) -> None:
    """Generator losses and validation PSNR/SSIM per epoch."""
    with open(log_csv) as f:
        rows = list(csv.DictReader(f))
    epochs = [int(r["epoch"]) for r in rows]
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(10, 3.5))
    for key in rows[0]:
        values = [float(r.get(key) or "nan") for r in rows]
        if key.startswith("l_") and any(v for v in values if v == v):  # skip unused terms
            ax_loss.plot(epochs, values, label=key)
    ax_loss.set(xlabel="epoch", title="training losses")
    ax_loss.legend()
    ax_val.plot(epochs, [float(r["val_psnr"]) for r in rows], color="C0")
    ax_val.set(xlabel="epoch", ylabel="PSNR (dB)", title="validation")
    ax_ssim = ax_val.twinx()
    ax_ssim.plot(epochs, [float(r["val_ssim"]) for r in rows], color="C1")
    ax_ssim.set_ylabel("SSIM")
    fig.tight_layout()
    fig.savefig(out_png, dpi=80)
    plt.close(fig)


def sample_grid(model, pairs: Sequence[Pair], out_png: Path, height: int = 160) -> None:
    """Rows of low | enhanced | reference, each scaled to `height` pixels."""
    write_image(out_png, image_grid([[p.low, enhance_full(model, p.low), p.high] for p in pairs],
                                    height))


def image_grid(rows: Sequence[Sequence[np.ndarray]], height: int, gap: int = 0) -> np.ndarray:
    """RGB panels in rows, each scaled to `height` pixels; rows padded to one width and
    separated by `gap` pixels."""
    def fit(image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        return cv2.resize(image, (round(w * height / h), height), interpolation=cv2.INTER_AREA)

    lines = [np.hstack([fit(panel) for panel in row]) for row in rows]
    width = max(line.shape[1] for line in lines)
    return np.vstack([np.pad(line, ((0, gap), (0, width - line.shape[1]), (0, 0)))
                      for line in lines])
