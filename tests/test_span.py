"""Enhancing part of a video (`--start`, `--duration`): the right frames, at 0, with audio."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from probes import probe

from streamer.cli.video import app
from streamer.source import Span, VideoInfo, VideoSource

FAST = ("--quiet", "--precision", "float32", "--preset", "ultrafast", "--batch-size", "4")


def numbered_frames(count: int) -> list[np.ndarray]:
    """Frames whose brightness tells them apart after H.264 (frame i: level 5 · i)."""
    return [np.full((48, 64, 3), 5 * i, np.uint8) for i in range(count)]


@pytest.fixture
def clip(make_clip):
    """2 s at 24 fps with 2 s of audio, a keyframe every 6 frames (so a seek lands mid-clip)."""
    return make_clip("in.mp4", numbered_frames(48), fps=24, audio_s=2.0, options={"g": "6"})


@pytest.mark.parametrize(("span", "first", "count"), [
    (Span(1.0, 0.5), 24, 12),  # mid-clip, between keyframes' multiples of 6
    (Span(0.3), 8, 40),  # 0.3 s is frame 7.2: the next frame is the first at or after it
    (Span(0.0, 0.25), 0, 6),  # from the beginning: the file's own timestamps
])
def test_a_span_yields_its_frames_from_zero(clip, span, first, count):
    with VideoSource(clip, span=span) as source:
        frames = list(source)
    levels = [round(float(f.pixels.mean()) / 5) for f in frames]
    assert levels == list(range(first, first + count))
    times = [float(f.pts * f.time_base) for f in frames]
    shift = 0.0 if span.start == 0 else span.start
    assert times == pytest.approx([i / 24 - shift for i in range(first, first + count)], abs=2e-3)
    assert span.frame_count(source.info) == count
    assert source.lost_frames == 0


@pytest.mark.parametrize("suffix", [
    "ts",  # FFmpeg's seek can land after the target in MPEG-TS
    "h264",  # a raw stream cannot seek at all (and has no timestamps: 25 fps is assumed)
])
def test_a_span_starts_at_its_frame_where_seeking_is_unreliable(make_clip, suffix):
    path = make_clip(f"in.{suffix}", numbered_frames(50), fps=25, options={"g": "6"})
    with VideoSource(path, span=Span(1.0, 0.4)) as source:
        frames = list(source)
    assert [round(float(f.pixels.mean()) / 5) for f in frames] == list(range(25, 35))
    assert float(frames[0].pts * frames[0].time_base) == pytest.approx(0.0, abs=2e-3)


def test_enhance_video_writes_the_span_with_its_audio(clip, cli, tmp_path):
    out = tmp_path / "out.mp4"
    result = cli(app, clip, out, "--start", "1", "--duration", "0.5", *FAST)
    assert result.exit_code == 0, result.output
    written = probe(out)
    assert written["frames"] == 12
    assert written["times"] == pytest.approx([i / 24 for i in range(12)], abs=2e-3)
    assert written["audio_codec"] == "aac" and abs(written["audio_s"] - 0.5) < 0.06


def test_a_span_run_probes_the_input_once(clip, cli, tmp_path, monkeypatch):
    probed = []
    real = VideoInfo.from_path.__func__
    monkeypatch.setattr(VideoInfo, "from_path",
                        classmethod(lambda cls, path: probed.append(path) or real(cls, path)))
    result = cli(app, clip, tmp_path / "out.mp4", "--start", "1", "--duration", "0.5", *FAST)
    assert result.exit_code == 0, result.output
    assert len(probed) == 1


def wrapping_ts(clip: Path, path: Path, wrap_s: float) -> Path:
    """`clip` remuxed into an MPEG-TS whose 33-bit clock wraps `wrap_s` seconds in: FFmpeg
    reads it back with timestamps from -`wrap_s`."""
    with av.open(str(clip)) as source, av.open(str(path), "w", format="mpegts") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in source.streams}
        offset = 2**33 - round(wrap_s * 90000)
        for packet in source.demux():
            if packet.dts is None:
                continue
            scale = packet.time_base * 90000
            pts = None if packet.pts is None else round(packet.pts * scale) + offset
            dts = round(packet.dts * scale) + offset
            packet.stream = streams[packet.stream.index]
            packet.time_base, packet.pts, packet.dts = Fraction(1, 90000), pts, dts
            out.mux(packet)
    return path


def test_a_video_whose_timestamps_start_below_zero_keeps_every_frame(make_clip, cli, tmp_path):
    # MP4 hides frames before 0 (its edit list cut half this clip before the shift)
    clip = make_clip("in.mp4", count=48, fps=24, audio_s=2.0)
    source = wrapping_ts(clip, tmp_path / "wrapping.ts", wrap_s=1.0)
    assert VideoInfo.from_path(source).first_time == pytest.approx(-1.0, abs=0.05)
    out = tmp_path / "out.mp4"
    result = cli(app, source, out, *FAST)
    assert result.exit_code == 0, result.output
    written = probe(out)
    assert written["frames"] == 48
    assert written["times"][0] == pytest.approx(0.0, abs=2e-3)
    assert abs(written["audio_s"] - 2.0) < 0.06
    with av.open(str(out)) as container:  # AAC's priming packet, before the first frame,
        dts = [p.dts for p in container.demux(audio=0) if p.dts is not None]  # stays there
    assert all(a < b for a, b in zip(dts, dts[1:], strict=False)) and dts[0] < 0


def test_a_span_to_the_end_keeps_the_rest_of_the_audio(clip, cli, tmp_path):
    out = tmp_path / "out.mp4"
    assert cli(app, clip, out, "--start", "1.5", *FAST).exit_code == 0
    written = probe(out)
    assert written["frames"] == 12 and abs(written["audio_s"] - 0.5) < 0.06


@pytest.mark.parametrize(("args", "code", "message"), [
    (("--start", "5"), 1, "start 5 s is past the last frame of"),
    (("--start", "0.01", "--duration", "0.02"), 1, "no frame of"),  # between two frames
    (("--duration", "0"), 1, "--duration must be a number of seconds > 0"),
    (("--start", "inf"), 1, "--start must be a number of seconds >= 0"),
    (("--start", "-1"), 2, "--start"),
])
def test_a_span_outside_the_video_is_refused(clip, cli, tmp_path, args, code, message):
    out = tmp_path / "out.mp4"
    result = cli(app, clip, out, *args, *FAST)
    assert result.exit_code == code and message in result.stderr
    assert not out.exists()


def test_the_span_is_measured_from_the_first_frame(make_clip):
    """A stream whose first frame is at 10 s: `--start 1` is its frame at 11 s."""
    from fractions import Fraction

    late = make_clip("late.mp4", numbered_frames(24), fps=24, pts=[240 + i for i in range(24)],
                     time_base=Fraction(1, 24))
    assert VideoInfo.from_path(late).first_time == pytest.approx(10.0)
    with VideoSource(late, span=Span(0.5, 0.25)) as source:
        levels = [round(float(f.pixels.mean()) / 5) for f in source]
    assert levels == list(range(12, 18))


def test_a_span_of_an_mpeg_ts_file_keeps_its_audio(make_clip, cli, tmp_path):
    clip = make_clip("in.ts", numbered_frames(50), fps=25, audio_s=2.0, options={"g": "6"})
    out = tmp_path / "out.mp4"
    result = cli(app, clip, out, "--start", "1", "--duration", "0.6", *FAST)
    assert result.exit_code == 0, result.output
    written = probe(out)
    assert written["frames"] == 15 and abs(written["audio_s"] - 0.6) < 0.06


def test_a_raw_stream_can_be_cut_too(make_clip, cli, tmp_path):
    """No seeking and no stated length (a raw .h264): read from the start, not refused."""
    clip = make_clip("in.h264", numbered_frames(50), fps=25)
    out = tmp_path / "out.mp4"
    result = cli(app, clip, out, "--start", "1", "--duration", "0.4", *FAST)
    assert result.exit_code == 0, result.output
    assert probe(out)["frames"] == 10


def test_a_short_duration_keeps_the_frame_at_its_start(clip, cli, tmp_path):
    out = tmp_path / "out.mp4"
    assert cli(app, clip, out, "--start", "1", "--duration", "0.001", *FAST).exit_code == 0
    assert probe(out)["frames"] == 1


def test_a_variable_frame_rate_span_goes_by_timestamps(make_clip, cli, tmp_path):
    """Ten frames in the first 0.4 s, then one a second: the average rate says nothing."""
    from fractions import Fraction

    ticks = [*range(10), 25, 50, 75]  # in 1/25 s
    clip = make_clip("vfr.mp4", numbered_frames(13), fps=25, pts=ticks,
                     time_base=Fraction(1, 25))
    with VideoSource(clip, span=Span(2.5)) as source:
        assert [round(float(f.pixels.mean()) / 5) for f in source] == [12]
    out = tmp_path / "out.mp4"
    assert cli(app, clip, out, "--start", "1.5", *FAST).exit_code == 0
    assert probe(out)["frames"] == 2


def test_avi_with_b_frames_gets_its_timestamps_from_dts(make_clip):
    """AVI stores no pts: FFmpeg's guesses come out of order, dts do not (as ffmpeg's
    best-effort timestamps)."""
    clip = make_clip("in.avi", numbered_frames(24), fps=24, options={"bf": "2"})
    with VideoSource(clip) as source:
        times = [float(f.pts * f.time_base) for f in source]
    # The first frames come before a backward pts is seen (FFmpeg's rule does the same).
    assert np.diff(times[3:]) == pytest.approx(1 / 24, abs=1e-3)
