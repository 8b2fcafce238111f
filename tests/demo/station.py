"""A small station for the control room tests: a long fallback track, so that a
request waits in the queue (requests never cut the song on air), and a requestable one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from radio.audio import synth

RATE = 48_000


def sine(path: Path, hz: float, seconds: float, title: str, artist: str) -> None:
    t = np.arange(round(seconds * RATE)) / RATE
    synth.write_samples(path, 0.25 * np.sin(2 * np.pi * hz * t), title=title, artist=artist)


def long_station(
    root: Path, *, fallback_seconds: float = 240.0, request_seconds: float = 3.0
) -> Path:
    """Write the station under ``root`` (UTC, no shows) and return ``root``."""
    sine(root / "media/music/long.flac", 440.0, fallback_seconds, "Long Tone", "Band A")
    sine(root / "media/requests/r.flac", 1000.0, request_seconds, "Request Me", "Req Band")
    (root / "station.yaml").write_text(
        "name: Tiny FM\ntimezone: UTC\nfallback: music\n", encoding="utf-8"
    )
    (root / "playlists").mkdir()
    (root / "playlists/music.yaml").write_text(
        "sources: [media/music]\norder: sequential\n", encoding="utf-8"
    )
    (root / "playlists/requests.yaml").write_text(
        "sources: [media/requests]\norder: sequential\nrequestable: true\n", encoding="utf-8"
    )
    (root / "schedules").mkdir()
    (root / "schedules/week.yaml").write_text("shows: []\n", encoding="utf-8")
    return root
