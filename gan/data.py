"""Paired low/normal-light frames: discovery, loading, validation split and crop batches.

Every low frame is exposure-normalised at full size (`gan.exposure`) before it is cut,
exactly as the video engine does it, so the generator learns what it will be asked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from gan.errors import UserError
from gan.exposure import ExposureConfig, normalise_exposure
from gan.frame_io import count_video_frames, image_files, read_image, sample_video_frames

# The generator halves its input up to MAX_LEVELS times, so the sides of crops, tiles and
# work copies are multiples of SIZE_MULTIPLE.
MAX_LEVELS = 3
SIZE_MULTIPLE = 2**MAX_LEVELS


def check_size(name: str, value: int) -> None:
    """`ValueError` unless `value` (a crop or tile side) is a positive multiple of
    SIZE_MULTIPLE."""
    if value <= 0 or value % SIZE_MULTIPLE:
        raise ValueError(f"`{name}` must be a positive multiple of {SIZE_MULTIPLE}. "
                         f"Received: {value}")


def frames_for_crops(frames: Sequence[np.ndarray], crop: int) -> list[np.ndarray]:
    """The `frames` at least `crop` px on their short side (`UserError` if there were
    frames but none is)."""
    usable = [f for f in frames if min(f.shape[:2]) >= crop]
    if frames and not usable:
        raise UserError(f"no frame to simulate from is at least {crop} px on its short side: "
                        "lower --crop")
    return usable

# Folder layouts accepted under DATA: plain, and the LOL dataset's.
LAYOUTS = ("", "our485", "eval15", "train", "eval", "test")


@dataclass(frozen=True)
class Pair:
    """One training pair: uint8 RGB arrays of the same shape."""

    name: str
    low: np.ndarray
    high: np.ndarray


def _images_in(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in image_files(folder)}


def find_pair_folders(root: Path) -> list[tuple[Path, Path]]:
    """The (low, high) folder pairs under `root`: `root/low|high` or LOL's sub-layouts."""
    if not root.exists():
        raise UserError(f"data folder not found: {root}")
    if not root.is_dir():
        raise UserError(f"data path is not a folder: {root}")
    found = [(root / sub / "low", root / sub / "high") for sub in LAYOUTS
             if (root / sub / "low").is_dir() and (root / sub / "high").is_dir()]
    if not found:
        raise UserError(f"no low/ and high/ folders in {root} (expected DATA/low and DATA/high)")
    return found


def find_pairs(root: str | Path) -> list[tuple[Path, Path]]:
    """Matching (low, high) file paths under `root`, sorted by name; errors list the unpaired."""
    pairs: list[tuple[Path, Path]] = []
    for low_dir, high_dir in find_pair_folders(Path(root)):
        lows, highs = _images_in(low_dir), _images_in(high_dir)
        unpaired = sorted(set(lows) ^ set(highs))
        if unpaired:
            shown = ", ".join(unpaired[:5]) + (" ..." if len(unpaired) > 5 else "")
            raise UserError(f"{len(unpaired)} image(s) in {low_dir.parent} have no partner "
                            f"in low/ or high/: {shown}")
        pairs += [(lows[k], highs[k]) for k in sorted(lows)]
    if not pairs:
        raise UserError(f"no images in {root}/low and {root}/high")
    return pairs


def load_pairs(root: str | Path) -> list[Pair]:
    """Load every pair under `root` into memory, checking that partners have one size."""
    pairs = []
    for low_path, high_path in find_pairs(root):
        low, high = read_image(low_path), read_image(high_path)
        if low.shape != high.shape:
            raise UserError(f"{low_path.name}: low is {low.shape[1]}x{low.shape[0]} but high is "
                            f"{high.shape[1]}x{high.shape[0]}")
        pairs.append(Pair(low_path.stem, low, high))
    return pairs


def load_video_pairs(low_video: str | Path, high_video: str | Path, count: int = 200) -> list[Pair]:
    """Frame-aligned pairs from two videos: `count` frames spread across them."""
    n_low, n_high = count_video_frames(Path(low_video)), count_video_frames(Path(high_video))
    if n_low != n_high:
        raise UserError(f"paired videos differ in length: {low_video} has {n_low} frames, "
                        f"{high_video} has {n_high}")
    lows = sample_video_frames(low_video, count)
    highs = sample_video_frames(high_video, count)
    for low, high in zip(lows, highs, strict=True):
        if low.shape != high.shape:
            raise UserError(f"paired videos differ in size: {low_video} is "
                            f"{low.shape[1]}x{low.shape[0]}, {high_video} is "
                            f"{high.shape[1]}x{high.shape[0]}")
    return [Pair(f"frame{i:05d}", lo, hi) for i, (lo, hi) in enumerate(zip(lows, highs, strict=True))]


