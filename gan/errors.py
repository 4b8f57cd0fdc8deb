"""User-facing errors and the one-line CLI error handler shared by every console script."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager


class UserError(Exception):
    """A problem with the user's input or environment, reported as one line (no traceback)."""


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn `UserError` (and other expected failures) into `error: ...` and exit code 1."""
    try:
        yield
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as exc:
        # OSError, ValueError, RuntimeError, and PyAV's FFmpegError family (not all of it
        # derives from those, but all of it carries `strerror`); anything else is a bug.
        if not isinstance(exc, (OSError, ValueError, RuntimeError)) \
                and not getattr(exc, "strerror", None):
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        raise SystemExit(1) from None


def one_line(exc: BaseException) -> str:
    """An unexpected failure as one readable line: `path: reason` for OS errors (PyAV's
    included), otherwise the exception's first line without terminal colour codes."""
    strerror, filename = getattr(exc, "strerror", None), getattr(exc, "filename", None)
    if strerror:  # OSError, and PyAV's FFmpegError (same fields)
        return f"{filename}: {strerror}" if filename else strerror
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines()]
    return next((f"{type(exc).__name__}: {line}" for line in lines if line), type(exc).__name__)


@contextmanager
def option_errors() -> Iterator[None]:
    """Report a library's "`batch_size` must ..." as the command line's "--batch-size must ..."."""
    try:
        yield
    except ValueError as exc:
        raise UserError(re.sub(r"`(\w+)`", lambda m: "--" + m[1].replace("_", "-"), str(exc))
                        ) from None
