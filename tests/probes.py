"""Reading results back in tests: frame counts, timing, sizes and audio of a media file."""

from __future__ import annotations

from pathlib import Path

import av


def count_frames(path: Path) -> int:
    """Decoded video frames in `path` (what a player would show)."""
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def probe(path: Path) -> dict:
    """Frame count, rate, size, first-frame pixels, pts in seconds and audio facts of `path`."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        frames = list(container.decode(video))
        return {
            "frames": len(frames), "rate": video.average_rate, "time_base": video.time_base,
            "size": (frames[0].width, frames[0].height), "first": frames[0].to_ndarray(format="rgb24"),
            "times": [float(f.pts * f.time_base) for f in frames],
            "audio_codec": audio.codec_context.name if audio else None,
            "audio_s": float(audio.duration * audio.time_base) if audio and audio.duration else None,
        }
