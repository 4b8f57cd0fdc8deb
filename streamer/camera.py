"""Live frame sources through OpenCV: a camera, a device path, a stream URL, or a file.

`open_source` turns what the user typed into a `CameraSource`; `CameraSource.read()`
returns the next upright RGB `Frame` stamped with the time it was captured, or None when
the source has ended (`end_reason` says why, `lost` whether that was a failure).

A video file stands in for a camera: it is paced at its own frame rate (a frame is not
delivered before its time) and, with `loop`, starts again at the end, so the live loop
sees it exactly as it would see a camera. Timestamps are milliseconds since the first
frame delivered (time base 1/1000), taken from the capture clock: a recording made from
them plays at the real capture rate even when the live loop dropped frames.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import cv2

from gan.errors import UserError
from streamer.frames import Frame

SourceKind = Literal["camera", "stream", "file"]
TIME_BASE = Fraction(1, 1000)
OPEN_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 5.0
DEFAULT_FPS = 30.0  # pacing of a file that does not say its rate
CaptureFactory = Callable[..., "cv2.VideoCapture"]


@dataclass(frozen=True)
class CaptureRequest:
    """What the user asked the camera for (None: the camera's default)."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None

    def __post_init__(self) -> None:
        for name in ("width", "height", "fps"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"`{name}` must be positive. Received: {value}")

    def describe(self) -> str:
        """`1280x720 @ 30 fps`, with `default` for what was not asked."""
        size = f"{self.width or '?'}x{self.height or '?'}" if self.width or self.height else "default"
        return f"{size} @ {f'{self.fps:g} fps' if self.fps else 'default fps'}"


@dataclass(frozen=True)
class CameraInfo:
    """What a source actually delivers, beside what was requested.

    Attributes:
        name: how the user named it ("camera 0", a path, a URL).
        width, height: size of the frames delivered.
        fps: the rate the source announces (0.0 when it does not say).
    """

    name: str
    kind: SourceKind
    width: int
    height: int
    fps: float
    requested: CaptureRequest
    backend: str = ""

    def describe(self) -> str:
        """`1280x720 @ 30 fps`: what the source gives."""
        return f"{self.width}x{self.height} @ {f'{self.fps:.3g} fps' if self.fps else '? fps'}"


def parse_source(camera: int, source: str | None) -> tuple[SourceKind, int | str]:
    """What to open: `source` (index, /dev path, URL or file) when given, else camera `camera`."""
    if source is None:
        return "camera", camera
    if re.fullmatch(r"\d+", source):
        return "camera", int(source)
    if source.startswith("/dev/"):
        return "camera", source
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source):
        return "stream", source
    return "file", source


