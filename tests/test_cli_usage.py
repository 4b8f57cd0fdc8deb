"""Usage errors (missing argument, unknown option, bad value) through every console script's
`main()`: one `error: ...` line on stderr with a --help hint, exit code 2, never Typer's box."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = dict(re.findall(r'^([\w-]+) = "([\w.]+:\w+)"$', (REPO / "pyproject.toml").read_text(),
                          flags=re.M))

# Per script: arguments that leave a required value out (a missing argument where the
# script has one; otherwise an option given without its value).
MISSING = {
    "enhance-video": [],
    "enhance-image": [],
    "evaluate": [],
    "simulate": [],
    "enhance-cam": ["--source"],
    "train": ["--epochs"],
}
# Enough positional arguments for the parser to get as far as the options.
POSITIONAL = {"enhance-video": ["a.mp4", "b.mp4"], "enhance-image": ["a.png", "b.png"],
              "evaluate": ["data"], "simulate": ["src", "out"], "enhance-cam": [], "train": []}


def test_every_console_script_is_covered():
    assert set(SCRIPTS) == set(MISSING) == set(POSITIONAL)


def run_main(name: str, args: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    """Run the console script `name` in-process through its `main()`: (exit code, out, err)."""
    module_name, _, function = SCRIPTS[name].partition(":")
    main = getattr(importlib.import_module(module_name), function)
    monkeypatch.setattr(sys, "argv", [name, *args])
    with pytest.raises(SystemExit) as exited:
        main()
        raise SystemExit(0)  # main() returned: success
    captured = capsys.readouterr()
    return exited.value.code or 0, captured.out, captured.err


def assert_one_usage_line(name: str, code: int, err: str, *words: str) -> str:
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0][len("error: "):], err
    assert f"Try '{name} --help'." in lines[0]
    for word in words:
        assert word in lines[0], err
    return lines[0]


@pytest.mark.parametrize("name", sorted(MISSING))
def test_missing_required_value_is_one_line(name, monkeypatch, capsys):
    code, _, err = run_main(name, MISSING[name], monkeypatch, capsys)
    assert_one_usage_line(name, code, err)


@pytest.mark.parametrize("name", sorted(POSITIONAL))
def test_unknown_option_is_one_line(name, monkeypatch, capsys):
    code, _, err = run_main(name, [*POSITIONAL[name], "--bogus"], monkeypatch, capsys)
    assert_one_usage_line(name, code, err, "no such option: --bogus")


@pytest.mark.parametrize("name", ["enhance-video", "enhance-cam"])
@pytest.mark.parametrize("value", ["99", "52", "-1", "abc"])
def test_bad_crf_is_refused_before_any_work(name, value, monkeypatch, capsys):
    # The input files do not exist: exit 2 (not "input not found", 1) shows the check ran first.
    code, _, err = run_main(name, [*POSITIONAL[name], "--crf", value], monkeypatch, capsys)
    assert_one_usage_line(name, code, err, "--crf")


def test_crf_range_is_x264s():
    from streamer.cli.common import CRF_RANGE

    assert CRF_RANGE == {"min": 0, "max": 51}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_help_still_exits_0(name, monkeypatch, capsys):
    code, out, err = run_main(name, ["--help"], monkeypatch, capsys)
    assert code == 0 and err == ""
    assert f"Usage: {name} " in out


def test_runtime_errors_keep_exit_1(monkeypatch, capsys, tmp_path):
    code, _, err = run_main("enhance-video", [str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4")],
                            monkeypatch, capsys)
    assert code == 1 and err.startswith("error: input not found") and len(err.splitlines()) == 1


def test_real_process_prints_one_line_and_no_traceback():
    result = subprocess.run([sys.executable, "-m", "streamer.cli.video", "a.mp4", "b.mp4",
                             "--bogus"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr == "error: no such option: --bogus. Try 'enhance-video --help'.\n"
    assert result.stdout == ""


def test_negative_camera_index_is_a_usage_error(monkeypatch, capsys):
    # OpenCV takes -1 as "any camera" and crashes the process where there is none.
    code, _, err = run_main("enhance-cam", ["--camera", "-1"], monkeypatch, capsys)
    assert_one_usage_line("enhance-cam", code, err, "--camera")


@pytest.mark.parametrize("name", ["enhance-video", "enhance-cam"])
@pytest.mark.parametrize("value", ["1", "-0.5"])
def test_bad_temporal_strength_is_refused_before_any_work(name, value, monkeypatch, capsys):
    code, _, err = run_main(name, [*POSITIONAL[name], "--temporal-strength", value],
                            monkeypatch, capsys)
    assert code == 1 and err.startswith("error: --temporal-strength must be in [0, 1)")
    assert len(err.splitlines()) == 1


def test_negative_threads_are_refused_before_any_work(monkeypatch, capsys):
    code, _, err = run_main("enhance-video", ["a.mp4", "b.mp4", "--threads", "-2"], monkeypatch, capsys)
    assert code == 1 and err == "error: --threads must be >= 0. Received: -2\n"
