"""The example station's media library, generated: songs in numpy, spoken IDs and jingles.

The repository ships no audio: :func:`generate` writes every file the example
playlists name under the station's media folder, so that ``radio check`` passes
and the demo sounds like a radio. Each playlist folder has its own sound (a
:class:`~radio.demo.music.Style`: morning pop, indie, evening jazz, weekend
dance, night ambient); each song is one seed of its style. Station IDs and
jingles are words read by ``espeak-ng`` over the station's chime, or the chime
alone where espeak-ng is not installed. Every file is FLAC, tagged with its
title, artist and album, so now-playing reads well.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from radio.audio import synth
from radio.audio.frames import SAMPLE_RATE
from radio.demo.music import PEAK, STYLES, Samples, compose, sonic_logo
from radio.demo.speech import espeak_binary, speak
from radio.errors import SourceError

logger = logging.getLogger(__name__)

IDENT: Final = "ident"  # the style of a station ID or jingle: words over the chime
WORKERS: Final = 2  # numpy and FFmpeg each leave the GIL: two files at once on two cores
_SPEECH_AT: Final = 0.45  # seconds of chime before the words
_SPEECH_TAIL: Final = 0.5  # seconds of chime after them


@dataclass(frozen=True, slots=True)
class DemoFile:
    """One generated file: where (relative to the media folder), how long, which tags,
    its style (a key of :data:`~radio.demo.music.STYLES`, or :data:`IDENT`), and for
    an ident the words and the espeak-ng voice that reads them."""

    path: str
    seconds: float
    title: str
    artist: str
    album: str
    style: str
    words: str = ""
    voice: str = "en"

    @property
    def seed(self) -> int:
        """The song's seed: the same file always sounds the same."""
        return zlib.crc32(self.path.encode())


def _album(
    folder: str, album: str, artist_titles: list[tuple[str, str]], seconds: float
) -> list[DemoFile]:
    return [
        DemoFile(f"{folder}/{artist} - {title}.flac", seconds, title, artist, album, folder)
        for artist, title in artist_titles
    ]


def _ident(folder: str, album: str, title: str, words: str, voice: str) -> DemoFile:
    return DemoFile(f"{folder}/Radio Demo - {title}.flac", 3.0, title, "Radio Demo", album,
                    IDENT, words, voice)  # fmt: skip


_LISTENING: Final = "You are listening to Radio Demo"

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
        60.0,
    ),
    _ident("jingles", "Jingles", "Jingle A", "Radio Demo. More music, all day long.", "en+f3"),
    _ident("jingles", "Jingles", "Jingle B", "Radio Demo. Your radio, your requests.", "en-us+m3"),
    _ident("ids", "Station IDs", _LISTENING, _LISTENING + ".", "en+f3"),
)


def render(item: DemoFile, seconds: float | None = None, espeak: str | None = None) -> Samples:
    """The samples of ``item`` (stereo float, 48 kHz), ``seconds`` long when given.

    An ident is the chime with ``espeak``'s reading of its words (the ident grows
    to fit them unless ``seconds`` is given); with ``espeak`` None, or when
    espeak-ng fails (logged as a warning), the chime alone. Raises ValueError for
    a non-positive duration, KeyError for an unknown style.
    """
    length = item.seconds if seconds is None else seconds
    if item.style != IDENT:
        return compose(STYLES[item.style], length, item.seed)
    words: Samples | None = None
    if espeak is not None and item.words:
        try:
            words = speak(espeak, item.words, voice=item.voice)
        except SourceError as exc:
            logger.warning("%s: without words (%s)", item.path, exc)
    if words is None:
        return sonic_logo(length, item.seed)
    if seconds is None:
        length = max(length, _SPEECH_AT + words.shape[0] / SAMPLE_RATE + _SPEECH_TAIL)
    audio = sonic_logo(length, item.seed) * 0.35
    start = round(_SPEECH_AT * SAMPLE_RATE)
    voice = words[: max(0, audio.shape[0] - start)]
    audio[start : start + voice.shape[0]] += voice[:, None] * 0.8
    peak = float(np.max(np.abs(audio)))
    return audio * (PEAK / peak) if peak > 0 else audio


def write(
    media: Path, item: DemoFile, seconds: float | None = None, espeak: str | None = None
) -> Path:
    """Render ``item`` and write it under ``media`` as tagged FLAC; return its path.

    Raises SourceError when FFmpeg fails.
    """
    path = media / item.path
    synth.write_samples(
        path,
        render(item, seconds, espeak),
        title=item.title,
        artist=item.artist,
        album=item.album,
    )
    return path


def generate(
    media: Path,
    *,
    overwrite: bool = False,
    seconds: float | None = None,
    speech: bool = True,
    progress: Callable[[int, int, DemoFile], None] | None = None,
) -> list[Path]:
    """Write the example library under ``media``; skip files that exist unless ``overwrite``.

    ``seconds`` overrides every duration (tests use short files). ``speech``
    False: idents without words even where espeak-ng is installed. ``progress``
    is called with (number, how many, file) as each file is written, in order.
    Returns the paths written, in library order. Raises SourceError when FFmpeg
    fails (the files already written stay).
    """
    todo = [item for item in DEMO_LIBRARY if overwrite or not (media / item.path).exists()]
    espeak = espeak_binary() if speech else None
    if todo and speech and espeak is None:
        logger.info("espeak-ng is not installed: the station IDs and jingles are chimes")

    written: list[Path] = []
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="demo-media") as pool:
        paths = pool.map(lambda item: write(media, item, seconds, espeak), todo)
        for number, (item, path) in enumerate(zip(todo, paths, strict=True), start=1):
            written.append(path)
            if progress is not None:
                progress(number, len(todo), item)
    if written:
        logger.info("generated %d demo media files under %s", len(written), media)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m radio.demo.media [STATION_DIR]``: generate the example media."""
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
