"""enhance-cam and the live loop: recordings at the real rate, drops not backlogs, clean stops."""

from __future__ import annotations

import functools
import io
import os
import signal
import threading
import time
from collections.abc import Sequence

import av
import cv2
import numpy as np
import pytest
from probes import count_frames
from rich.console import Console

import streamer.cli.cam as cam
from gan.backend import compute_device
from streamer.camera import CameraSource, CaptureRequest, open_source, parse_source
from streamer.live import CLOSED, LiveStats, Mailbox, run_live
from streamer.live_dashboard import live_summary, render_live
from streamer.preview import KEY_ESC, KEY_SPACE, Preview, compose
from streamer.stats import mean_luma
from streamer.synthetic import dark_frames

QUIET = ("--no-preview", "--quiet", "--precision", "float32")


class FakeCapture:
    """A `cv2.VideoCapture` stand-in for a camera: `frames` BGR images at `fps`, then unplugged."""

    def __init__(self, target, *args, frames: int = 20, fps: float = 30.0,
                 size: tuple[int, int] = (64, 48), opened: bool = True) -> None:
        self.target, self.fps, self.opened, self.released = target, fps, opened, False
        self.requests: dict[int, float] = {}
        self._images = [f[..., ::-1].copy() for f in dark_frames(frames, *size)]

    def isOpened(self) -> bool:  # noqa: N802  (OpenCV's name)
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.requests[prop] = value
        return False  # like many cameras: the request is not honoured

    def get(self, prop: int) -> float:
        return self.fps if prop == cv2.CAP_PROP_FPS else 0.0

    def getBackendName(self) -> str:  # noqa: N802
        return "FAKE"

    def read(self):
        time.sleep(1 / self.fps)
        if not self._images:
            return False, None
        return True, self._images.pop(0)

    def release(self) -> None:
        self.released = True


class SlowEnhancer:
    """Brightens frames, taking `delay` seconds per call (slower than the camera)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def enhance(self, frames: Sequence[np.ndarray], timestamps=None) -> list[np.ndarray]:
        time.sleep(self.delay)
        return [np.clip(f.astype(np.int16) * 3, 0, 255).astype(np.uint8) for f in frames]

    def reset(self) -> None:
        pass


class FakeWindow:
    """A `streamer.preview.Window` that records what it shows and replays scripted keys."""

    def __init__(self, keys: Sequence[int | str] = ()) -> None:
        self.keys = [ord(k) if isinstance(k, str) else k for k in keys]
        self.shown: list[np.ndarray] = []
        self.open, self.closed = True, False

    def show(self, image: np.ndarray) -> None:
        self.shown.append(image)

    def key(self) -> int:
        return self.keys.pop(0) if self.keys else -1

    def is_open(self) -> bool:
        return self.open

    def close(self) -> None:
        self.closed = True


def _duration(path) -> float:
    with av.open(str(path)) as container:
        return container.duration / av.time_base


def _mean_luma(path) -> float:
    with av.open(str(path)) as container:
        return float(np.mean([mean_luma(f.to_ndarray(format="rgb24"))
                              for f in container.decode(video=0)]))


def test_mailbox_keeps_only_the_newest_item():
    box = Mailbox()
    assert [box.put(i) for i in range(3)] == [False, True, True]  # 0 and 1 dropped
    assert box.take(0) == 2 and box.take(0.01) is None
    box.put(3)
    box.close()
    assert box.take(0) == 3  # what was left is still delivered after close
    assert box.take(0) is CLOSED


@pytest.mark.parametrize("mode", ["quality", "realtime"])
def test_recording_is_enhanced_and_plays_at_the_capture_rate(mode, make_clip, cli, tmp_path,
                                                            no_thread_leak):
    clip = make_clip("dark.mp4", count=48, size=(96, 64), fps=24)  # 2.0 s
    out = tmp_path / "live.mp4"
    result = cli(cam.app, "--source", clip, "--record", out, "--mode", mode, *QUIET)
    assert result.exit_code == 0, result.output
    assert count_frames(out) > 0
    assert _mean_luma(out) > _mean_luma(clip) + 20
    assert _duration(out) == pytest.approx(_duration(clip), rel=0.10)


def test_default_mode_stops_after_max_frames(make_clip, cli, tmp_path, no_thread_leak):
    clip = make_clip("dark.mp4", count=48, size=(96, 64), fps=24)
    out = tmp_path / "five.mp4"
    result = cli(cam.app, "--source", clip, "--record", out, "--max-frames", "5",
                 "--no-preview", "--precision", "float32")  # no --mode: realtime
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())  # the dashboard wraps long lines
    assert f"(realtime mode on {compute_device()}, float32)" in said
    assert "5 frames enhanced (--max-frames)" in said
    assert count_frames(out) == 5


def test_slow_model_drops_frames_instead_of_queueing(make_clip, no_thread_leak):
    clip = make_clip("fast.mp4", count=75, size=(64, 48), fps=30)  # 2.5 s at 30 fps
    stats = LiveStats()
    with open_source(0, str(clip)) as source:
        result = run_live(source, SlowEnhancer(0.1), stats=stats)
    assert not result.lost and "ended after 75 frames" in result.reason
    assert result.frames_captured == 75
    assert result.frames_dropped > 30  # ~3 of every 4 frames arrive while the model is busy
    assert result.frames_enhanced + result.frames_dropped == result.frames_captured
    # A queue would make the last frames wait for all earlier ones (> 1.5 s); the mailbox
    # bounds the wait to about one model call plus one frame interval.
    assert result.max_latency < 0.1 + 1 / 30 + 0.25
    assert stats.latency("end-to-end") < 0.3


def test_camera_unplugged_mid_stream_stops_cleanly(cli, tmp_path, monkeypatch, no_thread_leak):
    captures: list[FakeCapture] = []

    def factory(*args):
        captures.append(FakeCapture(*args, frames=20, size=(64, 48)))
        return captures[-1]

    monkeypatch.setattr(cam, "open_source", functools.partial(open_source, capture_factory=factory))
    out = tmp_path / "cam.mp4"
    result = cli(cam.app, "--camera", "0", "--record", out, "--mode", "quality", *QUIET)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "camera 0 stopped delivering frames" in lines[0]
    assert "finalised" in lines[0] and "Traceback" not in result.output
    assert captures[0].released
    assert 0 < count_frames(out) <= 20


class HangingCapture(FakeCapture):
    """A camera whose reads hang after the first few frames (a stuck USB device)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.unstick = threading.Event()

    def read(self):
        if len(self._images) < 17:  # the open() probe and two frames went through
            self.unstick.wait(10)
            assert not self.released, "released while a read was running"
        return super().read()


