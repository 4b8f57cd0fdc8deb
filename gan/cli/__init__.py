"""Console scripts, and `run_app`: the entry point every console script (gan and streamer) uses.

It lives here, not in `streamer.cli.common`, because `gan` never imports `streamer`.
"""

from __future__ import annotations

import importlib
import sys

import typer

# The Click that Typer runs on: click itself, or the copy recent Typers vendor. Catching
# `click.UsageError` would miss the vendored one, so take the classes from where Typer's are.
_click_errors = importlib.import_module(typer.BadParameter.__module__)
ClickException, UsageError = _click_errors.ClickException, _click_errors.UsageError


def usage_message(exc: ClickException, prog_name: str) -> str:
    """Click's message for `exc` on one line, lower-cased like ours, with a --help hint."""
    message = " ".join(line.strip() for line in exc.format_message().splitlines() if line.strip())
    if message[:1].isupper() and message[1:2].islower():  # "Missing argument" → "missing ..."
        message = message[0].lower() + message[1:]
    if isinstance(exc, UsageError):
        message += f"{'' if message.endswith('.') else '.'} Try '{prog_name} --help'."
    return message


def run_app(app: typer.Typer, prog_name: str) -> None:
    """Run `app` as the console script `prog_name`: usage errors as one `error:` line, exit 2.

    The commands report their own failures through `gan.errors.exit_on_error` (exit 1,
    Ctrl-C/SIGTERM 130); their `SystemExit` passes through untouched. Here only what
    Click raises before a command runs is turned into one line instead of Typer's box.
    """
    try:
        code = app(prog_name=prog_name, standalone_mode=False)
    except ClickException as exc:  # UsageError, BadParameter, NoSuchOption, ...: exit 2
        print(f"error: {usage_message(exc, prog_name)}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:  # end of input at a prompt
        print("error: aborted", file=sys.stderr)
        raise SystemExit(1) from None
    if isinstance(code, int) and code:  # typer.Exit(n), or Ctrl-C while parsing (Typer: 130)
        raise SystemExit(code)
