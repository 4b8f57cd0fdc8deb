"""What overlapping the halves of consecutive calls gains: enhancer-only FPS on a clip's
frames, call after call (`enhance`) against the engine's way (`enhance_calls`: each call
finished on a helper thread while the next starts), interleaved rounds in one run.

On a GPU the first half leaves the generator's work running there, so the overlap lets
the device and the CPU work at once; on a CPU both halves compete for the same cores.

    python benchmarks/bench_halves.py --clip noisy1080.mp4 --rounds 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gan.backend import compute_device
from gan.model_io import load_generator
from streamer.engine import frames_per_call
from streamer.inference import EnhanceOptions, create_enhancer
from streamer.pipeline import enhance_calls
from streamer.source import VideoSource


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with VideoSource(args.clip) as source:
        frames = [frame.pixels for frame in source]
    height, width = frames[0].shape[:2]
    options = EnhanceOptions()
    per_call = frames_per_call(width, height, options)
    calls = [(frames[s:s + per_call], [t / 30 for t in range(s, min(s + per_call, len(frames)))])
             for s in range(0, len(frames), per_call)]
    enhancer = create_enhancer(load_generator(args.model, precision=args.precision), options)
    for _ in enhance_calls(enhancer, calls):  # warm-up: every shape compiled
        pass
    print(f"{compute_device()}, {len(frames)} frames of {width}x{height}, {per_call} a call, "
          f"{'whole frames on the device' if enhancer.on_device else 'tiles'}")

    def fps(run) -> float:
        enhancer.reset()
        started = time.perf_counter()
        run()
        return len(frames) / (time.perf_counter() - started)

    for _ in range(args.rounds):
        back_to_back = fps(lambda: [enhancer.enhance(*call) for call in calls])
        overlapped = fps(lambda: list(enhance_calls(enhancer, calls)))
        print(f"enhancer-only: call after call {back_to_back:.1f} fps, "
              f"halves overlapped {overlapped:.1f} fps", flush=True)


if __name__ == "__main__":
    main()
