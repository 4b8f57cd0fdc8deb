"""Three threads joined by bounded queues: capture → inference → writing.

    frames ──▶ [capture] ──q_decoded──▶ [inference] ──q_enhanced──▶ [writer] ──▶ write()

(An enhancer in two halves, such as the quality mode, gets a helper thread inside the
inference stage that finishes one call while the next starts: `enhance_calls`.)

Queues are bounded, so memory stays flat however long the video. There is one stop
event for the whole run (Ctrl-C, i.e. KeyboardInterrupt in the calling thread, or the
caller's `stop`): capture ends at once, inference starts no new batch but hands on the ones
in flight, and the writer writes every frame already enhanced, up to the end-of-stream
sentinel (nothing enhanced is thrown away). If a stage raises, the stages upstream of it
stop at once and the ones downstream finish the frames they were already given, then meet
the sentinel (so a crash in inference still writes every frame enhanced before it);
`run_pipeline` re-raises the error in the calling thread as a `StageError` (with the
original as its cause). Every thread is joined before returning.

The caller owns the source and the sink (their `with` blocks surround the call), so the
output is finalised whatever happened here: see `streamer.engine`.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from streamer.frames import Frame
from streamer.inference import Enhancer
from streamer.stats import PipelineStats

END = object()  # the end-of-stream sentinel
STAGES = ("capture", "inference", "writer")
POLL_S = 0.05


class StageError(RuntimeError):
    """A pipeline stage raised; `stage` names it and `__cause__` is the original error."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(f"{stage} stage failed: {type(error).__name__}: {error}")
        self.stage = stage
        self.error = error


class _Stopped(Exception):
    """Raised inside a stage told to stop while it waits on a queue."""


@dataclass(frozen=True)
class PipelineResult:
    """How a run ended: frames read and written, and whether it was stopped early."""

    frames_read: int
    frames_written: int
    stopped: bool


class _Run:
    """State shared by the three stages of one run (kept out of module globals).

    Each stage has its own stop flag. A stage that fails stops itself and the stages
    upstream of it at once, and sends the end-of-stream sentinel downstream, so the frames
    it already passed on are still written. The `halt` event (Ctrl-C, an external stop)
    stops capture and inference; the writer ignores it and drains its queue (see the module
    doc), unless its own flag is set.
    """

    def __init__(self, stats: PipelineStats, queue_size: int, halt: threading.Event) -> None:
        self.stats = stats
        self.halt = halt
        self.stopped = {stage: threading.Event() for stage in STAGES}
        self.ended = {stage: threading.Event() for stage in STAGES}
        self.decoded: queue.Queue = queue.Queue(maxsize=queue_size)
        self.enhanced: queue.Queue = queue.Queue(maxsize=queue_size)
        self.outputs = {"capture": self.decoded, "inference": self.enhanced}
        self.errors: list[tuple[str, BaseException]] = []
        self.frames_read = self.frames_written = 0
        self._lock = threading.Lock()

    def must_stop(self, stage: str) -> bool:
        return self.stopped[stage].is_set() or (self.halt.is_set() and stage != "writer")

    def put(self, stage: str, item: object, *, unless_stopped: str | None = None) -> None:
        """Put `item` on `stage`'s output queue, waiting while it is full.

        Gives up (raising `_Stopped`) when `unless_stopped` (default: `stage`) is stopped.
        """
        while not self.must_stop(unless_stopped or stage):
            try:
                self.outputs[stage].put(item, timeout=POLL_S)
                return
            except queue.Full:
                pass
        raise _Stopped

    def get(self, stage: str, q: queue.Queue) -> object:
        """The next item on `q` for `stage`: END once the run is halted (but for the writer),
        `_Stopped` once `stage` itself is stopped."""
        while not self.stopped[stage].is_set():
            if self.must_stop(stage):
                return END
            try:
                return q.get(timeout=POLL_S)
            except queue.Empty:
                pass
        raise _Stopped

    def guard(self, stage: str, body: Callable[[], None]) -> Callable[[], None]:
        """`body` wrapped so that its error is recorded and stops the run (see the class doc)."""

        def run() -> None:
            try:
                body()
            except _Stopped:
                pass
            except BaseException as exc:  # noqa: BLE001  (carried to the calling thread)
                with self._lock:
                    self.errors.append((stage, exc))
                for upstream in STAGES[: STAGES.index(stage) + 1]:
                    self.stopped[upstream].set()
                if stage in self.outputs:
                    downstream = STAGES[STAGES.index(stage) + 1]
                    try:
                        self.put(stage, END, unless_stopped=downstream)
                    except _Stopped:
                        pass
            finally:
                self.ended[stage].set()

        return run


