"""The benchmark scripts still run (a few tiny frames each; the figures are not checked)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [name, *args])
    runpy.run_path(str(BENCHMARKS / name), run_name="__main__")


@pytest.mark.parametrize("args, expected", [
    (["--sizes", "64x48,40x30", "--tile", "32", "--overlap", "8"],
     ["passthrough", "CPU ceiling", "64x48", "40x30"]),
    # the CPU ceiling does not apply where the model runs on the device: "–"
    (["--sizes", "64x48", "--on-device", "yes"], ["whole frames on the device", "64x48", "–"]),
    (["--sizes", "64x48", "--mode", "realtime"], ["realtime mode", "64x48"]),
], ids=["tiles", "device", "realtime"])
def test_bench_video_prints_the_breakdown(args, expected, tiny_model_path, monkeypatch, capsys):
    run_script("bench_video.py", ["--frames", "3", *args, "--model", str(tiny_model_path),
                                  "--precision", "float32", "--preset", "ultrafast"], monkeypatch)
    out = capsys.readouterr().out
    assert all(text in out for text in expected), out


def test_bench_video_measures_a_given_clip(tiny_model_path, make_clip, monkeypatch, capsys):
    clip = make_clip("noisy.mp4", count=5, size=(72, 40))
    run_script("bench_video.py", ["--clip", str(clip), "--tile", "32", "--overlap", "8",
                                  "--threads", "2", "--model", str(tiny_model_path),
                                  "--precision", "float32", "--preset", "ultrafast"], monkeypatch)
    out = capsys.readouterr().out
    assert "72x40" in out and "noisy.mp4" in out and "2 thread(s)" in out


def test_bench_memory_prints_rss_growth(monkeypatch, capsys, no_thread_leak):
    run_script("bench_memory.py", ["--seconds", "0.3", "--size", "64x48"], monkeypatch)
    assert "RSS growth after warm-up" in capsys.readouterr().out


def test_sample_quality_scores_both_settings(tiny_model_path, monkeypatch, capsys):
    run_script("sample_quality.py", ["--frames", "12", "--model", str(tiny_model_path),
                                     "--precision", "float32"], monkeypatch)
    rows = [line for line in capsys.readouterr().out.splitlines() if line.count("|") == 3]
    assert len(rows) == 3 and rows[1].startswith("0.00") and rows[2].startswith("0.90")


def test_sample_quality_makes_and_scores_another_clip(tiny_model_path, monkeypatch, capsys):
    run_script("sample_quality.py", ["--pictures", "stereo_motorcycle,coffee", "--count", "10",
                                     "--model", str(tiny_model_path), "--precision", "float32"],
               monkeypatch)
    out = capsys.readouterr().out
    assert out.startswith("10 frames of 640×360") and out.count("|") == 9


def test_bench_codec_compares_thread_types(make_clip, monkeypatch, capsys):
    clip = make_clip("codec.mp4", count=4, size=(64, 48))
    run_script("bench_codec.py", ["--clip", str(clip), "--frames", "4", "--repeat", "1"],
               monkeypatch)
    out = capsys.readouterr().out
    assert "4 frames of 64x48" in out and "slice threads" in out and "frame threads" in out


@pytest.mark.parametrize("script, args, expected", [
    ("device_agreement.py", ["--frames", "3"], ["device vs tiled PSNR"]),
    ("bench_halves.py", ["--rounds", "1"], ["call after call", "halves overlapped"]),
])
def test_clip_comparisons_print_both_sides(script, args, expected, tiny_model_path, make_clip,
                                           monkeypatch, capsys):
    clip = make_clip("clip.mp4", count=3, size=(96, 64))
    run_script(script, ["--clip", str(clip), *args, "--model", str(tiny_model_path),
                        "--precision", "float32"], monkeypatch)
    out = capsys.readouterr().out
    assert all(text in out for text in ["3 frames of 96x64", *expected]), out


def test_ssim_terms_multiply_to_scikit_images_ssim_and_see_blur(tmp_path, monkeypatch, capsys):
    import cv2
    from skimage import data
    from skimage.metrics import structural_similarity

    from gan.frame_io import write_image

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from ssim_terms import ssim_terms

    reference = cv2.resize(data.astronaut(), (96, 96), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(reference, (0, 0), 1.5)
    terms = ssim_terms(blurred, reference)
    assert terms["ssim"] == pytest.approx(
        structural_similarity(reference, blurred, channel_axis=-1, data_range=255), abs=1e-9)
    assert terms["c"] < 0.9 and terms["std ratio"] < 0.8  # blur: smoother than the reference
    brighter = ssim_terms(cv2.convertScaleAbs(reference, alpha=1.3), reference)
    assert brighter["s"] > 0.98 > brighter["l"] and brighter["std ratio"] > 1  # gain: same detail

    for folder, image in (("out", blurred), ("ref", reference)):
        (tmp_path / folder).mkdir()
        write_image(tmp_path / folder / "astronaut.png", image)
    run_script("ssim_terms.py", [str(tmp_path / "out"), str(tmp_path / "ref")], monkeypatch)
    out = capsys.readouterr().out
    assert "1 images" in out and f"{terms['ssim']:9.3f}" in out.splitlines()[-1]
