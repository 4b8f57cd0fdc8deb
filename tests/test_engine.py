"""enhance_video_file as a library call: batching choice, external stop, damaged input."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from probes import count_frames

from streamer.engine import RunFailed, enhance_video_file, frames_per_call
from streamer.inference import EnhanceOptions, FrameEnhancer


@pytest.mark.parametrize(("size", "batch", "expected"), [
    ((640, 360), 8, 4),  # 6 tiles a frame: 4 frames make 3 full batches
    ((1280, 720), 8, 1),  # 24 tiles: 3 full batches per frame
    ((1, 1), 8, 8),  # 1 tile: 8 frames fill a batch
    ((3840, 2160), 8, 1),  # 4K: many tiles already, keep memory bounded
    ((640, 360), 16, 8),  # 48 tiles = 3 batches of 16
])
def test_frames_per_call_fills_whole_batches(size, batch, expected):
    assert frames_per_call(*size, EnhanceOptions(tile=256, batch_size=batch, threads=1)) == expected


@pytest.mark.parametrize(("size", "tile", "threads", "expected"), [
    ((640, 360), 256, 4, 4),  # 6 tiles: 4 frames fill batches of 8 and give each thread one
    ((640, 360), 256, 8, 8),  # two such groups
    ((640, 360), 256, 6, 4),  # whole groups only: batches stay full
    ((1920, 1080), 512, 16, 6),  # 12 tiles of 392×512: at most 64 × 512² pixels a call
    ((3840, 2160), 2048, 16, 1),  # 4 tiles of 1112×1952 a frame: memory, not threads, rules
])
def test_frames_per_call_gives_each_thread_a_frame(size, tile, threads, expected):
    options = EnhanceOptions(tile=tile, batch_size=4 if tile > 512 else 8, threads=threads)
    assert frames_per_call(*size, options) == expected


def test_realtime_mode_sends_small_frames_four_at_a_time():
    assert frames_per_call(1280, 720, EnhanceOptions(mode="realtime")) == 4


def test_stop_event_finalises_a_shorter_output(make_clip, tmp_path, no_thread_leak):
    clip, out = make_clip("in.mp4", count=200, audio_s=200 / 24), tmp_path / "out.mp4"
    stop = threading.Event()
    options = EnhanceOptions(tile=32, overlap=8, batch_size=2)

    class StopAfterTen(FrameEnhancer):
        def start(self, frames, timestamps=None):
            self.seen = getattr(self, "seen", 0) + len(frames)
            if self.seen >= 10:
                stop.set()
            return super().start(frames, timestamps)

    result = enhance_video_file(clip, out, StopAfterTen(lambda x: x, options), options, stop=stop)
    assert result.stopped and 0 < result.frames_written < 200
    assert count_frames(out) == result.frames_written


def test_an_output_being_replaced_stays_whole_until_the_new_one_is_finalised(make_clip, tmp_path):
    clip, out = make_clip("in.mp4", count=40), tmp_path / "out.mp4"
    out.write_bytes(b"the previous output")
    options = EnhanceOptions(tile=32, overlap=8, batch_size=2)

    class FailAtOnce(FrameEnhancer):
        def start(self, frames, timestamps=None):
            assert out.read_bytes() == b"the previous output"  # nothing written over it yet
            raise RuntimeError("model crashed")

    with pytest.raises(RunFailed, match="model crashed; no frame was written"):
        enhance_video_file(clip, out, FailAtOnce(lambda x: x, options), options)
    assert out.read_bytes() == b"the previous output"  # no frame: the old file is kept
    result = enhance_video_file(clip, out, FrameEnhancer(lambda x: x, options), options)
    assert count_frames(out) == result.frames_written == 40
    assert not list(tmp_path.glob(".*partial*"))  # the temporary file was renamed


def test_a_failed_write_keeps_the_old_output_and_leaves_no_scratch_file(make_clip, tmp_path):
    import numpy as np

    from gan.errors import UserError
    from streamer.frames import Frame
    from streamer.sink import EncoderOptions, VideoSink
    from streamer.source import VideoInfo

    class FullDisk:  # the real container, but every packet fails as on a full disk
        def __init__(self, container):
            self.container = container

        def mux(self, packet):
            raise OSError(28, "No space left on device")

        def close(self):
            self.container.close()

    clip, out = make_clip("in.mp4", count=4), tmp_path / "out.mp4"
    out.write_bytes(b"the previous output")
    frame = Frame(np.zeros((48, 64, 3), np.uint8), 0, pts=None, time_base=None)
    with pytest.raises(UserError, match="cannot write .*out.mp4: No space left on device"):
        with VideoSink(out, VideoInfo.from_path(clip), EncoderOptions(preset="ultrafast")) as sink:
            sink._container = FullDisk(sink._container)
            sink.write(frame)
    assert out.read_bytes() == b"the previous output"
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize("view", ["flipped rows", "mirrored", "cropped"])
def test_the_sink_encodes_strided_views_as_their_pixels(make_clip, tmp_path, view):
    """Plain rows are wrapped without a copy, other layouts copied: both encode the same."""
    import av
    import numpy as np

    from streamer.frames import Frame
    from streamer.sink import EncoderOptions, VideoSink
    from streamer.source import VideoInfo

    rng = np.random.default_rng(0)
    whole = np.repeat(np.repeat(rng.integers(0, 256, (13, 17, 3), np.uint8), 4, 0), 4, 1)
    pixels = {"flipped rows": whole[::-1], "mirrored": whole[:, ::-1],
              "cropped": np.pad(whole, ((0, 4), (0, 8), (0, 0)))[:52, :68]}[view]
    info, decoded = VideoInfo.from_path(make_clip("in.mp4", count=1, size=(68, 52))), []
    for name, frame in (("view", pixels), ("copy", np.ascontiguousarray(pixels))):
        out = tmp_path / f"{name}.mp4"
        with VideoSink(out, info, EncoderOptions(crf=0, preset="ultrafast")) as sink:
            sink.write(Frame(frame, 0, pts=None, time_base=None))
        with av.open(str(out)) as container:
            decoded.append(next(container.decode(video=0)).to_ndarray(format="rgb24"))
    assert np.array_equal(decoded[0], decoded[1])

    def error(reference):
        return np.abs(decoded[0].astype(int) - reference).mean()

    assert error(pixels) < 0.2 * error(pixels[::-1, ::-1])  # the view's pixels, in its order


def test_the_sink_wraps_rows_of_64_byte_multiples_and_copies_the_rest():
    """Wrapping skips a 1080p frame's copy; other rows are copied, as swscale reads past
    the end of them."""
    import numpy as np

    from streamer.sink import _wrap

    def wrapped(pixels):
        return np.frombuffer(_wrap(pixels).planes[0], np.uint8).ctypes.data == pixels.ctypes.data

    plain, odd = np.zeros((4, 64, 3), np.uint8), np.zeros((4, 854, 3), np.uint8)
    assert wrapped(plain) and wrapped(np.zeros((8, 128, 3), np.uint8)[2:6])
    assert not wrapped(odd) and not wrapped(plain[::-1]) and not wrapped(plain[:, ::-1])


def test_a_failed_image_write_keeps_the_old_image(tmp_path, monkeypatch):
    import numpy as np

    from gan.errors import UserError
    from gan.frame_io import write_image

    old = tmp_path / "photo.png"
    old.write_bytes(b"the previous output")

    def full_disk(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(UserError, match="cannot write .*photo.png: No space left on device"):
        write_image(old, np.zeros((8, 8, 3), np.uint8))
    monkeypatch.undo()
    assert old.read_bytes() == b"the previous output" and not list(tmp_path.glob(".*partial*"))


def test_replacing_an_image_keeps_its_link_and_permissions_and_allows_long_names(tmp_path):
    import os

    import numpy as np

    from gan.frame_io import read_image, write_image

    image = np.full((8, 8, 3), 90, np.uint8)
    target, link = tmp_path / "real.png", tmp_path / "link.png"
    write_image(target, np.zeros_like(image))
    os.chmod(target, 0o640)
    link.symlink_to(target)
    write_image(link, image)
    assert link.is_symlink() and (read_image(target) == 90).all()
    assert target.stat().st_mode & 0o777 == 0o640
    long_name = tmp_path / ("\N{CRESCENT MOON}" * 62 + ".png")  # 248 bytes: a valid name
    write_image(long_name, image)
    assert (read_image(long_name) == 90).all() and not list(tmp_path.glob(".*partial*"))
