"""Does memory stay flat on long runs? RSS while streaming generated 720p through the engine.

Streams `--seconds` of generated frames (default 3 minutes at 30 fps) through the real
pipeline: threads, bounded queues, tiling, a tiny stand-in generator and a real H.264
sink. RSS is sampled from /proc; growth is measured from the end of a warm-up to the end
(target < 100 MB).

    python benchmarks/bench_memory.py --seconds 10     # a quick check
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from gan.generator import build_generator
from streamer.frames import Frame
from streamer.inference import EnhanceOptions, create_enhancer
from streamer.pipeline import run_pipeline
from streamer.sink import EncoderOptions, VideoSink
from streamer.source import VideoInfo
from streamer.stats import PipelineStats
from streamer.synthetic import dark_frames, parse_size


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def generated(count: int, width: int, height: int, fps: int) -> Iterator[Frame]:
    time_base = Fraction(1, fps)
    for index, pixels in enumerate(dark_frames(count, width, height)):
        yield Frame(pixels.copy(), index, index, time_base, time.monotonic())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="video seconds to stream")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--warmup", type=float, default=0.1, help="share of frames before baseline")
    args = parser.parse_args()
    width, height = parse_size(args.size)
    count = round(args.seconds * args.fps)
    options = EnhanceOptions(batch_size=8)
    enhancer = create_enhancer(build_generator(width=4, res_blocks=0), options)
    stats = PipelineStats(total_frames=count)
    samples: list[tuple[int, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            samples.append((stats.frames_out, rss_mb()))

    with tempfile.TemporaryDirectory() as folder:
        info = VideoInfo(path=Path(folder) / "generated", width=width, height=height,
                         frame_rate=Fraction(args.fps), time_base=Fraction(1, args.fps),
                         frame_count=count, exact_count=True, has_audio=False)
        sampler = threading.Thread(target=sample, name="rss-sampler")
        sampler.start()
        started = time.perf_counter()
        try:
            with VideoSink(Path(folder) / "out.mp4", info, EncoderOptions(preset="veryfast")) as sink:
                run_pipeline(generated(count, width, height, args.fps), enhancer, sink.write,
                             stats=stats, frames_per_call=1)
        finally:
            done.set()
            sampler.join()
        elapsed = time.perf_counter() - started
    warm = [rss for frames, rss in samples if frames >= args.warmup * count] or [rss_mb()]
    print(f"{count} frames of {width}x{height} in {elapsed:.1f} s ({count / elapsed:.1f} fps)")
    print(f"RSS after warm-up {warm[0]:.0f} MB, peak {max(warm):.0f} MB, end {warm[-1]:.0f} MB")
    print(f"RSS growth after warm-up: {max(warm) - warm[0]:.1f} MB (target < 100 MB)")


if __name__ == "__main__":
    main()
