"""Stopping enhance-video mid-run with SIGINT or SIGTERM: a playable, finalised output."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from probes import count_frames, probe

REPO = Path(__file__).resolve().parents[1]
FRAMES = 1200


def writing(out: Path) -> list[Path]:
    """The file the sink writes beside `out` until it renames it to `out`."""
    return list(out.parent.glob(f".{out.stem}-*.partial{out.suffix}"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_finalises_output_and_exits_130(signum, make_clip, tiny_model_path, tmp_path):
    rng = np.random.default_rng(0)
    frames = (rng.integers(0, 80, (96, 128, 3), np.uint8) for _ in range(FRAMES))
    clip = make_clip("long.mp4", frames=frames, fps=24, audio_s=FRAMES / 24)
    out = tmp_path / "out.mp4"
    command = [sys.executable, "-c", "from streamer.cli.video import main; main()",
               str(clip), str(out), "--model", str(tiny_model_path), "--quiet",
               "--precision", "float32", "--preset", "ultrafast", "--tile", "64",
               "--overlap", "16", "--batch-size", "4"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 90
        while not any(p.stat().st_size > 64_000 for p in writing(out)):  # frames are coming
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no output appeared"
            time.sleep(0.05)
        process.send_signal(signum)
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=10)
        waited = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert waited < 5.0
    match = re.search(r"interrupted; .* was finalised with the first (\d+) of (\d+) frames", stderr)
    assert match, stderr
    written = int(match.group(1))
    assert 0 < written < FRAMES and int(match.group(2)) == FRAMES
    assert count_frames(out) == written and not writing(out)  # renamed once finalised
    result = probe(out)
    video_s = written / 24
    assert result["audio_codec"] == "aac" and 0 < result["audio_s"] <= video_s + 0.2
