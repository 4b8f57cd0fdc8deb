"""Enhancer speed without video I/O: model-only and enhancer-only FPS, on any backend/device.

Needs no FFmpeg, so it runs on the GPU machine (JAX backend, no PyAV) as well as here.
Frames are `bench_video`'s generated dim, textured, low-noise frames held in memory (so the
quality mode runs its full-resolution pass only); figures from one run:

- model-only: the frames' tiles through the generator in full batches (the cost of the
  quality mode's full-resolution pass);
- enhancer-only: `create_enhancer(...).enhance` on `--frames-per-call` frames at a time
  (exposure, tiling, model, stitching), what the engine's inference stage does;
- ratio: enhancer-only ÷ model-only (the tiling/stitching overhead).

    python benchmarks/bench_enhancer.py --sizes 1920x1080 --batch-size 64 --precision bfloat16
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gan.backend import keras
from gan.model_io import load_generator, resolve_precision
from streamer.inference import EnhanceOptions, as_tile_model, create_enhancer
from streamer.synthetic import dark_frames
from streamer.tiles import plan_tiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--mode", default="quality", choices=("quality", "realtime"))
    parser.add_argument("--sizes", default="1920x1080")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--frames-per-call", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=EnhanceOptions.batch_size)
    parser.add_argument("--tile", type=int, default=EnhanceOptions.tile, help="longest tile side")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--threads", type=int, default=EnhanceOptions.threads,
                        help="threads for the per-frame work (0: one per core)")
    parser.add_argument("--on-device", default="auto", choices=("auto", "yes", "no"),
                        help="quality mode: whole frames in one compiled function where the "
                             "model runs (auto: on a GPU)")
    args = parser.parse_args()

    model = load_generator(args.model, precision=args.precision)
    options = EnhanceOptions(mode=args.mode, batch_size=args.batch_size, tile=args.tile,
                             threads=args.threads,
                             on_device={"auto": None, "yes": True, "no": False}[args.on_device])
    devices = keras.distribution.list_devices() if keras.backend.backend() == "jax" else ["cpu"]
    print(f"backend {keras.backend.backend()}, devices {devices}, "
          f"{args.mode} mode, precision {resolve_precision(args.precision)}, batch {args.batch_size}, "
          f"tile {args.tile}")
    rng = np.random.default_rng(0)
    for size in args.sizes.split(","):
        width, height = map(int, size.split("x"))
        frames = list(dark_frames(args.frames_per_call, width, height))
        grid = plan_tiles(height, width, tile=options.tile, overlap=options.overlap)
        tiles_per_frame = grid.count

        model_fps = float("nan")  # realtime mode: its model cost is not per tile
        if args.mode == "quality":
            tile_model = as_tile_model(model)
            batch = rng.uniform(-1, 1, (args.batch_size, *grid.tile_shape, 3)).astype(np.float32)
            tile_model(batch)
            calls = max(1, args.frames * tiles_per_frame // args.batch_size)
            started = time.perf_counter()
            for _ in range(calls):
                tile_model(batch)
            model_fps = calls * args.batch_size / tiles_per_frame / (time.perf_counter() - started)

        enhancer = create_enhancer(model, options)
        enhancer.enhance(frames)
        rounds = max(1, args.frames // args.frames_per_call)
        started = time.perf_counter()
        for _ in range(rounds):
            enhancer.enhance(frames)
        enhancer_fps = rounds * len(frames) / (time.perf_counter() - started)
        print(f"{size}: {tiles_per_frame} tiles/frame, model-only {model_fps:.1f} fps, "
              f"enhancer-only {enhancer_fps:.1f} fps, ratio {enhancer_fps / model_fps:.2f}",
              flush=True)


if __name__ == "__main__":
    main()
