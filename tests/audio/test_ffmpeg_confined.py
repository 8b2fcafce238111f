"""FFmpeg confined: names that look like protocols are files, special files are refused
unopened, and no ffmpeg or ffprobe outlives a failed probe, decode or measurement."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from radio.audio import synth
from radio.audio.decoder import FFmpegDecoder, ProbeInfo, probe
from radio.audio.ffmpeg_cli import run_bounded
from radio.audio.loudness import measure
from radio.audio.pcm import decode_file
from radio.errors import DecoderError, SourceError
from radio.playlists.library import Library


def children() -> set[int]:
    """This process's child processes (zombies included), from /proc."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            found |= {int(pid) for pid in (task / "children").read_text().split()}
        except OSError:
            continue  # the thread ended meanwhile
    return found


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes (the condition, not a sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture(autouse=True)
def no_children_before() -> None:
    assert wait_for(lambda: not children()), f"children left by an earlier test: {children()}"


def _frequency(pcm: np.ndarray) -> float:
    left = pcm[:, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(left))
    return float(np.argmax(spectrum) * 48000 / len(left))


@pytest.mark.parametrize("name", ["concat:a.flac", "http:x.flac", "file:b.flac", "pipe:c.flac"])
def test_names_that_look_like_protocols_are_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    # the file the protocol would read instead, if the name were taken as one
    synth.tone(tmp_path / "a.flac", 440, 2.0)
    synth.tone(tmp_path / name, 880, 1.0)

    assert probe(name).duration == pytest.approx(1.0, abs=0.05)
    assert _frequency(decode_file(name)) == pytest.approx(880, abs=5)
    decoder = FFmpegDecoder(name)
    try:
        assert decoder.wait_buffered(30, frames=10)
        frames = [decoder.read() for _ in range(10)]
        assert not decoder.failed
    finally:
        decoder.close()
    pcm = np.frombuffer(b"".join(frames), dtype="<i2").reshape(-1, 2)
    assert _frequency(pcm) == pytest.approx(880, abs=10)
    assert measure(name).integrated_lufs is not None
    track = Library(tmp_path).track(tmp_path / name)
    assert track.duration == pytest.approx(1.0, abs=0.05)


def test_a_fifo_is_refused_before_any_process_starts(tmp_path: Path) -> None:
    fifo = tmp_path / "stuck.flac"
    os.mkfifo(fifo)
    for attempt in (
        lambda: probe(str(fifo)),
        lambda: FFmpegDecoder(str(fifo), info=ProbeInfo(duration=1.0)),
        lambda: measure(str(fifo)),
        lambda: decode_file(str(fifo)),
        lambda: Library(tmp_path).track(fifo),
    ):
        with pytest.raises(SourceError, match=r"not a regular file \(a FIFO\)"):
            attempt()
    assert children() == set()


def test_a_probe_that_never_gets_data_is_killed_and_reaped(tmp_path: Path) -> None:
    # the regular-file check bypassed: ffprobe opens a FIFO no one ever writes to
    fifo = tmp_path / "silent.flac"
    os.mkfifo(fifo)
    with pytest.raises(DecoderError, match=r"no answer within 1 s"):
        run_bounded(
            ["ffprobe", "-v", "error", "-show_format", "-of", "json", str(fifo)],
            action="read it",
            error=DecoderError,
            timeout=1.0,
        )
    assert children() == set()


def test_no_child_outlives_a_failed_decode(tmp_path: Path) -> None:
    # text under a name that suggests no format: random bytes sometimes hold an MPEG
    # sync word, and a .flac name makes FFmpeg try FLAC on anything
    garbage = tmp_path / "garbage.dat"
    garbage.write_bytes(b"this is not audio at all, only words\n" * 120)
    with pytest.raises(DecoderError):
        probe(str(garbage))
    with pytest.raises(DecoderError):
        measure(str(garbage))
    assert children() == set()

    decoder = FFmpegDecoder(str(garbage), info=ProbeInfo(duration=1.0))
    assert decoder.wait_buffered(30)
    assert wait_for(lambda: decoder.failed)
    decoder.close()
    assert wait_for(lambda: not children()), children()


def test_no_child_outlives_a_decoder_closed_mid_track(tmp_path: Path) -> None:
    long = synth.tone(tmp_path / "long.flac", 440, 30.0)
    decoder = FFmpegDecoder(str(long), buffer_frames=5)
    assert decoder.wait_buffered(30, frames=5)
    assert decoder.pid in children()
    decoder.close()
    assert wait_for(lambda: not children()), children()