def _capture(run: _Run, frames: Iterable[Frame]) -> None:
    iterator = iter(frames)
    try:
        while not run.must_stop("capture"):
            started = time.perf_counter()
            frame = next(iterator, END)
            if frame is END:
                break
            run.stats.stage_time("decode", time.perf_counter() - started)
            run.stats.frame_in(frame.pixels)
            run.frames_read += 1
            run.put("capture", frame)
        run.put("capture", END)
    finally:
        close = getattr(iterator, "close", None)  # a generator source releases its file now
        if close is not None:
            close()


def _infer(run: _Run, enhancer: Enhancer, frames_per_call: int) -> None:
    def calls() -> Iterator[tuple[list[np.ndarray], list[float | None]]]:
        ended = False
        while not ended:
            batch, ended = _next_batch(run, frames_per_call)
            if batch:
                batches.append(batch)
                yield [f.pixels for f in batch], [f.time for f in batch]

    # Outputs come back in call order, up to two calls behind: the queue pairs them with
    # their frames (timestamps, capture times) without handing `Frame`s to the enhancer.
    batches: collections.deque[list[Frame]] = collections.deque()
    for outputs, seconds in enhance_calls(enhancer, calls()):
        batch = batches.popleft()
        run.stats.stage_time("inference", seconds, len(batch))
        for frame, pixels in zip(batch, outputs, strict=True):
            # On even after a halt: only a stopped writer refuses enhanced frames.
            run.put("inference", frame.with_pixels(pixels), unless_stopped="writer")
    run.put("inference", END, unless_stopped="writer")


def enhance_calls(enhancer: Enhancer, calls: Iterable[tuple[Sequence[np.ndarray], Sequence]]
                  ) -> Iterator[tuple[list[np.ndarray], float]]:
    """`enhancer.enhance(frames, timestamps)` for each of `calls`, in order, with the
    seconds each took.

    An enhancer that enhances in two halves (`start`, `finish`: `FrameEnhancer`) finishes
    each call on a helper thread while the next call starts here. On a GPU, where the first
    half leaves the generator's work running on the device, that work then overlaps the
    CPU's: the optical flow and the fetching of one call, the exposure and noise measures
    of the next. If a call fails to start, the one before it is still finished first
    (and if that fails too, its error is the one raised).
    """
    if not hasattr(enhancer, "start"):
        for frames, timestamps in calls:
            started = time.perf_counter()
            outputs = enhancer.enhance(frames, timestamps)
            yield outputs, time.perf_counter() - started
        return

    def finish(call: object, seconds: float) -> tuple[list[np.ndarray], float]:
        started = time.perf_counter()
        return enhancer.finish(call), seconds + time.perf_counter() - started

    with ThreadPoolExecutor(1, thread_name_prefix="streamer-finish") as helper:
        pending: Future | None = None
        for frames, timestamps in calls:
            started = time.perf_counter()
            try:
                call = enhancer.start(frames, timestamps)
            except BaseException:
                if pending is not None:
                    yield pending.result()
                raise
            # Queued before the last call's outputs are handed on, so the helper goes on
            # while the caller consumes them; one helper thread keeps the finishes in order.
            finishing = helper.submit(finish, call, time.perf_counter() - started)
            if pending is not None:
                yield pending.result()
            pending = finishing
        if pending is not None:
            yield pending.result()


