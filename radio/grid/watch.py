"""Live reload: poll the station's YAML files and put a valid edit on air.

:meth:`GridWatcher.scan` compares the files' signature (names, sizes,
modification times) with the last one seen; on a change it runs the full check
(``load``). A valid result is handed to ``apply``; an invalid one is logged, one
line per problem, and handed to ``invalid`` (the programmers' Discord channel,
later), and the last good grid stays on air. :meth:`GridWatcher.run` is the
asyncio polling loop; tests call :meth:`scan` directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from radio.config.diagnostics import Diagnostic
from radio.grid.check import CheckResult
from radio.grid.loader import station_file

logger = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]


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


class GridWatcher:
    """Reloads the station when its files change (see the module docstring)."""

    def __init__(
        self,
        station_dir: Path,
        *,
        load: Callable[[], CheckResult],
        apply: Callable[[CheckResult], None],
        invalid: Callable[[list[Diagnostic]], None] | None = None,
    ) -> None:
        self.station_dir = station_dir
        self._load = load
        self._apply = apply
        self._invalid = invalid
        self._seen = signature(station_dir)
        self.reloads = 0
        self.rejected = 0

    def scan(self) -> bool | None:
        """Check the files once: None when unchanged, True when applied, False when rejected."""
        current = signature(self.station_dir)
        if current == self._seen:
            return None
        self._seen = current
        result = self._load()
        if not result.ok:
            self.rejected += 1
            logger.error(
                "the edit of %s has %d error(s); the last good grid stays on air",
                self.station_dir,
                len(result.errors),
            )
            for problem in result.errors:
                logger.error("%s", problem)
            if self._invalid is not None:
                self._invalid(result.errors)
            return False
        for warning in result.warnings:
            logger.warning("%s", warning)
        self._apply(result)
        self.reloads += 1
        logger.info("reloaded %s", self.station_dir)
        return True

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
