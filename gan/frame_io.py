"""Frames on disk, for training, simulation and the engine: image files read and written
as uint8 RGB, image folders, and frames sampled evenly from videos (shown upright)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from gan.errors import UserError

if TYPE_CHECKING:
    import av

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


def read_image(path: str | Path) -> np.ndarray:
    """One image file as RGB uint8 (H, W, 3); grey and alpha are converted, 16 bits reduced."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise UserError(f"cannot read image {path}: {exc.strerror or exc}") from None
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # a damaged file: we say so
    try:
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    finally:
        cv2.utils.logging.setLogLevel(level)
    if bgr is None:
        raise UserError(f"cannot decode image {path}: not a readable image file")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def scratch_path(path: Path) -> Path:
    """Where `path` is written before `finish_scratch` renames it into place: a hidden name
    beside the real file (a symlink's target), short enough for any valid name."""
    target = Path(os.path.realpath(path))
    stem = target.stem.encode()[:64].decode(errors="ignore")
    return target.with_name(f".{stem}-{os.getpid()}.partial{target.suffix}")


def finish_scratch(scratch: Path, path: Path) -> None:
    """Rename the finished `scratch` over `path` (its target if a symlink), keeping the
    permissions of a file it replaces."""
    target = Path(os.path.realpath(path))
    if target.exists():
        shutil.copymode(target, scratch)
    os.replace(scratch, target)


def drop_scratch(scratch: Path) -> None:
    """Remove an unfinished `scratch` file, if it is there."""
    with contextlib.suppress(OSError):
        scratch.unlink(missing_ok=True)


def write_image(path: str | Path, rgb: np.ndarray) -> None:
    """Write uint8 RGB `rgb` to `path`, the format from its suffix (`UserError` if it fails).

    Encoded in memory, written beside `path` and renamed over it, so a file being replaced
    stays whole if the write fails (a full disk).
    """
    path = Path(path)
    ok, encoded = cv2.imencode(path.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise UserError(f"cannot encode {path} as {path.suffix}")
    scratch = scratch_path(path)
    try:
        scratch.write_bytes(encoded.tobytes())
        finish_scratch(scratch, path)
    except OSError as exc:
        drop_scratch(scratch)
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def image_files(folder: str | Path) -> list[Path]:
    """The image files directly inside `folder`, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"not a folder: {folder}")
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_images(folder: str | Path) -> list[tuple[str, np.ndarray]]:
    """All images in `folder` as (file name, RGB uint8) pairs, sorted by name."""
    files = image_files(folder)
    if not files:
        raise UserError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return [(p.name, read_image(p)) for p in files]


def count_video_frames(path: Path) -> int:
    """Frames in the first video stream, counted from its packets (nothing is decoded)."""
    import av  # imported where videos are read: image-only training runs without FFmpeg

    with av.open(str(path)) as container:
        if not container.streams.video:
            raise UserError(f"no video stream in {path}")
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size > 0)


def sample_video_frames(path: str | Path, count: int) -> list[np.ndarray]:
    """`count` frames spread evenly from first to last, RGB uint8 (fewer if the video is short).

    Raises:
        UserError: the file is missing, is not a video, or holds no frames.
    """
    if count < 1:
        raise ValueError(f"`count` must be >= 1. Received: {count}")
    import av

    path = Path(path)
    if not path.is_file():
        raise UserError(f"no such video file: {path}")
    try:
        total = count_video_frames(path)
        wanted = set(np.round(np.linspace(0, total - 1, min(count, total))).astype(int).tolist())
        frames = []
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, frame in enumerate(_decode(container, stream)):
                if index in wanted:
                    frames.append(upright(frame))
                if len(frames) == len(wanted):
                    break
    except av.error.EOFError:
        raise UserError(f"no frames in video {path}") from None
    except av.FFmpegError as exc:
        raise UserError(f"cannot read video {path}: {exc.strerror or exc}") from None
    if not frames:
        raise UserError(f"no frames in video {path}")
    return frames


def upright(frame: av.VideoFrame) -> np.ndarray:
    """The frame as uint8 RGB (H, W, 3) with its display rotation applied."""
    pixels = frame.to_ndarray(format="rgb24")
    quarter_turns = round((frame.rotation or 0) / 90) % 4  # counter-clockwise
    return np.ascontiguousarray(np.rot90(pixels, quarter_turns)) if quarter_turns else pixels


def _decode(container: av.container.InputContainer, stream: av.VideoStream
            ) -> Iterable[av.VideoFrame]:
    for packet in container.demux(stream):
        yield from packet.decode()


def load_named_frames(paths: Iterable[str | Path], *, frames_per_video: int = 50
                      ) -> list[tuple[str, np.ndarray]]:
    """Frames from any mix of image folders, image files and videos, as (name, RGB uint8).

    Names are file stems, and `<video stem>_<frame number>` for video frames; a clash
    (two inputs with one stem) gets a numeric suffix.
    """
    named: list[tuple[str, np.ndarray]] = []
    for path in map(Path, paths):
        if path.is_dir():
            named += [(Path(name).stem, rgb) for name, rgb in load_images(path)]
        elif not path.exists():
            raise UserError(f"no such file or folder: {path}")
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            named.append((path.stem, read_image(path)))
        else:
            frames = sample_video_frames(path, frames_per_video)
            named += [(f"{path.stem}_{i:05d}", rgb) for i, rgb in enumerate(frames)]
    seen: dict[str, int] = {}
    unique = []
    for name, rgb in named:
        seen[name] = seen.get(name, 0) + 1
        unique.append((name if seen[name] == 1 else f"{name}_{seen[name]}", rgb))
    return unique
