"""Make `samples/night.mp4`: a short low-light clip with sound, from scikit-image's photos.

A camera pans across a panorama of `skimage.data` pictures; each frame goes through the
project's low-light simulator (`gan.simulate.render`: exposure cut and colour cast in
linear light, signal-dependent shot + read noise on a Bayer mosaic, demosaicing) with
fresh noise per frame, and a soft sine chord plays underneath.

    python samples/make_sample.py            # writes samples/night.mp4 (~1-2 MB)
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from gan.simulate import LowLightParams, render
from streamer.synthetic import parse_size, sine_chord, write_clip

PICTURES = ("coffee", "rocket", "chelsea", "astronaut")
NIGHT = LowLightParams(exposure=0.04, wb=(1.12, 0.98, 0.90), shot=2.5e-3, read=2e-5)


def panorama(height: int, pictures: Sequence[str] = PICTURES) -> np.ndarray:
    """The `skimage.data` pictures side by side, each scaled to `height`: uint8 RGB."""
    strips = []
    for name in pictures:
        image = getattr(skimage.data, name)()
        image = image[0] if isinstance(image, tuple) else image  # stereo pairs: the left view
        image = np.dstack([image] * 3) if image.ndim == 2 else image[..., :3]
        width = round(image.shape[1] * height / image.shape[0])
        strips.append(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
    return np.concatenate(strips, axis=1)


def camera_path(scene: np.ndarray, count: int, width: int, height: int) -> Iterator[np.ndarray]:
    """Crops of `scene` along a slow pan with a little hand-held wobble (sub-pixel)."""
    travel = min(scene.shape[1] - width - 2, 180 * count / 24)  # about 180 px per second
    for i in range(count):
        t = i / max(count - 1, 1)
        x = 1 + travel * (0.5 - 0.5 * np.cos(np.pi * t)) + 1.5 * np.sin(i / 3.1)
        y = (scene.shape[0] - height) / 2 + 6 * np.sin(i / 11) + 1.0 * np.cos(i / 2.3)
        yield cv2.getRectSubPix(scene, (width, height), (x + width / 2, y + height / 2))


def night_frames(count: int, width: int, height: int, seed: int, night: LowLightParams = NIGHT,
                 pictures: Sequence[str] = PICTURES) -> Iterator[np.ndarray]:
    """The dark, noisy frames of the sample (or of another clip made the same way)."""
    rng = np.random.default_rng(seed)
    for frame in clean_frames(count, width, height, pictures):
        yield render(frame, night, rng)


def clean_frames(count: int, width: int, height: int, pictures: Sequence[str] = PICTURES
                 ) -> Iterator[np.ndarray]:
    """The clip's frames before the night: what a perfect enhancer would give back."""
    return camera_path(panorama(height + 40, pictures), count, width, height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("night.mp4"))
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT (even numbers)")
    parser.add_argument("--crf", type=int, default=23)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    width, height = parse_size(args.size)
    count = round(args.seconds * args.fps)
    write_clip(args.out, night_frames(count, width, height, args.seed), fps=args.fps,
               audio=sine_chord(count / args.fps), options={"crf": str(args.crf), "preset": "slow"},
               faststart=True)
    print(f"wrote {args.out} ({count} frames, {args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
