"""Codec throughput on this machine: decoding to RGB, and x264 with slice vs frame threads.

Why `streamer.sink` gives x264 frame threads: PyAV leaves FFmpeg's default, slice
threads, which scale poorly with cores. Encoding runs the sink's own steps (RGB frame →
the encoder's YUV → encode), on the clip's decoded frames, held in memory.

    python benchmarks/bench_codec.py --clip night1080.mp4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av

from streamer.source import VideoSource


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=96, help="frames to encode per run")
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    with VideoSource(args.clip) as source:
        frames = [frame.pixels for frame in source]
    print(f"decode to RGB: {len(frames) / (time.perf_counter() - started):.1f} fps "
          f"({len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]})")
    height, width = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            for thread_type in ("SLICE", "FRAME"):
                with av.open(str(Path(folder) / "out.mp4"), "w") as container:
                    stream = container.add_stream("libx264", rate=30)
                    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                    stream.options = {"preset": args.preset, "crf": "18"}
                    stream.codec_context.thread_type = thread_type
                    started = time.perf_counter()
                    for i in range(args.frames):
                        frame = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
                        frame = frame.reformat(format="yuv420p")
                        frame.pts = i
                        container.mux(stream.encode(frame))
                    container.mux(stream.encode(None))
                    fps = args.frames / (time.perf_counter() - started)
                print(f"x264 {args.preset}, {thread_type.lower()} threads: {fps:.1f} fps", flush=True)


if __name__ == "__main__":
    main()
