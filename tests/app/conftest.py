"""A tiny station folder for the application tests: short tones, a hard-start show, requests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from radio.audio import synth
from radio.sandbox.analysis import mono, rms
from radio.sandbox.record import SAMPLE_RATE, PacketRecord

# (folder, file stem, title, artist, frequency, seconds)
FALLBACK_TONES = (
    ("music", "a", "Tone A", "Band A", 440.0, 2.0),
    ("music", "b", "Tone B", "Band B", 550.0, 2.5),
    ("music", "c", "Tone C", "Band C", 660.0, 2.0),
)
SHOW_TONES = (("show", "s", "Show Tone", "Show Band", 880.0, 3.0),)


@dataclass(frozen=True)
class TinyStation:
    """A station folder: where it is, its hard-start show's instant, and each file's tone."""

    root: Path
    show_start: datetime | None
    freq_of: dict[str, float]  # absolute path -> Hz
    requestable: dict[str, float]  # title -> Hz

    @property
    def data(self) -> Path:
        return self.root / "data"


def make_station(
    root: Path,
    *,
    show_start: datetime | None,
    requests: tuple[tuple[str, str, float, float], ...] = (
        ("Request Me", "Req Band", 1000.0, 3.0),
    ),
) -> TinyStation:
    """Write a UTC station under ``root``: a sequential fallback of 2-2.5 s tones, and
    (when ``show_start`` is given, whole seconds) a one-off hard-start show of one
    880 Hz tone at that instant; ``requests`` (title, artist, Hz, seconds) make a
    requestable playlist."""
    freq_of: dict[str, float] = {}
    tones = [*FALLBACK_TONES, *SHOW_TONES]
    tones += [("requests", f"r{i}", t, a, hz, s) for i, (t, a, hz, s) in enumerate(requests)]
    for folder, stem, title, artist, hz, seconds in tones:
        path = root / "media" / folder / f"{stem}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        synth.tone(path, hz, seconds, level_dbfs=-18.0, title=title, artist=artist)
        freq_of[str(path.resolve())] = hz
    (root / "station.yaml").write_text(
        "name: Tiny FM\ntimezone: UTC\nfallback: music\n", encoding="utf-8"
    )
    playlists = root / "playlists"
    playlists.mkdir()
    (playlists / "music.yaml").write_text(
        "sources: [media/music]\norder: sequential\n", encoding="utf-8"
    )
    (playlists / "show.yaml").write_text(
        "sources: [media/show]\norder: sequential\n", encoding="utf-8"
    )
    (playlists / "requests.yaml").write_text(
        "sources: [media/requests]\norder: sequential\nrequestable: true\n", encoding="utf-8"
    )
    schedules = root / "schedules"
    schedules.mkdir()
    if show_start is None:
        (schedules / "week.yaml").write_text("shows: []\n", encoding="utf-8")
    else:
        assert show_start.microsecond == 0
        dtstart = show_start.strftime("%Y-%m-%dT%H:%M:%S")
        (schedules / "week.yaml").write_text(
            "shows:\n"
            "  - id: hard\n"
            "    title: The Hard Start\n"
            "    rrule: FREQ=DAILY;COUNT=1\n"
            f'    dtstart: "{dtstart}"\n'
            "    duration: 1h\n"
            "    start_mode: hard\n"
            "    rotation: [{playlist: show}]\n",
            encoding="utf-8",
        )
    requestable = {title: hz for title, _, hz, _ in requests}
    return TinyStation(root, show_start, freq_of, requestable)


def whole_seconds_after(now: datetime, seconds: float) -> datetime:
    """The first whole second at least ``seconds`` after ``now``."""
    later = now + timedelta(seconds=seconds)
    return later.replace(microsecond=0) + timedelta(seconds=1)


def rtp_steps(packets: list[PacketRecord]) -> set[int]:
    """The distinct RTP timestamp steps between consecutive packets ({960}: every
    20 ms frame was sent, none skipped or repeated)."""
    return {(b.timestamp - a.timestamp) % 2**32 for a, b in itertools.pairwise(packets)}


def packet_tone(packet: PacketRecord, tones: Sequence[float]) -> float | None:
    """The one of ``tones`` a packet carries (its peak within 20 Hz), 0.0 for silence,
    or None for a mixture or a packet the listener could not open (DAVE refuses a
    frame sent across a transition). A 32,768-point FFT: 1.5 Hz bins."""
    if packet.pcm is None:
        return None
    signal = mono(np.frombuffer(packet.pcm, dtype=np.int16).reshape(-1, 2))
    if rms(signal) < 0.003:
        return 0.0
    windowed = (signal - signal.mean()) * np.hanning(signal.size)
    points = 1 << 15
    peak = float(np.argmax(np.abs(np.fft.rfft(windowed, n=points)))) * SAMPLE_RATE / points
    nearest = min(tones, key=lambda hz: abs(hz - peak))
    return nearest if abs(nearest - peak) < 20.0 else None
