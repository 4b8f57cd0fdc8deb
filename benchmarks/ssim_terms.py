"""Where SSIM is lost: its luminance, contrast and structure terms, by SSIM quintile.

SSIM (scikit-image's: 7×7 uniform windows, per RGB channel, data_range 255) is the mean
of l·c·s. A wrong exposure or colour lowers l; a result smoother (or noisier) than the
reference lowers c; detail that is not the reference's lowers s. The last column is the
local standard deviation of the output over the reference's (< 1: smoother). Scores the
images of OUTPUTS (e.g. `evaluate DATA --save OUTPUTS`) against the same names in
REFERENCES:

    evaluate ../shared/data/sim-lowlight/eval --save /tmp/enhanced
    python benchmarks/ssim_terms.py /tmp/enhanced ../shared/data/sim-lowlight/eval/high
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter
from skimage.metrics import peak_signal_noise_ratio

from gan.frame_io import read_image

WINDOW = 7  # scikit-image's default
C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def ssim_terms(output: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Mean SSIM and its terms over the channels (hand-written: scikit-image returns only
    the product; `ssim` here equals its `structural_similarity`)."""
    terms = []
    for channel in range(output.shape[2]):
        x, y = (image[..., channel].astype(np.float64) for image in (output, reference))
        mean_x, mean_y = uniform_filter(x, WINDOW), uniform_filter(y, WINDOW)
        unbiased = WINDOW ** 2 / (WINDOW ** 2 - 1)  # sample covariance, as scikit-image
        var_x = unbiased * (uniform_filter(x * x, WINDOW) - mean_x ** 2)
        var_y = unbiased * (uniform_filter(y * y, WINDOW) - mean_y ** 2)
        cov = unbiased * (uniform_filter(x * y, WINDOW) - mean_x * mean_y)
        std_x, std_y = np.sqrt(np.maximum(var_x, 0)), np.sqrt(np.maximum(var_y, 0))
        luminance = (2 * mean_x * mean_y + C1) / (mean_x ** 2 + mean_y ** 2 + C1)
        contrast = (2 * std_x * std_y + C2) / (var_x + var_y + C2)
        structure = (cov + C2 / 2) / (std_x * std_y + C2 / 2)
        ssim = luminance * (2 * cov + C2) / (var_x + var_y + C2)
        inner = (slice(WINDOW // 2, -(WINDOW // 2)),) * 2  # scikit-image crops the border
        terms.append([a[inner].mean() for a in (ssim, luminance, contrast, structure)]
                     + [std_x[inner].mean() / max(std_y[inner].mean(), 1e-9)])
    return dict(zip(("ssim", "l", "c", "s", "std ratio"), np.mean(terms, axis=0), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outputs", type=Path)
    parser.add_argument("references", type=Path)
    parser.add_argument("--groups", type=int, default=5, help="quintiles by default")
    args = parser.parse_args()
    if args.groups < 1:
        raise SystemExit("error: --groups must be >= 1")
    rows = []
    for path in sorted(args.outputs.glob("*.png")):
        reference_path = args.references / path.name
        if not reference_path.is_file():
            raise SystemExit(f"error: no reference {reference_path} for {path}")
        output, reference = read_image(path), read_image(reference_path)
        if output.shape != reference.shape:
            raise SystemExit(f"error: {path} is {output.shape}, its reference {reference.shape}")
        rows.append({"name": path.stem, **ssim_terms(output, reference),
                     "psnr": peak_signal_noise_ratio(reference, output, data_range=255)})
    if not rows:
        raise SystemExit(f"error: no PNG images in {args.outputs}")
    order = np.argsort([r["ssim"] for r in rows])
    columns = ("ssim", "l", "c", "s", "std ratio", "psnr")
    print(f"{len(rows)} images; groups by SSIM, lowest first")
    print("group " + " ".join(f"{c:>9}" for c in columns))
    for i, group in enumerate(np.array_split(order, min(args.groups, len(rows)))):
        print(f"{i:5d} " + " ".join(f"{np.mean([rows[j][c] for j in group]):9.3f}"
                                     for c in columns))
    print("  all " + " ".join(f"{np.mean([r[c] for r in rows]):9.3f}" for c in columns))


if __name__ == "__main__":
    main()
