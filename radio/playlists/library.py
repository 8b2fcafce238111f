"""The track library: playlist sources resolved to files, metadata read with ffprobe.

A source is a file, a folder (every audio file under it, sorted) or a glob
pattern, relative to the station directory. Metadata (title, artist, album,
duration) comes from the file's tags, falling back to the file name
(``Artist - Title.flac`` or just ``Title.flac``). Probes are cached by path, size
and modification time, so a reload only probes what changed.

The scan is bounded and never opens what it should not: folders are walked
with symlinks followed but each real folder visited once (a symlink loop ends
there), at most :data:`MAX_FILES` entries per source; special files (FIFOs,
devices, sockets) are skipped from ``os.stat`` without being opened; with
``roots`` given, a file whose real path (symlinks resolved) lies outside them
is refused. Each of these is in :attr:`Resolution.refused` with its reason.
ffprobe runs confined and bounded (radio.audio.ffmpeg_cli.probe_json).
"""

from __future__ import annotations

import glob
import logging
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from radio.audio.ffmpeg_cli import probe_json, special_kind
from radio.audio.track import Track
from radio.errors import SourceError

logger = logging.getLogger(__name__)

AUDIO_SUFFIXES: Final = frozenset(
    {".flac", ".wav", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".wma", ".aiff", ".aif"}
)
#: The most directory entries one source may walk through (a whole disk named by
#: mistake, or a folder tree a symlink multiplies, ends here with an error).
MAX_FILES: Final = 100_000


@dataclass(frozen=True, slots=True)
class Refused:
    """A file a source reached but will not play, and why."""

    path: Path
    reason: str
    outside: bool = False  # True: outside the media roots (an error, not a skip)


@dataclass(frozen=True, slots=True)
class Resolution:
    """What one playlist source resolved to: playable files and the ones refused.

    ``truncated`` is True when the walk stopped at :data:`MAX_FILES` entries.
    """

    source: str
    files: tuple[Path, ...]
    refused: tuple[Refused, ...] = ()
    truncated: bool = False


class Library:
    """Resolves sources under ``root`` and reads track metadata (thread-safe, cached)."""

    def __init__(self, root: Path, *, workers: int = 4) -> None:
        self.root = root
        self._workers = workers
        self._cache: dict[Path, tuple[int, int, Track]] = {}
        self._lock = threading.Lock()

    def resolve(self, source: str, roots: Sequence[Path] | None = None) -> Resolution:
        """The audio files ``source`` names, sorted, and those refused (see the module).

        With ``roots``, only files whose real path lies under one of them are
        returned; the others are refused as outside. Never opens a file.
        """
        path = Path(source).expanduser()
        if not path.is_absolute():
            path = self.root / path
        real_roots = [os.path.realpath(r) for r in roots] if roots is not None else None
        walk = _Walk()
        if glob.has_magic(source):
            candidates: Iterable[Path] = walk.matching(path)
        elif _isdir(path):
            candidates = walk.below(path)
        elif os.path.lexists(path):
            candidates = [path]
        else:
            candidates = []
        explicit = not glob.has_magic(source) and not _isdir(path)
        files: list[Path] = []
        refused: list[Refused] = []
        for candidate in candidates:
            if not explicit and not _is_audio(candidate):
                continue
            problem = _refusal(candidate, real_roots)
            if problem is None:
                files.append(candidate)
            else:
                refused.append(problem)
        return Resolution(
            source, tuple(sorted(files)), tuple(sorted(refused, key=str)), walk.truncated
        )

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


def _isdir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def _inside(real: str, roots: Sequence[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _refusal(path: Path, real_roots: Sequence[str] | None) -> Refused | None:
    """Why ``path`` will not be played (from ``os.stat``, never opened), or None."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return Refused(path, f"cannot read it: {exc.strerror or exc}")
    if not stat.S_ISREG(mode):
        return Refused(path, f"not a regular file ({special_kind(mode)})")
    if real_roots is not None:
        real = os.path.realpath(path)
        if not _inside(real, real_roots):
            return Refused(path, f"resolves to {real}, outside the media roots", outside=True)
    return None


def _translate(pattern: str) -> re.Pattern[str]:
    """A glob pattern (``*``, ``?``, ``[...]``, ``**`` for any folders) as a regex on
    ``/``-separated relative paths."""
    out: list[str] = []
    parts = pattern.split("/")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]*/)*")
            continue
        i = 0
        while i < len(part):
            char = part[i]
            if char == "*":
                out.append("[^/]*")
            elif char == "?":
                out.append("[^/]")
            elif char == "[" and "]" in part[i + 2 :]:
                end = part.index("]", i + 2)
                body = part[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
            else:
                out.append(re.escape(char))
            i += 1
        if not last:
            out.append("/")
    return re.compile("".join(out) + r"\Z")


class _Walk:
    """One bounded walk through folders: symlinks followed, each real folder once."""

    def __init__(self) -> None:
        self.truncated = False
        self._entries = 0
        self._seen: set[tuple[int, int]] = set()

    def below(self, folder: Path) -> Iterator[Path]:
        """Every non-folder entry below ``folder`` (unsorted), at most MAX_FILES entries."""
        stack = [folder]
        while stack:
            current = stack.pop()
            try:
                info = os.stat(current)
            except OSError:
                continue
            key = (info.st_dev, info.st_ino)
            if key in self._seen:
                continue  # a symlink back to a folder already walked: a loop ends here
            self._seen.add(key)
            try:
                entries = list(os.scandir(current))
            except OSError:
                continue
            for entry in entries:
                self._entries += 1
                if self._entries > MAX_FILES:
                    self.truncated = True
                    return
                path = Path(entry.path)
                try:
                    is_dir = entry.is_dir()  # follows symlinks; False for a loop
                except OSError:
                    is_dir = False
                if is_dir:
                    stack.append(path)
                else:
                    yield path

    def matching(self, pattern: Path) -> Iterator[Path]:
        """Entries below the pattern's fixed folder whose path matches the pattern."""
        parts = pattern.parts
        fixed = 0
        while fixed < len(parts) - 1 and not glob.has_magic(parts[fixed]):
            fixed += 1
        base = Path(*parts[:fixed]) if fixed else Path(".")
        regex = _translate("/".join(parts[fixed:]))
        if not _isdir(base):
            return
        for path in self.below(base):
            if regex.match(path.relative_to(base).as_posix()):
                yield path


def probe(path: Path) -> Track:
    """Read ``path``'s metadata with ffprobe (confined, bounded).

    Raises SourceError when it is not a regular file, ffprobe fails or times out,
    or it is not audio.
    """
    try:
        info: dict[str, Any] = probe_json(path, error=SourceError)
    except SourceError as exc:
        raise SourceError(f"{path}: FFmpeg cannot read it: {exc}") from None
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
