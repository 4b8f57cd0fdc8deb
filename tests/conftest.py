"""Shared fixtures: a tiny saved generator, generated clips, a CLI runner, a thread check."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained `build_generator(width=4, res_blocks=0)` saved as .keras (≈ identity)."""
    from gan.generator import build_generator
    from gan.model_io import save_generator

    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    save_generator(build_generator(width=4, res_blocks=0), path)
    return path


@pytest.fixture
def make_clip(tmp_path: Path) -> Callable[..., Path]:
    """`make_clip(name, frames=None, *, count=12, size=(64, 48), audio_s=None, **write_clip_kw)`.

    Writes a clip into `tmp_path` with `streamer.synthetic.write_clip`; frames default to
    `count` dim textured ones of `size` (width, height); `audio_s` adds that many seconds
    of AAC.
    """
    from streamer.synthetic import dark_frames, sine_chord, write_clip

    def make(name: str, frames: list[np.ndarray] | None = None, *, count: int = 12,
             size: tuple[int, int] = (64, 48), audio_s: float | None = None, **kwargs) -> Path:
        if frames is None:
            frames = list(dark_frames(count, *size))
        audio = sine_chord(audio_s) if audio_s else None
        return write_clip(tmp_path / name, frames, audio=audio, **kwargs)

    return make


@pytest.fixture
def no_thread_leak():
    """Fail if the test leaves threads running (checked after a short grace period)."""
    before = {t.ident for t in threading.enumerate()}
    yield
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
        if not extra:
            return
        time.sleep(0.05)
    raise AssertionError(f"threads left behind: {[t.name for t in extra]}")


@pytest.fixture
def cli(tiny_model_path: Path) -> Callable[..., object]:
    """`cli(app, *args, model=True)`: invoke a Typer app in-process with the tiny model.

    The model and small tiles come first, so `args` can override them.
    """
    from typer.testing import CliRunner

    def invoke(app, *args, model: bool = True):
        defaults = ["--model", tiny_model_path, "--tile", "64", "--overlap", "16"] if model else []
        return CliRunner().invoke(app, [str(a) for a in (*defaults, *args)])

    return invoke
