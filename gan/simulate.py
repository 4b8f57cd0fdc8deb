"""Low-light simulator: what a cheap camera records of a normal-light scene in the dark.

The pipeline runs in the camera's linear domain, following Brooks et al., "Unprocessing
Images for Learned Raw Denoising" (CVPR 2019) and the shared data's README:

    sRGB uint8 → linear → (motion blur) → exposure cut → white-balance cast → RGGB mosaic
    → shot + read noise (variance = shot·x + read) → edge-aware demosaic → sRGB → 8 bits
    → (in-camera noise reduction) → (H.264 round trip at a random CRF)

Negative noise is clipped at the black level before demosaicing, as dcraw does (this
matches the shared data's statistics). `simulate_lowlight` draws the parameters and runs
it all; `draw_params`, `render` and `noisy_mosaic` are the stages, for tests and for
reproducing a pair from its recorded parameters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import cache

import cv2
import numpy as np

from gan.exposure import linear_to_srgb, srgb_to_linear

# OpenCV names Bayer patterns by the second row: an RGGB sensor (R at (0, 0)) is "BayerBG".
_DEMOSAIC_RGGB = cv2.COLOR_BayerBG2RGB_EA


@dataclass(frozen=True)
class SimulatorConfig:
    """Ranges every simulator knob is drawn from (one draw per call).

    Attributes:
        exposure: linear gain range (log-uniform) that darkens the scene.
        wb_cast: per-channel white-balance gains are uniform in 1 ± wb_cast, then scaled
            to mean 1 (a colour cast that keeps overall brightness).
        shot: shot-noise variance factor range (log-uniform), linear units.
        read_slope, read_intercept, read_sigma: log(read) = slope·log(shot) + intercept
            + N(0, read_sigma²), Brooks et al.'s fit of real sensors.
        motion_blur_prob: chance of a linear motion blur (in linear light, before noise).
        motion_blur_length: blur length range in pixels (uniform integer, inclusive).
        denoise_prob: chance of a camera's noise reduction: a Gaussian blur of the chroma
            (and of luma at half the sigma), which turns colour grain into blotches.
        denoise_sigma: its sigma range in pixels (uniform).
        codec_prob: chance of an H.264 encode/decode round trip of the final 8-bit frame.
        codec_crf: CRF range (uniform integer, inclusive); higher is blockier. Above ~26
            the dark frames lose nearly all detail, which is past plausible.
    """

    exposure: tuple[float, float] = (0.02, 0.2)
    wb_cast: float = 0.2
    shot: tuple[float, float] = (1e-4, 1.2e-2)
    read_slope: float = 2.18
    read_intercept: float = 1.20
    read_sigma: float = 0.26
    motion_blur_prob: float = 0.0
    motion_blur_length: tuple[int, int] = (3, 9)
    denoise_prob: float = 0.0
    denoise_sigma: tuple[float, float] = (0.5, 2.0)
    codec_prob: float = 0.0
    codec_crf: tuple[int, int] = (16, 26)

    def __post_init__(self) -> None:
        _check_range("exposure", self.exposure, 0.0, 1.0)
        _check_range("shot", self.shot, 0.0, 1.0)
        if min(self.exposure[0], self.shot[0]) <= 0:
            raise ValueError("`exposure` and `shot` are log-uniform: their ranges must be > 0. "
                             f"Received: {self.exposure}, {self.shot}")
        _check_range("motion_blur_length", self.motion_blur_length, 1, 99)
        _check_range("denoise_sigma", self.denoise_sigma, 0.0, 10.0)
        _check_range("codec_crf", self.codec_crf, 0, 51)
        if not 0.0 <= self.wb_cast < 1.0:
            raise ValueError(f"`wb_cast` must be in [0, 1). Received: {self.wb_cast}")
        for name in ("motion_blur_prob", "denoise_prob", "codec_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"`{name}` must be in [0, 1]. Received: {getattr(self, name)}")

    @classmethod
    def default(cls) -> SimulatorConfig:
        """The shared `sim-lowlight` data's ranges (exposure ×0.02–0.2, ±20 % cast)."""
        return cls()

    @classmethod
    def wide(cls) -> SimulatorConfig:
        """Wider darkness, noise and casts; motion blur, in-camera denoising, H.264."""
        return cls(
            exposure=(0.01, 0.3),
            wb_cast=0.3,
            shot=(5e-5, 1.6e-2),
            read_sigma=0.35,
            motion_blur_prob=0.15,
            denoise_prob=0.4,
            codec_prob=0.3,
        )


