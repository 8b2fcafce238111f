"""Recordings of live sessions: one Ogg/Opus file per session, from the station's packets.

Layout::

    root/
    └── <show-id>/
        ├── 2025-03-14_2100_dj-ana.opus              finished
        ├── 2025-03-14_2200_zoe.opus                 being written (or its writer died)
        └── 2025-03-14_2200_zoe.opus.recording       marker: JSON, removed once finished

A recording is written under its final name as it goes, a page (1 s of audio)
at a time, so a crash or ``kill -9`` leaves a file that plays up to its last
second or two. The sibling ``.recording`` marker exists from before the file is
created until after it is finished; :func:`finalise_unfinished`, run at
start-up, finds the markers left behind, seals their files (torn page cut off,
EOS set) and removes the markers. :func:`prune` never deletes a file that has
a marker.

Names come from the caller's station-local start time and sanitised show and
presenter names; nothing here reads the clock. A :class:`Recorder` writes to
disk on the caller's thread: feed it from a worker, never from the real-time
sender (DESIGN.md: the sender never waits on a disk).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import stat
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Final

from radio.errors import OutputError
from radio.outputs.oggopus import OggOpusWriter, seal

logger = logging.getLogger(__name__)

SUFFIX: Final = ".opus"
MARKER_SUFFIX: Final = ".recording"
NAME_TIME_FORMAT: Final = "%Y-%m-%d_%H%M"
_MAX_NAME: Final = 64  # characters of a sanitised show or presenter name
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_TIME: Final = re.compile(r"^(\d{4}-\d{2}-\d{2}_\d{4})_")


def safe_name(text: str, *, fallback: str = "unknown") -> str:
    """Return ``text`` as a safe file-name part: ASCII letters, digits, ``.``, ``_``, ``-``.

    Accents are dropped (``Zoë`` → ``Zoe``), any other run of characters
    becomes one ``-``, leading dots and dashes are stripped (no ``..``, no
    hidden or option-like names), and the result is at most 64 characters;
    ``fallback`` when nothing is left. Never contains a path separator.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = _UNSAFE.sub("-", ascii_text).lstrip(".-")[:_MAX_NAME].rstrip(".-")
    return name or fallback


def recording_name(presenter: str, started: datetime) -> str:
    """The file name of a session begun at ``started`` (station-local wall time, as given)."""
    return f"{started.strftime(NAME_TIME_FORMAT)}_{safe_name(presenter)}{SUFFIX}"


def _marker(path: Path) -> Path:
    return path.with_name(path.name + MARKER_SUFFIX)


def _inside(root: Path, path: Path) -> bool:
    # Belt and braces after safe_name: the resolved path must stay under root.
    return path.resolve().is_relative_to(root.resolve())


