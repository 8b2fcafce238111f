"""Fixtures and helpers for the engine tests: generated media, pulling frames fast."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from radio.audio import synth
from radio.audio.pcm import Int16Array, to_int16
from radio.audio.source import Source
from radio.audio.track import Track
from radio.events import Event, TrackStarted


def pull(source: Source, frames: int) -> bytes:
    """Read ``frames`` frames, waiting before each for the source's buffers (not time)."""
    out = []
    wait = getattr(source, "wait_buffered", None)
    for _ in range(frames):
        if wait is not None:
            assert wait(10.0), "source never became ready"
        frame = source.read()
        assert len(frame) == 3840
        out.append(frame)
    return b"".join(out)


def pcm(data: bytes) -> Int16Array:
    return to_int16(data)


@pytest.fixture
def make_tone(tmp_path: Path) -> Callable[..., Track]:
    """Make a tone file and return its Track (title = file stem)."""

    def make(
        name: str, freq: float, seconds: float, level_dbfs: float = -20.0, suffix: str = ".wav"
    ) -> Track:
        path = synth.tone(tmp_path / f"{name}{suffix}", freq, seconds, level_dbfs=level_dbfs)
        return Track(location=str(path), title=name)

    return make


@pytest.fixture
def events() -> list[Event]:
    return []


def started(events: list[Event]) -> list[tuple[str, int]]:
    """Each TrackStarted as (title, frame), in order."""
    return [(e.track.title, e.frame) for e in events if isinstance(e, TrackStarted)]


def first_nonzero(samples: Int16Array) -> int:
    return int(np.flatnonzero(np.abs(samples[:, 0]) > 0)[0])
