"""enhance_video_file as a library call: batching choice, external stop, damaged input."""

from __future__ import annotations

import threading

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
    assert frames_per_call(*size, EnhanceOptions(tile=256, batch_size=batch)) == expected


def test_realtime_mode_sends_small_frames_four_at_a_time():
    assert frames_per_call(1280, 720, EnhanceOptions(mode="realtime")) == 4


def test_stop_event_finalises_a_shorter_output(make_clip, tmp_path, no_thread_leak):
    clip, out = make_clip("in.mp4", count=200, audio_s=200 / 24), tmp_path / "out.mp4"
    stop = threading.Event()
    options = EnhanceOptions(tile=32, overlap=8, batch_size=2)

    class StopAfterTen(FrameEnhancer):
        def enhance(self, frames, timestamps=None):
            self.seen = getattr(self, "seen", 0) + len(frames)
            if self.seen >= 10:
                stop.set()
            return super().enhance(frames, timestamps)

    result = enhance_video_file(clip, out, StopAfterTen(lambda x: x, options), options, stop=stop)
    assert result.stopped and 0 < result.frames_written < 200
    assert count_frames(out) == result.frames_written


def test_an_output_being_replaced_stays_whole_until_the_new_one_is_finalised(make_clip, tmp_path):
    clip, out = make_clip("in.mp4", count=40), tmp_path / "out.mp4"
    out.write_bytes(b"the previous output")
    options = EnhanceOptions(tile=32, overlap=8, batch_size=2)

    class FailAtOnce(FrameEnhancer):
        def enhance(self, frames, timestamps=None):
            assert out.read_bytes() == b"the previous output"  # nothing written over it yet
            raise RuntimeError("model crashed")

    with pytest.raises(RunFailed, match="model crashed; no frame was written"):
        enhance_video_file(clip, out, FailAtOnce(lambda x: x, options), options)
    assert out.read_bytes() == b"the previous output"  # no frame: the old file is kept
    result = enhance_video_file(clip, out, FrameEnhancer(lambda x: x, options), options)
    assert count_frames(out) == result.frames_written == 40
    assert not list(tmp_path.glob(".*partial*"))  # the temporary file was renamed
