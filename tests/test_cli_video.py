"""enhance-video end to end: frames, timing and audio kept; every bad input refused cleanly."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from probes import count_frames, probe

from gan.backend import compute_device
from streamer.cli.video import app

FAST = ("--quiet", "--precision", "float32", "--preset", "ultrafast", "--batch-size", "4")


def test_output_keeps_frames_rate_size_and_audio(make_clip, cli, tmp_path, no_thread_leak):
    clip = make_clip("in.mp4", count=36, size=(96, 64), fps=24, audio_s=1.5)
    out = tmp_path / "out.mp4"
    result = cli(app, clip, out, *FAST)
    assert result.exit_code == 0, result.output
    src, dst = probe(clip), probe(out)
    for key in ("frames", "rate", "time_base", "size", "audio_codec"):
        assert dst[key] == src[key], key
    assert dst["audio_codec"] == "aac"
    assert abs(dst["audio_s"] - src["audio_s"]) < 0.1
    assert dst["times"] == pytest.approx(src["times"], abs=1e-3)


def test_realtime_mode_keeps_frames_and_timing(make_clip, cli, tmp_path):
    clip = make_clip("in.mp4", count=10, size=(96, 64), fps=24, audio_s=0.5)
    out = tmp_path / "out.mp4"
    result = cli(app, clip, out, "--mode", "realtime", *FAST)
    assert result.exit_code == 0, result.output
    src, dst = probe(clip), probe(out)
    assert (dst["frames"], dst["size"], dst["audio_codec"]) == (src["frames"], src["size"], "aac")
    assert dst["times"] == pytest.approx(src["times"], abs=1e-3)


def test_exposure_compensation_brightens_a_video(make_clip, cli, tmp_path):
    clip = make_clip("in.mp4", count=4, size=(96, 64))
    means = []
    for stops in ("0", "1"):
        out = tmp_path / f"ev{stops}.mp4"
        result = cli(app, clip, out, "--mode", "realtime", f"--exposure={stops}", *FAST)
        assert result.exit_code == 0, result.output
        means.append(probe(out)["first"].mean())
    assert means[1] > means[0] + 5


def test_unknown_mode_is_refused(make_clip, cli, tmp_path):
    result = cli(app, make_clip("in.mp4"), tmp_path / "out.mp4", "--mode", "fast", *FAST)
    assert result.exit_code == 1 and "unknown --mode 'fast'" in result.stderr


def _zero_frame_clip(make_clip) -> Path:
    return make_clip("empty.mp4", frames=[], audio_s=0.5)


def _audio_only(make_clip) -> Path:
    path = make_clip("sound.m4a", frames=[], audio_s=0.5)
    return path


def _text_as_mp4(make_clip) -> Path:
    path = make_clip("x.mp4").with_name("notes.mp4")
    path.write_text("these are my notes, not a video\n" * 20)
    return path


def _directory(make_clip) -> Path:
    return make_clip("x.mp4").parent


@pytest.mark.parametrize(("make_input", "message"), [
    (lambda mk: mk("x.mp4").with_name("missing.mp4"), "input not found"),  # missing file
    (_directory, "is a directory"),  # a folder given as input
    (_text_as_mp4, "not a readable video file"),  # a text file renamed .mp4
    (_zero_frame_clip, "no video"),  # a video track with no frames (dropped by the muxer)
    (_audio_only, "no video stream"),  # audio only
])
def test_unreadable_inputs_fail_with_one_line(make_input, message, make_clip, cli, tmp_path):
    out = tmp_path / "out" / "result.mp4"
    out.parent.mkdir()
    result = cli(app, make_input(make_clip), out, *FAST)
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_output_must_differ_from_input_even_with_overwrite(make_clip, cli):
    clip = make_clip("in.mp4")
    before = clip.read_bytes()
    result = cli(app, clip, clip.parent / "." / clip.name, "--overwrite", *FAST)
    assert result.exit_code == 1 and "is the input" in result.stderr
    assert clip.read_bytes() == before


def test_existing_output_needs_overwrite(make_clip, cli, tmp_path):
    clip, out = make_clip("in.mp4"), tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    result = cli(app, clip, out, *FAST)
    assert result.exit_code == 1 and "--overwrite" in result.stderr
    assert out.read_bytes() == b"keep me"
    assert cli(app, clip, out, "--overwrite", *FAST).exit_code == 0
    assert count_frames(out) == 12


def test_missing_output_directory_is_refused(make_clip, cli, tmp_path):
    result = cli(app, make_clip("in.mp4"), tmp_path / "nope" / "out.mp4", *FAST)
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_unwritable_output_directory_is_refused(make_clip, cli, tmp_path, monkeypatch):
    # (tests may run as root, for whom chmod does not deny writing: fake the permission check)
    monkeypatch.setattr("streamer.cli.common.can_write", lambda directory: False)
    result = cli(app, make_clip("in.mp4"), tmp_path / "out.mp4", *FAST)
    assert result.exit_code == 1 and "not writable" in result.stderr


@pytest.mark.parametrize(("args", "suffix", "message"), [
    (("--codec", "h265-turbo"), ".mp4", "unsupported --codec"),  # no such encoder
    (("--codec", "aac"), ".mp4", "not video"),  # an audio encoder
    (("--preset", "warp-speed"), ".mp4", "unknown --preset 'warp-speed'"),
    (("--tile", "30"), ".mp4", "--tile must be a positive multiple of 8"),  # tile not a multiple of 8
    (("--overlap", "200"), ".mp4", "--overlap must be between"),  # overlap over half a tile
    (("--batch-size", "0"), ".mp4", "--batch-size must be >= 1"),  # an empty batch
    ((), ".webm", "to a .webm file"),  # H.264 cannot be stored in WebM
    ((), ".xyz", "to a .xyz file"),  # no container for this extension
])
def test_bad_options_fail_before_work(args, suffix, message, make_clip, cli, tmp_path):
    out = tmp_path / f"out{suffix}"
    result = cli(app, make_clip("in.mp4"), out, "--quiet", *args)
    assert result.exit_code == 1 and message in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really a zip", b"\x00" * 4096])
def test_corrupt_model_file_is_named(content, make_clip, cli, tmp_path):
    model = tmp_path / "broken.keras"
    model.write_bytes(content)
    out = tmp_path / "out.mp4"
    result = cli(app, make_clip("in.mp4"), out, "--quiet", "--model", model, model=False)
    assert result.exit_code == 1 and str(model) in result.stderr
    assert not out.exists()


def test_a_model_folder_is_named(make_clip, cli, tmp_path):
    (tmp_path / "models").mkdir()
    result = cli(app, make_clip("in.mp4"), tmp_path / "out.mp4", "--quiet",
                 "--model", tmp_path / "models", model=False)
    assert result.exit_code == 1 and "is a directory: give a .keras file" in result.stderr


def test_a_model_that_is_not_a_generator_is_named(make_clip, cli, tmp_path):
    import keras

    inputs = keras.Input((None, None, 6))  # e.g. a discriminator: image pairs, not RGB
    wrong = tmp_path / "critic.keras"
    keras.Model(inputs, keras.layers.Conv2D(1, 3)(inputs)).save(wrong)
    result = cli(app, make_clip("in.mp4"), tmp_path / "out.mp4", "--model", wrong, model=False)
    assert result.exit_code == 1 and str(wrong) in result.stderr and "generator" in result.stderr


def test_audio_the_output_container_cannot_hold_is_refused_before_work(make_clip, cli,
                                                                        tmp_path):
    clip = make_clip("pcm.mkv", audio_s=0.5, audio_codec="pcm_s16le")
    refused = cli(app, clip, tmp_path / "out.mp4", *FAST)
    assert refused.exit_code == 1 and "pcm_s16le" in refused.stderr
    assert "choose .mkv or .mov" in refused.stderr and "--no-audio" in refused.stderr
    assert not (tmp_path / "out.mp4").exists()
    kept = cli(app, clip, tmp_path / "out.mkv", *FAST)
    assert kept.exit_code == 0 and probe(tmp_path / "out.mkv")["audio_codec"] == "pcm_s16le"
    silent = cli(app, clip, tmp_path / "out.mp4", "--no-audio", *FAST)
    assert silent.exit_code == 0 and probe(tmp_path / "out.mp4")["audio_codec"] is None


def test_audio_no_container_takes_gets_no_container_advice(make_clip, cli, tmp_path,
                                                           monkeypatch):
    """(An MPEG-TS whose first audio timestamps wrap around was one such input.)"""
    import streamer.sink

    monkeypatch.setattr(streamer.sink, "_audio_copies_into", lambda source, suffix: False)
    result = cli(app, make_clip("in.mkv", audio_s=0.5), tmp_path / "out.mkv", *FAST)
    assert result.exit_code == 1 and "cannot be copied into a .mkv file;" in result.stderr
    assert "choose" not in result.stderr and "--no-audio" in result.stderr


def _corner_marked(count: int) -> list[np.ndarray]:
    frames = [np.full((48, 64, 3), 20, np.uint8) for _ in range(count)]
    for frame in frames:
        frame[:8, :8] = 255  # stored top-left
    return frames


@pytest.mark.parametrize(("name", "kwargs", "size"), [
    ("one.mp4", {"frames": [np.full((1, 1, 3), 30, np.uint8)] * 3, "pix_fmt": "yuv444p"}, (1, 1)),
    ("odd.mp4", {"size": (255, 257), "count": 3, "pix_fmt": "yuv444p"}, (255, 257)),
    ("gray.mkv", {"codec": "ffv1", "pix_fmt": "gray", "options": {}}, (64, 48)),
    ("ten.mp4", {"pix_fmt": "yuv420p10le"}, (64, 48)),
    ("vfr.mp4", {"pts": [0, 40, 80, 200, 230, 400, 410, 600], "count": 8,
                 "time_base": Fraction(1, 1000), "fps": 15}, (64, 48)),
    ("phone.mp4", {"frames": _corner_marked(6), "rotation": -90}, (48, 64)),
])
def test_awkward_inputs_work(name, kwargs, size, make_clip, cli, tmp_path):
    clip, out = make_clip(name, audio_s=0.5, **kwargs), tmp_path / "out.mp4"
    result = cli(app, clip, out, *FAST)
    assert result.exit_code == 0, result.output
    src, dst = probe(clip), probe(out)
    assert dst["size"] == size
    assert dst["frames"] == src["frames"]
    assert dst["times"] == pytest.approx(src["times"], abs=1e-3)
    if name == "phone.mp4":  # rotated 90° clockwise for display: the mark is now top-right
        corner = dst["first"][:6, -6:].mean()
        assert corner > 200 and dst["first"][:6, :6].mean() < 150


def test_hd_colour_tags_and_matrix_are_kept(make_clip, cli, tmp_path):
    green = np.zeros((48, 64, 3), np.uint8)
    green[..., 1], green[..., 0] = 200, 50
    clip, out = make_clip("hd.mp4", frames=[green] * 3, bt709=True), tmp_path / "out.mp4"
    result = cli(app, clip, out, *FAST)
    assert result.exit_code == 0, result.output
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0))
    assert (frame.colorspace, frame.color_primaries, frame.color_trc) == (1, 1, 1)
    before, after = probe(clip)["first"], probe(out)["first"]
    # the identity-like model keeps green green: no BT.601/709 mix-up (that shifts ~30 levels)
    assert np.abs(after[10:-10, 10:-10].astype(int) - before[10:-10, 10:-10]).max() <= 8


def test_an_edit_list_pre_roll_is_not_reported_as_lost_frames(cli, tmp_path):
    # Cameras and phones often start a clip with frames the container says to skip (negative
    # timestamps, discarded packets): they are in its frame count but are never shown.
    clip = tmp_path / "preroll.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(12):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * i, np.uint8), "rgb24")
            frame.pts = i - 3
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with av.open(str(clip)) as container:
        assert container.streams.video[0].frames == 12  # the pre-roll is counted here
    out = tmp_path / "out.mp4"
    result = cli(app, clip, out, *FAST)
    assert result.exit_code == 0 and "warning" not in result.stderr, result.stderr
    assert count_frames(out) == 9


def test_truncated_video_enhances_what_decodes_and_warns(make_clip, cli, tmp_path):
    frames = [np.random.default_rng(i).integers(0, 60, (48, 64, 3), np.uint8) for i in range(30)]
    clip = make_clip("full.mp4", frames=frames, audio_s=1.25, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size * 6 // 10])
    out = tmp_path / "out.mp4"
    result = cli(app, cut, out, *FAST)
    assert result.exit_code == 0, result.output
    written = count_frames(out)
    assert 0 < written < 30
    assert f"{30 - written} frame(s)" in result.stderr and "could not be decoded" in result.stderr


def test_mp4_cut_before_its_index_is_explained(make_clip, cli, tmp_path):
    clip = make_clip("full.mp4", count=30)  # index (moov) at the end, as cameras write it
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    result = cli(app, cut, tmp_path / "out.mp4", *FAST)
    assert result.exit_code == 1 and "cut short" in result.stderr


class CrashAfter:
    """An enhancer that passes the first `limit` frames through, then crashes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.done = 0

    def enhance(self, frames, timestamps=None):
        if self.done + len(frames) > self.limit:
            raise MemoryError("out of tile memory")
        self.done += len(frames)
        return list(frames)

    def reset(self) -> None:
        pass


def test_inference_crash_keeps_the_frames_so_far(make_clip, cli, tmp_path, monkeypatch,
                                                 no_thread_leak):
    monkeypatch.setattr("streamer.cli.video.create_enhancer", lambda model, options: CrashAfter(6))
    clip, out = make_clip("in.mp4", count=24, audio_s=1.0), tmp_path / "out.mp4"
    result = cli(app, clip, out, *FAST)
    assert result.exit_code == 1
    assert "inference stage failed" in result.stderr and "MemoryError" in result.stderr
    assert f"{out} was finalised with the first 6 of 24 frames" in result.stderr
    assert count_frames(out) == 6 and probe(out)["audio_codec"] == "aac"


def test_non_terminal_output_gets_a_summary(make_clip, cli, tmp_path):
    result = cli(app, make_clip("in.mp4"), tmp_path / "out.mp4", "--precision", "float32")
    assert result.exit_code == 0
    assert "summary" in result.stdout and "flicker" in result.stdout
    heading = f"(quality mode on {compute_device()}, float32)"  # e.g. "on CPU"
    assert heading in " ".join(result.stdout.split())
    assert os.path.exists(tmp_path / "out.mp4")
