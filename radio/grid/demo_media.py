"""The example station's media library, generated with FFmpeg tones.

The repository ships no audio: :func:`generate` writes every file the example
playlists name (distinct frequencies, real tags) under the station's media folder,
so that ``radio check`` passes and the demo plays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from radio.audio import synth

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoFile:
    """One generated file: where, which tone, how long, which tags."""

    path: str  # relative to the media folder
    freq_hz: float
    seconds: float
    title: str
    artist: str
    album: str


def _album(
    folder: str, album: str, artist_titles: list[tuple[str, str]], base: float, seconds: float
) -> list[DemoFile]:
    return [
        DemoFile(
            f"{folder}/{artist} - {title}.flac",
            base + 20.0 * i,
            seconds,
            title,
            artist,
            album,
        )
        for i, (artist, title) in enumerate(artist_titles)
    ]


DEMO_LIBRARY: Final[tuple[DemoFile, ...]] = (
    *_album(
        "morning",
        "Morning Hits",
        [
            ("The Early Birds", "Sunrise"),
            ("The Early Birds", "Coffee Steam"),
            ("Alba", "First Light"),
            ("Alba", "Open Windows"),
            ("Commuters", "Platform 9"),
            ("Dawn Patrol", "Bright Side"),
        ],
        300.0,
        40.0,
    ),
    *_album(
        "indie",
        "Indie Selection",
        [
            ("Paper Lanterns", "Quiet Streets"),
            ("Paper Lanterns", "Late Trains"),
            ("Moss", "Green Rooms"),
            ("Kites", "Paper Sky"),
            ("Lowlands", "Flatlands"),
        ],
        500.0,
        45.0,
    ),
    *_album(
        "evening",
        "Evening Mix",
        [
            ("Nightshift", "Neon"),
            ("Nightshift", "Afterhours"),
            ("Velvet", "Slow Dance"),
            ("Lamplight", "Streetlamps"),
        ],
        700.0,
        50.0,
    ),
    *_album(
        "weekend",
        "Weekend Selection",
        [
            ("Saturday Club", "Brunch"),
            ("Saturday Club", "Picnic"),
            ("Sundays", "Lazy Morning"),
            ("Park Life", "Frisbee"),
        ],
        900.0,
        45.0,
    ),
    *_album(
        "night",
        "Night Mix",
        [
            ("Owls", "Midnight"),
            ("Owls", "Small Hours"),
            ("Starlight", "Orbit"),
            ("Drift", "Low Tide"),
            ("Drift", "Sleepwalk"),
        ],
        200.0,
        60.0,
    ),
    *_album(
        "jingles", "Jingles", [("Radio Demo", "Jingle A"), ("Radio Demo", "Jingle B")], 1200.0, 3.0
    ),
    *_album("ids", "Station IDs", [("Radio Demo", "You are listening to Radio Demo")], 1500.0, 4.0),
)


def generate(media: Path, *, overwrite: bool = False, seconds: float | None = None) -> list[Path]:
    """Write the example library under ``media``; skip files that exist unless ``overwrite``.

    ``seconds`` overrides every duration (tests use short files). Returns the
    paths written. Raises SourceError (from synth) when FFmpeg fails.
    """
    written: list[Path] = []
    for item in DEMO_LIBRARY:
        path = media / item.path
        if path.exists() and not overwrite:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        synth.tone(
            path,
            item.freq_hz,
            item.seconds if seconds is None else seconds,
            level_dbfs=-18.0,
            title=item.title,
            artist=item.artist,
            album=item.album,
        )
        written.append(path)
    if written:
        logger.info("generated %d demo media files under %s", len(written), media)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m radio.grid.demo_media [STATION_DIR]``: generate the example media."""
    import sys

    from radio.grid.loader import load_station

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = sys.argv[1:] if argv is None else argv
    station_dir = Path(args[0]) if args else Path(".")
    files = load_station(station_dir)
    written = generate(files.folder("media"))
    logger.info("%d file(s) written under %s", len(written), files.folder("media"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
