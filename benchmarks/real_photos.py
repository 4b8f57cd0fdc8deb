"""No-reference figures of the enhancer on real photos: noise left, clipping, brightness.

Real low-light photos have no reference, so PSNR cannot judge them; these can:

- luma / chroma noise: `estimate_noise` of the output's Y and mean of Cr, Cb (lower is
  cleaner; plain brightening multiplies the noise by the gain);
- clipped: the share of pixels with a channel at 254–255 (blown highlights);
- mean luma: how bright the result is (a dark scene should come out near mid-grey).

    python benchmarks/real_photos.py ../shared/data/real-lowlight --model a.keras --model b.keras
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from gan.data import prepare_input, to_uint8
from gan.frame_io import load_images
from gan.model_io import load_generator
from streamer.inference import EnhanceOptions, create_enhancer
from streamer.noise import estimate_noise


def figures(images: list[np.ndarray]) -> dict[str, float]:
    def channel_noise(image: np.ndarray, channel: int) -> float:
        return estimate_noise(np.repeat(image[..., channel:channel + 1], 3, axis=2))

    ycc = [cv2.cvtColor(i, cv2.COLOR_RGB2YCrCb) for i in images]
    return {"luma noise": float(np.mean([estimate_noise(i) for i in images])),
            "chroma noise": float(np.mean([(channel_noise(y, 1) + channel_noise(y, 2)) / 2
                                           for y in ycc])),
            "clipped %": float(np.mean([(i.max(axis=2) >= 254).mean() for i in images]) * 100),
            "mean luma": float(np.mean([y[..., 0].mean() for y in ycc]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--model", action="append", default=None,
                        help="generator .keras (repeat to compare; default: the shipped one)")
    parser.add_argument("--mode", default="quality", choices=("quality", "realtime"))
    args = parser.parse_args()
    photos = [rgb for _, rgb in load_images(args.folder)]
    print(f"{len(photos)} photos, {args.mode} mode")

    def report(name: str, outputs: list[np.ndarray]) -> None:
        print(f"{name}: " + ", ".join(f"{k} {v:.4f}" if "noise" in k else f"{k} {v:.1f}"
                                      for k, v in figures(outputs).items()), flush=True)

    report("exposure normalisation alone", [to_uint8(prepare_input(p)) for p in photos])
    for path in args.model or [None]:
        enhancer = create_enhancer(load_generator(path, precision="auto"),
                                   EnhanceOptions(mode=args.mode))
        report(path or "shipped model", [enhancer.enhance([p])[0] for p in photos])


if __name__ == "__main__":
    main()
