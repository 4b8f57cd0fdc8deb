"""Where does enhance-video's time go? Passthrough, model-only and end-to-end FPS.

On one generated clip per size (or on `--clip`, e.g. a noisy one), in one run:

- passthrough: decode + encode through the same threaded pipeline, no enhancement;
- model-only: the frames' tiles through the generator in full batches, no I/O;
- enhancer-only: `Enhancer.enhance` on frames in memory, called as the engine calls it
  (`streamer.pipeline.enhance_calls`; model plus exposure, tiling or
  guided upsampling), no I/O;
- end-to-end: `enhance_video_file` (what `enhance-video` runs), model warmed up;
- ratio: end-to-end ÷ min(model-only, passthrough): 1.0 means the stages overlap
  perfectly and the slowest one sets the pace (target ≥ 0.9); engine ratio: the same
  against min(enhancer-only, passthrough), the pipeline's own overhead;
- vs serial: end-to-end ÷ the rate of enhancing and then decoding/encoding each frame back
  to back (1 / (1/enhancer-only + 1/passthrough)). Where every stage needs all the CPU
  cores (2 here), overlap can gain little beyond 1.0; below it, the engine loses time;
- CPU ceiling: the highest ratio the CPU allows: the cores ÷ the CPU seconds a frame takes
  to enhance (enhancer-only) and to decode + encode (passthrough), all threads counted,
  ÷ min(model-only, passthrough). Below 0.9, the target is out of reach on this machine
  however well the stages overlap.

    python benchmarks/bench_video.py --frames 8 --sizes 1280x720
    python benchmarks/bench_video.py --clip samples/night.mp4 --threads 1
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from gan.model_io import DEFAULT_MODEL_PATH, load_generator, resolve_precision
from streamer.engine import enhance_video_file, frames_per_call
from streamer.inference import EnhanceOptions, as_tile_model, create_enhancer
from streamer.pipeline import enhance_calls
from streamer.realtime import work_shape
from streamer.sink import EncoderOptions
from streamer.source import VideoSource
from streamer.synthetic import dark_frames, parse_size, sine_chord, write_clip
from streamer.threads import resolve_threads
from streamer.tiles import plan_tiles

ON_DEVICE = {"auto": None, "yes": True, "no": False}  # --on-device → EnhanceOptions.on_device


class PassThrough:
    """An enhancer that returns its frames unchanged (for the I/O-only measurement)."""

    def enhance(self, frames, timestamps=None):
        return list(frames)

    def reset(self) -> None:
        pass


def timed(function) -> float:
    """Wall-clock seconds of a call."""
    return timed_cpu(function)[0]


def timed_cpu(function) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all the process's threads) of a call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def model_only_fps(model, frames: int, width: int, height: int, options: EnhanceOptions,
                   whole_frames: bool = False) -> float:
    """Frames per second of the generator alone: on the tiles of `frames` frames (quality),
    on whole frames (`whole_frames`: the quality mode's device path), or on their small
    copies, as many a call as the engine sends (realtime)."""
    tile_model = as_tile_model(model)
    rng = np.random.default_rng(0)
    if whole_frames:
        return whole_frame_model_fps(model, frames, width, height, options)
    if options.mode == "realtime":
        per_call = frames_per_call(width, height, options)
        batch = rng.uniform(-1, 1, (per_call, *work_shape(height, width, options.work_size), 3))
        calls = math.ceil(frames / per_call)
    else:
        grid = plan_tiles(height, width, tile=options.tile, overlap=options.overlap)
        batch = rng.uniform(-1, 1, (options.batch_size, *grid.tile_shape, 3))
        calls = math.ceil(frames * grid.count / options.batch_size)
    batch = batch.astype(np.float32)
    tile_model(batch)  # warm-up (tracing, allocation)
    return frames / timed(lambda: [tile_model(batch) for _ in range(calls)])


def whole_frame_model_fps(model, frames: int, width: int, height: int,
                          options: EnhanceOptions) -> float:
    """The device path's model cost: the compiled generator on whole frames already on the
    device, one a call and all dispatched before any is fetched, as `DevicePasses` runs
    them (only a mean comes back, so no transfer)."""
    from gan.backend import keras
    from streamer.accelerator import compile_function, padded_length

    margin = options.overlap // 2
    frame = keras.ops.convert_to_tensor(np.random.default_rng(0).uniform(
        -1, 1, (1, padded_length(height, margin), padded_length(width, margin), 3)
    ).astype(np.float32))
    mean = compile_function(lambda x: keras.ops.mean(model(x, training=False)))
    float(mean(frame))  # warm-up (compilation)
    return frames / timed(lambda: [float(m) for m in [mean(frame) for _ in range(frames)]])


def bench_clip(model, clip: Path, options: EnhanceOptions, encoder: EncoderOptions,
               folder: Path, repeat: int = 1) -> dict:
    """The speeds on `clip` (best of `repeat` interleaved rounds, against background load)."""
    decoded = decode(clip)
    frames, (height, width) = len(decoded), decoded[0].shape[:2]
    out = folder / "out.mp4"

    def run(enhancer) -> tuple[float, float]:  # frames a second, CPU seconds a frame
        out.unlink(missing_ok=True)
        wall, cpu = timed_cpu(lambda: enhance_video_file(clip, out, enhancer, options,
                                                         encoder=encoder))
        return frames / wall, cpu / frames

    enhancer = create_enhancer(model, options)
    whole_frames = getattr(enhancer, "on_device", False)  # the quality mode's device path
    warm_up = decoded[:frames_per_call(width, height, options)]  # every shape traced
    enhancer.enhance(warm_up, [i / 30 for i in range(len(warm_up))])
    best = {"passthrough": 0.0, "model-only": 0.0, "enhancer-only": 0.0, "end-to-end": 0.0}
    cpu = {"passthrough": math.inf, "enhancer-only": math.inf}  # CPU seconds a frame, least
    for _ in range(repeat):
        for name, (fps, cpu_per_frame) in (
                ("passthrough", run(PassThrough())),
                ("enhancer-only", enhancer_only_speed(enhancer, decoded, options))):
            best[name], cpu[name] = max(best[name], fps), min(cpu[name], cpu_per_frame)
        best["model-only"] = max(best["model-only"],
                                 model_only_fps(model, frames, width, height, options,
                                                whole_frames))
        best["end-to-end"] = max(best["end-to-end"], run(enhancer)[0])
    slowest = min(best["model-only"], best["passthrough"])
    return {"size": f"{width}x{height}", "whole frames": whole_frames, **best,
            "ratio": best["end-to-end"] / slowest,
            "engine ratio": best["end-to-end"] / min(best["enhancer-only"], best["passthrough"]),
            "vs serial": best["end-to-end"] * (1 / best["enhancer-only"] + 1 / best["passthrough"]),
            # Only where every stage runs on the CPU (not the device path's model).
            "CPU ceiling": None if whole_frames else
            len(os.sched_getaffinity(0)) / sum(cpu.values()) / slowest}


def generated_clip(folder: Path, width: int, height: int, frames: int) -> Path:
    """A smooth dim textured clip at CRF 12, with sound, 30 fps."""
    return write_clip(folder / f"in_{width}x{height}.mp4", dark_frames(frames, width, height),
                      fps=30, audio=sine_chord(frames / 30), options={"crf": "12"})


def decode(clip: Path) -> list[np.ndarray]:
    """The clip's frames as the engine sees them (what end-to-end enhances)."""
    with VideoSource(clip) as source:
        return [frame.pixels for frame in source]


def enhancer_only_speed(enhancer, frames: list[np.ndarray], options: EnhanceOptions
                        ) -> tuple[float, float]:
    """Frames per second of the whole enhancer on the decoded frames, held in memory, and
    the CPU seconds it takes a frame."""
    height, width = frames[0].shape[:2]
    per_call = frames_per_call(width, height, options)
    enhancer.reset()

    def run() -> None:  # as the engine calls it: the halves of consecutive calls overlap
        calls = ((frames[s:s + per_call], [t / 30 for t in range(s, min(s + per_call, len(frames)))])
                 for s in range(0, len(frames), per_call))
        for _ in enhance_calls(enhancer, calls):
            pass

    wall, cpu = timed_cpu(run)
    return len(frames) / wall, cpu / len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="quality", choices=("quality", "realtime"))
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--sizes", default="1280x720", help="comma-separated WIDTHxHEIGHT")
    parser.add_argument("--precision", default="auto", choices=("auto", "float32", "bfloat16"))
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--batch-size", type=int, default=EnhanceOptions.batch_size)
    parser.add_argument("--tile", type=int, default=EnhanceOptions.tile)
    parser.add_argument("--overlap", type=int, default=EnhanceOptions.overlap)
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--work-size", type=int, default=EnhanceOptions().work_size,
                        help="realtime mode: long side of the generator's copy")
    parser.add_argument("--temporal-strength", type=float,
                        default=EnhanceOptions.temporal_strength,
                        help="quality mode: temporal filter (0: off)")
    parser.add_argument("--threads", type=int, default=EnhanceOptions.threads,
                        help="threads for the per-frame work (0: one per core)")
    parser.add_argument("--clip", type=Path, default=None,
                        help="measure on this video instead of generated clips (--sizes and "
                             "--frames are then its own)")
    parser.add_argument("--no-fold", action="store_true",
                        help="keep BatchNormalization layers (as before `fold_batchnorm`)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the best of each is kept")
    parser.add_argument("--on-device", default="auto", choices=tuple(ON_DEVICE),
                        help="quality mode: whole frames in one compiled function where the "
                             "model runs (auto: on a GPU)")
    args = parser.parse_args()
    options = EnhanceOptions(mode=args.mode, tile=args.tile, overlap=args.overlap,
                             work_size=args.work_size, batch_size=args.batch_size,
                             temporal_strength=args.temporal_strength, threads=args.threads,
                             on_device=ON_DEVICE[args.on_device])
    encoder = EncoderOptions(preset=args.preset)
    model = load_generator(args.model, precision=args.precision, fold=not args.no_fold)
    with tempfile.TemporaryDirectory() as folder:
        clips = [args.clip] if args.clip else [
            generated_clip(Path(folder), *parse_size(size), args.frames)
            for size in args.sizes.split(",")]
        results = [bench_clip(model, clip, options, encoder, Path(folder), args.repeat)
                   for clip in clips]
    described = args.clip.name if args.clip else f"{args.frames} frames"
    tiling = ("whole frames on the device" if results[0]["whole frames"]
              else f"tile {args.tile}")
    table = Table(title=f"{args.model.name}, {args.mode} mode, {resolve_precision(args.precision)}, "
                        f"{described}, batch {args.batch_size}, {tiling}, "
                        f"{resolve_threads(args.threads)} thread(s)"
                        f"{', BatchNorm kept' if args.no_fold else ''}")
    headers = {"passthrough": "passthrough fps", "model-only": "model-only fps",
               "enhancer-only": "enhancer-only fps", "end-to-end": "end-to-end fps",
               "ratio": "ratio", "engine ratio": "engine ratio", "vs serial": "vs serial",
               "CPU ceiling": "CPU ceiling"}
    table.add_column("size", justify="right")
    for header in headers.values():
        table.add_column(header, justify="right")
    for result in results:
        table.add_row(result["size"], *("–" if result[key] is None else f"{result[key]:.2f}"
                                        for key in headers))
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
