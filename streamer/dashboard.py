"""The live view of a run: a Rich dashboard on a terminal, plain lines elsewhere.

Rendering is pulled: `Live(get_renderable=...)` redraws from its own thread four times a
second by reading `PipelineStats`; the stages never wait for it. Off a terminal (a log
file, CI), a small thread prints one plain progress line every few seconds instead.
"""

from __future__ import annotations

import threading

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from streamer.stats import STAGES, PipelineStats


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def progress_text(stats: PipelineStats) -> str:
    """`37/120 frames (31%)  in 12.0 fps  out 11.5 fps  ETA 00:07`."""
    total = stats.total_frames
    done = f"{stats.frames_out}/{total}" if total else f"{stats.frames_out}"
    share = f" ({100 * stats.frames_out / total:.0f}%)" if total else ""
    return (f"{done} frames{share}  in {stats.fps_in:.1f} fps  out {stats.fps_out:.1f} fps  "
            f"ETA {_clock(stats.eta)}  elapsed {_clock(stats.elapsed)}")


def render(stats: PipelineStats, title: str = "") -> RenderableType:
    """The dashboard: progress bar, speeds, per-stage latency, queues, luma and flicker."""
    bar = ProgressBar(total=stats.total_frames or None, completed=stats.frames_out, width=40)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan")
    grid.add_column()
    grid.add_row("progress", bar)
    grid.add_row("frames", Text(progress_text(stats)))
    grid.add_row("latency", "  ".join(f"{s} {_ms(stats.latency(s))}" for s in STAGES)
                 + f"  end-to-end {_ms(stats.latency('end-to-end'))}")
    grid.add_row("queues", "  ".join(f"{name} {depth}" for name, depth in stats.depths().items()))
    grid.add_row("luma", f"in {stats.luma_in.mean:.1f} → out {stats.luma_out.mean:.1f}")
    grid.add_row("flicker", f"out {stats.luma_out.flicker:.2f}  (input {stats.luma_in.flicker:.2f})"
                 "  mean |Δ luma| between frames")
    return Group(Text(title, style="bold"), grid) if title else grid


def summary(stats: PipelineStats) -> Table:
    """The end-of-run table."""
    table = Table(title="summary", show_header=False)
    table.add_column(style="bold cyan")
    table.add_column(justify="right")
    table.add_row("frames written", str(stats.frames_out))
    table.add_row("elapsed", _clock(stats.elapsed))
    table.add_row("mean speed", f"{stats.mean_fps:.2f} fps")
    for stage in (*STAGES, "end-to-end"):
        table.add_row(f"{stage} latency", _ms(stats.latency(stage)))
    table.add_row("mean luma in → out", f"{stats.luma_in.mean:.1f} → {stats.luma_out.mean:.1f}")
    table.add_row("flicker in → out", f"{stats.luma_in.flicker:.2f} → {stats.luma_out.flicker:.2f}")
    return table


class Dashboard:
    """Shows `stats` while the `with` block runs, then a summary table.

    Args:
        stats: the run's counters.
        title: a heading (e.g. "in.mp4 → out.mp4").
        console: where to draw (stdout by default).
        quiet: show nothing at all.
        interval_s: seconds between plain lines when the console is not a terminal.
    """

    def __init__(self, stats: PipelineStats, *, title: str = "", console: Console | None = None,
                 quiet: bool = False, interval_s: float = 5.0) -> None:
        self.stats = stats
        self.title = title
        self.console = console or Console()
        self.quiet = quiet
        self.interval_s = interval_s
        self._live: Live | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()

    def renderable(self) -> RenderableType:
        """What the live view draws (subclasses show other counters)."""
        return render(self.stats, self.title)

    def line(self) -> str:
        """The plain progress line printed off a terminal."""
        return progress_text(self.stats)

    def summary_table(self) -> Table:
        """The table printed when the run ends."""
        return summary(self.stats)

    def __enter__(self) -> Dashboard:
        if self.quiet:
            return self
        if self.console.is_terminal:
            self._live = Live(get_renderable=self.renderable,
                              console=self.console, refresh_per_second=4)
            self._live.start()
        else:
            if self.title:
                self.console.print(self.title, highlight=False)
            self._thread = threading.Thread(target=self._print_lines, name="streamer-dashboard",
                                            daemon=True)
            self._thread.start()
        return self

    def _print_lines(self) -> None:
        while not self._done.wait(self.interval_s):
            self.console.print(self.line(), highlight=False)

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        if self._live is not None:
            self._live.stop()
        if self._thread is not None:
            self._thread.join()
        if not self.quiet and self.stats.frames_out:
            self.console.print(self.summary_table())
