"""The live preview: original and enhanced in one window, side by side or as a split wipe.

Keys: q or Esc quits, space switches between the two comparison views, s saves a PNG
snapshot of both (original and enhanced, full resolution) into the snapshot folder, + and -
raise and lower the exposure compensation by a quarter stop.
The window is an interface (`Window`): `OpenCVWindow` draws with OpenCV's HighGUI, and
tests pass a fake one, so the preview logic runs without a display.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np

from gan.errors import UserError
from gan.exposure import MAX_COMPENSATION
from streamer.images import write_image

View = Literal["side-by-side", "wipe"]
VIEWS: tuple[View, ...] = ("side-by-side", "wipe")
KEY_ESC, KEY_SPACE = 27, 32
QUIT_KEYS = (ord("q"), ord("Q"), KEY_ESC)
SNAPSHOT_KEYS = (ord("s"), ord("S"))
# = and _ are + and - unshifted; 0xAB and 0xAD the keypad's (GTK's 0xFFAB, 0xFFAD, a byte kept)
EXPOSURE_KEYS = {ord("+"): 1, ord("="): 1, 0xAB: 1, ord("-"): -1, ord("_"): -1, 0xAD: -1}
EXPOSURE_STEP = 0.25  # stops a key press


class Window(Protocol):
    """A place to show BGR images and read key presses."""

    def show(self, image: np.ndarray) -> None:
        """Display a uint8 BGR image."""

    def key(self) -> int:
        """The key pressed since the last call (its code), or -1; also lets the GUI redraw."""

    def is_open(self) -> bool:
        """False once the user closed the window."""

    def close(self) -> None:
        """Remove the window."""


def check_display() -> None:
    """`UserError` when a preview window cannot be shown (Linux without X11 or Wayland)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        raise UserError("no display to show the preview on (DISPLAY is not set): "
                        "use --no-preview to run with the dashboard alone")


class OpenCVWindow:
    """A resizable OpenCV HighGUI window (create it in the thread that will use it)."""

    def __init__(self, title: str = "enhance-cam") -> None:
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_NORMAL)

    def show(self, image: np.ndarray) -> None:
        cv2.imshow(self.title, image)

    def key(self) -> int:
        code = cv2.waitKey(1)
        return code & 0xFF if code >= 0 else -1

    def is_open(self) -> bool:
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            return False

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass


def _label(image: np.ndarray, text: str, x: int) -> None:
    """Write `text` near the top of `image` at column `x` (white on a dark outline)."""
    scale = max(0.5, image.shape[0] / 720)
    origin = (x + 10, int(30 * scale))
    for color, thickness in (((0, 0, 0), 4), ((255, 255, 255), 1)):
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, color,
                    max(1, round(thickness * scale)), cv2.LINE_AA)


def compose(original: np.ndarray, enhanced: np.ndarray, view: View, *, split: float = 0.5,
            label: str = "enhanced") -> np.ndarray:
    """One BGR image comparing two RGB frames of the same size.

    Args:
        view: "side-by-side" (original | enhanced) or "wipe" (original left of the split,
            enhanced right of it, on one frame).
        split: where the wipe divides the frame, as a fraction of its width.
        label: what the enhanced side is called on it.
    """
    if original.shape != enhanced.shape:
        enhanced = cv2.resize(enhanced, original.shape[1::-1], interpolation=cv2.INTER_AREA)
    if view == "side-by-side":
        image = np.hstack([original, enhanced])
        x_divide = original.shape[1]
    elif view == "wipe":
        x_divide = int(round(original.shape[1] * split))
        image = enhanced.copy()
        image[:, :x_divide] = original[:, :x_divide]
        image[:, max(0, x_divide - 1):x_divide + 1] = 255
    else:
        raise ValueError(f"`view` must be one of {VIEWS}. Received: {view!r}")
    image = np.ascontiguousarray(image[..., ::-1])  # RGB → BGR for OpenCV
    _label(image, "original", 0)
    _label(image, label, x_divide)
    return image


class Preview:
    """Shows each frame pair in `window` and acts on the keys pressed.

    Args:
        window: where to draw (an `OpenCVWindow`, or a fake in tests).
        snapshot_dir: where `s` saves PNGs.
        view: the comparison shown first.
        max_width: the composed image is scaled down to at most this width for display.
        exposure: the exposure compensation in stops at the start, which + and - move.
        on_exposure: called with the new compensation when a key moves it.
    """

    def __init__(self, window: Window, *, snapshot_dir: str | Path = ".",
                 view: View = "side-by-side", max_width: int = 1920, exposure: float = 0.0,
                 on_exposure: Callable[[float], None] | None = None) -> None:
        if view not in VIEWS:
            raise ValueError(f"`view` must be one of {VIEWS}. Received: {view!r}")
        self.window = window
        self.snapshot_dir = Path(snapshot_dir)
        self.view: View = view
        self.max_width = max_width
        self.snapshots: list[Path] = []
        self.snapshot_errors: list[str] = []
        self.quit_reason = ""
        self.exposure, self.on_exposure = exposure, on_exposure

    def show(self, original: np.ndarray, enhanced: np.ndarray) -> bool:
        """Display one pair (RGB); False when the user asked to quit."""
        label = f"enhanced, {self.exposure:+g} EV" if self.exposure else "enhanced"
        image = compose(original, enhanced, self.view, label=label)
        if image.shape[1] > self.max_width:
            height = round(image.shape[0] * self.max_width / image.shape[1])
            image = cv2.resize(image, (self.max_width, height), interpolation=cv2.INTER_AREA)
        self.window.show(image)
        key = self.window.key()
        if key in QUIT_KEYS:
            self.quit_reason = "quit from the preview window"
            return False
        if not self.window.is_open():
            self.quit_reason = "preview window closed"
            return False
        if key == KEY_SPACE:
            self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        elif key in EXPOSURE_KEYS and self.on_exposure is not None:
            stops = self.exposure + EXPOSURE_KEYS[key] * EXPOSURE_STEP
            stops = min(MAX_COMPENSATION, max(-MAX_COMPENSATION, stops))
            if stops != self.exposure:
                self.exposure = stops
                self.on_exposure(stops)
        elif key in SNAPSHOT_KEYS:
            try:
                self.snapshots.extend(self.save_snapshot(original, enhanced))
            except UserError as exc:  # e.g. a full disk: no reason to stop the camera
                self.snapshot_errors.append(str(exc))
        return True

    def save_snapshot(self, original: np.ndarray, enhanced: np.ndarray) -> list[Path]:
        """Write `snapshot-<time>-<n>-original.png` and `...-enhanced.png`; returns both paths."""
        stem = f"snapshot-{time.strftime('%Y%m%d-%H%M%S')}-{len(self.snapshots) // 2 + 1}"
        paths = []
        for name, pixels in (("original", original), ("enhanced", enhanced)):
            path = self.snapshot_dir / f"{stem}-{name}.png"
            write_image(path, pixels)
            paths.append(path)
        return paths

    def close(self) -> None:
        """Remove the window."""
        self.window.close()