PRESETS = {"default": SimulatorConfig.default, "wide": SimulatorConfig.wide}


@dataclass(frozen=True)
class LowLightParams:
    """One draw of the simulator's parameters (all JSON-serialisable).

    `blur_length` 0 means no motion blur, `denoise_sigma` 0 no noise reduction and
    `codec_crf` None no codec round trip.
    """

    exposure: float
    wb: tuple[float, float, float]
    shot: float
    read: float
    blur_length: int = 0
    blur_angle: float = 0.0
    denoise_sigma: float = 0.0
    codec_crf: int | None = None

    def to_dict(self) -> dict:
        """Plain-Python dict for `json.dumps`."""
        return {**asdict(self), "wb": list(self.wb)}


def _check_range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    if not (len(value) == 2 and low <= value[0] <= value[1] <= high):
        raise ValueError(f"`{name}` must be (lo, hi) with {low} <= lo <= hi <= {high}. "
                         f"Received: {value}")


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


def draw_params(rng: np.random.Generator, config: SimulatorConfig = SimulatorConfig()
                ) -> LowLightParams:
    """Draw one set of simulator parameters from `config`'s ranges."""
    exposure = _log_uniform(rng, config.exposure)
    wb = rng.uniform(1 - config.wb_cast, 1 + config.wb_cast, size=3)
    wb /= wb.mean()
    shot = _log_uniform(rng, config.shot)
    log_read = (config.read_slope * np.log(shot) + config.read_intercept
                + rng.normal(0.0, config.read_sigma))
    blur_length, blur_angle = 0, 0.0
    if rng.random() < config.motion_blur_prob:
        blur_length = int(rng.integers(config.motion_blur_length[0],
                                       config.motion_blur_length[1] + 1))
        blur_angle = float(rng.uniform(0.0, 180.0))
    denoise_sigma = 0.0
    if rng.random() < config.denoise_prob:
        denoise_sigma = float(rng.uniform(*config.denoise_sigma))
    codec_crf = None
    if rng.random() < config.codec_prob:
        codec_crf = int(rng.integers(config.codec_crf[0], config.codec_crf[1] + 1))
    return LowLightParams(exposure=exposure, wb=tuple(float(g) for g in wb), shot=shot,
                          read=float(np.exp(log_read)), blur_length=blur_length,
                          blur_angle=blur_angle, denoise_sigma=denoise_sigma,
                          codec_crf=codec_crf)


@cache
def _srgb8_to_linear_lut() -> np.ndarray:
    return srgb_to_linear(np.arange(256, dtype=np.float32) / 255)


@cache
def _raw16_to_srgb8_lut() -> np.ndarray:
    """uint16 linear raw code → uint8 sRGB (gamma, then 8 bits)."""
    linear = np.arange(65536, dtype=np.float32) / 65535
    return np.round(linear_to_srgb(linear) * 255).astype(np.uint8)


