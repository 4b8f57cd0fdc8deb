"""Enhancing frames with the generator: exposure, tiling, batched inference, stitching.

`FrameEnhancer` is the "quality" mode: every frame is first brought to a normal exposure
with `gan.exposure` (the generator was trained on frames prepared that way), then cut
into overlapping tiles; tiles of several frames go through the model together in full
batches, and are stitched back. For video the exposure gain is smoothed over time (an
exponential moving average of the log-gain, by timestamp), so brightness does not flicker.

Heavy noise is the exception to "full resolution is best": at full resolution the generator
cannot tell strong grain from texture and paints it into worm-like strokes, while on a
half-size copy (where averaging has already halved the noise) it cleans it, but blurs.
So the quality mode measures each frame's noise (`streamer.noise`) and, above a
threshold, also runs the generator on a half-size copy and carries that result up with
a guided filter (`streamer.guided`). For a photo the guide is the full-resolution result:
the clean half-size tones, with the full-resolution result's edges where they are strong
(the faint worms fall under the filter's smoothness and are dropped). For a video it is
the input frame, as compressed noise makes stronger strokes (`half_scale_eps`). It is
cross-faded in as the noise grows. Strong compression blocking, which brightening turns
into blotches, engages the same pass. Last, the colour grain the generator leaves is
smoothed by a chroma-only guided filter. In a video, what noise is left differs from frame
to frame, so each result is then averaged with the ones before it along the motion
(`streamer.temporal`).

Other modes plug in through `create_enhancer`: anything with `enhance(frames, timestamps)`
and `reset()` (the `Enhancer` protocol) can drive the pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, Protocol

import cv2
import numpy as np

from gan.data import from_signed, to_uint8
from gan.exposure import ExposureConfig, apply_gain, compensated_gain, estimate_gain
from streamer.guided import guided_upsample, smooth_chroma
from streamer.noise import NOISE_FLOOR, estimate_blocking, estimate_noise
from streamer.temporal import TemporalFilter
from streamer.threads import resolve_threads, thread_map
from streamer.tiles import TileGrid, check_tiling, plan_tiles, split, stitch

if TYPE_CHECKING:  # Keras loads in seconds: `--help` and the tests of the pure stages skip it
    from gan.backend import keras

Mode = Literal["quality", "realtime"]
MODES: tuple[Mode, ...] = ("quality", "realtime")
TileModel = Callable[[np.ndarray], np.ndarray]
LEVELS = np.arange(256, dtype=np.float32) / 255.0
MOST_PIXELS = 64 * 512 * 512  # the most pixels (of tiles, or of whole frames) one call takes


@dataclass(frozen=True)
class EnhanceOptions:
    """How frames are enhanced.

    Attributes:
        mode: "quality" (tiled full-resolution generator) or "realtime" (generator on a
            small copy, guided upsampling: `streamer.realtime`).
        tile: the longest tile side in pixels (a multiple of 8); each axis gets the fewest
            tiles up to this long that cover it (`streamer.tiles`). Bigger tiles compute
            fewer overlap pixels twice and run faster per pixel, at more memory per batch:
            1024 against 512 made the quality mode 7–14 % faster end to end at 720p and
            1080p on 2 CPU cores, for 0.5 GB more peak memory and the same scores.
        overlap: pixels shared by neighbouring tiles (blended with a raised cosine).
        batch_size: tiles per model call (the engine hands over frames whose full-resolution
            tiles fill whole batches; other callers and the half-size pass may end on a
            short batch).
        exposure: the frame-level exposure target.
        smoothing_s: time constant (seconds) of the EMA of log-gain and noise level for
            video; 0 disables it.
        half_scale_noise: quality mode: the noise σ (`estimate_noise` of the exposure-
            normalised frame) where the half-resolution pass starts to be mixed in, and
            where it has taken over. Chosen on the validation scenes of the training data
            (never on the report set): within 0.05 dB of their best PSNR, leaning to the
            cleaner output. (inf, inf) turns it off.
        half_scale_blocking: quality mode: the same for compression blocking
            (`estimate_blocking`, ~1 when there is none): brightened 30×, a dark clip's
            H.264 blocks turn into blotches that the half-resolution pass smooths away.
        generator_gains: the frame-level exposure gains between which the generator's result
            fades in. Below the first the frame only gets its exposure curve: it was not
            dark, and the generator, trained on frames that all needed 5× or more, turns
            the skies of such frames white. From the second up its result is used alone.
        half_scale_eps: quality mode: the smoothness of the guided filter that carries the
            half-resolution result up, (photos, videos). A photo's is carried along its
            full-resolution result: edges weaker than about the square root of the first
            (in [0, 1] units) are taken from the half-resolution result. Chosen on the
            validation scenes (never on the report set): +0.25 dB and +0.017 SSIM over
            carrying it along the noisy input frame. A video's (frames with timestamps)
            is carried along the input frame, smoother: on H.264-compressed noise the
            full-resolution result's strokes pass the filter, so it scored no better on
            simulated clips (-0.01 to -0.03 dB) and needs the full-resolution pass even
            on the noisiest frames, 5× the half pass's cost.
        chroma_radius, chroma_eps: quality mode: colour noise reduction of the generator's
            result (`streamer.guided.smooth_chroma`), window radius at half size and
            smoothness; radius 0 turns it off. +0.1 dB and +0.011 SSIM on simulated captures
            of the validation scenes (never on the report set).
        temporal_strength, temporal_tolerance: videos and cameras (frames with timestamps):
            motion-compensated averaging of the enhanced frames (`streamer.temporal`; in
            realtime mode of the generator's small result): the history's share where it
            agrees with the new frame, and the difference in levels at which it is
            dropped. Strength 0 turns it off.
        work_size: realtime mode: the long side of the copy the generator sees. 256 keeps 720p
            above 30 fps on 2 CPU cores since BatchNorm is folded (38 fps; 224: 39 fps,
            0.1 dB worse on the report set).
        guide_radius, guide_eps: the guided filter's window (both modes) and smoothness
            (realtime mode).
        guide_eps_noise: realtime mode: on noisy frames the smoothness grows to this × σ²
            (σ: `estimate_noise` of the exposure-normalised frame, smoothed over time), so
            grain in the full-resolution guide is not carried into the result. Chosen on
            the validation scenes (never on the report set): +0.17 dB and +0.012 SSIM.
        threads: threads for the per-frame work around the model (quality mode: tiling,
            stitching, noise measures, the guided filters, optical flow; realtime mode:
            exposure, the small copies, noise measures, guided upsampling), which NumPy
            and OpenCV run outside the GIL; 0: one per CPU core, 1: none.
        on_device: quality mode: whole frames (not tiles), and the work around the model
            and the temporal average in functions compiled where the model runs
            (`streamer.accelerator`); None: when that is a GPU (on a CPU, tiles and
            OpenCV are as fast or faster).
    """

    mode: Mode = "quality"
    tile: int = 1024
    overlap: int = 32
    batch_size: int = 4
    exposure: ExposureConfig = field(default_factory=ExposureConfig)
    smoothing_s: float = 0.5
    half_scale_noise: tuple[float, float] = (0.015, 0.04)
    half_scale_blocking: tuple[float, float] = (1.2, 1.6)
    half_scale_eps: tuple[float, float] = (0.01, 0.03)
    generator_gains: tuple[float, float] = (2.0, 5.0)
    chroma_radius: int = 1
    chroma_eps: float = 1e-3
    temporal_strength: float = 0.9
    temporal_tolerance: float = 30.0
    work_size: int = 256
    guide_radius: int = 1
    guide_eps: float = 1e-3
    guide_eps_noise: float = 4.0
    threads: int = 0
    on_device: bool | None = None

    def __post_init__(self) -> None:
        check_tiling(self.tile, self.overlap)
        if self.batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1. Received: {self.batch_size}")
        if self.threads < 0:
            raise ValueError(f"`threads` must be >= 0. Received: {self.threads}")
        if not 0 <= self.temporal_strength < 1 or self.temporal_tolerance <= 0:
            raise ValueError("`temporal_strength` must be in [0, 1) and `temporal_tolerance` "
                             f"> 0. Received: {self.temporal_strength}, {self.temporal_tolerance}")
        if self.guide_eps_noise < 0:
            raise ValueError(f"`guide_eps_noise` must be >= 0. Received: {self.guide_eps_noise}")
        if self.chroma_radius < 0:
            raise ValueError(f"`chroma_radius` must be >= 0. Received: {self.chroma_radius}")
        if self.smoothing_s < 0:
            raise ValueError(f"`smoothing_s` must be >= 0. Received: {self.smoothing_s}")
        if not 0 < self.generator_gains[0] <= self.generator_gains[1]:
            raise ValueError("`generator_gains` must be (start, full) with 0 < start <= full. "
                             f"Received: {self.generator_gains}")
        for name in ("half_scale_noise", "half_scale_blocking"):
            start, full = getattr(self, name)
            if not 0 <= start <= full:
                raise ValueError(f"`{name}` must be (start, full) with 0 <= start <= full. "
                                 f"Received: {(start, full)}")


class Enhancer(Protocol):
    """What the pipeline needs from an enhancement mode.

    An enhancer may also offer `start(frames, timestamps)` and `finish(started)`, the two
    halves of `enhance` (as `FrameEnhancer` does): the engine then calls those instead,
    overlapping consecutive calls (`streamer.pipeline.enhance_calls`); and
    `set_exposure(stops)`, which a live preview's keys call (both modes do).
    """

    def enhance(self, frames: Sequence[np.ndarray],
                timestamps: Sequence[float | None] | None = None) -> list[np.ndarray]: ...

    def reset(self) -> None: ...


def as_tile_model(model: keras.Model | TileModel) -> TileModel:
    """A function from a (N, h, w, 3) float32 batch in [-1, 1] to the same, for any model."""
    if hasattr(model, "predict_on_batch"):  # a keras.Model, without importing Keras here
        return lambda batch: np.asarray(model.predict_on_batch(batch), dtype=np.float32)
    return model


class LogSmoother:
    """EMA over time of a positive quantity's log (exposure gain, noise level): `tau`
    seconds to move ~63% of the way."""

    def __init__(self, tau: float) -> None:
        self.tau = tau
        self._log: float | None = None
        self._time: float | None = None

    def reset(self) -> None:
        self._log = self._time = None

    def __call__(self, value: float, timestamp: float | None) -> float:
        """The smoothed value for a frame at `timestamp` (None: no history, use `value`)."""
        log = math.log(max(value, 1e-9))
        restart = timestamp is None or self._log is None or self._time is None \
            or timestamp <= self._time or self.tau == 0
        if not restart:
            alpha = 1.0 - math.exp(-(timestamp - self._time) / self.tau)
            log = self._log + alpha * (log - self._log)
        self._log, self._time = log, timestamp
        return math.exp(log)


class ExposureNormaliser:
    """Brings frames to a normal exposure (`gan.exposure`), the gain smoothed over time, and
    says how much of the generator's result each frame gets (`EnhanceOptions.generator_gains`).
    Both modes start here: the generator was trained on frames prepared this way."""

    def __init__(self, options: EnhanceOptions) -> None:
        self.options = options
        self.config = options.exposure  # its compensation may change (`compensate`)
        self._gain = LogSmoother(options.smoothing_s)

    def reset(self) -> None:
        """Forget the gain history."""
        self._gain.reset()

    def compensate(self, stops: float) -> None:
        """Exposure compensation from the next frame on (a live preview's keys)."""
        self.config = replace(self.config, compensation=stops)

    def __call__(self, frames: Sequence[np.ndarray], timestamps: Sequence[float | None],
                 map_: Callable = map) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Each frame's (time-smoothed) exposure curve on the 256 levels (float32 in [0, 1]),
        the frame through it (uint8), and the generator's strength at that gain.

        The gains are measured and the curves applied through `map_` (a thread pool's `map`
        runs them in parallel: 9 ms a 1080p frame here); only the smoothing runs in order.
        """
        for frame in frames:
            check_frame(frame)
        measured = map_(lambda frame: estimate_gain(frame, self.config), frames)
        gains = [self._gain(gain, t) for gain, t in zip(measured, timestamps, strict=True)]
        luts = [apply_gain(LEVELS, compensated_gain(gain, self.config)) for gain in gains]
        normalised = map_(lambda frame, lut: cv2.LUT(frame, np.rint(lut * 255).astype(np.uint8)),
                          frames, luts)
        # From the gain before compensation: how dark the frame was, not how bright it is
        # asked to be, turns the generator up or down.
        start, full = self.options.generator_gains
        strengths = [ramp(math.log(gain), math.log(start), math.log(full)) for gain in gains]
        return list(zip(luts, normalised, strengths, strict=True))


class FrameEnhancer:
    """The "quality" mode: exposure-normalised, tiled, batched inference at full resolution,
    with a half-resolution pass mixed in on noisy frames.

    What depends on the frames before (the smoothed exposure, noise and blocking levels,
    the temporal filter's average) runs in order; the rest of each frame's work runs on up
    to `options.threads` threads, a frame each, and the temporal average in bands of rows.
    Where the model runs on a GPU, the work from the exposure curve to the temporal
    average runs there instead, on whole frames (`streamer.accelerator`). Each call comes
    in two halves, `start` and `finish`, which the engine overlaps from one call to the
    next (`streamer.pipeline.enhance_calls`): on a GPU, the device then works while the
    CPU does.

    Args:
        model: a generator (`keras.Model`) or any function mapping a float32 tile batch
            (N, h, w, 3) in [-1, 1] to the same shape and range.
        options: tiling, batching and exposure settings.
    """

    def __init__(self, model: keras.Model | TileModel, options: EnhanceOptions = EnhanceOptions()):
        self.options = options
        self._model = as_tile_model(model)
        self._exposure = ExposureNormaliser(options)
        self._noise_smoother = LogSmoother(options.smoothing_s)
        self._blocking_smoother = LogSmoother(options.smoothing_s)
        self._threads = resolve_threads(options.threads)
        is_keras = hasattr(model, "predict_on_batch")  # as in `as_tile_model`
        on_device = options.on_device if options.on_device is not None else is_keras and _on_gpu()
        temporal, self._device = TemporalFilter, None
        if on_device:
            from streamer.accelerator import DevicePasses, DeviceTemporalFilter

            if not is_keras:
                raise ValueError("`on_device` needs a keras.Model")
            temporal, self._device = DeviceTemporalFilter, DevicePasses(model, options)
            # The CPU work left is a frame a thread, so OpenCV's own threads only compete
            # with those and the encoder's: 1080p end to end on an H100 with 16 cores went
            # from 44 to 50 fps (clean) and 36 to 39 fps (noisy), three rounds each. (Process-
            # wide: on such a machine every quality-mode enhancer takes this path.)
            cv2.setNumThreads(1)
        self._temporal = temporal(options.temporal_strength, options.temporal_tolerance)

    @property
    def on_device(self) -> bool:
        """Whether frames that fit run whole on the model's device (`streamer.accelerator`)."""
        return self._device is not None

    def reset(self) -> None:
        """Forget the exposure, noise, blocking and frame history (between unrelated videos)."""
        for history in (self._exposure, self._noise_smoother, self._blocking_smoother,
                        self._temporal):
            history.reset()

    def set_exposure(self, stops: float) -> None:
        """Exposure compensation (`ExposureConfig.compensation`) from the next frame on."""
        self._exposure.compensate(stops)

    def enhance(self, frames: Sequence[np.ndarray],
                timestamps: Sequence[float | None] | None = None) -> list[np.ndarray]:
        """Enhance uint8 RGB frames, returned in order as uint8 RGB of the same sizes.

        Args:
            frames: (H, W, 3) uint8 arrays; sizes may differ.
            timestamps: seconds, one per frame, for smoothing exposure over a video and
                averaging its frames along the motion; None treats each frame as an
                independent image.
        """
        return self.finish(self.start(frames, timestamps))

    def start(self, frames: Sequence[np.ndarray],
              timestamps: Sequence[float | None] | None = None) -> StartedCall:
        """The first half of `enhance`: exposure, noise measures and the generator's passes
        (on a GPU only dispatched: they run while the caller goes on). `finish` completes
        it; calls must be finished in the order they were started, and a call may be
        finished on another thread while the next one starts (`streamer.pipeline.enhance_calls`)."""
        timestamps = check_timestamps(frames, timestamps)
        with thread_map(self._threads) as map_:
            exposed = self._exposure(frames, timestamps, map_)
            measures = map_(_measure, exposed)
            work = [self._plan(frame, *exposure, measure, t) for frame, exposure, measure, t
                    in zip(frames, exposed, measures, timestamps, strict=True)]
            results = self._passes(work, map_)
            # Photos (no timestamp) and bright frames (strength 0: their exposure curve alone,
            # as in realtime mode) pass as they are and end the history.
            steady = [t if w.strength > 0 else None for w, t in zip(work, timestamps, strict=True)]
            grays = self._temporal.grays(results, map_) \
                if self.options.temporal_strength > 0 else None
        return StartedCall(results, steady, grays)

    def finish(self, call: StartedCall) -> list[np.ndarray]:
        """The enhanced frames of a `start`ed call: the temporal average, and on a GPU the
        results fetched."""
        if call.grays is None:
            if self._device is None:
                return call.results
            from streamer.accelerator import to_host

            return to_host(call.results)
        with thread_map(self._threads) as map_:
            return self._temporal.filter(call.results, call.steady, map_,
                                         bands=self._threads, grays=call.grays)

    def _passes(self, work: list[FrameWork], map_: Callable) -> list:
        """Each frame's enhanced result before the temporal filter: on the device when the
        model runs on a GPU (`streamer.accelerator`), else tiled, with the work around the
        model on the threads of `map_` (on the device, the results are left there)."""
        results: list = [None] * len(work)
        if self._device is not None:
            from streamer.accelerator import fits

            chosen = [i for i, w in enumerate(work) if fits(w.frame, self.options)]
            for i, result in zip(chosen, self._device([work[i] for i in chosen]), strict=True):
                results[i] = result
        tiled = [w for w, result in zip(work, results, strict=True) if result is None]
        tiles = [t for frame_tiles in map_(FrameWork.tiles, tiled) for t in frame_tiles]
        outputs = iter(run_grouped(self._model, tiles, self.options.batch_size))
        passes = [[next(outputs) for _ in w.grids] for w in tiled]
        finished = iter(map_(lambda w, out: w.finish(out, self.options), tiled, passes))
        return [next(finished) if result is None else result for result in results]

    def _plan(self, frame: np.ndarray, lut: np.ndarray, normalised: np.ndarray, strength: float,
              measure: tuple[float, float] | None, timestamp: float | None) -> FrameWork:
        """The passes this frame needs, from its exposure and (time-smoothed) noise and
        blocking levels."""
        o = self.options
        if measure is None:  # not a dark frame: its exposure curve is all it gets
            return FrameWork(frame, lut, normalised, strength, half_weight=0.0, photo=True,
                              options=o)
        noise = self._noise_smoother(measure[0], timestamp)
        blocking = self._blocking_smoother(measure[1], timestamp)
        half = max(ramp(noise, *o.half_scale_noise), ramp(blocking, *o.half_scale_blocking))
        half = 0.0 if half < 0.05 else 1.0 if half > 0.95 else half  # a 5 % share: not a pass
        return FrameWork(frame, lut, normalised, strength, half_weight=half,
                          photo=timestamp is None, options=o)


@dataclass(frozen=True)
class StartedCall:
    """A `FrameEnhancer` call between `start` and `finish`."""

    results: list  # each frame's result before the temporal filter (on a GPU, still there)
    steady: list[float | None]  # the timestamps, None where a frame ends the temporal history
    grays: list | None  # the results' grey copies for the optical flow; None: no filter


def _measure(exposure: tuple[np.ndarray, np.ndarray, float]) -> tuple[float, float] | None:
    """A dark frame's noise and blocking levels (`streamer.noise`) after exposure; None for
    a frame that is not dark."""
    _, normalised, strength = exposure
    if strength == 0:
        return None
    return max(estimate_noise(normalised), NOISE_FLOOR), estimate_blocking(normalised)


class FrameWork:
    """One frame's passes through the generator: full resolution, plus half resolution on
    noisy or blocky frames (alone on a video's noisiest), or none (a frame that is not
    dark)."""

    def __init__(self, frame: np.ndarray, lut: np.ndarray, normalised: np.ndarray,
                 strength: float, half_weight: float, photo: bool, options: EnhanceOptions
                 ) -> None:
        self.frame, self.lut = frame, lut  # uint8 RGB; exposure curve on the 256 levels
        self.normalised = normalised  # uint8, exposure-normalised
        self.strength = strength  # the generator's share of the result; the rest is `normalised`
        self.half_weight = half_weight  # the carried-up half-resolution result's share
        self.photo = photo  # the half-resolution result is carried along the full one
        h, w = frame.shape[:2]
        self.small_size = (max(1, w // 2), max(1, h // 2))
        tiling = {"tile": options.tile, "overlap": options.overlap}
        dark = strength > 0
        # A photo's full-resolution result is also its half-resolution result's guide.
        self.full_grid = plan_tiles(h, w, **tiling) if dark and (half_weight < 1 or photo) \
            else None
        self.small_grid = plan_tiles(*self.small_size[::-1], **tiling) \
            if dark and half_weight > 0 else None
        self.small: np.ndarray | None = None  # uint8, the half pass's input, once `tiles()` made it

    @property
    def grids(self) -> list[TileGrid]:
        """The grids of the passes this frame takes, in `tiles()` order."""
        return [g for g in (self.full_grid, self.small_grid) if g is not None]

    def tiles(self) -> list[np.ndarray]:
        """The tiles of each pass, one array per pass (and `small`, which `finish` needs)."""
        tiles = []
        if self.full_grid is not None:
            tiles.append(signed_tiles(self.frame, self.full_grid, self.lut))
        if self.small_grid is not None:
            self.small = cv2.resize(self.normalised, self.small_size, interpolation=cv2.INTER_AREA)
            tiles.append(signed_tiles(self.small, self.small_grid, LEVELS))
        return tiles

    def finish(self, outputs: list[np.ndarray], options: EnhanceOptions) -> np.ndarray:
        """The enhanced uint8 frame from the model's outputs for `tiles()`."""
        if not self.grids:  # not a dark frame
            return self.normalised
        result = None if self.full_grid is None else to_uint8(stitch(outputs[0], self.full_grid))
        if self.small_grid is not None:
            small_out = from_signed(stitch(outputs[-1], self.small_grid))
            if self.photo:  # along the full-resolution result
                guide, eps = result, options.half_scale_eps[0]
                small = cv2.resize(result, self.small_size, interpolation=cv2.INTER_AREA)
            else:  # along the input, as the generator saw it
                guide, small, eps = self.normalised, self.small, options.half_scale_eps[1]
            half = guided_upsample(guide, small, small_out, radius=options.guide_radius, eps=eps)
            result = half if result is None else cv2.addWeighted(
                result, 1.0 - self.half_weight, half, self.half_weight, 0.0)
        if options.chroma_radius > 0:
            result = smooth_chroma(result, radius=options.chroma_radius, eps=options.chroma_eps)
        return with_strength(result, self.normalised, self.strength)


def signed_tiles(image: np.ndarray, grid: TileGrid, curve: np.ndarray) -> np.ndarray:
    """The generator's input: the tiles of a uint8 `image` through `curve` (float32 in
    [0, 1] on the 256 levels), float32 in [-1, 1]. Cut as uint8 and then put through the
    curve, which is per pixel: a quarter of the bytes to copy."""
    tiles = split(image, grid)
    signed = cv2.LUT(tiles.reshape(-1, *tiles.shape[2:]), curve * 2.0 - 1.0)  # 15× numpy's
    return signed.reshape(tiles.shape)


def run_in_batches(model: TileModel, tiles: np.ndarray, batch_size: int) -> np.ndarray:
    """`model` over (N, h, w, 3) tiles, `batch_size` at a time (the last call may be short).

    Not padded: a video's calls repeat the same few shapes, so a compiled model traces
    each once, where padding would compute zero tiles on every call.
    """
    result = np.empty_like(tiles)
    for start in range(0, len(tiles), batch_size):
        batch = tiles[start:start + batch_size]
        out = model(batch)
        if out.shape != batch.shape:
            raise ValueError(f"model returned {out.shape[1:]} for tiles of {batch.shape[1:]}")
        result[start:start + len(batch)] = out
    return result


def run_grouped(model: TileModel, groups: list[np.ndarray], batch_size: int | None
                ) -> list[np.ndarray]:
    """`model`'s outputs for each (N, h, w, 3) array of `groups`, in order. Arrays with one
    tile shape (a video's frames, a frame's full-resolution tiles) share batches of
    `batch_size`; None: one call per shape."""
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, group in enumerate(groups):
        by_shape.setdefault(group.shape[1:], []).append(i)
    results: list[np.ndarray] = [np.empty(0)] * len(groups)
    for members in by_shape.values():
        tiles = np.concatenate([groups[i] for i in members])
        outputs = run_in_batches(model, tiles, batch_size or max(1, len(tiles)))
        ends = np.cumsum([len(groups[i]) for i in members])
        for i, part in zip(members, np.split(outputs, ends[:-1]), strict=True):
            results[i] = part
    return results


def _on_gpu() -> bool:
    """Whether Keras runs models on a GPU here."""
    from gan.backend import compute_device

    return compute_device() != "CPU"


def ramp(value: float, start: float, full: float) -> float:
    """0 below `start`, rising linearly to 1 at `full` (a step where they are equal)."""
    if full <= start:
        return float(value >= full)
    return min(1.0, max(0.0, (value - start) / (full - start)))


def with_strength(enhanced: np.ndarray | None, normalised: np.ndarray, strength: float
                  ) -> np.ndarray:
    """`strength` of the generator's result over the exposure-normalised frame."""
    if enhanced is None or strength <= 0:
        return normalised
    if strength >= 1:
        return enhanced
    return cv2.addWeighted(enhanced, strength, normalised, 1.0 - strength, 0.0)


def check_frame(frame: np.ndarray) -> None:
    """`ValueError` unless `frame` is uint8 RGB (H, W, 3)."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frames must be uint8 RGB (H, W, 3). Received: {frame.dtype} {frame.shape}")


def check_timestamps(frames: Sequence[np.ndarray], timestamps: Sequence[float | None] | None
                     ) -> Sequence[float | None]:
    """One timestamp per frame (all None when not given), or `ValueError`."""
    if timestamps is None:
        return [None] * len(frames)
    if len(timestamps) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(timestamps)} timestamps")
    return timestamps


def create_enhancer(model: keras.Model | TileModel, options: EnhanceOptions = EnhanceOptions()
                    ) -> Enhancer:
    """The enhancer for `options.mode` (the one place a new mode is registered)."""
    if options.mode == "quality":
        return FrameEnhancer(model, options)
    if options.mode == "realtime":
        from streamer.realtime import RealtimeEnhancer

        return RealtimeEnhancer(model, options)
    raise ValueError(f"unknown enhancement mode {options.mode!r}: use 'quality' or 'realtime'")
