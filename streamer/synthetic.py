"""Generated clips for samples, tests and benchmarks: frames, a sine chord, one writer.

`write_clip` writes any frames (and optionally audio) with PyAV, with the knobs the
tests need to imitate real-world files: pixel format, display rotation, irregular
timestamps (variable frame rate) and `faststart` (index first, so a cut file still opens).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

AUDIO_RATE = 44100
AAC_FRAME = 1024


def parse_size(text: str) -> tuple[int, int]:
    """`"1280x720"` → (1280, 720); `ValueError` for anything else."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size must look like 1280x720. Received: {text!r}") from None
    if width < 1 or height < 1:
        raise ValueError(f"size must be at least 1x1. Received: {text!r}")
    return width, height


def sine_chord(seconds: float, *, rate: int = AUDIO_RATE,
               freqs: Sequence[float] = (220.0, 277.18, 329.63)) -> np.ndarray:
    """A soft stereo chord with fade in/out: float32 (2, samples) in [-1, 1]."""
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * f * t) for f in freqs) / (2 * len(freqs))
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.2) if len(t) else t
    mono = (wave * fade).astype(np.float32)
    return np.stack([mono, mono * 0.8])


def dark_frames(count: int, width: int, height: int, *, seed: int = 0,
                level: float = 0.15) -> Iterator[np.ndarray]:
    """Cheap dim, textured, panning uint8 RGB frames (a crop sliding over a larger image)."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((height // 8 + 9, width // 8 + 9, 3), np.float32)
    # Smoothly interpolated, not blocky: 8-px blocks would read as compression blocking.
    base = cv2.resize(coarse, (coarse.shape[1] * 8, coarse.shape[0] * 8),
                      interpolation=cv2.INTER_LINEAR)[: height + 64, : width + 64]
    base = (base * level * 255).astype(np.uint8)
    for i in range(count):
        dx, dy = int(32 + 31 * np.sin(i / 20)), int(32 + 31 * np.cos(i / 25))
        yield base[dy:dy + height, dx:dx + width]


def write_clip(path: str | Path, frames: Iterable[np.ndarray], *, fps: Fraction | int = 24,
               audio: np.ndarray | None = None, audio_rate: int = AUDIO_RATE,
               audio_codec: str = "aac",
               codec: str = "libx264", pix_fmt: str = "yuv420p", rotation: int | None = None,
               pts: Sequence[int] | None = None, time_base: Fraction | None = None,
               options: dict[str, str] | None = None, faststart: bool = False,
               bt709: bool = False) -> Path:
    """Write uint8 RGB `frames` (and stereo float `audio`, AAC by default) to `path`.

    Args:
        rotation: display rotation tag in degrees, counter-clockwise (e.g. -90 for a phone
            held upright, whose stored frames are landscape).
        pts: per-frame timestamps in `time_base` units (irregular = variable frame rate).
        options: encoder options (default: a fast preset).
        faststart: put the index first (a file cut short then still opens).
        bt709: convert with the BT.709 matrix and tag the stream so (as HD cameras do).
    """
    path = Path(path)
    fps = Fraction(fps)
    time_base = time_base or Fraction(1, 1000 if pts is not None else int(fps * 1000))
    frames = iter(frames)
    first = next(frames, None)
    container_options = {"movflags": "faststart"} if faststart else {}
    import av  # here: the frame generators above also serve machines without FFmpeg

    with av.open(str(path), "w", options=container_options) as container:
        video = container.add_stream(codec, rate=fps)
        if first is not None:
            video.height, video.width = first.shape[:2]
        video.pix_fmt = pix_fmt
        video.codec_context.time_base = time_base
        video.options = options if options is not None else {"preset": "ultrafast"}
        if rotation:
            video.set_display_rotation(rotation)
        if bt709:
            context = video.codec_context
            context.colorspace = context.color_primaries = context.color_trc = 1  # BT.709
            context.color_range = 1  # limited
        sound = None
        if audio is not None:
            sound = container.add_stream(audio_codec, rate=audio_rate, layout="stereo")
        count = 0
        for count, pixels in enumerate(_chain(first, frames), start=1):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            if bt709:
                frame = frame.reformat(format=pix_fmt, dst_colorspace=1)
            frame.pts = pts[count - 1] if pts is not None else round((count - 1) / fps / time_base)
            frame.time_base = time_base
            container.mux(video.encode(frame))
        if count:
            container.mux(video.encode(None))
        if sound is not None:
            _write_audio(container, sound, audio, audio_rate)
    return path


def _chain(first: np.ndarray | None, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    if first is not None:
        yield first
        yield from rest


def _write_audio(container, stream, samples: np.ndarray, rate: int) -> None:
    import av

    for start in range(0, samples.shape[1], AAC_FRAME):
        chunk = np.ascontiguousarray(samples[:, start:start + AAC_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