class Recorder:
    """Records one live session to ``root/<show-id>/<YYYY-MM-DD_HHMM>_<presenter>.opus``.

    ``started`` is the session's station-local start (its wall time names the
    file); ``show_id`` and ``presenter`` are sanitised with :func:`safe_name`.
    When the name is taken (a presenter reconnecting within the minute), ``-2``,
    ``-3``… is added before ``.opus``; nothing is ever overwritten. The Opus
    comments are TITLE (``title``, else the show id), ARTIST (the presenter as
    given) and DATE (``started`` in ISO 8601), then ``tags``, which may override
    them. ``serial`` is the Ogg stream's serial number (random by default).

    :meth:`write` takes the station's 20 ms Opus packets; :meth:`close` ends the
    file and removes its marker. One thread uses a recorder. Raises
    :class:`~radio.errors.OutputError` when the directory, marker or file cannot
    be created or the headers written, and ValueError for a tag name Opus
    comments cannot carry (nothing is left on disk either way).
    """

    def __init__(
        self,
        root: Path,
        *,
        show_id: str,
        presenter: str,
        started: datetime,
        title: str | None = None,
        tags: Mapping[str, str] | None = None,
        serial: int | None = None,
    ) -> None:
        directory = root / safe_name(show_id)
        if not _inside(root, directory):
            raise OutputError(f"recording directory {directory} escapes {root}")
        comments = {
            "TITLE": title if title is not None else show_id,
            "ARTIST": presenter,
            "DATE": started.isoformat(timespec="seconds"),
        }
        comments.update(tags or {})
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._path, self._file = _create(directory, recording_name(presenter, started))
        except OSError as exc:
            raise OutputError(f"cannot start a recording in {directory}: {exc}") from exc
        self._marker = _marker(self._path)
        try:
            self._writer = OggOpusWriter(
                self._file,
                serial=serial if serial is not None else random.getrandbits(32),
                tags=comments,
            )
        except BaseException:
            # Bad tags or a disk that refuses the headers: leave nothing behind.
            self._file.close()
            self._path.unlink(missing_ok=True)
            self._marker.unlink(missing_ok=True)
            raise
        self._failed = False
        self._closed = False
        logger.info("recording to %s", self._path)

    @property
    def path(self) -> Path:
        """The recording's file."""
        return self._path

    @property
    def frames(self) -> int:
        """Packets (20 ms frames) accepted so far."""
        return self._writer.packets

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._closed

    def write(self, packet: bytes) -> None:
        """Append one Opus packet (20 ms from the station's encoder).

        Raises ValueError for a malformed packet or a closed recorder, and
        OutputError when the disk refuses (full, gone); after that every write
        raises OutputError and :meth:`close` seals what was written.
        """
        if self._closed:
            raise ValueError("write to a closed Recorder")
        try:
            self._writer.write(packet)
        except OutputError:
            self._failed = True
            raise

    def close(self) -> None:
        """Finish the file (last page with EOS, fsync) and remove its marker. Idempotent.

        A recording that received no packet is deleted (it would not play).
        After a write error the file is sealed in place (torn page cut off, EOS
        set) instead. Raises OutputError when the file cannot be finished; its
        marker is then kept, and :func:`finalise_unfinished` finishes it on the
        next start.
        """
        if self._closed:
            return
        self._closed = True
        try:
            try:
                self._writer.close()
            finally:
                self._file.close()
        except (OutputError, OSError) as exc:
            self._failed = True
            logger.warning("recording %s did not close cleanly (%s); sealing it", self._path, exc)
        try:
            if self._writer.packets == 0:
                # Nothing was heard: a file of headers alone would not even play.
                self._path.unlink(missing_ok=True)
            elif self._failed:
                _seal_file(self._path)
            self._marker.unlink(missing_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot finish the recording {self._path}: {exc}") from exc
        logger.info("recording %s finished: %d frames", self._path, self._writer.packets)


def _create(directory: Path, name: str) -> tuple[Path, BinaryIO]:
    # The marker is created (exclusively) before the file, so no file of ours
    # ever exists without its marker until it is finished.
    stem = name.removesuffix(SUFFIX)
    for attempt in range(1, 1000):
        path = directory / (name if attempt == 1 else f"{stem}-{attempt}{SUFFIX}")
        marker = _marker(path)
        try:
            with open(marker, "x", encoding="utf-8") as out:
                json.dump({"file": path.name, "pid": os.getpid()}, out)
                out.flush()
                os.fsync(out.fileno())
        except FileExistsError:
            continue
        try:
            return path, open(path, "xb")  # the Recorder owns and closes it
        except FileExistsError:
            marker.unlink()
        except BaseException:
            marker.unlink(missing_ok=True)
            raise
    raise OSError(f"no free recording name for {name} in {directory}")


def _seal_file(path: Path) -> bool:
    # True when sealed; False when nothing playable was left (the file is removed).
    with open(path, "r+b") as file:
        report = seal(file)
    if report is None or report.granule_position == 0:
        path.unlink()
        logger.warning("recording %s held no audio; removed it", path)
        return False
    if report.changed:
        logger.info(
            "sealed recording %s: %.1f s kept, %d torn bytes cut off",
            path,
            report.granule_position / 48_000,
            report.dropped_bytes,
        )
    return True


def finalise_unfinished(root: Path) -> list[Path]:
    """Finish every recording under ``root`` whose writer died; return the files finished.

    For each ``.recording`` marker: its file is sealed (torn trailing page cut
    off, EOS set on the last good page, CRCs checked on the tail) and the
    marker removed. A file with no audio page or no intact headers is
    deleted (nothing in it plays); a marker without a file is removed. Run it
    at start-up, before any :class:`Recorder` of this process starts under
    ``root``. A file that cannot
    be read or written is logged and keeps its marker (tried again next start);
    nothing is raised for it.
    """
    finished: list[Path] = []
    if not root.is_dir():
        return finished
    for marker in sorted(root.glob(f"*/*{SUFFIX}{MARKER_SUFFIX}")):
        path = marker.with_name(marker.name.removesuffix(MARKER_SUFFIX))
        try:
            if path.is_file() and _seal_file(path):
                finished.append(path)
            marker.unlink(missing_ok=True)
        except OSError:
            logger.exception("cannot finalise the recording %s; will retry next start", path)
    return finished


@dataclass(frozen=True, slots=True)
class _Recording:
    path: Path
    recorded_at: datetime
    size: int


def _recorded_at(path: Path, mtime: float, now: datetime) -> datetime:
    # The name's station-local wall time, in now's zone; the file's mtime when
    # the name carries none.
    match = _NAME_TIME.match(path.name)
    if match:
        try:
            return datetime.strptime(match.group(1), NAME_TIME_FORMAT).replace(tzinfo=now.tzinfo)
        except ValueError:
            pass  # digits in the right places, but no such date
    if now.tzinfo is None:
        return datetime.fromtimestamp(mtime)
    return datetime.fromtimestamp(mtime, tz=now.tzinfo)


def prune(
    root: Path,
    *,
    now: datetime,
    keep_days: int | None,
    max_bytes: int | None,
) -> list[Path]:
    """Delete old recordings under ``root``; return the files deleted, oldest first.

    A recording's time is the station-local time in its name (read in
    ``now``'s zone, so pass ``now`` in the station's zone), else its mtime.
    First every recording older than ``keep_days`` days before ``now`` goes,
    then the oldest ones until the total size of recordings under ``root``
    (those being written included) is at most ``max_bytes``; None disables
    either rule. A file with a ``.recording`` marker (being written, or
    waiting for :func:`finalise_unfinished`) is never deleted. A file that
    cannot be deleted is logged and skipped. Raises ValueError for a negative
    limit.
    """
    if keep_days is not None and keep_days < 0:
        raise ValueError("keep_days cannot be negative")
    if max_bytes is not None and max_bytes < 0:
        raise ValueError("max_bytes cannot be negative")
    if not root.is_dir():
        return []
    candidates: list[_Recording] = []
    total = 0
    for path in root.glob(f"*/*{SUFFIX}"):
        try:
            info = path.stat()
        except OSError:
            continue  # deleted meanwhile
        if not stat.S_ISREG(info.st_mode):
            continue
        total += info.st_size
        if not _marker(path).exists():
            candidates.append(
                _Recording(path, _recorded_at(path, info.st_mtime, now), info.st_size)
            )
    candidates.sort(key=lambda rec: (rec.recorded_at, rec.path.name))
    cutoff = now - timedelta(days=keep_days) if keep_days is not None else None
    deleted: list[Path] = []
    for rec in candidates:
        too_old = cutoff is not None and rec.recorded_at < cutoff
        too_big = max_bytes is not None and total > max_bytes
        if not (too_old or too_big):
            break  # oldest first: every later one is newer, and the total already fits
        try:
            rec.path.unlink()
        except FileNotFoundError:
            total -= rec.size  # someone else deleted it meanwhile
            continue
        except OSError:
            logger.exception("cannot delete the old recording %s", rec.path)
            continue
        total -= rec.size
        deleted.append(rec.path)
        logger.info("deleted old recording %s (%d bytes)", rec.path, rec.size)
    return deleted
