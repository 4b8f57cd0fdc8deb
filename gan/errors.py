"""User-facing errors and the one-line CLI error handler shared by every console script."""

from __future__ import annotations

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
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
