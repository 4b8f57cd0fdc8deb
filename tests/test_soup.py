"""`gan.soup`: the weight average of fine-tunes of one generator."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from gan.generator import build_generator
from gan.model_io import load_generator, save_generator
from gan.soup import app, average_generators


def tiny(seed: int, width: int = 4):
    """A tiny generator with random weights, BatchNormalization statistics included."""
    model = build_generator(width=width, levels=2, res_blocks=0)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def test_soup_weights_are_the_mean_and_the_model_runs():
    models = [tiny(0), tiny(1), tiny(2)]
    soup = average_generators(models)
    for i, weight in enumerate(soup.get_weights()):
        expected = np.mean([m.get_weights()[i] for m in models], axis=0)
        np.testing.assert_allclose(weight, expected, rtol=1e-6)
    out = np.asarray(soup.predict_on_batch(np.zeros((1, 32, 32, 3), np.float32)))
    assert out.shape == (1, 32, 32, 3) and np.isfinite(out).all()
    assert soup is not models[0]
    np.testing.assert_array_equal(models[0].get_weights()[0], tiny(0).get_weights()[0])  # untouched


def test_soup_of_one_model_is_that_model():
    model = tiny(3)
    for a, b in zip(average_generators([model]).get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_soup_cli_writes_a_loadable_generator_and_refuses_bad_input(tmp_path):
    paths = []
    for seed in (0, 1):
        paths.append(tmp_path / f"m{seed}.keras")
        save_generator(tiny(seed), paths[-1])
    other = tmp_path / "wide.keras"
    save_generator(tiny(2, width=8), other)
    out = tmp_path / "soup.keras"

    result = CliRunner().invoke(app, [str(out), *map(str, paths)])
    assert result.exit_code == 0, result.output
    soup = load_generator(out, fold=False)
    expected = np.mean([load_generator(p, fold=False).get_weights()[0] for p in paths], axis=0)
    np.testing.assert_allclose(soup.get_weights()[0], expected, rtol=1e-6)

    for args, message in (([str(tmp_path / "x.keras"), str(paths[0]), str(other)],
                           "generator 2 has another architecture"),
                          ([str(paths[0]), str(paths[0]), str(paths[1])], "is one of the inputs"),
                          ([str(tmp_path / "x.keras"), str(tmp_path / "none.keras")], "not found")):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1 and message in result.output, result.output


def test_nothing_to_average_is_refused():
    from gan.errors import UserError

    with pytest.raises(UserError, match="at least one"):
        average_generators([])