def test_a_stuck_read_is_not_pulled_from_under(monkeypatch):
    import streamer.live as live

    monkeypatch.setattr(live, "JOIN_TIMEOUT_S", 0.2)
    captures: list[HangingCapture] = []

    def factory(*args):
        captures.append(HangingCapture(*args, frames=20))
        return captures[-1]

    with CameraSource("camera", 0, capture_factory=factory) as source:
        result = run_live(source, SlowEnhancer(0.0), stall_s=1.0)
    assert result.lost and "did not release within 0.2 s" in result.reason
    assert not captures[0].released  # close() after abandon() left it alone
    captures[0].unstick.set()


class CrashingEnhancer(SlowEnhancer):
    """Works for `frames` calls, then fails like a model running out of memory."""

    def __init__(self, frames: int) -> None:
        super().__init__(0.0)
        self.left = frames

    def enhance(self, frames, timestamps=None):
        self.left -= 1
        if self.left < 0:
            raise MemoryError("out of memory in the model")
        return super().enhance(frames, timestamps)


def test_model_crash_mid_stream_keeps_the_recording(make_clip, cli, tmp_path, monkeypatch,
                                                   no_thread_leak):
    clip = make_clip("dark.mp4", count=48, size=(64, 48), fps=24)
    out = tmp_path / "crash.mp4"
    monkeypatch.setattr(cam, "_enhancer", lambda *args: CrashingEnhancer(4))
    result = cli(cam.app, "--source", clip, "--record", out, *QUIET)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "MemoryError: out of memory in the model" in lines[0]
    assert f"recording {out} finalised with 4 frames" in lines[0]
    assert count_frames(out) == 4


@pytest.mark.parametrize(("camera", "source", "expected"), [
    (2, None, ("camera", 2)),  # --camera alone
    (0, "1", ("camera", 1)),  # an index given as --source
    (0, "/dev/video2", ("camera", "/dev/video2")),  # a device path
    (0, "rtsp://cam.local/live", ("stream", "rtsp://cam.local/live")),  # a URL
    (0, "clips/night.mp4", ("file", "clips/night.mp4")),  # a file standing in for a camera
    (0, r"C:\clips\night.mp4", ("file", r"C:\clips\night.mp4")),  # a drive letter is no URL
])
def test_parse_source(camera, source, expected):
    assert parse_source(camera, source) == expected