def split_validation(pairs: Sequence[Pair], fraction: float = 0.1) -> tuple[list[Pair], list[Pair]]:
    """Deterministic train/validation split by a hash of each pair's name."""
    def bucket(p: Pair) -> float:
        return int(hashlib.sha1(p.name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    val = [p for p in pairs if bucket(p) < fraction]
    train = [p for p in pairs if bucket(p) >= fraction]
    if not val and len(pairs) > 1:
        val, train = [pairs[0]], list(pairs[1:])
    return train, val


def to_unit(image: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] → float32 [0, 1]."""
    return image.astype(np.float32) / 255.0


def to_signed(image01: np.ndarray) -> np.ndarray:
    """float [0, 1] → float32 [-1, 1], the generator's pixel range."""
    return (np.asarray(image01, np.float32) * 2.0 - 1.0).astype(np.float32)


def from_signed(signed: np.ndarray) -> np.ndarray:
    """Generator output in [-1, 1] → float32 [0, 1], clipped."""
    return np.clip((np.asarray(signed, np.float32) + 1.0) * 0.5, 0.0, 1.0)


def to_uint8(signed: np.ndarray) -> np.ndarray:
    """Generator output in [-1, 1] → uint8 [0, 255], rounded."""
    return np.clip((np.asarray(signed, np.float32) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def prepare_input(low: np.ndarray, exposure: ExposureConfig = ExposureConfig()) -> np.ndarray:
    """uint8 low frame → exposure-normalised float32 in [-1, 1], the generator's input."""
    return to_signed(normalise_exposure(low, exposure))


# A simulator draws a low frame from a clean one: (clean uint8, rng) -> low uint8.
Simulator = Callable[[np.ndarray, np.random.Generator], np.ndarray]


class CropSampler:
    """Random aligned crops of (normalised low, high) pairs, in [-1, 1], with flips/rotations.

    Batches are a pure function of (seed, epoch, step), so a resumed run sees the same data.
    With `clean` frames and a `simulator`, a share `simulate_ratio` of each batch is made on
    the fly: a fresh low-light rendering of a random window every time. A share
    `half_size_ratio` of crops is cut from a window twice the size and area-downscaled ×2,
    input and target alike: what the quality mode's half-resolution pass feeds the model
    (frames shorter than that window are reflect-padded up to it, as for any crop).
    """

    def __init__(self, pairs: Sequence[Pair], *, crop: int = 128, batch_size: int = 8,
                 seed: int = 0, clean: Sequence[np.ndarray] = (), simulator: Simulator | None = None,
                 simulate_ratio: float = 0.0, half_size_ratio: float = 0.0,
                 exposure: ExposureConfig = ExposureConfig()):
        check_size("crop", crop)
        for name, value in (("simulate_ratio", simulate_ratio), ("half_size_ratio", half_size_ratio)):
            if not 0 <= value <= 1:
                raise ValueError(f"`{name}` must be in [0, 1]. Received: {value}")
        if not pairs and not (clean and simulator):
            raise UserError("no training data: give paired frames or --simulate sources")
        self.crop, self.batch_size, self.seed = crop, batch_size, seed
        self.exposure = exposure
        self.inputs = [prepare_input(p.low, exposure) for p in pairs]
        self.targets = [to_signed(to_unit(p.high)) for p in pairs]
        self.clean = frames_for_crops(clean, crop)
        self.simulator = simulator
        self.half_size_ratio = half_size_ratio
        self.simulate_ratio = simulate_ratio if (self.clean and simulator) else 0.0
        if not self.inputs:
            self.simulate_ratio = 1.0

    def batch(self, epoch: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        """The batch for (epoch, step): arrays of shape (B, crop, crop, 3)."""
        rng = np.random.default_rng([self.seed, epoch, step])
        xs, ys = [], []
        for _ in range(self.batch_size):
            # Drawn only when used, so runs without half-size crops keep their batches.
            half = self.half_size_ratio > 0 and rng.random() < self.half_size_ratio
            size = 2 * self.crop if half else self.crop
            if rng.random() < self.simulate_ratio:
                x, y = self._simulated_crop(rng, size)
            else:
                i = int(rng.integers(len(self.inputs)))
                x, y = self._random_crop(rng, self.inputs[i], self.targets[i], size)
            if half:
                x, y = (cv2.resize(a, (self.crop, self.crop), interpolation=cv2.INTER_AREA)
                        for a in (x, y))
            k, flip = int(rng.integers(4)), bool(rng.integers(2))
            x, y = np.rot90(x, k), np.rot90(y, k)
            if flip:
                x, y = x[:, ::-1], y[:, ::-1]
            xs.append(x)
            ys.append(y)
        return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32)

    def _random_crop(self, rng: np.random.Generator, x: np.ndarray, y: np.ndarray, size: int):
        h, w = x.shape[:2]
        if h < size or w < size:  # small frames: reflect-pad up to the crop
            pad = ((0, max(0, size - h)), (0, max(0, size - w)), (0, 0))
            x, y = np.pad(x, pad, mode="reflect"), np.pad(y, pad, mode="reflect")
            h, w = x.shape[:2]
        top, left = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        return x[top:top + size, left:left + size], y[top:top + size, left:left + size]

    def _simulated_crop(self, rng: np.random.Generator, size: int):
        clean = self.clean[int(rng.integers(len(self.clean)))]
        # Simulate and normalise a window twice the crop, so the exposure is judged on context.
        window, _ = self._random_crop(rng, clean, clean, size=min(2 * size, *clean.shape[:2]))
        low = self.simulator(np.ascontiguousarray(window), rng)
        return self._random_crop(rng, prepare_input(low, self.exposure),
                                 to_signed(to_unit(window)), size)
