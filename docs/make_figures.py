"""Make the README's pictures from the shared data (run where ../shared/data exists).

    python docs/make_figures.py --model gan/weights/default.keras

- docs/real_lowlight.jpg: real low-light photos (DICM, no reference): input | plain
  exposure normalisation (what the generator is given) | enhanced.
- docs/eval_examples.jpg: simulated pairs from the report set: low | enhanced | reference.
- docs/real_video.jpg: frames of the real night clips: input | realtime | quality, each
  enhanced after the second of video before it, as `enhance-video` does.
- docs/noise_scale.jpg: heavy noise (the shipped sample, a report-set image): exposure
  normalisation alone | quality mode at full resolution only, one frame | quality mode as
  shipped (the noise-adaptive half-resolution pass mixed in; for the clip, the temporal
  filter after the second of video before it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from gan.data import prepare_input, to_uint8
from gan.frame_io import read_image
from gan.model_io import load_generator
from gan.reports import image_grid
from streamer.inference import EnhanceOptions, create_enhancer
from streamer.source import VideoSource

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL_PHOTOS = ("DICM_02", "DICM_08", "DICM_14", "DICM_17", "DICM_25", "DICM_37")
EVAL_IMAGES = ("set14_003", "set5_003", "set14_012")
NOISY = ((Path(__file__).resolve().parents[1] / "samples" / "night.mp4", 2.0),
         (DATA / "sim-lowlight" / "eval" / "low" / "set14_011.png", None))
# Only the MIT-licensed dashcam clip: the other real clip has no licence to be copied from.
CLIPS = (("night_dashcam_highway_360p.mp4", 10.0), ("night_dashcam_highway_360p.mp4", 25.0))


def save(path: Path, image: np.ndarray) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def clip_frames(path: Path, seconds: float, lead: float = 1.0
                ) -> tuple[list[np.ndarray], list[float]]:
    """The clip's frames (and times) from `seconds - lead` to `seconds`, as the engine's
    source gives them."""
    frames, times = [], []
    with VideoSource(path) as source:
        for frame in source:
            if frame.time >= seconds - lead:
                frames.append(frame.pixels)
                times.append(frame.time)
                if frame.time >= seconds:
                    return frames, times
    raise ValueError(f"{path} is shorter than {seconds} s")


def as_in_video(enhancer, frames: list[np.ndarray], times: list[float]) -> np.ndarray:
    """The last frame enhanced as `enhance-video` does it: after the ones before it."""
    enhancer.reset()
    return enhancer.enhance(frames, times)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    model = load_generator(args.model, precision="float32")
    quality = create_enhancer(model, EnhanceOptions())
    realtime = create_enhancer(model, EnhanceOptions(mode="realtime"))

    rows = []
    for name in REAL_PHOTOS:
        photo = read_image(DATA / "real-lowlight" / f"{name}.jpg")
        rows.append([photo, to_uint8(prepare_input(photo)), quality.enhance([photo])[0]])
    save(args.out / "real_lowlight.jpg", image_grid(rows, 180, gap=2))

    rows = []
    for name in EVAL_IMAGES:
        low = read_image(DATA / "sim-lowlight" / "eval" / "low" / f"{name}.png")
        high = read_image(DATA / "sim-lowlight" / "eval" / "high" / f"{name}.png")
        rows.append([low, quality.enhance([low])[0], high])
    save(args.out / "eval_examples.jpg", image_grid(rows, 200, gap=2))

    rows = []
    for clip, seconds in CLIPS:
        frames, times = clip_frames(DATA / "real-video" / clip, seconds)
        rows.append([frames[-1], as_in_video(realtime, frames, times),
                     as_in_video(quality, frames, times)])
    save(args.out / "real_video.jpg", image_grid(rows, 200, gap=2))

    full_only = create_enhancer(model, EnhanceOptions(half_scale_noise=(np.inf, np.inf)))
    rows = []
    for path, seconds in NOISY:
        if seconds is None:
            frames, times = [read_image(path)], [None]
        else:
            frames, times = clip_frames(path, seconds)
        frames = [f[:, : f.shape[0] * 4 // 3] for f in frames]  # a 4:3 crop keeps panels large
        low = frames[-1]
        rows.append([to_uint8(prepare_input(low)), full_only.enhance([low])[0],
                     as_in_video(quality, frames, times)])
    save(args.out / "noise_scale.jpg", image_grid(rows, 240, gap=2))


if __name__ == "__main__":
    main()