def _quiet_opencv() -> None:
    """Keep OpenCV's and FFmpeg's own logging off the terminal (errors are reported by us)."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # read when the backend starts
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def _video_devices() -> str:
    """`available: /dev/video0, /dev/video2`, or a note that there are none (Linux only)."""
    if not sys.platform.startswith("linux"):
        return ""
    devices = sorted(str(p) for p in Path("/dev").glob("video*"))
    return f"available: {', '.join(devices)}" if devices else "no /dev/video* device on this machine"


class CameraSource:
    """One opened live source; use as a context manager (or call `close()`).

    Args:
        kind, target: from `parse_source`.
        request: size and rate to ask a camera for (files and streams give what they have).
        loop: a file starts again at its end instead of ending the stream.
        capture_factory: `cv2.VideoCapture` or a fake with the same methods (tests).
        clock, sleep: monotonic seconds and the matching sleep (tests may replace them).
    """

    def __init__(self, kind: SourceKind, target: int | str, *,
                 request: CaptureRequest = CaptureRequest(), loop: bool = False,
                 capture_factory: CaptureFactory = cv2.VideoCapture,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.kind = kind
        self.target = target
        self.request = request
        self.loop = loop and kind == "file"
        self.name = f"camera {target}" if isinstance(target, int) else str(target)
        self.frames_read = 0
        self.end_reason = ""
        self.lost = False
        self._factory = capture_factory
        self._clock = clock
        self._sleep = sleep
        self._capture = None
        self._pending = None  # a file's probe frame, delivered first
        self._started_at: float | None = None
        self._last_pts = -1
        self.info: CameraInfo | None = None

    def __enter__(self) -> CameraSource:
        if self._capture is None:
            self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> CameraInfo:
        """Open the source and read one frame; `UserError` naming the source if either fails."""
        _quiet_opencv()
        self._check_exists()
        self._capture = self._open_capture()
        if not self._capture.isOpened():
            self.close()
            raise UserError(self._cannot_open())
        if self.kind == "camera":
            self._apply_request()
        ok, probe = self._capture.read()
        if not ok or probe is None:
            self.close()
            raise UserError(f"{self.name} opened but delivered no frame")
        if self.kind == "file":
            self._pending = probe  # a file is not stale: its first frame is delivered first
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        backend = self._capture.getBackendName() if hasattr(self._capture, "getBackendName") else ""
        self.info = CameraInfo(self.name, self.kind, probe.shape[1], probe.shape[0],
                               fps if 0 < fps < 1000 else 0.0, self.request, backend)
        return self.info

    def _check_exists(self) -> None:
        if self.kind == "file":
            path = Path(self.target)
            if not path.exists():
                raise UserError(f"source not found: {path}")
            if path.is_dir():
                raise UserError(f"source is a directory, not a video file: {path}")
        elif isinstance(self.target, str) and self.kind == "camera" and not Path(self.target).exists():
            raise UserError(f"camera device not found: {self.target} ({_video_devices()})")

    def _open_capture(self):
        if self.kind == "camera":
            return self._factory(self.target)
        timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(OPEN_TIMEOUT_S * 1000),
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(READ_TIMEOUT_S * 1000)]
        return self._factory(str(self.target), cv2.CAP_FFMPEG, timeouts)

    def _cannot_open(self) -> str:
        if self.kind == "camera":
            return f"cannot open {self.name}: no such camera or it is busy ({_video_devices()})"
        if self.kind == "stream":
            return (f"cannot open stream {self.target}: unreachable or not a video stream "
                    f"(gave up after at most {OPEN_TIMEOUT_S:g} s)")
        return f"cannot read {self.target}: not a video file OpenCV can decode"

    def _apply_request(self) -> None:
        """Ask for size and rate (a camera may pick something else: `info` says what it gave)."""
        request, capture = self.request, self._capture
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # fewer stale frames queued in the driver
        if request.width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, request.width)
        if request.height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, request.height)
        if request.fps:
            capture.set(cv2.CAP_PROP_FPS, request.fps)

    def read(self) -> Frame | None:
        """The next frame (upright RGB, capture-time stamped), or None once the source ended."""
        if self._capture is None:
            raise RuntimeError("CameraSource must be opened first")
        bgr = self._next_image()
        if bgr is None:
            self.lost = self.kind != "file"
            self.end_reason = self._ended()
            return None
        now = self._pace()
        if self._started_at is None:
            self._started_at = now
        pts = max(round((now - self._started_at) / TIME_BASE), self._last_pts + 1)
        self._last_pts = pts
        frame = Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self.frames_read, pts, TIME_BASE, now)
        self.frames_read += 1
        return frame

    def _next_image(self):
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        ok, image = self._capture.read()
        if not ok and self.loop and self.frames_read:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._capture.read()
        return image if ok else None

    def _pace(self) -> float:
        """A file's frame is held until its time (its rate, else 30 fps); returns the time now."""
        now = self._clock()
        if self.kind == "file" and self._started_at is not None and self.info is not None:
            due = self._started_at + self.frames_read / (self.info.fps or DEFAULT_FPS)
            if due > now:
                self._sleep(due - now)
                now = self._clock()
        return now

    def _ended(self) -> str:
        n = self.frames_read
        if self.kind == "file":
            return f"{self.name} ended after {n} frames"
        if self.kind == "stream":
            return f"stream {self.name} stopped after {n} frames (ended, or the connection dropped)"
        return f"{self.name} stopped delivering frames after {n} (unplugged, or taken by another program?)"

    def abandon(self) -> None:
        """Let go of the device without releasing it, for when a read is stuck in another
        thread (OpenCV's capture is not thread-safe): it is released once nothing uses it."""
        self._capture = None

    def close(self) -> None:
        """Release the device or file (safe to call twice)."""
        if self._capture is not None:
            capture, self._capture = self._capture, None
            capture.release()


def open_source(camera: int, source: str | None, *, request: CaptureRequest = CaptureRequest(),
                loop: bool = False, capture_factory: CaptureFactory = cv2.VideoCapture
                ) -> CameraSource:
    """Open what `--camera`/`--source` name; `UserError` (naming it) when it cannot be opened."""
    kind, target = parse_source(camera, source)
    if loop and kind != "file":
        raise UserError(f"--loop applies to video files only, not to {kind} {target}")
    camera_source = CameraSource(kind, target, request=request, loop=loop,
                                 capture_factory=capture_factory)
    camera_source.open()
    return camera_source
