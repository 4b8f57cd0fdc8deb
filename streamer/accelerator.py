"""The quality mode's pixel work on a GPU: whole frames through compiled functions.

On a CPU the quality mode cuts frames into tiles (cache-sized work, bounded memory) and
does the work around the model in OpenCV on threads. On a GPU that work, not the model,
is what limits the frame rate: copying float32 tiles to the device and back, stitching
and the colour steps on the CPU. Here instead, uint8 frames and their exposure curves go
to the device, and everything happens there in compiled functions: the exposure curve,
the generator on the whole (padded) frame, the half-size pass and its guided upsampling,
the chroma step and the generator's strength (`DevicePasses`), then the temporal average
along the motion, whose history stays there (`DeviceTemporalFilter`; the optical flow is
still OpenCV's, on the CPU). uint8 frames come back: a quarter of the float32 traffic,
and no tiles or seams at all.

Each step is the OpenCV one of `streamer.inference.FrameWork` and `streamer.guided`,
written in `keras.ops`, so it runs on JAX (the GPU machine) and on TensorFlow (tests here
compare it with the OpenCV path). They agree within rounding, except where tiles are
blended (here the frame is whole) and on frames with an odd side (`DevicePasses`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from gan.backend import keras
from gan.data import SIZE_MULTIPLE
from streamer.inference import MOST_PIXELS, EnhanceOptions, FrameWork
from streamer.temporal import TemporalFilter

if TYPE_CHECKING:
    from keras import KerasTensor as Tensor

ops = keras.ops
_LUMA = (0.299, 0.587, 0.114)  # OpenCV's RGB → YCrCb (BT.601)
_CHROMA_SCALE = (0.713, 0.564)  # Cr = (R - Y)·0.713 + 128, Cb = (B - Y)·0.564 + 128
_FROM_CHROMA = (1.403, -0.714, -0.344, 1.773)  # YCrCb → RGB
# OpenCV's RGB → grey weights for uint8 and their shift: 5.x weighs in 1/2¹⁵, 4.x in 1/2¹⁴.
_GRAY_WEIGHTS, _GRAY_SHIFT = ((9798, 19235, 3735), 15) if int(cv2.__version__.split(".")[0]) >= 5 \
    else ((4899, 9617, 1868), 14)


def fits(frame: np.ndarray, options: EnhanceOptions) -> bool:
    """Whether a frame takes the device path, else the tiled one:

    - at most `MOST_PIXELS` (a larger photo: memory stays bounded);
    - wide enough that the half-size copy can be mirrored by the tiles' margin and the
      guided filters' windows (a mirror cannot be wider than the image).
    """
    height, width = frame.shape[:2]
    shortest = min(height, width)
    return height * width <= MOST_PIXELS \
        and shortest >= 2 * (options.overlap // 2 + SIZE_MULTIPLE) \
        and shortest // 2 >= max(options.guide_radius, options.chroma_radius)


def to_host(frames: Sequence[Tensor | np.ndarray]) -> list[np.ndarray]:
    """Frames left on the device, fetched as NumPy arrays in order (NumPy ones as they are)."""
    return [f if isinstance(f, np.ndarray) else ops.convert_to_numpy(f) for f in frames]


def compile_function(function: Callable) -> Callable:
    """`function` compiled by the Keras backend (XLA on JAX, a graph on TensorFlow)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(function)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function)  # traced per shape: the functions need static sizes
    return function


