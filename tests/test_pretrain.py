"""`gan.pretrain`: the backend-agnostic fit loop with simulation workers, end to end (tiny)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from skimage import data

from gan.frame_io import read_image
from gan.model_io import load_generator
from gan.pretrain import pretrain


@pytest.fixture
def clean_folder(tmp_path):
    import cv2

    folder = tmp_path / "clean"
    folder.mkdir()
    for name, image in (("astronaut", data.astronaut()), ("coffee", data.coffee())):
        small = cv2.resize(image, (96, 80), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"{name}.png"), small[..., ::-1])
    return folder


def test_pretrain_runs_to_its_time_budget_and_exports_a_generator(clean_folder, tmp_path):
    out = tmp_path / "run"
    path = pretrain(clean_folder, out, minutes=0.01, width=4, levels=3, res_blocks=1, crop=32,
                    batch_size=2, steps_per_epoch=2, lr=1e-3, wide_share=0.5, workers=1,
                    bfloat16=False)
    model = load_generator(path)
    assert "enc4_conv" in {layer.name for layer in model.layers}  # the asked-for depth
    assert model.dtype_policy.name == "float32"
    low = read_image(clean_folder / "coffee.png")[:64, :64].astype(np.float32) / 127.5 - 1
    assert np.asarray(model.predict_on_batch(low[None])).shape == (1, 64, 64, 3)
    with (out / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 1 and float(rows[0]["loss"]) > 0
    assert (out / "last.keras").is_file()


def test_train_fine_tunes_a_pretrained_3_level_model(clean_folder, tmp_path):
    """`train --from` takes the architecture from the file; validation pads to multiples of 8."""
    from typer.testing import CliRunner

    from gan.cli.train import app

    start = pretrain(clean_folder, tmp_path / "pre", minutes=0.01, width=4, levels=3,
                     res_blocks=1, crop=32, batch_size=2, steps_per_epoch=1, lr=1e-3,
                     wide_share=0.5, workers=1, bfloat16=False)
    result = CliRunner().invoke(app, [
        "--simulate", str(clean_folder), "--from", str(start), "--out", str(tmp_path / "run"),
        "--crop", "32", "--batch-size", "2", "--steps-per-epoch", "1", "--epochs", "1",
        "--precision", "float32", "--quiet"])
    assert result.exit_code == 0, result.output
    tuned = load_generator(tmp_path / "run" / "best.keras")
    assert "enc4_conv" in {layer.name for layer in tuned.layers}


def test_whole_frame_validation_pads_for_3_level_models():
    from gan.generator import build_generator
    from gan.validation import enhance_full

    model = build_generator(width=4, levels=3, res_blocks=0)
    assert enhance_full(model, np.full((36, 20, 3), 40, np.uint8)).shape == (36, 20, 3)


@pytest.mark.parametrize(("args", "message"), [
    (["missing"], "not a folder"),
    (["empty"], "no images"),
    (["clean", "--crop", "128"], "at least 128 px"),  # every image is 96×80
    (["clean", "--minutes", "0"], "--minutes and --lr must be > 0"),
    (["clean", "--crop", "60"], "--crop must be a positive multiple of 8"),  # workers would fail forever
    (["clean", "--levels", "4"], "--levels 1 to 3"),
])
def test_bad_input_is_one_line_before_any_worker_starts(args, message, clean_folder, tmp_path,
                                                        monkeypatch):
    # A worker that fails to start is restarted by the pool forever: checked in main first.
    from typer.testing import CliRunner

    from gan.pretrain import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, [*args, "--out", "run"])
    assert result.exit_code == 1 and result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "run").exists()