def _motion_blur(linear: np.ndarray, length: int, angle: float) -> np.ndarray:
    """Blur along a line of `length` pixels at `angle` degrees (box kernel, sums to 1)."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length), flags=cv2.INTER_LINEAR)
    kernel /= max(float(kernel.sum()), 1e-6)
    return cv2.filter2D(linear, -1, kernel, borderType=cv2.BORDER_REFLECT)


def noisy_mosaic(rgb: np.ndarray, params: LowLightParams, rng: np.random.Generator
                 ) -> np.ndarray:
    """Darkened, cast, mosaicked and noisy raw frame, float32 linear (H, W), not clipped.

    `rgb` is uint8 (H, W, 3) with even H and W. The Bayer pattern is RGGB. The noise is
    Poisson–Gaussian in its usual heteroscedastic Gaussian form: variance = shot·x + read.
    """
    linear = _srgb8_to_linear_lut()[rgb]
    if params.blur_length > 1:
        linear = _motion_blur(linear, params.blur_length, params.blur_angle)
    gains = params.exposure * np.asarray(params.wb, np.float32)
    mosaic = np.empty(rgb.shape[:2], np.float32)
    mosaic[0::2, 0::2] = linear[0::2, 0::2, 0] * gains[0]
    mosaic[0::2, 1::2] = linear[0::2, 1::2, 1] * gains[1]
    mosaic[1::2, 0::2] = linear[1::2, 0::2, 1] * gains[1]
    mosaic[1::2, 1::2] = linear[1::2, 1::2, 2] * gains[2]
    np.clip(mosaic, 0.0, 1.0, out=mosaic)
    sigma = np.sqrt(params.shot * mosaic + params.read)
    mosaic += sigma * rng.standard_normal(mosaic.shape, dtype=np.float32)
    return mosaic


def _camera_denoise(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Blur chroma by `sigma` and luma by `sigma / 2` (uint8 RGB in and out)."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    luma = cv2.GaussianBlur(ycc[..., 0], (0, 0), sigma / 2, borderType=cv2.BORDER_REFLECT)
    chroma = cv2.GaussianBlur(ycc[..., 1:], (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return cv2.cvtColor(np.dstack([luma, chroma]), cv2.COLOR_YCrCb2RGB)


def _h264_round_trip(rgb: np.ndarray, crf: int) -> np.ndarray:
    """Encode one frame as H.264 (yuv420p, CRF `crf`) and decode it again. Even H, W."""
    import av  # here, not at the top: image-only simulation runs without FFmpeg
    h, w = rgb.shape[:2]
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = w, h, "yuv420p"
    encoder.time_base = Fraction(1, 30)
    encoder.thread_count = 1
    encoder.options = {"crf": str(crf), "preset": "veryfast"}
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    frame.pts = 0
    packets = [*encoder.encode(frame), *encoder.encode(None)]
    decoder = av.CodecContext.create("h264", "r")
    decoder.thread_count = 1
    decoded = [f for packet in [*packets, None] for f in decoder.decode(packet)]
    return decoded[0].to_ndarray(format="rgb24")


def render(rgb: np.ndarray, params: LowLightParams, rng: np.random.Generator) -> np.ndarray:
    """Run the pipeline with fixed `params`; `rng` draws only the sensor noise.

    Args:
        rgb: uint8 RGB (H, W, 3), any H, W ≥ 1 (odd sizes are reflected to even and cropped).
    Returns:
        uint8 RGB of the same shape.
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.size == 0:
        raise ValueError(f"expected a uint8 (H, W, 3) image. Received: {rgb.dtype} {rgb.shape}")
    h, w = rgb.shape[:2]
    padded = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="symmetric")
    mosaic = noisy_mosaic(padded, params, rng)
    raw16 = np.round(np.clip(mosaic, 0.0, 1.0) * 65535).astype(np.uint16)
    low = _raw16_to_srgb8_lut()[cv2.cvtColor(raw16, _DEMOSAIC_RGGB)]
    if params.denoise_sigma > 0:
        low = _camera_denoise(low, params.denoise_sigma)
    if params.codec_crf is not None:
        low = _h264_round_trip(low, params.codec_crf)
    return np.ascontiguousarray(low[:h, :w])


def simulate_lowlight(rgb: np.ndarray, rng: np.random.Generator,
                      config: SimulatorConfig = SimulatorConfig()) -> tuple[np.ndarray, dict]:
    """Simulate a dark, noisy camera capture of a normal-light frame.

    Args:
        rgb: normal-light uint8 RGB (H, W, 3), any size.
        rng: source of all randomness (same seed → same output).
        config: parameter ranges; `SimulatorConfig.default()` or `.wide()`.
    Returns:
        The low-light uint8 RGB frame (same shape) and the drawn parameters as a dict.
    """
    params = draw_params(rng, config)
    return render(rgb, params, rng), params.to_dict()
