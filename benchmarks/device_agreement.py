"""How closely the GPU path (`streamer.accelerator`) reproduces the tiled path on a clip.

Enhances the clip's first frames as a video with each path and prints the PSNR between
their outputs per frame, and the mean difference in levels (a bias shows there). On a
machine without a GPU the device path is forced onto the CPU.

    python benchmarks/device_agreement.py --clip samples/night.mp4 --frames 8
"""

from __future__ import annotations

import argparse
from itertools import islice
from pathlib import Path

import numpy as np

from gan.backend import compute_device
from gan.metrics import psnr_ssim
from gan.model_io import load_generator
from streamer.inference import EnhanceOptions, create_enhancer
from streamer.source import VideoSource


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--model", default=None)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    with VideoSource(args.clip) as source:
        frames = [frame.pixels for frame in islice(source, args.frames)]
    timestamps = [i / 30 for i in range(len(frames))]
    model = load_generator(args.model, precision=args.precision)
    device, tiled = (create_enhancer(model, EnhanceOptions(on_device=on)).enhance(frames, timestamps)
                     for on in (True, False))
    psnrs = [psnr_ssim(t, d)[0] for d, t in zip(device, tiled, strict=True)]
    bias = float(np.mean([np.mean(d.astype(np.float32) - t) for d, t in zip(device, tiled, strict=True)]))
    print(f"{compute_device()}, {len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]}: "
          f"device vs tiled PSNR {min(psnrs):.1f}-{max(psnrs):.1f} dB, mean difference {bias:+.3f} levels")


if __name__ == "__main__":
    main()
