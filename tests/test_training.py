"""Data loading, a short training run that must improve PSNR, and exact resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from gan.data import CropSampler, Pair, find_pairs, load_pairs, split_validation
from gan.errors import UserError
from gan.generator import build_generator
from gan.training import TrainConfig, Trainer
from gan.validation import validate
from tests.synthetic import write_pairs

TINY = dict(width=8, res_blocks=1, disc_width=8, crop=64, batch_size=4, lr=2e-3)


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory):
    return write_pairs(tmp_path_factory.mktemp("pairs"), size=96, count=6)


def test_lol_layout_is_accepted(tmp_path):
    write_pairs(tmp_path / "our485", count=2)
    write_pairs(tmp_path / "eval15", count=2)
    assert len(find_pairs(tmp_path)) == 4


def test_unpaired_files_are_listed(tmp_path):
    write_pairs(tmp_path, count=3)
    (tmp_path / "high" / "img1.png").unlink()
    with pytest.raises(UserError, match="img1"):
        find_pairs(tmp_path)


@pytest.mark.parametrize("layout", ["nothing", "empty low/high"])
def test_empty_data_folder_is_a_clear_error(tmp_path, layout):
    if layout == "empty low/high":
        (tmp_path / "low").mkdir()
        (tmp_path / "high").mkdir()
    with pytest.raises(UserError, match=str(tmp_path.name)):
        find_pairs(tmp_path)


def test_crop_batches_are_reproducible_and_aligned(pairs_dir):
    sampler = CropSampler(load_pairs(pairs_dir), crop=64, batch_size=3, seed=5)
    x1, y1 = sampler.batch(epoch=2, step=7)
    x2, y2 = sampler.batch(epoch=2, step=7)
    assert x1.shape == y1.shape == (3, 64, 64, 3)
    np.testing.assert_array_equal(x1, x2)
    assert not np.array_equal(x1, sampler.batch(epoch=2, step=8)[0])
    assert -1.0 <= x1.min() and x1.max() <= 1.0


def test_half_size_crops_are_downscaled_windows_twice_the_crop():
    # A 1-px checkerboard averages to flat grey when area-downscaled ×2, and stays sharp at
    # full size; the low input is the same board, so x and y must agree on which crops.
    board = np.where(np.indices((160, 160)).sum(0) % 2 == 1, 255, 0).astype(np.uint8)
    pair = Pair("board", np.repeat(board[..., None], 3, axis=2), np.repeat(board[..., None], 3, 2))
    x, y = CropSampler([pair], crop=64, batch_size=6, half_size_ratio=1.0).batch(0, 0)
    assert x.shape == y.shape == (6, 64, 64, 3)
    assert y.std() < 0.01 and x.std() < 0.01
    x, y = CropSampler([pair], crop=64, batch_size=6, half_size_ratio=0.0).batch(0, 0)
    assert y.std() > 0.9 and x.std() > 0.5
    with pytest.raises(ValueError, match="half_size_ratio"):
        CropSampler([pair], crop=64, half_size_ratio=1.5)


def test_short_training_raises_validation_psnr(tmp_path):
    # Train on the top two thirds of each scene, validate on the unseen bottom third.
    pairs = load_pairs(write_pairs(tmp_path / "data", size=144, count=6))
    train_pairs = [Pair(p.name, p.low[:96], p.high[:96]) for p in pairs]
    val_pairs = [Pair(p.name, p.low[96:], p.high[96:]) for p in pairs]
    config = TrainConfig(epochs=2, steps_per_epoch=40, ema_decay=0.9, **TINY)
    trainer = Trainer(config, CropSampler(train_pairs, crop=64, batch_size=4), val_pairs,
                      tmp_path / "run")
    before, _ = validate(build_generator(width=8, res_blocks=1), val_pairs)
    trainer.run()
    after, _ = validate(trainer_best(tmp_path / "run"), val_pairs)
    assert after > before + 0.5, (before, after)
    for name in ("checkpoint.npz", "best.keras", "log.csv", "loss_curve.png", "samples.png"):
        assert (tmp_path / "run" / name).exists(), name


def trainer_best(run_dir):
    from gan.model_io import load_generator

    return load_generator(run_dir / "best.keras", precision="float32")


def test_resume_continues_from_the_saved_epoch(pairs_dir, tmp_path):
    pairs = load_pairs(pairs_dir)
    train_pairs, val_pairs = split_validation(pairs, fraction=0.2)
    sampler = CropSampler(train_pairs, crop=64, batch_size=4)
    Trainer(TrainConfig(epochs=1, steps_per_epoch=3, **TINY), sampler, val_pairs, tmp_path).run()
    resumed = Trainer(TrainConfig(epochs=2, steps_per_epoch=3, **TINY), sampler, val_pairs, tmp_path,
                      resume=True)
    assert resumed.start_epoch == 1
    assert int(resumed.gan.g_optimizer.iterations.numpy()) == 3  # optimiser state came back
    resumed.run()
    assert len((tmp_path / "log.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs
    with pytest.raises(UserError, match="width"):
        Trainer(TrainConfig(epochs=3, steps_per_epoch=3, **{**TINY, "width": 16}), sampler,
                val_pairs, tmp_path, resume=True)


@pytest.mark.parametrize("left_behind", ["checkpoint.npz", "log.csv"])  # log: e.g. gan.pretrain's
def test_existing_run_needs_resume(left_behind, pairs_dir, tmp_path):
    (tmp_path / left_behind).write_bytes(b"")
    with pytest.raises(UserError, match="--resume"):
        Trainer(TrainConfig(**TINY), CropSampler(load_pairs(pairs_dir), crop=64), [], tmp_path)


def test_train_killed_mid_run_resumes_from_its_last_checkpoint(pairs_dir, tmp_path):
    """SIGKILL during training loses at most the epoch in progress."""
    out = tmp_path / "run"
    args = [sys.executable, "-m", "gan.cli.train", str(pairs_dir), "--out", str(out), "--width", "8",
            "--res-blocks", "1", "--crop", "64", "--batch-size", "2", "--steps-per-epoch", "3",
            "--quiet", "--precision", "float32"]
    proc = subprocess.Popen(args + ["--epochs", "200"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.npz").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    from gan.checkpoint import read_checkpoint_meta

    saved_epoch = read_checkpoint_meta(out / "checkpoint.npz")["epoch"]
    assert saved_epoch >= 1
    resumed = subprocess.run(args + ["--epochs", str(saved_epoch + 1), "--resume"],
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    meta = read_checkpoint_meta(out / "checkpoint.npz")
    assert meta["epoch"] == saved_epoch + 1
    assert meta["data"]["data"] == str(pairs_dir) and meta["data"]["half_size_ratio"] == 0.0
    # Only the settings in effect are kept for the check: no simulator in a run of pairs.
    assert meta["data"]["sources"] == ["pairs"] and meta["data"]["simulate_ratio"] == 0.0
    assert meta["data"]["simulator"] is None and meta["data"]["frames_per_video"] is None
    refused = subprocess.run(args + ["--epochs", str(saved_epoch + 2), "--resume",
                                     "--half-size-ratio", "0.5"],
                             capture_output=True, text=True, timeout=180)
    assert refused.returncode != 0 and "--half-size-ratio 0.0" in refused.stderr


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--epochs", "0", "--epochs must be >= 1"),
    ("--steps-per-epoch", "0", "--steps-per-epoch must be >= 1"),
    ("--batch-size", "0", "--batch-size must be >= 1"),
    ("--crop", "0", "--crop must be a positive multiple of 8"),
    ("--lr", "-1", "--lr must be > 0"),
    ("--adv-weight", "-1", "--adv-weight must be >= 0"),
    ("--gan-type", "bogus", "--gan-type must be one of"),
    ("--width", "0", "--width must be >= 1"),
    ("--half-size-ratio", "2", "--half-size-ratio must be in [0, 1]"),
])
def test_train_refuses_settings_that_make_no_sense(option, value, message, pairs_dir, tmp_path):
    from typer.testing import CliRunner

    from gan.cli.train import app

    out = tmp_path / "run"
    result = CliRunner().invoke(app, [str(pairs_dir), "--out", str(out), "--quiet", option, value])
    assert result.exit_code == 1 and result.stderr.startswith(f"error: {message}")
    assert len(result.stderr.splitlines()) == 1 and not (out / "checkpoint.npz").exists()


def test_resume_keeps_the_data_recipe(pairs_dir, tmp_path):
    """The data options are stored with the run, and resuming with others is refused."""
    from gan.checkpoint import read_checkpoint_meta

    sampler = CropSampler(load_pairs(pairs_dir), crop=64, batch_size=4)
    recipe = {"data": str(pairs_dir), "half_size_ratio": 0.25, "simulator": "default"}
    Trainer(TrainConfig(epochs=1, steps_per_epoch=1, **TINY), sampler, [], tmp_path,
            data=recipe).run()
    assert read_checkpoint_meta(tmp_path / "checkpoint.npz")["data"] == recipe
    with pytest.raises(UserError, match="--half-size-ratio 0.25, this run asks for 0.0"):
        Trainer(TrainConfig(epochs=2, steps_per_epoch=1, **TINY), sampler, [], tmp_path,
                resume=True, data={**recipe, "half_size_ratio": 0.0})
    moved = Trainer(TrainConfig(epochs=2, steps_per_epoch=1, **TINY), sampler, [], tmp_path,
                    resume=True, data={**recipe, "data": "/elsewhere/pairs"})  # paths may move
    assert moved.start_epoch == 1
