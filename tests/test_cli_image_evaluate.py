"""enhance-image (file and folder) and evaluate (low/high and LOL layouts)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streamer.cli.evaluate import app as evaluate_app
from streamer.cli.image import app as image_app


def write_image(path: Path, size: tuple[int, int] = (40, 70), level: int = 30, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, level, (*size, 3), dtype=np.uint8))
    return path


def test_one_image_at_full_resolution(cli, tmp_path):
    source = write_image(tmp_path / "dark.png", size=(37, 83))
    out = tmp_path / "bright.png"
    result = cli(image_app, source, out, "--precision", "float32")
    assert result.exit_code == 0, result.output
    image = cv2.imread(str(out))
    assert image.shape == (37, 83, 3) and image.mean() > cv2.imread(str(source)).mean()


def test_exposure_compensation_on_an_image(cli, tmp_path):
    source = write_image(tmp_path / "dark.png", size=(37, 83))
    means = []
    for stops in ("-1", "0", "1"):
        out = tmp_path / f"ev{stops}.png"
        result = cli(image_app, source, out, "--precision", "float32", f"--exposure={stops}")
        assert result.exit_code == 0, result.output
        means.append(cv2.imread(str(out)).mean())
    assert means[0] < means[1] < means[2]
    result = cli(image_app, source, tmp_path / "x.png", "--exposure", "3")
    assert result.exit_code == 2 and "--exposure" in result.output


def test_realtime_mode_on_an_image(cli, tmp_path):
    source = write_image(tmp_path / "dark.png", size=(300, 500))
    result = cli(image_app, source, tmp_path / "bright.png", "--mode", "realtime")
    assert result.exit_code == 0, result.output
    image = cv2.imread(str(tmp_path / "bright.png"))
    assert image.shape == (300, 500, 3) and image.mean() > cv2.imread(str(source)).mean()


def test_a_folder_of_images(cli, tmp_path):
    for i, name in enumerate(["a.png", "b.jpg", "c.bmp"]):
        write_image(tmp_path / "in" / name, seed=i)
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    result = cli(image_app, tmp_path / "in", tmp_path / "out", "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.jpg", "c.bmp"]
    again = cli(image_app, tmp_path / "in", tmp_path / "out", "--quiet")
    assert again.exit_code == 1 and "--overwrite" in again.stderr


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: (tmp / "missing.png", tmp / "o.png"), "input not found"),  # no such input
    (lambda tmp: (write_image(tmp / "a.png"), tmp / "a.png"), "is the input"),  # out == in
    (lambda tmp: (write_image(tmp / "a.png"), tmp / "a.xyz"), "cannot write"),  # bad suffix
    (lambda tmp: (write_image(tmp / "a.png"), tmp / "no" / "a.png"), "does not exist"),
    (lambda tmp: (tmp.joinpath("t.png").write_text("x") and tmp / "t.png", tmp / "o.png"),
     "cannot decode image"),  # text file named .png
])
def test_image_errors_are_one_line(make, message, cli, tmp_path):
    source, out = make(tmp_path)
    result = cli(image_app, source, out)
    assert result.exit_code == 1 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("layout", [".", "eval15"])
def test_evaluate_prints_scores_and_saves(layout, cli, tmp_path):
    for i in range(2):
        write_image(tmp_path / "data" / layout / "low" / f"{i}.png", level=30, seed=i)
        write_image(tmp_path / "data" / layout / "high" / f"{i}.png", level=200, seed=i)
    result = cli(evaluate_app, tmp_path / "data", "--save", tmp_path / "saved")
    assert result.exit_code == 0, result.output
    assert "PSNR" in result.stdout and "mean" in result.stdout
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == ["0.png", "1.png"]


def test_evaluate_reports_unmatched_images(cli, tmp_path):
    write_image(tmp_path / "low" / "a.png")
    write_image(tmp_path / "high" / "b.png")
    result = cli(evaluate_app, tmp_path)
    assert result.exit_code == 1 and "have no partner" in result.stderr


def test_evaluate_reports_pairs_of_different_sizes(cli, tmp_path):
    write_image(tmp_path / "low" / "a.png", size=(40, 70))
    write_image(tmp_path / "high" / "a.png", size=(40, 72))
    result = cli(evaluate_app, tmp_path)
    assert result.exit_code == 1 and "70x40" in result.stderr and "72x40" in result.stderr


def test_evaluate_needs_low_and_high(cli, tmp_path):
    result = cli(evaluate_app, tmp_path)
    assert result.exit_code == 1 and "low/" in result.stderr


@pytest.mark.parametrize("folder", ["low", "high"])
def test_evaluate_never_saves_over_its_pairs(folder, cli, tmp_path):
    for side, level in (("low", 30), ("high", 200)):
        write_image(tmp_path / side / "0.png", level=level)
    before = (tmp_path / folder / "0.png").read_bytes()
    result = cli(evaluate_app, tmp_path, "--save", tmp_path / folder, "--overwrite")
    assert result.exit_code == 1 and "is an input folder" in result.stderr
    assert (tmp_path / folder / "0.png").read_bytes() == before


def test_evaluate_save_needs_overwrite_to_replace_images(cli, tmp_path):
    for side, level in (("low", 30), ("high", 200)):
        write_image(tmp_path / "data" / side / "0.png", level=level)
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "0.png").write_bytes(b"kept")
    result = cli(evaluate_app, tmp_path / "data", "--save", tmp_path / "saved")
    assert result.exit_code == 1 and "use --overwrite" in result.stderr
    assert (tmp_path / "saved" / "0.png").read_bytes() == b"kept"
    assert cli(evaluate_app, tmp_path / "data", "--save", tmp_path / "saved",
               "--overwrite").exit_code == 0