@pytest.mark.parametrize(("source", "message"), [
    (["--camera", "7"], "cannot open camera 7"),  # no such camera index
    (["--source", "/dev/video99"], "camera device not found: /dev/video99"),  # no such device
    (["--source", "http://127.0.0.1:9/live"], "cannot open stream http://127.0.0.1:9/live"),  # refused
    (["--source", "missing.mp4"], "source not found: missing.mp4"),  # no such file
])
def test_unopenable_source_fails_with_one_line(source, message, cli, tmp_path, no_thread_leak):
    out = tmp_path / "never.mp4"
    result = cli(cam.app, *source, "--record", out, *QUIET)
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(("signum", "said"), [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "Ctrl-C")])
def test_signal_stops_cleanly_and_keeps_the_recording(signum, said, make_clip, cli, tmp_path,
                                                     monkeypatch, no_thread_leak):
    clip = make_clip("loop.mp4", count=12, size=(64, 48), fps=24)
    out = tmp_path / "rec.mp4"

    real_run_live, before = cam.run_live, signal.getsignal(signum)

    def run_then_signal(*args, **kwargs):  # the handlers are installed once the loop starts
        timer = threading.Timer(1.0, os.kill, (os.getpid(), signum))
        timer.start()
        try:
            return real_run_live(*args, **kwargs)
        finally:
            timer.join()

    monkeypatch.setattr(cam, "run_live", run_then_signal)
    result = cli(cam.app, "--source", clip, "--loop", "--record", out, "--mode", "quality",
                 "--no-preview", "--precision", "float32")
    assert result.exit_code == 0, result.output
    assert f"stopped: interrupted by {said}" in result.stdout and "finalised" in result.stdout
    assert count_frames(out) > 12  # it looped past the end of the clip
    assert signal.getsignal(signum) == before  # the handler was restored


def test_preview_keys_through_the_cli(make_clip, cli, tmp_path, monkeypatch, no_thread_leak):
    clip = make_clip("dark.mp4", count=24, size=(64, 48), fps=24)
    window = FakeWindow([-1, KEY_SPACE, "s", -1, "q"])
    monkeypatch.setattr(cam, "check_display", lambda: None)
    monkeypatch.setattr(cam, "OpenCVWindow", lambda title: window)
    result = cli(cam.app, "--source", clip, "--snapshot-dir", tmp_path, "--mode", "quality",
                 "--precision", "float32")
    assert result.exit_code == 0, result.output
    assert "quit from the preview window" in result.stdout
    assert [image.shape[1] for image in window.shown] == [128, 128, 64, 64, 64]  # space: wipe
    snapshots = sorted(tmp_path.glob("snapshot-*.png"))
    assert [p.name.rsplit("-", 1)[1] for p in snapshots] == ["enhanced.png", "original.png"]
    assert all(str(p) in result.stdout for p in snapshots)
    assert window.closed


def test_plus_and_minus_move_the_exposure_by_quarter_stops_within_two():
    told = []
    preview = Preview(FakeWindow(["+", "=", "-", "+", "+", "+", "_"]), exposure=1.5,
                      on_exposure=told.append)
    pixels = np.zeros((8, 8, 3), np.uint8)
    for _ in range(7):
        assert preview.show(pixels, pixels) is True
    assert told == [1.75, 2.0, 1.75, 2.0, 1.75]  # no call while held at +2
    labelled, plain = Preview(FakeWindow(), exposure=0.5), Preview(FakeWindow())
    wide = np.zeros((60, 320, 3), np.uint8)
    labelled.show(wide, wide)
    plain.show(wide, wide)
    assert not np.array_equal(labelled.window.shown[0], plain.window.shown[0])  # "+0.5 EV"


def test_exposure_keys_brighten_the_live_picture(make_clip, cli, tmp_path, monkeypatch):
    clip = make_clip("dark.mp4", count=24, size=(64, 48), fps=24)
    window = FakeWindow([-1, "+", "+", "+", "+", *[-1] * 10, "q"])
    monkeypatch.setattr(cam, "check_display", lambda: None)
    monkeypatch.setattr(cam, "OpenCVWindow", lambda title: window)
    result = cli(cam.app, "--source", clip, "--precision", "float32")
    assert result.exit_code == 0, result.output
    first, last = (image[:, 64:].mean() for image in (window.shown[0], window.shown[-1]))
    assert last > first + 10  # the enhanced half, a stop brighter


