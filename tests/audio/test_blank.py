"""Blank content is skipped: a track below -40 dBFS for the blank limit, counted in frames.

Real FFmpeg decodes generated files; frames are pulled faster than real time
(``pull`` waits for buffers, never for time), so a 20 s rule costs 1,000 reads.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from radio.audio import synth
from radio.audio.blank import BlankDetector
from radio.audio.frames import FRAME_BYTES
from radio.audio.sequence import TrackSequence
from radio.audio.track import Track
from radio.audio.tracklist import TrackList
from radio.events import Event, TrackBlank, TrackEnded

from .conftest import pcm, pull, started

LIMIT_FRAMES = 1000  # the default 20 s


def silence(path: Path, seconds: float) -> Track:
    """A FLAC file of digital silence (FFmpeg's anullsrc: tiny, whatever its length)."""
    source = f"anullsrc=r=48000:cl=stereo:d={seconds}"
    args = ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", source]
    subprocess.run([*args, "-c:a", "flac", "-y", str(path)], check=True)
    return Track(location=str(path), title=path.stem, duration=seconds)


def blanks(events: list[Event]) -> list[tuple[str, int, float]]:
    return [(e.track.title, e.frame, e.seconds) for e in events if isinstance(e, TrackBlank)]


def test_an_hour_of_digital_silence_is_skipped_after_the_limit(
    tmp_path: Path, make_tone: Callable[..., Track], events: list[Event]
) -> None:
    hour = silence(tmp_path / "hour.flac", 3600)
    after = make_tone("after", 440, 2.0)
    seq = TrackSequence(TrackList([hour, after]), events=events.append)
    out = pcm(pull(seq, LIMIT_FRAMES + 60))
    seq.close()

    # the 1,000th blank frame (index 999) trips the rule; the skip fades at the next read
    assert blanks(events) == [("hour", LIMIT_FRAMES - 1, 20.0)]
    assert started(events) == [("hour", 0), ("after", LIMIT_FRAMES)]
    assert [(e.track.title, e.skipped) for e in events if isinstance(e, TrackEnded)] == [
        ("hour", True)
    ]
    assert not out[: LIMIT_FRAMES * 960].any()
    assert np.abs(out[(LIMIT_FRAMES + 1) * 960 :]).max() > 1000  # the next track is on air
    assert seq.blank_skips == 1


def test_the_limit_is_exact_and_configurable(
    tmp_path: Path, make_tone: Callable[..., Track], events: list[Event]
) -> None:
    quiet = make_tone("quiet", 440, 10.0, level_dbfs=-45.0)  # RMS -48 dBFS: blank
    after = make_tone("after", 660, 2.0)
    seq = TrackSequence(TrackList([quiet, after]), events=events.append, blank_limit=1.5)
    pull(seq, 100)
    seq.close()
    assert blanks(events) == [("quiet", 74, 1.5)]
    assert started(events) == [("quiet", 0), ("after", 75)]


def test_quiet_but_not_blank_and_short_silences_play(
    tmp_path: Path, make_tone: Callable[..., Track], events: list[Event]
) -> None:
    soft = make_tone("soft", 440, 3.0, level_dbfs=-30.0)  # RMS -33 dBFS: not blank
    pause = silence(tmp_path / "pause.flac", 0.98)  # 49 frames: one short of the limit
    soft2 = make_tone("soft2", 550, 1.0, level_dbfs=-30.0)
    seq = TrackSequence(TrackList([soft, pause, soft2]), events=events.append, blank_limit=1.0)
    pull(seq, 150 + 49 + 50)
    seq.close()
    assert blanks(events) == []
    assert started(events) == [("soft", 0), ("pause", 150), ("soft2", 199)]


def test_a_blank_stretch_inside_a_track_counts_from_its_first_blank_frame(
    tmp_path: Path, events: list[Event]
) -> None:
    # 1 s of tone, then 3 s of silence: at a 2 s limit the track is cut 2 s into the silence
    t = np.arange(48_000) / 48_000
    tone = 0.1 * np.sin(2 * np.pi * 440 * t)
    samples = np.concatenate([tone, np.zeros(3 * 48_000)])
    path = synth.write_samples(tmp_path / "gap.flac", samples)
    after = synth.tone(tmp_path / "after.wav", 660, 2.0)
    seq = TrackSequence(
        TrackList([Track(str(path), "gap"), Track(str(after), "after")]),
        events=events.append,
        blank_limit=2.0,
    )
    pull(seq, 200)
    seq.close()
    assert blanks(events) == [("gap", 50 + 100 - 1, 2.0)]
    assert started(events) == [("gap", 0), ("after", 150)]


def test_no_limit_never_skips(tmp_path: Path, events: list[Event]) -> None:
    pause = silence(tmp_path / "pause.flac", 3.0)
    seq = TrackSequence(TrackList([pause]), events=events.append, blank_limit=None)
    pull(seq, 149)
    seq.close()
    assert blanks(events) == []
    assert [e for e in events if isinstance(e, TrackEnded)] == []


def test_the_detector_counts_runs_and_fires_once_per_run() -> None:
    detector = BlankDetector(0.06)  # 3 frames
    quiet = np.full(1920, 300, dtype="<i2").tobytes()  # -40.8 dBFS: blank
    loud = np.full(1920, 330, dtype="<i2").tobytes()  # -39.9 dBFS: not blank
    assert len(quiet) == FRAME_BYTES
    assert [detector.feed(f) for f in (quiet, quiet, quiet, quiet)] == [False, False, True, False]
    assert [detector.feed(f) for f in (loud, quiet, quiet, quiet)] == [False, False, False, True]
    detector.reset()
    assert [detector.feed(f) for f in (quiet, quiet)] == [False, False]
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            BlankDetector(bad)