class DevicePasses:
    """`FrameWork`s → their enhanced uint8 frames (before the temporal filter), computed
    where the model runs.

    One call a frame, of a function compiled once per (size, passes): a video needs one
    to three, however the engine groups its frames (batches of several frames compiled
    once per batch length too: nine on 100 frames of the dashcam clip, each costing
    seconds of XLA compilation on a GPU, where one 1080p frame a call already fills it).
    Nothing is fetched: on JAX the calls return at once, the device works through them
    while the CPU goes on, and the results stay there for the temporal average. A folder
    of photos compiles one per size, so only the `KEPT` most recent functions are kept.
    """

    KEPT = 16

    def __init__(self, model: keras.Model, options: EnhanceOptions) -> None:
        self.model, self.options = model, options
        self._compiled: dict[tuple, Callable] = {}

    def __call__(self, work: Sequence[FrameWork]) -> list[Tensor | np.ndarray]:
        """Each frame's result, dispatched and left on the device (`to_host` fetches them);
        the exposure-normalised frame for frames that are not dark.

        An odd side gets its last row or column repeated, so that 2×2 means halve it
        exactly, and loses it again after. (OpenCV's area resize to half an odd side, on
        the tiled path, weighs windows of just over 2 pixels: the results differ, by up to
        ~1.4 levels on average on noisy frames, but score the same: 23.21 / 0.751 against
        23.19 / 0.752 tiled on the odd-cropped tuning captures of the validation scenes.)
        """
        results: list[Tensor | np.ndarray] = [w.normalised for w in work]
        for i, w in enumerate(work):
            if w.grids:
                height, width = w.frame.shape[:2]
                frame = w.frame if height % 2 == width % 2 == 0 else \
                    np.pad(w.frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
                results[i] = self._function(frame.shape, w)(
                    frame[None], w.lut[None].astype(np.float32), np.float32([w.strength]),
                    np.float32([w.half_weight]))[0, :height, :width]
        return results

    def _function(self, shape: tuple[int, ...], work: FrameWork) -> Callable:
        """The compiled function for frames of `shape` taking `work`'s passes."""
        key = (shape, work.full_grid is not None, work.small_grid is not None, work.photo)
        if key not in self._compiled:
            _, full, half, photo = key

            def passes(frames, luts, strengths, half_weights):
                return frame_passes(self.model, frames, luts, strengths, half_weights,
                                    full=full, half=half, photo=photo, options=self.options)

            if len(self._compiled) >= self.KEPT:  # the oldest goes (dicts keep insertion order)
                del self._compiled[next(iter(self._compiled))]
            self._compiled[key] = compile_function(passes)
        return self._compiled[key]


def frame_passes(model: keras.Model, frames: Tensor, luts: Tensor, strengths: Tensor,
                 half_weights: Tensor, *, full: bool, half: bool, photo: bool,
                 options: EnhanceOptions) -> Tensor:
    """`FrameWork.tiles` → model → `FrameWork.finish` for a batch of same-sized frames
    (`DevicePasses` sends one at a time).

    Args:
        frames: (B, H, W, 3) uint8 RGB.
        luts: (B, 256) float32 exposure curves in [0, 1].
        strengths, half_weights: (B,) the generator's share and the half pass's share.
        full, half: which passes the frames take; photo: the half-size result is carried
            along the full-resolution one (else along the input).
    Returns:
        (B, H, W, 3) uint8.
    """
    index = ops.cast(frames, "int32") + 256 * ops.reshape(
        ops.arange(ops.shape(frames)[0], dtype="int32"), (-1, 1, 1, 1))
    exposed = ops.take(ops.reshape(luts, (-1,)), index)  # float, [0, 1]
    normalised = ops.round(exposed * 255.0)  # levels, as OpenCV's uint8 LUT gives them
    result = None
    if full:
        result = _levels((_generate(model, exposed * 2.0 - 1.0, options.overlap // 2) + 1.0) * 127.5)
    if half:
        small_input = _half_size(normalised)
        small_out = ops.clip((_generate(model, small_input / 127.5 - 1.0, options.overlap // 2)
                              + 1.0) * 0.5, 0.0, 1.0)
        if photo:
            guide, eps = result, options.half_scale_eps[0]
            small_guide = _half_size(result)
        else:
            guide, small_guide, eps = normalised, small_input, options.half_scale_eps[1]
        upsampled = _guided_upsample(guide, small_guide / 255.0, small_out,
                                     radius=options.guide_radius, eps=eps)
        weights = ops.reshape(half_weights, (-1, 1, 1, 1))
        result = upsampled if result is None else _levels(result * (1.0 - weights) + upsampled * weights)
    if options.chroma_radius > 0:
        result = _smooth_chroma(result, radius=options.chroma_radius, eps=options.chroma_eps)
    strengths = ops.reshape(strengths, (-1, 1, 1, 1))
    return ops.cast(_levels(result * strengths + normalised * (1.0 - strengths)), "uint8")


def _generate(model: keras.Model, signed: Tensor, margin: int) -> Tensor:
    """The model on whole frames in [-1, 1], padded as `streamer.tiles` pads a frame that
    fits one tile: mirrored by `margin`, then to a multiple of `SIZE_MULTIPLE`."""
    height, width = signed.shape[1], signed.shape[2]
    padded_h, padded_w = padded_length(height, margin), padded_length(width, margin)
    padding = ((0, 0), (margin, padded_h - height - margin), (margin, padded_w - width - margin),
               (0, 0))
    output = ops.cast(model(ops.pad(signed, padding, mode="symmetric"), training=False), "float32")
    return output[:, margin:margin + height, margin:margin + width]


def padded_length(length: int, margin: int) -> int:
    """A side of `length` mirrored by `margin` at both ends, rounded up to `SIZE_MULTIPLE`."""
    return -(-(length + 2 * margin) // SIZE_MULTIPLE) * SIZE_MULTIPLE


def _levels(values: Tensor) -> Tensor:
    """Rounded and saturated to [0, 255], as OpenCV stores a uint8 result."""
    return ops.clip(ops.round(values), 0.0, 255.0)


def _half_size(levels: Tensor) -> Tensor:
    """2×2 means of levels, halves rounded up as OpenCV's area resize to half size rounds
    them (for even sizes; `ops.round` would round them to even: 1/8 of the pixels a level
    lower)."""
    return ops.floor(ops.average_pool(levels, 2, strides=2, padding="valid") + 0.5)


def _box(image: Tensor, radius: int) -> Tensor:
    """Mean over a (2r+1)² window, edges reflected (`streamer.guided.box`)."""
    r = radius
    padded = ops.pad(image, ((0, 0), (r, r), (r, r), (0, 0)), mode="symmetric")
    return ops.average_pool(padded, 2 * r + 1, strides=1, padding="valid")


def _coefficients(guide: Tensor, target: Tensor, radius: int, eps: float) -> tuple[Tensor, Tensor]:
    """`streamer.guided.guided_coefficients`."""
    mean_g, mean_t = _box(guide, radius), _box(target, radius)
    a = (_box(guide * target, radius) - mean_g * mean_t) / (
        _box(guide * guide, radius) - mean_g * mean_g + eps)
    return _box(a, radius), _box(mean_t - a * mean_g, radius)


def _apply_upsampled(image: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """`streamer.guided._apply_upsampled`: levels of `a·image + 255·b`, `a` and `b`
    upsampled bilinearly to `image`'s size."""
    size = (image.shape[1], image.shape[2])
    a = ops.image.resize(a, size, interpolation="bilinear", antialias=False)
    b = ops.image.resize(b, size, interpolation="bilinear", antialias=False)
    return _levels(image * a + 255.0 * b)


def _guided_upsample(guide: Tensor, small_guide: Tensor, small_out: Tensor, *, radius: int,
                     eps: float) -> Tensor:
    """`streamer.guided.guided_upsample`: `small_out` ([0, 1]) carried up along `guide`
    (levels), fitted against `small_guide` ([0, 1])."""
    a, b = _coefficients(small_guide, small_out, radius, eps)
    return _apply_upsampled(guide, a, b)


def _smooth_chroma(rgb: Tensor, *, radius: int, eps: float) -> Tensor:
    """`streamer.guided.smooth_chroma` on levels: chroma guided-filtered by luma at half size."""
    red, green, blue = (rgb[..., c:c + 1] for c in range(3))
    luma = _levels(_LUMA[0] * red + _LUMA[1] * green + _LUMA[2] * blue)
    chroma = _levels(ops.concatenate([(red - luma) * _CHROMA_SCALE[0],
                                      (blue - luma) * _CHROMA_SCALE[1]], axis=-1) + 128.0)
    small = _half_size(ops.concatenate([luma, chroma], axis=-1)) / 255.0
    small_luma = ops.concatenate([small[..., :1]] * 2, axis=-1)
    a, b = _coefficients(small_luma, small[..., 1:], radius, eps)
    cr, cb = ops.split(_apply_upsampled(ops.concatenate([luma] * 2, axis=-1), a, b) - 128.0, 2,
                       axis=-1)
    to_red, cr_green, cb_green, to_blue = _FROM_CHROMA
    return _levels(ops.concatenate([luma + to_red * cr, luma + cr_green * cr + cb_green * cb,
                                    luma + to_blue * cb], axis=-1))


class DeviceTemporalFilter(TemporalFilter):
    """`TemporalFilter` with the averaging on the device and the history kept there.

    The optical flow is still OpenCV's DIS on the CPU threads, at `flow_size`: it goes to
    the device at that size and is scaled up there. The average is the same arithmetic
    (`TemporalFilter._average_rows`) on the whole frame, where on a CPU it takes ~35 ms
    a 1080p frame even in bands, and would cap the GPU path near 18 fps.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        size = round(8 * self.blur + 1) | 1  # what GaussianBlur picks for a float image
        self._kernel = cv2.getGaussianKernel(size, self.blur, cv2.CV_32F)[:, 0]
        self._mix = compile_function(self._mix_frame)
        self._start = compile_function(lambda frame: ops.cast(frame, "float32"))
        self._round = compile_function(lambda result: ops.cast(_levels(result), "uint8"))
        self._luma = compile_function(_gray)

    def grays(self, frames: Sequence[Tensor | np.ndarray], map_: Callable = map) -> list[Tensor]:
        """Dispatched on the device, where the frames are; `filter` fetches them (a third
        of the frames' bytes)."""
        return [self._luma(frame) for frame in frames]

    def filter(self, frames: Sequence[Tensor | np.ndarray], timestamps: Sequence[float | None],
               map_: Callable = map, bands: int = 1, grays: Sequence | None = None
               ) -> list[np.ndarray]:
        """`TemporalFilter.filter` of frames on the device (or not): every average is
        dispatched before the first result is fetched."""
        grays = to_host(self.grays(frames) if grays is None else grays)
        return to_host(super().filter(frames, timestamps, map_, bands, grays))

    def _motion(self, pair: tuple[np.ndarray, np.ndarray] | None, shape: tuple[int, int]
                ) -> np.ndarray | None:
        return self._small_motion(pair)  # scaled up on the device, in `_mix_frame`

    def _average(self, frame: np.ndarray, flow: np.ndarray | None, map_: Callable,
                 bands: int) -> Tensor:
        if flow is None:
            return self._start(frame)
        return self._mix(frame, self._result, flow)

    def _as_frame(self, result: Tensor) -> Tensor:
        return self._round(result)  # fetched by `filter`, once all are dispatched

    def _mix_frame(self, frame: Tensor, previous: Tensor, small_flow: Tensor) -> Tensor:
        """`TemporalFilter._average_rows` for a whole frame: uint8 `frame`, the previous
        float32 result, the flow at `flow_size` → the float32 result."""
        height, width = frame.shape[0], frame.shape[1]
        scale = ops.convert_to_tensor([width / small_flow.shape[1], height / small_flow.shape[0]])
        flow = ops.image.resize(small_flow[None], (height, width), interpolation="bilinear",
                                antialias=False)[0] * scale
        x = flow[..., 0] + ops.arange(width, dtype="float32")
        y = flow[..., 1] + ops.arange(height, dtype="float32")[:, None]
        history = _sample_bilinear(previous, x, y)
        inside = ops.cast((x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1), "float32")
        current = ops.cast(frame, "float32")
        disagreement = _gaussian_blur(ops.mean(ops.abs(history - current), axis=-1), self._kernel)
        share = ops.clip(1.0 - disagreement / self.tolerance, 0.0, 1.0) * inside * self.strength
        return current + (history - current) * share[..., None]


def _gray(frame: Tensor) -> Tensor:
    """OpenCV's uint8 RGB → grey (`cv2.cvtColor`), exactly: its integer weights, rounded."""
    rgb = ops.cast(frame, "int32")
    weighted = rgb[..., 0] * _GRAY_WEIGHTS[0] + rgb[..., 1] * _GRAY_WEIGHTS[1] \
        + rgb[..., 2] * _GRAY_WEIGHTS[2]
    return ops.cast((weighted + (1 << (_GRAY_SHIFT - 1))) // (1 << _GRAY_SHIFT), "uint8")


def _sample_bilinear(image: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """`image` (H, W, C) at the (H', W') positions `x`, `y`, bilinearly, positions outside
    clamped to the border (OpenCV's remap with BORDER_REPLICATE)."""
    height, width = image.shape[0], image.shape[1]
    x0, y0 = ops.floor(x), ops.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    flat = ops.reshape(image, (height * width, image.shape[2]))

    def at(xs: Tensor, ys: Tensor) -> Tensor:
        xs = ops.cast(ops.clip(xs, 0, width - 1), "int32")
        ys = ops.cast(ops.clip(ys, 0, height - 1), "int32")
        return ops.take(flat, ys * width + xs, axis=0)

    top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx
    bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx
    return top * (1.0 - fy) + bottom * fy


def _gaussian_blur(plane: Tensor, kernel: np.ndarray) -> Tensor:
    """OpenCV's GaussianBlur of an (H, W) plane with a 1-D `kernel`, borders reflected
    without repeating the edge (BORDER_REFLECT_101), as two 1-D convolutions."""
    r = len(kernel) // 2
    padded = ops.pad(plane, ((r, r), (r, r)), mode="reflect")[None, ..., None]
    rows = ops.conv(padded, ops.convert_to_tensor(kernel.reshape(-1, 1, 1, 1)), padding="valid")
    return ops.conv(rows, ops.convert_to_tensor(kernel.reshape(1, -1, 1, 1)), padding="valid")[0, ..., 0]