def _next_batch(run: _Run, size: int) -> tuple[list[Frame], bool]:
    """Up to `size` decoded frames, and whether the stream has ended (a halt ends it, and
    the frames not yet enhanced are dropped)."""
    batch: list[Frame] = []
    while len(batch) < size and (item := run.get("inference", run.decoded)) is not END:
        batch.append(item)
    if run.halt.is_set():
        return [], True
    return batch, len(batch) < size


def _write(run: _Run, write: Callable[[Frame], None]) -> None:
    while (frame := run.get("writer", run.enhanced)) is not END:
        started = time.perf_counter()
        write(frame)
        run.stats.stage_time("encode", time.perf_counter() - started)
        run.stats.frame_out(frame.pixels, frame.captured_at)
        run.frames_written += 1


def _wait_for(run: _Run, stages: Iterable[str]) -> None:
    """Return once each of `stages` has ended; Ctrl-C still gets through.

    Events, not `Thread.join`: in CPython 3.11 a join that Ctrl-C interrupts leaves the
    thread looking finished (the next `join()` returns at once and `is_alive()` is False
    while it still runs, measured), so a second wait would not wait.
    """
    for stage in stages:
        while not run.ended[stage].wait(POLL_S):
            pass


def run_pipeline(frames: Iterable[Frame], enhancer: Enhancer, write: Callable[[Frame], None], *,
                 stats: PipelineStats | None = None, queue_size: int = 8,
                 frames_per_call: int = 1, stop: threading.Event | None = None) -> PipelineResult:
    """Stream `frames` through `enhancer` into `write`, in order, on three threads.

    Args:
        frames: any iterable of `Frame`s (a `VideoSource`, a camera, a list in tests).
        enhancer: an `Enhancer` (see `streamer.inference.create_enhancer`).
        write: called with each enhanced `Frame`, in input order (e.g. `VideoSink.write`).
        stats: counters for a dashboard (a fresh one when None).
        queue_size: capacity of each queue, in frames.
        frames_per_call: frames handed to the enhancer together, a call (tiles of all of
            them are batched through the model).
        stop: set it from elsewhere to end the run early (a clean stop, not an error).

    Raises:
        StageError: a stage raised (the others were stopped and joined first).
        KeyboardInterrupt: after stopping and joining every stage (a second Ctrl-C while
            stopping waits only for capture and the writer, which stop within a frame, so
            the caller may close the source and the sink; an inference call in flight then
            finishes on its own, daemon, thread, and Python waits at exit for the frame work
            it had already queued on its worker threads: at most two calls', the one starting and
            the one finishing).
    """
    if queue_size < 1 or frames_per_call < 1:
        raise ValueError(f"`queue_size` and `frames_per_call` must be >= 1. "
                         f"Received: {queue_size}, {frames_per_call}")
    stats = stats if stats is not None else PipelineStats()
    run = _Run(stats, queue_size, stop if stop is not None else threading.Event())
    stats.queue_depths.update(decoded=run.decoded.qsize, enhanced=run.enhanced.qsize)
    stages = {
        "capture": lambda: _capture(run, frames),
        "inference": lambda: _infer(run, enhancer, frames_per_call),
        "writer": lambda: _write(run, write),
    }
    threads = [threading.Thread(target=run.guard(name, body), name=f"streamer-{name}", daemon=True)
               for name, body in stages.items()]
    stats.start()
    started: list[str] = []  # a Ctrl-C may come while the threads start
    try:
        for stage, thread in zip(STAGES, threads, strict=True):
            thread.start()
            started.append(stage)
        _wait_for(run, started)
    except KeyboardInterrupt:
        run.halt.set()
        try:
            _wait_for(run, started)
        except KeyboardInterrupt:  # impatient: stop the writer too; skip only inference
            run.stopped["writer"].set()
            # capture and the writer use the caller's source and sink
            _wait_for(run, [stage for stage in started if stage != "inference"])
        raise
    finally:
        stats.finish()
    for thread in threads:
        thread.join()  # each has ended its stage: this returns at once
    if run.errors:
        stage, error = run.errors[0]
        raise StageError(stage, error) from error
    return PipelineResult(run.frames_read, run.frames_written, stopped=run.halt.is_set())
