"""Every console script of the engine answers --help (and is declared in pyproject.toml)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

PYPROJECT = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
SCRIPTS = dict(re.findall(r'^([\w-]+) = "([\w.]+:\w+)"$', PYPROJECT, flags=re.M))


@pytest.mark.parametrize("name", ["enhance-video", "enhance-image", "evaluate"])
def test_help(name: str):
    module_name, _, function = SCRIPTS[name].partition(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, function))
    result = CliRunner().invoke(module.app, ["--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and "--model" in result.output
