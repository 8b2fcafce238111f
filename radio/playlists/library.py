"""The track library: playlist sources resolved to files, metadata read with ffprobe.

A source is a file, a folder (every audio file under it, sorted) or a glob
pattern, relative to the station directory. Metadata (title, artist, album,
duration) comes from the file's tags, falling back to the file name
(``Artist - Title.flac`` or just ``Title.flac``). Probes are cached by path, size
and modification time, so a reload only probes what changed.
"""

from __future__ import annotations

import glob
import logging
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import ffmpeg

from radio.audio.track import Track
from radio.errors import SourceError

logger = logging.getLogger(__name__)

AUDIO_SUFFIXES: Final = frozenset(
    {".flac", ".wav", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".wma", ".aiff", ".aif"}
)


@dataclass(frozen=True, slots=True)
class Resolution:
    """What one playlist source resolved to: files, or the reason it matched nothing."""

    source: str
    files: tuple[Path, ...]


class Library:
    """Resolves sources under ``root`` and reads track metadata (thread-safe, cached)."""

    def __init__(self, root: Path, *, workers: int = 4) -> None:
        self.root = root
        self._workers = workers
        self._cache: dict[Path, tuple[int, int, Track]] = {}
        self._lock = threading.Lock()

    def resolve(self, source: str) -> Resolution:
        """The audio files ``source`` names, sorted; empty when it matches nothing."""
        path = Path(source).expanduser()
        if not path.is_absolute():
            path = self.root / path
        if glob.has_magic(source):
            matches = [Path(p) for p in glob.glob(str(path), recursive=True)]
            files = sorted(p for p in matches if p.is_file() and _is_audio(p))
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _is_audio(p))
        elif path.exists():
            files = [path]
        else:
            files = []
        return Resolution(source, tuple(files))

    def track(self, path: Path) -> Track:
        """The track at ``path`` with its metadata.

        Raises SourceError when the file is missing or FFmpeg finds no audio in it.
        """
        try:
            stat = path.stat()
        except OSError as exc:
            raise SourceError(f"{path}: cannot read the file: {exc.strerror}") from exc
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None and cached[:2] == (stat.st_size, stat.st_mtime_ns):
            return cached[2]
        track = probe(path)
        with self._lock:
            self._cache[path] = (stat.st_size, stat.st_mtime_ns, track)
        return track

    def tracks(self, paths: Iterable[Path]) -> Mapping[Path, Track | SourceError]:
        """Probe ``paths`` in parallel; each maps to its Track or the error it raised."""
        unique = list(dict.fromkeys(paths))

        def one(path: Path) -> Track | SourceError:
            try:
                return self.track(path)
            except SourceError as exc:
                return exc

        if len(unique) <= 1:
            return {p: one(p) for p in unique}
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            return dict(zip(unique, pool.map(one, unique), strict=True))


def _is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_SUFFIXES


def probe(path: Path) -> Track:
    """Read ``path``'s metadata with ffprobe; raises SourceError when it is not audio."""
    try:
        info: dict[str, Any] = ffmpeg.probe(str(path))
    except ffmpeg.Error as exc:
        stderr = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        reason = stderr[-1] if stderr else "ffprobe failed"
        raise SourceError(f"{path}: FFmpeg cannot read it: {reason}") from None
    except OSError as exc:  # ffprobe itself missing
        raise SourceError(f"cannot run ffprobe: {exc}") from exc
    streams = info.get("streams", [])
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:
        raise SourceError(f"{path}: no audio stream")
    # FFmpeg guesses a demuxer from the suffix: a text file called .flac "has" a
    # FLAC stream with no channels and no sample rate. That is not audio.
    if not int(audio[0].get("channels") or 0) or not int(audio[0].get("sample_rate") or 0):
        raise SourceError(f"{path}: no decodable audio (no channels or sample rate)")
    tags: dict[str, str] = {}
    for holder in (audio[0], info.get("format", {})):
        for key, value in (holder.get("tags") or {}).items():
            tags.setdefault(str(key).lower(), str(value))
    duration = _float(info.get("format", {}).get("duration")) or _float(audio[0].get("duration"))
    if duration is not None and duration <= 0:
        raise SourceError(f"{path}: the audio is empty")
    guessed_artist, guessed_title = from_file_name(path)
    title = tags.get("title") or guessed_title
    artist = tags.get("artist") or tags.get("album_artist") or guessed_artist
    return Track(
        location=str(path),
        title=title,
        artist=artist,
        album=tags.get("album", ""),
        duration=duration,
    )


def from_file_name(path: Path) -> tuple[str, str]:
    """(artist, title) guessed from ``Artist - Title.ext``; artist is '' when absent."""
    stem = path.stem.replace("_", " ").strip()
    if " - " in stem:
        artist, title = stem.split(" - ", 1)
        return artist.strip(), title.strip()
    return "", stem


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
