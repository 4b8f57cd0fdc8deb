"""Tests for frame sources (gan/frame_io.py) and the `simulate` CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage import data
from typer.testing import CliRunner

from gan.cli.simulate import app
from gan.errors import UserError
from gan.frame_io import load_images, load_named_frames, sample_video_frames


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def write_video(path: Path, frames: int, *, size: tuple[int, int] = (64, 48)) -> None:
    """An H.264 clip whose frame i is flat grey at level 10·i (0 frames: header only)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        container.start_encoding()
        for i in range(frames):
            rgb = np.full((size[1], size[0], 3), 10 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    """Three small normal-light images: PNG, JPEG and an odd-sized PNG."""
    folder = tmp_path / "images"
    folder.mkdir()
    write_rgb(folder / "b_astronaut.png", data.astronaut()[100:164, 150:214])
    write_rgb(folder / "a_coffee.jpg", data.coffee()[50:98, 60:124])
    write_rgb(folder / "c_chelsea.png", data.chelsea()[40:85, 100:151])
    (folder / "notes.txt").write_text("not an image")
    return folder


@dataclass
class Result:
    returncode: int
    stderr: str


def run_cli(*args: str | Path) -> Result:
    """Run `simulate` in-process (importing the package once per process is slow)."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    return Result(result.exit_code, result.stderr)


def read_set(out: Path) -> tuple[list[str], list[str], list[dict]]:
    low = sorted(p.name for p in (out / "low").iterdir())
    high = sorted(p.name for p in (out / "high").iterdir())
    records = [json.loads(line) for line in (out / "params.jsonl").read_text().splitlines()]
    return low, high, records


def test_load_images_sorted_rgb(tmp_path: Path) -> None:
    write_rgb(tmp_path / "b.png", np.full((4, 6, 3), (255, 0, 0), np.uint8))
    write_rgb(tmp_path / "a.bmp", np.full((5, 3, 3), (0, 0, 255), np.uint8))
    images = load_images(tmp_path)
    assert [name for name, _ in images] == ["a.bmp", "b.png"]
    assert images[0][1].shape == (5, 3, 3) and images[0][1].dtype == np.uint8
    assert tuple(images[0][1][0, 0]) == (0, 0, 255) and tuple(images[1][1][0, 0]) == (255, 0, 0)


def test_sample_video_frames_spread_evenly(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.mp4", 20)
    frames = sample_video_frames(tmp_path / "clip.mp4", 5)
    # Frames 0, 5, 10, 14, 19 of 20 (grey level 10·i, give or take the codec).
    levels = [int(frame.mean().round()) for frame in frames]
    assert levels == pytest.approx([0, 50, 100, 140, 190], abs=3)
    assert frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    assert len(sample_video_frames(tmp_path / "clip.mp4", 100)) == 20


def test_named_frames_mix_folders_images_videos(image_dir: Path, tmp_path: Path) -> None:
    write_video(tmp_path / "clip.mp4", 10)
    named = load_named_frames([image_dir, image_dir / "b_astronaut.png", tmp_path / "clip.mp4"],
                              frames_per_video=4)
    assert len(named) == 3 + 1 + 4
    assert len({name for name, _ in named}) == len(named)  # the repeated image is renamed
    assert all(f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3 for _, f in named)


def test_load_images_reports_the_unreadable_file(image_dir: Path) -> None:
    (image_dir / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(UserError, match="broken.png"):
        load_images(image_dir)


def test_cli_writes_matching_pairs(image_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(image_dir, out, "--seed", "3", "--preset", "wide")
    assert result.returncode == 0, result.stderr
    low, high, records = read_set(out)
    assert low == high == ["a_coffee.png", "b_astronaut.png", "c_chelsea.png"]
    assert [r["name"] + ".png" for r in records] == low
    assert {"exposure", "wb", "shot", "read", "codec_crf"} <= set(records[0])
    for name in low:
        low_rgb = cv2.imread(str(out / "low" / name))
        high_rgb = cv2.imread(str(out / "high" / name))
        assert low_rgb.shape == high_rgb.shape and low_rgb.mean() < high_rgb.mean()


def test_cli_is_reproducible_and_guards_existing_output(image_dir: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert run_cli(image_dir, first, "--seed", "1").returncode == 0
    assert run_cli(image_dir, second, "--seed", "1").returncode == 0
    name = "b_astronaut.png"
    assert (first / "low" / name).read_bytes() == (second / "low" / name).read_bytes()
    assert read_set(first)[2] == read_set(second)[2]
    refused = run_cli(image_dir, second, "--seed", "2")
    assert refused.returncode != 0 and "--overwrite" in refused.stderr
    assert run_cli(image_dir, second, "--seed", "2", "--overwrite").returncode == 0
    assert (first / "low" / name).read_bytes() != (second / "low" / name).read_bytes()


def test_cli_samples_video_frames(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.mp4", 12)
    result = run_cli(tmp_path / "clip.mp4", tmp_path / "out", "--count", "3")
    assert result.returncode == 0, result.stderr
    low, high, records = read_set(tmp_path / "out")
    assert low == high == [f"clip_{i:05d}.png" for i in range(3)] and len(records) == 3


def _video_without_frames(tmp_path: Path) -> tuple[Path, str]:
    write_video(tmp_path / "empty.mkv", 0)
    return tmp_path / "empty.mkv", "empty.mkv"


def _not_a_video(tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "clip.mp4").write_text("hello")
    return tmp_path / "clip.mp4", "clip.mp4"


def _unreadable_image(tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "images").mkdir()
    write_rgb(tmp_path / "images" / "good.png", data.astronaut()[:8, :8])
    (tmp_path / "images" / "bad.jpg").write_bytes(b"\xff\xd8 truncated")
    return tmp_path / "images", "bad.jpg"


def _truncated_png(tmp_path: Path) -> tuple[Path, str]:
    write_rgb(tmp_path / "whole.png", data.astronaut())
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:10_000])
    return tmp_path / "cut.png", "cut.png"


def _folder_without_images(tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "readme.txt").write_text("no images here")
    return tmp_path / "nothing", "nothing"


@pytest.mark.parametrize("make_input", [
    _video_without_frames,  # a valid container holding no frames
    _not_a_video,  # text with a video suffix
    _unreadable_image,  # one corrupt image in an otherwise good folder
    _truncated_png,  # OpenCV's own warning must not print before our line
    _folder_without_images,  # only a text file
])
def test_cli_bad_input_is_one_line_error(tmp_path: Path, make_input) -> None:
    source, culprit = make_input(tmp_path)
    result = run_cli(source, tmp_path / "out")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and culprit in lines[0]
    assert not (tmp_path / "out" / "params.jsonl").exists()


def test_console_script_error_end_to_end(tmp_path: Path) -> None:
    # The real process: exit status and stderr as a shell sees them, no traceback.
    source, culprit = _folder_without_images(tmp_path)
    result = subprocess.run([sys.executable, "-m", "gan.cli.simulate", str(source),
                             str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no images") and culprit in lines[0]


def test_cli_never_writes_over_its_source(image_dir: Path, tmp_path: Path) -> None:
    # SOURCE is OUT_DIR/high: --overwrite would delete the images it reads.
    source = tmp_path / "set" / "high"
    shutil.copytree(image_dir, source)
    before = {p.name: p.read_bytes() for p in source.iterdir()}
    result = run_cli(source, tmp_path / "set", "--overwrite")
    assert result.returncode == 1 and "is in" in result.stderr and "never overwritten" in result.stderr
    assert {p.name: p.read_bytes() for p in source.iterdir()} == before


def test_a_failed_overwrite_leaves_the_old_set_as_it_was(image_dir: Path, tmp_path: Path,
                                                         monkeypatch) -> None:
    from typer.testing import CliRunner

    import gan.cli.simulate as simulate_cli

    out = tmp_path / "out"
    assert run_cli(image_dir, out, "--seed", "1").returncode == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    calls, write_image = [], simulate_cli.write_image

    def fail_on_the_third_write(path, rgb):  # like a full disk, or Ctrl-C, mid-run
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        write_image(path, rgb)

    monkeypatch.setattr(simulate_cli, "write_image", fail_on_the_third_write)
    result = CliRunner().invoke(simulate_cli.app, [str(image_dir), str(out), "--seed", "2",
                                                   "--overwrite"])
    assert result.exit_code == 130 and len(calls) == 3
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # the old set, whole; no scratch folder left behind
    calls.clear()
    result = CliRunner().invoke(simulate_cli.app, [str(image_dir), str(tmp_path / "new")])
    assert result.exit_code == 130 and not (tmp_path / "new").exists()  # no empty folder either


def test_overwrite_replaces_the_set_and_keeps_other_files(image_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli(image_dir, out).returncode == 0
    (out / "low" / "stale.png").write_bytes(b"from an older, bigger set")
    (out / "low" / "notes.txt").write_text("mine")
    assert run_cli(image_dir, out, "--seed", "5", "--overwrite").returncode == 0
    low, high, records = read_set(out)
    assert high == ["a_coffee.png", "b_astronaut.png", "c_chelsea.png"] and len(records) == 3
    assert low == [*high, "notes.txt"] and (out / "low" / "notes.txt").read_text() == "mine"
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
