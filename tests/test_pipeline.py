"""The threaded pipeline: order, errors from any stage, stopping, bounded queues, no leaks."""

from __future__ import annotations

import collections
import threading
import time

import numpy as np
import pytest

from streamer.frames import Frame
from streamer.inference import EnhanceOptions, FrameEnhancer
from streamer.pipeline import StageError, enhance_calls, run_pipeline
from streamer.stats import PipelineStats

BITS = 8


def index_frame(index: int, size: int = 32) -> Frame:
    """A frame whose pixels spell `index` in black/white blocks (exposure keeps 0 and 255)."""
    pixels = np.zeros((size, size, 3), np.uint8)
    block = size // BITS
    for bit in range(BITS):
        if index >> bit & 1:
            pixels[:, bit * block:(bit + 1) * block] = 255
    return Frame(pixels, index, pts=index * 100, time_base=None)


def read_index(pixels: np.ndarray) -> int:
    block = pixels.shape[1] // BITS
    return sum(1 << bit for bit in range(BITS) if pixels[:, bit * block + block // 2, 0].mean() > 128)


class Collector:
    """A sink that keeps what it is given (optionally slowly)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.frames: list[Frame] = []
        self.delay = delay

    def __call__(self, frame: Frame) -> None:
        time.sleep(self.delay)
        self.frames.append(frame)


@pytest.mark.parametrize(("batch_size", "frames_per_call"), [
    (1, 1),  # one tile at a time
    (3, 2),  # batches that straddle frames
    (8, 5),  # more tiles per call than per frame, a short last call
])
def test_frame_order_is_preserved(batch_size: int, frames_per_call: int, no_thread_leak):
    enhancer = FrameEnhancer(lambda x: x, EnhanceOptions(tile=16, overlap=4,
                                                         batch_size=batch_size))
    sink = Collector()
    result = run_pipeline([index_frame(i) for i in range(23)], enhancer, sink,
                          queue_size=2, frames_per_call=frames_per_call)
    assert [read_index(f.pixels) for f in sink.frames] == list(range(23))
    assert [f.index for f in sink.frames] == list(range(23))
    assert (result.frames_read, result.frames_written, result.stopped) == (23, 23, False)


def failing_source(after: int):
    for i in range(after):
        yield index_frame(i)
    raise OSError("disk vanished")


class FailingEnhancer:
    """Passes frames through unchanged, then raises on call number `after + 1`."""

    def __init__(self, after: int = 10**9) -> None:
        self.calls = 0
        self.after = after

    def enhance(self, frames, timestamps=None):
        self.calls += 1
        if self.calls > self.after:
            raise ValueError("model exploded")
        return [f for f in frames]

    def reset(self) -> None:
        pass


def failing_writer(frame: Frame) -> None:
    raise RuntimeError("encoder refused")


@pytest.mark.parametrize(("stage", "source", "enhancer", "writer", "message", "written"), [
    # the source fails after 5 frames: those 5 are still enhanced and written
    ("capture", lambda: failing_source(5), lambda: FailingEnhancer(), Collector,
     "disk vanished", 5),
    # the model fails on its 4th call: the 3 frames enhanced before are written
    ("inference", lambda: (index_frame(i) for i in range(1000)), lambda: FailingEnhancer(3),
     Collector, "model exploded", 3),
    # the writer fails at once: nothing is written
    ("writer", lambda: (index_frame(i) for i in range(1000)), lambda: FailingEnhancer(),
     lambda: failing_writer, "encoder refused", None),
])
def test_a_failing_stage_stops_everything(stage, source, enhancer, writer, message, written,
                                          no_thread_leak):
    outcome: dict[str, BaseException] = {}
    sink = writer()

    def run() -> None:
        try:
            run_pipeline(source(), enhancer(), sink, queue_size=2)
        except BaseException as exc:  # noqa: BLE001
            outcome["error"] = exc

    runner = threading.Thread(target=run)
    runner.start()
    runner.join(timeout=10)
    assert not runner.is_alive(), "the pipeline hung after a stage failed"
    error = outcome["error"]
    assert isinstance(error, StageError) and error.stage == stage
    assert message in str(error) and isinstance(error.__cause__, Exception)
    if written is not None:
        assert [f.index for f in sink.frames] == list(range(written))


class TwoHalves:
    """An enhancer in halves (as `FrameEnhancer`): each call's `finish` waits until the
    next call has started, which only a `finish` on another thread lets happen; `start`
    fails on call number `fail_at`."""

    def __init__(self, fail_at: int = 10**9) -> None:
        self.started: list[threading.Event] = []
        self.fail_at = fail_at
        self.finished_on: set[str] = set()
        self.finishing: dict[int, threading.Event] = collections.defaultdict(threading.Event)

    def start(self, frames, timestamps=None):
        if len(self.started) + 1 == self.fail_at:
            raise ValueError("bad frame")
        if self.started:
            self.started[-1].set()
        self.started.append(threading.Event())
        return len(self.started) - 1, list(frames)

    def finish(self, call):
        number, frames = call
        self.finishing[number].set()
        last = number == self.fail_at - 2  # nothing starts after it
        assert last or self.started[number].wait(5), "the next call did not start meanwhile"
        self.finished_on.add(threading.current_thread().name)
        return [f + number for f in frames]

    def enhance(self, frames, timestamps=None):
        return self.finish(self.start(frames, timestamps))

    def reset(self) -> None:
        pass


def test_the_halves_of_consecutive_calls_overlap(no_thread_leak):
    enhancer = TwoHalves(fail_at=6)
    calls = [([np.full(2, i)], [None]) for i in range(8)]
    outputs = []
    with pytest.raises(ValueError, match="bad frame"):
        for frames, seconds in enhance_calls(enhancer, calls):
            outputs.append(frames[0].tolist())
            assert seconds >= 0
    # in order; the call before the failing one was still finished and handed on
    assert outputs == [[2 * i] * 2 for i in range(5)]
    assert {name.split("_")[0] for name in enhancer.finished_on} == {"streamer-finish"}


def test_the_next_call_finishes_while_the_last_outputs_are_handed_on(no_thread_leak):
    enhancer = TwoHalves(fail_at=5)  # four calls: the fourth is the last
    calls = [([np.full(2, i)], [None]) for i in range(4)]
    for number, _ in enumerate(enhance_calls(enhancer, calls)):
        if number < 3:  # a slow consumer: the helper is meanwhile on the next call
            assert enhancer.finishing[number + 1].wait(5), f"call {number + 1} waited"


def test_stop_event_ends_an_endless_source_cleanly(no_thread_leak):
    stop = threading.Event()

    def endless():
        i = 0
        while True:
            yield index_frame(i % 256)
            i += 1

    sink = Collector()
    threading.Timer(0.3, stop.set).start()
    result = run_pipeline(endless(), FailingEnhancer(), sink, stop=stop)
    assert result.stopped and result.frames_written == len(sink.frames) > 0


def test_queues_stay_bounded_with_a_slow_writer(no_thread_leak):
    stats = PipelineStats()
    depths: list[dict[str, int]] = []
    sink = Collector(delay=0.01)

    def watch() -> None:
        while not done.is_set():
            depths.append(stats.depths())
            time.sleep(0.005)

    done = threading.Event()
    watcher = threading.Thread(target=watch)
    watcher.start()
    run_pipeline((index_frame(i % 256) for i in range(60)), FailingEnhancer(), sink,
                 stats=stats, queue_size=3)
    done.set()
    watcher.join()
    assert max(max(d.values()) for d in depths if d) <= 3
    assert stats.frames_in == stats.frames_out == 60


@pytest.mark.parametrize("halves", [False, True])
def test_a_stop_writes_every_frame_already_enhanced(halves):
    enhanced = []

    class Counting:
        def enhance(self, frames, timestamps=None):
            enhanced.extend(frames)
            return list(frames)

        def reset(self):
            pass

    class CountingInHalves(Counting):  # two calls in flight when the stop comes
        def start(self, frames, timestamps=None):
            return self.enhance(frames, timestamps)

        def finish(self, call):
            time.sleep(0.01)
            return call

    stop, sink = threading.Event(), Collector(delay=0.02)  # the writer lags behind
    threading.Timer(0.3, stop.set).start()
    enhancer = CountingInHalves() if halves else Counting()
    result = run_pipeline([index_frame(i) for i in range(200)], enhancer, sink, stop=stop,
                          frames_per_call=2, queue_size=8)
    assert result.stopped and 0 < result.frames_written < 200
    assert len(sink.frames) == len(enhanced) == result.frames_written  # none thrown away
    assert [read_index(f.pixels) for f in sink.frames] == list(range(len(sink.frames)))


def test_a_second_ctrl_c_leaves_only_a_stuck_model_call_behind():
    import os
    import signal

    entered, release = threading.Event(), threading.Event()

    class Stuck:
        def enhance(self, frames, timestamps=None):
            entered.set()
            release.wait(20)
            return list(frames)

        def reset(self):
            pass

    def slow_frames():  # capture is still reading when the second Ctrl-C comes
        for i in range(50):
            time.sleep(2.0 if i else 0.0)
            yield index_frame(i)

    def press_ctrl_c_twice():  # real SIGINTs: they also wake the main thread's waits
        entered.wait(20)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c_twice)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_pipeline(slow_frames(), Stuck(), Collector())
        presser.join()
        stages = {t.name: t for t in threading.enumerate() if t.name.startswith("streamer-")}
        for name in ("streamer-capture", "streamer-writer"):  # ended: at most exiting now
            if name in stages:
                stages[name].join(0.2)
        assert {n for n, t in stages.items() if t.is_alive()} == {"streamer-inference"}
    finally:
        release.set()
