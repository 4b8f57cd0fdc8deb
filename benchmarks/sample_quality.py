"""Quality on the shipped sample clip against its clean frames, temporal filter off vs on.

`samples/night.mp4` is simulated (`samples/make_sample.py`), so the clean frames it was made
from exist: this scores the enhancer on video input (H.264-compressed noise, camera
motion), which the paired image sets cannot. `--pictures` makes another clip the same way
from other `skimage.data` pictures, darkness, noise and CRF, to check on scenes that
nothing was tuned on. Figures from one run:

- PSNR / SSIM of each enhanced frame against its clean frame (SSIM on every 4th frame);
- boil: mean |Δ output − Δ clean| between consecutive frames, in levels: noise and
  painted texture that change from frame to frame where the scene does not.

The first 8 frames are left out: the exposure and the temporal history settle there.

    python benchmarks/sample_quality.py [--mode realtime]
    python benchmarks/sample_quality.py --pictures stereo_motorcycle,retina --shot 2.5e-3 --crf 23
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from gan.model_io import load_generator
from gan.simulate import LowLightParams
from streamer.inference import EnhanceOptions, create_enhancer
from streamer.source import VideoSource
from streamer.synthetic import write_clip

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
sys.path.insert(0, str(SAMPLES))
from make_sample import PICTURES, clean_frames, night_frames  # noqa: E402

SETTLE = 8


def decode(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """The clip's frames and their times, as the engine's source gives them."""
    with VideoSource(path) as source:
        frames = list(source)
    return [f.pixels for f in frames], [f.time for f in frames]


def scores(outputs: list[np.ndarray], clean: np.ndarray) -> tuple[float, float, float]:
    out, ref = np.stack(outputs[SETTLE:]).astype(np.float32), clean[SETTLE:].astype(np.float32)
    psnr = np.mean([peak_signal_noise_ratio(r, o, data_range=255) for r, o in zip(ref, out, strict=True)])
    ssim = np.mean([structural_similarity(r, o, channel_axis=-1, data_range=255)
                    for r, o in zip(ref[::4], out[::4], strict=True)])
    boil = np.abs(np.diff(out, axis=0) - np.diff(ref, axis=0)).mean()
    return float(psnr), float(ssim), float(boil)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--mode", default="quality", choices=("quality", "realtime"))
    parser.add_argument("--frames", type=int, default=0, help="the first N frames (0: all)")
    parser.add_argument("--pictures", default="", help="comma-separated skimage.data names: "
                        "score a new clip made from them instead of the sample")
    parser.add_argument("--count", type=int, default=48, help="--pictures: frames")
    parser.add_argument("--exposure", type=float, default=0.04, help="--pictures: exposure cut")
    parser.add_argument("--shot", type=float, default=2.5e-3, help="--pictures: shot noise")
    parser.add_argument("--crf", type=int, default=23, help="--pictures: x264 CRF")
    parser.add_argument("--seed", type=int, default=1, help="--pictures: noise seed")
    args = parser.parse_args()
    if 0 < args.frames <= SETTLE + 1 or (args.pictures and args.count <= SETTLE + 1):
        parser.error(f"--frames and --count must be over {SETTLE + 1}: the first {SETTLE} "
                     "frames are not scored")
    with tempfile.TemporaryDirectory() as folder:
        clip = SAMPLES / "night.mp4"
        if args.pictures:
            clip, night = Path(folder) / "clip.mp4", LowLightParams(
                exposure=args.exposure, wb=(1.05, 1.0, 0.95), shot=args.shot, read=args.shot / 100)
            write_clip(clip, night_frames(args.count, 640, 360, args.seed, night,
                                          args.pictures.split(",")),
                       fps=24, options={"crf": str(args.crf), "preset": "slow"})
        frames, times = decode(clip)
    height, width = frames[0].shape[:2]
    # The camera's path depends on the clip's length: made for all frames, then cut.
    pictures = args.pictures.split(",") if args.pictures else PICTURES
    clean = np.stack(list(clean_frames(len(frames), width, height, pictures)))
    frames, times, clean = frames[:args.frames or None], times[:args.frames or None], \
        clean[:args.frames or None]
    model = load_generator(args.model, precision=args.precision)
    print(f"{len(frames)} frames of {width}×{height}; scored from frame {SETTLE + 1}")
    print("temporal strength | PSNR (dB) | SSIM | boil (levels)")
    for strength in (0.0, EnhanceOptions.temporal_strength):
        enhancer = create_enhancer(model, EnhanceOptions(mode=args.mode, temporal_strength=strength))
        outputs = [out for i in range(0, len(frames), 4)
                   for out in enhancer.enhance(frames[i:i + 4], times[i:i + 4])]
        psnr, ssim, boil = scores(outputs, clean)
        print(f"{strength:.2f} | {psnr:.2f} | {ssim:.3f} | {boil:.2f}", flush=True)


if __name__ == "__main__":
    main()
