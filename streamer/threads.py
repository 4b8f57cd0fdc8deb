"""Worker threads for per-frame work that NumPy and OpenCV run outside Python's lock."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager


def resolve_threads(threads: int) -> int:
    """`threads`, or for 0 one per CPU core this process may use."""
    if threads:
        return threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def thread_map(threads: int) -> Iterator[Callable[..., Iterator]]:
    """A `map` (results in order) that runs on `threads` threads while the context lasts;
    the built-in `map` for one. The threads end with the context, and on an error (or
    Ctrl-C) the work not yet started is dropped rather than run."""
    if threads <= 1:
        yield map
        return
    pool = ThreadPoolExecutor(threads, thread_name_prefix="streamer-enhance")
    try:
        yield pool.map
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
