"""The dashboard of a live run: camera requested vs delivered, FPS in and out, drops, latency.

`LiveDashboard` is the file engine's `Dashboard` (Rich Live on a terminal, plain lines
elsewhere, a summary at the end) drawing `LiveStats` instead of file progress.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from streamer.camera import CaptureRequest
from streamer.dashboard import Dashboard, _clock, _ms
from streamer.live import LiveStats


def source_text(stats: LiveStats) -> str:
    """`camera 0: requested 1280x720 @ 30 fps → got 640x480 @ 30 fps (V4L2)`."""
    info = stats.source
    if info is None:
        return "?"
    backend = f" ({info.backend})" if info.backend else ""
    if info.kind == "file":
        ignored = "" if info.requested == CaptureRequest() else \
            f" (requested {info.requested.describe()}: not applied to files)"
        return f"{info.name}: {info.describe()}, paced at its frame rate{ignored}{backend}"
    return f"{info.name}: requested {info.requested.describe()} → got {info.describe()}{backend}"


def _dropped(stats: LiveStats) -> str:
    share = 100 * stats.frames_dropped / stats.frames_in if stats.frames_in else 0.0
    return f"dropped {stats.frames_dropped} ({share:.0f}%)"


def live_text(stats: LiveStats) -> str:
    """`captured 30.0 fps  enhanced 7.5 fps  dropped 90 (75%)  latency 140 ms, max 210 ms`."""
    return (f"captured {stats.fps_in:.1f} fps  enhanced {stats.fps_out:.1f} fps  {_dropped(stats)}"
            f"  latency {_ms(stats.last_latency)}, max {_ms(stats.max_latency)}")


def render_live(stats: LiveStats, title: str = "") -> RenderableType:
    """The live view: source, speeds, drops, glass-to-glass latency, stage times, luma."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan")
    grid.add_column()
    grid.add_row("source", source_text(stats))
    grid.add_row("speed", f"captured {stats.fps_in:.1f} fps  enhanced {stats.fps_out:.1f} fps  "
                 f"{_dropped(stats)}")
    grid.add_row("latency", f"glass-to-glass {_ms(stats.last_latency)}  "
                 f"mean {_ms(stats.latency('end-to-end'))}  max {_ms(stats.max_latency)}  "
                 f"(inference {_ms(stats.latency('inference'))}, "
                 f"record {_ms(stats.latency('encode'))})")
    grid.add_row("frames", f"captured {stats.frames_in}  enhanced {stats.frames_out}  "
                 f"recorded {stats.frames_recorded}  elapsed {_clock(stats.elapsed)}")
    grid.add_row("luma", f"in {stats.luma_in.mean:.1f} → out {stats.luma_out.mean:.1f}")
    return Group(Text(title, style="bold"), grid) if title else grid


def live_summary(stats: LiveStats) -> Table:
    """The end-of-run table."""
    table = Table(title="summary", show_header=False)
    table.add_column(style="bold cyan")
    table.add_column(justify="right")
    table.add_row("source", source_text(stats))
    table.add_row("frames captured", str(stats.frames_in))
    table.add_row("frames enhanced", str(stats.frames_out))
    table.add_row("frames dropped", _dropped(stats).removeprefix("dropped "))
    table.add_row("frames recorded", str(stats.frames_recorded))
    table.add_row("elapsed", _clock(stats.elapsed))
    table.add_row("captured speed", f"{stats.capture_fps:.2f} fps")
    table.add_row("enhanced speed", f"{stats.mean_fps:.2f} fps")
    table.add_row("latency (recent mean)", _ms(stats.latency("end-to-end")))
    table.add_row("latency (max)", _ms(stats.max_latency))
    table.add_row("inference per frame", _ms(stats.latency("inference")))
    if stats.frames_recorded:
        table.add_row("recording per frame", _ms(stats.latency("encode")))
    table.add_row("mean luma in → out", f"{stats.luma_in.mean:.1f} → {stats.luma_out.mean:.1f}")
    return table


class LiveDashboard(Dashboard):
    """`Dashboard` for a live run (same arguments; `stats` must be a `LiveStats`)."""

    stats: LiveStats

    def renderable(self) -> RenderableType:
        return render_live(self.stats, self.title)

    def line(self) -> str:
        return live_text(self.stats)

    def summary_table(self) -> Table:
        return live_summary(self.stats)
