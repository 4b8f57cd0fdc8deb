"""`train` from paired videos and from simulated pairs (`--simulate`, `--from`)."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from gan.cli.train import app
from gan.data import Pair, load_video_pairs
from gan.errors import UserError
from gan.frame_io import sample_video_frames
from gan.generator import build_generator
from gan.model_io import load_generator, save_generator
from gan.simulate import LowLightParams, render
from gan.validation import validate
from streamer.synthetic import write_clip
from tests.synthetic import clean_images, darken


def test_paired_videos_give_aligned_pairs(tmp_path):
    rng = np.random.default_rng(0)
    day = [np.roll(clean_images(64, 1)[0], 4 * i, axis=1) for i in range(6)]
    write_clip(tmp_path / "day.mp4", day, options={"crf": "10"})
    write_clip(tmp_path / "night.mp4", [darken(f, rng) for f in day], options={"crf": "10"})
    pairs = load_video_pairs(tmp_path / "night.mp4", tmp_path / "day.mp4", count=3)
    assert len(pairs) == 3
    for pair in pairs:
        assert pair.low.shape == pair.high.shape == (64, 64, 3)
        assert pair.low.mean() < pair.high.mean()


def test_video_frames_for_training_are_upright(tmp_path):
    frames = [np.full((48, 64, 3), 20, np.uint8) for _ in range(4)]
    for frame in frames:
        frame[:8, :8] = 255  # stored top-left
    clip = write_clip(tmp_path / "phone.mp4", frames, rotation=-90)  # shown turned clockwise
    (first, *_) = sample_video_frames(clip, 2)
    assert first.shape == (64, 48, 3)
    assert first[:6, -6:].mean() > 200 and first[:6, :6].mean() < 150  # the mark: top-right


def test_paired_videos_of_different_lengths_are_refused(tmp_path):
    frames = clean_images(64, 1) * 5
    write_clip(tmp_path / "day.mp4", frames)
    write_clip(tmp_path / "night.mp4", frames[:3])
    with pytest.raises(UserError, match="differ in length"):
        load_video_pairs(tmp_path / "night.mp4", tmp_path / "day.mp4")


def test_paired_videos_of_different_sizes_are_refused(tmp_path):
    frames = clean_images(64, 1) * 3
    write_clip(tmp_path / "day.mp4", frames)
    write_clip(tmp_path / "night.mp4", [f[:48] for f in frames])
    with pytest.raises(UserError, match="differ in size: .* is 64x48, .* is 64x64"):
        load_video_pairs(tmp_path / "night.mp4", tmp_path / "day.mp4", count=2)


def test_fine_tuning_with_simulate_improves_a_held_out_simulated_pair(tmp_path):
    # Normal-light "footage": the top of each scene; held out: the unseen bottom.
    images = clean_images(144, 6)
    folder = tmp_path / "day"
    folder.mkdir()
    import cv2

    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"{i}.png"), cv2.cvtColor(image[:96], cv2.COLOR_RGB2BGR))
    rng = np.random.default_rng(7)
    typical = LowLightParams(exposure=0.08, wb=(1.0, 1.0, 1.0), shot=3e-3, read=2e-5)
    held_out = [Pair(str(i), render(im[96:], typical, rng), im[96:]) for i, im in enumerate(images)]
    start = tmp_path / "start.keras"
    save_generator(build_generator(width=16, res_blocks=1), start)
    result = CliRunner().invoke(app, [
        "--simulate", str(folder), "--from", str(start), "--out", str(tmp_path / "run"),
        "--width", "16", "--res-blocks", "1", "--crop", "64", "--batch-size", "8",
        "--steps-per-epoch", "40", "--epochs", "2", "--lr", "2e-3", "--precision", "float32",
        "--quiet"])
    assert result.exit_code == 0, result.output
    before = validate(load_generator(start), held_out)
    after = validate(load_generator(tmp_path / "run" / "best.keras"), held_out)
    assert after[0] > before[0] + 0.3, (before, after)


@pytest.mark.parametrize("args,message", [
    ([], "nothing to train on"),  # no data at all
    (["--simulate", "{tmp}/missing"], "no such file"),  # a missing simulate source
    (["{tmp}/empty"], "no low/ and high/"),  # a folder without pairs
])
def test_train_bad_input_is_one_line(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, [a.format(tmp=tmp_path) for a in args] + ["--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
