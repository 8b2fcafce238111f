"""Live reload: poll the station's YAML files and put a valid edit on air.

:meth:`GridWatcher.scan` compares the files' signature (names, sizes,
modification times) with the last one seen; on a change it runs the full check
(``load``). A valid result is handed to ``apply``; an invalid one is logged, one
line per problem, and the last good grid stays on air.

The programmers hear about a broken state once: ``invalid`` receives the
diagnostics when they differ from the last rejected ones (saving the same broken
file again, or asking for a reload, does not repeat the alert), and ``fixed``
is called when a valid edit follows a rejected one.

:meth:`GridWatcher.reload` loads the files now, changed or not (the programmers'
``grid reload`` command); :meth:`GridWatcher.check` only checks them.

Nothing wedges: a load is bounded by the limits of the loader and the library
(file sizes, nesting, walks, probe timeouts), and only one load that may apply
runs at a time, under a lock that nothing else needs. The polling thread skips a
poll while a reload holds it; :meth:`~GridWatcher.reload` waits for it at most
``wait`` seconds and then answers ``busy`` (still checking, the previous grid
stays on air) instead of blocking; :meth:`~GridWatcher.check` applies nothing
and takes no lock. :meth:`GridWatcher.run` is the asyncio polling loop; tests
call :meth:`scan` directly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from radio.config.diagnostics import Diagnostic
from radio.grid.check import CheckResult
from radio.grid.loader import station_file

logger = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]

#: How long ``grid reload`` waits for a check already running before it answers.
RELOAD_WAIT: Final = 5.0


def signature(
    station_dir: Path, folders: tuple[str, ...] = ("schedules", "playlists")
) -> Signature:
    """Names, sizes and mtimes of ``station.yaml`` and the YAML files of ``folders``."""
    paths = [station_file(station_dir)]
    for folder in folders:
        base = station_dir / folder
        if base.is_dir():
            paths += sorted([*base.glob("*.yaml"), *base.glob("*.yml")])
    found = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Reload:
    """What a load of the files did: ``applied`` (on air now) or refused, with the check.

    ``busy``: another load was still running, nothing was checked (``result`` is
    None) and the previous grid stays on air.
    """

    result: CheckResult | None
    applied: bool
    busy: bool = False


class GridWatcher:
    """Reloads the station when its files change (see the module docstring)."""

    def __init__(
        self,
        station_dir: Path,
        *,
        load: Callable[[], CheckResult],
        apply: Callable[[CheckResult], None],
        invalid: Callable[[list[Diagnostic]], None] | None = None,
        fixed: Callable[[], None] | None = None,
    ) -> None:
        self.station_dir = station_dir
        self._load = load
        self._apply = apply
        self._invalid = invalid
        self._fixed = fixed
        self._lock = threading.Lock()
        self._seen = signature(station_dir)
        # The errors of the last rejected load, while the files stay broken.
        self._broken: tuple[Diagnostic, ...] | None = None
        self.reloads = 0
        self.rejected = 0
        self.polls = 0  # completed polls of run(), for tests waiting on the loop

    @property
    def broken(self) -> tuple[Diagnostic, ...] | None:
        """The errors of the files on disk when the last load was refused; None when good."""
        return self._broken

    def scan(self) -> bool | None:
        """Check the files once: None when unchanged (or a reload is running: the
        next poll sees the change), True when applied, False when rejected."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            current = signature(self.station_dir)
            if current == self._seen:
                return None
            self._seen = current
            return self._take(self._load()).applied
        finally:
            self._lock.release()

    def reload(self, wait: float = RELOAD_WAIT) -> Reload:
        """Load the files now, changed or not; apply them when valid.

        A refused load keeps the last good grid on air and is reported like a
        refused edit (once per distinct broken state). When another load is
        still running after ``wait`` seconds, returns at once with ``busy`` set
        (nothing checked, the previous grid on air).
        """
        if not self._lock.acquire(timeout=wait):
            logger.info("grid reload asked while a check of %s is running", self.station_dir)
            return Reload(None, applied=False, busy=True)
        try:
            self._seen = signature(self.station_dir)
            return self._take(self._load())
        finally:
            self._lock.release()

    def check(self) -> CheckResult:
        """Check the files now without applying them or reporting anything.

        Takes no lock: a check changes nothing, and is bounded on its own.
        """
        return self._load()

    def _take(self, result: CheckResult) -> Reload:
        if not result.ok:
            self.rejected += 1
            logger.error(
                "the edit of %s has %d error(s); the last good grid stays on air",
                self.station_dir,
                len(result.errors),
            )
            for problem in result.errors:
                logger.error("%s", problem)
            state = tuple(result.errors)
            if state != self._broken:
                self._broken = state
                if self._invalid is not None:
                    self._invalid(result.errors)
            return Reload(result, applied=False)
        for warning in result.warnings:
            logger.warning("%s", warning)
        self._apply(result)
        self.reloads += 1
        logger.info("reloaded %s", self.station_dir)
        if self._broken is not None:
            self._broken = None
            if self._fixed is not None:
                self._fixed()
        return Reload(result, applied=True)

    async def run(
        self,
        interval: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Scan every ``interval`` seconds until cancelled; a failing scan is logged."""
        while True:
            await sleep(interval)
            try:
                await asyncio.to_thread(self.scan)
            except Exception:
                logger.exception(
                    "reloading %s failed; the last good grid stays on air", self.station_dir
                )
            self.polls += 1
