import logging
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from radio.audio import synth
from radio.audio.decoder import FFmpegDecoder
from radio.audio.frames import SILENCE
from radio.audio.pcm import decode_file
from radio.audio.sequence import TrackSequence
from radio.audio.track import Track
from radio.audio.tracklist import TrackList
from radio.errors import DecoderError
from radio.events import Event, TrackEnded, TrackFailed, TrackStarted

from .conftest import pcm, pull


def _bad(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "missing.flac"
    if kind == "unreadable":
        path = tmp_path / "unreadable.flac"
        path.mkdir()  # a folder where a file should be: root reads any mode-000 file
        return path
    if kind == "no-permission":
        path = synth.tone(tmp_path / "secret.flac", 440.0, 0.5)
        path.chmod(0)
        return path
    if kind == "zero-length":
        path = tmp_path / "empty.wav"
        path.write_bytes(b"")
        return path
    if kind == "no-samples":
        path = tmp_path / "no-samples.wav"
        synth.tone(tmp_path / "one.wav", 440.0, 0.01)
        data = (tmp_path / "one.wav").read_bytes()
        path.write_bytes(data[:44])  # a valid WAV header and no sample data
        return path
    if kind == "corrupt":
        # a real FLAC header (magic and STREAMINFO) followed by garbage
        path = synth.tone(tmp_path / "corrupt.flac", 440.0, 1.0)
        header = path.read_bytes()[:42]
        garbage = np.random.default_rng(7).integers(0, 256, 50_000, dtype=np.uint8)
        path.write_bytes(header + garbage.tobytes())
        return path
    if kind == "text":
        path = tmp_path / "notes.mp3"
        path.write_text("this is not audio\n" * 50)
        return path
    if kind == "image":
        path = tmp_path / "cover.png"
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
             "color=red:s=16x16", "-frames:v", "1", str(path)],
            check=True,
        )  # fmt: skip
        return path
    raise AssertionError(kind)


KINDS = [
    "missing",
    "unreadable",
    pytest.param(
        "no-permission",
        marks=pytest.mark.skipif(os.geteuid() == 0, reason="root reads mode-000 files"),
    ),
    "zero-length",
    "no-samples",
    "corrupt",
    "text",
    "image",
]


@pytest.mark.parametrize("duration", [None, 1.0], ids=["probed", "duration-known"])
@pytest.mark.parametrize("kind", KINDS)
def test_bad_media_is_skipped_with_one_line_an_event_and_no_dead_air(
    tmp_path: Path,
    make_tone: Callable[..., Track],
    events: list[Event],
    caplog: pytest.LogCaptureFixture,
    kind: str,
    duration: float | None,
) -> None:
    # a Track that carries its duration is not probed: FFmpeg alone finds the fault
    before = make_tone("before", 440.0, 0.3 + 17 / 48000)
    bad = Track(location=str(_bad(tmp_path, kind)), title="bad", duration=duration)
    after = make_tone("after", 880.0, 0.3)
    expected = np.concatenate([decode_file(before.location), decode_file(after.location)])
    seq = TrackSequence(TrackList([before, bad, after]), events=events.append)
    with caplog.at_level(logging.WARNING):
        out = pcm(pull(seq, 40))
    seq.close()
    assert np.array_equal(out[: len(expected)], expected)  # zero frames of silence between
    assert seq.underruns == 0
    lines = [r.getMessage() for r in caplog.records if bad.location in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith(f"skipping {bad.location}")
    failed = [e for e in events if isinstance(e, TrackFailed)]
    assert [e.track for e in failed] == [bad]
    assert [e.track.title for e in events if isinstance(e, TrackStarted)] == ["before", "after"]


@pytest.mark.parametrize("kind", ["missing", "text", "image"])
def test_decoder_refuses_bad_media_with_a_reason(tmp_path: Path, kind: str) -> None:
    with pytest.raises(DecoderError) as info:
        FFmpegDecoder(str(_bad(tmp_path, kind)))
    assert str(info.value)


def test_a_killed_decoder_does_not_block_read(tmp_path: Path) -> None:
    path = synth.tone(tmp_path / "long.wav", 440.0, 20.0)
    decoder = FFmpegDecoder(str(path), buffer_frames=10)
    assert decoder.wait_buffered(10.0, frames=10)
    first = decoder.read()
    os.kill(decoder.pid, signal.SIGKILL)
    frames = []
    while True:
        assert decoder.wait_buffered(10.0)  # returns on data or on EOF of the dead process
        if decoder.finished:  # EOF may come with nothing left to read
            break
        frames.append(decoder.read())
        assert len(frames) < 1000, "a killed decoder kept producing"
    # what was buffered (10 frames, and up to 1 MB = 273 frames in the pipe) played
    # out: far less than the 1,000 frames of the track
    assert all(len(f) == 3840 and f != SILENCE for f in frames)
    assert len(frames) <= 10 + 274
    after = [decoder.read() for _ in range(50)]
    assert after == [SILENCE] * 50  # and reads go on returning at once, never blocking
    assert decoder.finished and decoder.failed and not decoder.ready
    assert decoder.error == "ffmpeg was killed by signal 9"
    assert pcm(first)[:, 0].any()
    decoder.close()


def test_a_sequence_moves_on_when_ffmpeg_dies_mid_track(
    make_tone: Callable[..., Track], events: list[Event], caplog: pytest.LogCaptureFixture
) -> None:
    long = make_tone("long", 440.0, 30.0)
    nxt = make_tone("next", 880.0, 0.5)
    seq = TrackSequence(TrackList([long, nxt]), events=events.append, preload=1.0)
    pull(seq, 5)
    pid = seq.current_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with caplog.at_level(logging.WARNING):
        out = pcm(pull(seq, 600))
    seq.close()
    failed = [e for e in events if isinstance(e, TrackFailed)]
    started = [e for e in events if isinstance(e, TrackStarted)]
    assert [e.track.title for e in failed] == ["long"]
    assert failed[0].reason == "ffmpeg was killed by signal 9"
    assert [e.track.title for e in started] == ["long", "next"]
    assert not any(isinstance(e, TrackEnded) and e.track == long for e in events)
    # the buffered part played, then "next" followed in the same frame: no silent frame
    boundary = started[1].frame - 5
    assert 0 <= boundary < 595
    head = out[: (boundary + 1) * 960]
    assert all(head[i * 960 : (i + 1) * 960].any() for i in range(boundary + 1))
    db = decode_file(nxt.location)
    start = next(
        s for s in range(boundary * 960, (boundary + 1) * 960)
        if np.array_equal(out[s : s + 960], db[:960])
    )  # fmt: skip
    assert np.array_equal(out[start : start + len(db)], db)
    assert sum("failed mid-track" in r.getMessage() and long.location in r.getMessage()
               for r in caplog.records) == 1  # fmt: skip
