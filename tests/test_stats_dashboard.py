"""Stats with a fake clock, and the dashboard rendered to a string (terminal and plain)."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

from streamer.dashboard import Dashboard, render, summary
from streamer.stats import LumaTrack, PipelineStats, RateMeter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run_frames(stats: PipelineStats, clock: FakeClock, count: int, *, fps: float) -> None:
    for i in range(count):
        pixels = np.full((8, 8, 3), 10 + (i % 2) * 4, np.uint8)
        stats.frame_in(pixels)
        stats.stage_time("inference", 0.02)
        clock.now += 1 / fps
        stats.frame_out(pixels * 3, captured_at=clock.now - 0.05)


def test_rates_eta_latency_from_the_clock():
    clock = FakeClock()
    stats = PipelineStats(total_frames=100, clock=clock)
    stats.start()
    run_frames(stats, clock, 40, fps=20)
    assert abs(stats.fps_out - 20) < 0.01
    assert abs(stats.eta - 60 / 20) < 0.01
    assert abs(stats.latency("inference") - 0.02) < 1e-9
    assert abs(stats.latency("end-to-end") - 0.05) < 1e-9
    assert abs(stats.elapsed - 2.0) < 1e-9 and abs(stats.mean_fps - 20) < 0.01


def test_deques_are_bounded():
    meter = RateMeter(window=5)
    for t in range(1000):
        meter.tick(float(t))
    assert meter.rate(999.0) == 1.0 and len(meter._times) == 5


def test_flicker_is_mean_absolute_luma_change():
    track = LumaTrack()
    for luma in (10, 14, 10, 14):
        track.add(luma)
    assert track.mean == 12 and track.flicker == 4


def test_terminal_render_shows_every_counter():
    clock = FakeClock()
    stats = PipelineStats(total_frames=50, clock=clock)
    stats.start()
    stats.queue_depths["decoded"] = lambda: 3
    run_frames(stats, clock, 10, fps=10)
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    console.print(render(stats, "in.mp4 → out.mp4"))
    console.print(summary(stats))
    text = console.file.getvalue()
    for word in ("10/50 frames", "ETA", "in ", "out ", "inference", "decoded 3", "luma",
                 "flicker", "summary"):
        assert word in text, word


def test_plain_lines_off_a_terminal_and_quiet_shows_nothing(no_thread_leak):
    stats = PipelineStats(total_frames=5)
    plain = Console(file=io.StringIO(), force_terminal=False)
    with Dashboard(stats, title="run", console=plain, interval_s=0.01) as dashboard:
        stats.start()
        stats.frame_out(np.zeros((4, 4, 3), np.uint8), captured_at=0.0)
        dashboard._done.wait(0.1)
    lines = plain.file.getvalue()
    assert "frames" in lines and "summary" in lines and "\x1b[" not in lines

    silent = Console(file=io.StringIO(), force_terminal=True)
    with Dashboard(stats, console=silent, quiet=True):
        pass
    assert silent.file.getvalue() == ""


def test_live_dashboard_starts_and_stops(no_thread_leak):
    stats = PipelineStats(total_frames=5)
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    with Dashboard(stats, title="live", console=terminal):
        stats.start()
        stats.frame_out(np.zeros((4, 4, 3), np.uint8), captured_at=0.0)
    assert "1/5 frames" in terminal.file.getvalue()