@pytest.mark.parametrize(("keys", "reason"), [
    ([KEY_ESC], "quit from the preview window"),  # Esc quits like q
    ([-1], "preview window closed"),  # the user closed the window
])
def test_preview_ends_on_esc_or_closed_window(keys, reason):
    window = FakeWindow(keys)
    window.open = keys != [-1]
    preview = Preview(window)
    pixels = np.zeros((8, 8, 3), np.uint8)
    assert preview.show(pixels, pixels) is False and preview.quit_reason == reason


def test_a_snapshot_that_cannot_be_written_does_not_end_the_preview(tmp_path):
    preview = Preview(FakeWindow(["s", "s"]), snapshot_dir=tmp_path / "gone")  # no such folder
    pixels = np.zeros((8, 8, 3), np.uint8)
    assert preview.show(pixels, pixels) is True and preview.snapshots == []
    assert len(preview.snapshot_errors) == 1 and "cannot write" in preview.snapshot_errors[0]
    (tmp_path / "gone").mkdir()
    assert preview.show(pixels, pixels) is True and len(preview.snapshots) == 2


def test_wipe_shows_original_left_and_enhanced_right():
    original = np.full((48, 64, 3), 10, np.uint8)
    enhanced = np.full((48, 64, 3), 200, np.uint8)
    image = compose(original, enhanced, "wipe")[40:]  # below the labels
    assert image.shape[1] == 64
    assert (image[:, :30] == 10).all() and (image[:, 34:] == 200).all()


def test_dashboard_shows_requested_vs_delivered_drops_and_latency(tmp_path):
    factory = functools.partial(FakeCapture, frames=3, size=(64, 48))
    source = CameraSource("camera", 0, request=CaptureRequest(1280, 720, 60), capture_factory=factory)
    with source:
        stats = LiveStats(source=source.info, frames_in=40, frames_dropped=30, max_latency=0.25)
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    console.print(render_live(stats), live_summary(stats))
    text = console.file.getvalue()
    assert "requested 1280x720 @ 60 fps → got 64x48 @ 30 fps" in text
    assert "dropped 30 (75%)" in text and "max 250 ms" in text


@pytest.mark.parametrize(("args", "message"), [
    (["--mode", "fast"], "unknown --mode 'fast'"),  # not a mode
    (["--camera", "0", "--loop"], "--loop applies to video files only"),  # loop on a camera
    (["--max-frames", "0"], "--max-frames must be >= 1"),  # nothing to do
    (["--width", "-640"], "--width must be positive"),  # bad request
    (["--record", "out.txt"], "cannot write libx264 video to a .txt file"),  # not a video container
    (["--record", "out.mp4", "--preset", "glacial"], "unknown --preset 'glacial'"),
])
def test_bad_options_fail_with_one_line(args, message, cli):
    result = cli(cam.app, *args, *QUIET, model=False)
    assert result.exit_code == 1 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_capture_fps_counts_from_a_first_capture_at_time_zero():
    now = [0.0]
    stats = LiveStats(clock=lambda: now[0])
    for _ in range(11):  # 11 captures, 0.1 s apart, the first at t = 0.0
        stats.frame_in(np.zeros((4, 4, 3), np.uint8))
        now[0] += 0.1
    assert stats.capture_fps == pytest.approx(10.0)


@pytest.mark.parametrize("mode", ["realtime", "quality"])
def test_warm_up_runs_the_model_as_the_loop_will_and_leaves_no_history(mode):
    """Two timestamped calls on a dim frame, then the enhancer is as new."""
    from streamer.inference import EnhanceOptions, create_enhancer
    from streamer.live import warm_up

    calls = []

    def model(tiles):
        calls.append(tiles.shape)
        return tiles

    options = EnhanceOptions(mode=mode, tile=64, overlap=16, batch_size=2)
    warmed, fresh = create_enhancer(model, options), create_enhancer(lambda t: t, options)
    warm_up(warmed, 64, 48)
    assert len(calls) == 2
    frame = np.random.default_rng(1).integers(0, 40, (48, 64, 3), np.uint8)
    assert np.array_equal(warmed.enhance([frame], [5.0])[0], fresh.enhance([frame], [5.0])[0])
