"""No background task dies in silence: each of the station's long-running tasks is
made to raise once and comes back, with one ERROR line and its failure counted.

The application runs in this process on the local Discord. Each task's
coroutine is replaced by one that raises on its first run and runs the real
coroutine after that; what the task does is then seen happening: the grid edit
picked up, the old recording pruned, the show mirrored as a scheduled event, the
room on air, now playing posted, the grid's relays followed again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from support.station_app import on_air, station_app
from support.wait import until

from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.sandbox import Emulator

from .conftest import make_station, whole_seconds_after

pytestmark = pytest.mark.e2e

TASKS = (
    "grid-watch",
    "recordings",
    "grid-relays",
    "schedule-mirror",
    "announcements",
)


class Injected(RuntimeError):
    """The failure a test puts into a task."""


def fail_once(real: Callable[..., Awaitable[None]], calls: list[str], name: str) -> Any:
    """``real``, except that its first run raises :class:`Injected`."""

    async def once(*args: Any) -> None:
        calls.append(name)
        if calls.count(name) == 1:
            raise Injected(f"injected into {name}")
        await real(*args)

    return once


async def test_each_task_that_raises_is_logged_once_counted_and_comes_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="radio.tasks")
    show = whole_seconds_after(SystemClock().now(), 3 * 3600)
    station = make_station(tmp_path / "station", show_start=show)
    old = station.data / "recordings" / "show" / "2020-01-01_0000_bob.opus"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"OggS")
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emulator:
        world = emulator.world
        guild_id = world.guild.id
        config = DiscordConfig.model_validate(
            {"guilds": [{"id": guild_id, "broadcast": world.voice_channel.id,
                         "announcements": world.text_channel.id}]}
        )  # fmt: skip
        app = station_app(station.root, station.data, config, watch_interval=0.2, live=False)
        calls: list[str] = []
        keeper = f"keeper:{guild_id}"
        # Each task's coroutine, as its owner starts it (the factories are looked up
        # on the instance when the tasks start).
        app._watch = fail_once(app._watch, calls, "grid-watch")  # type: ignore[method-assign]
        app._prune_recordings = fail_once(  # type: ignore[method-assign]
            app._prune_recordings, calls, "recordings"
        )
        app._mirror = fail_once(app._mirror, calls, "schedule-mirror")  # type: ignore[method-assign]
        app.desk._follow_grid_relays = fail_once(  # type: ignore[method-assign]
            app.desk._follow_grid_relays, calls, "grid-relays"
        )
        app.bot._keep = fail_once(app.bot._keep, calls, keeper)  # type: ignore[method-assign]
        app.bot._pump = fail_once(app.bot._pump, calls, "announcements")  # type: ignore[method-assign]
        old_grid = app.onair.station.grid
        async with on_air(app, emulator):
            # Each came back and did its work.
            await until(lambda: not old.exists())  # recordings
            await until(lambda: bool(world.guild.scheduled_events))  # schedule-mirror
            await until(lambda: bool(world.messages_in(world.text_channel.id)))  # announcements
            await until(lambda: calls.count("grid-relays") == 2)  # the real one runs
            (station.root / "playlists" / "music.yaml").write_text(
                "sources: [media/music]\norder: sequential\n# edited\n", encoding="utf-8"
            )
            await until(lambda: app.onair.station.grid is not old_grid)  # grid-watch
            for name in (*TASKS, keeper):
                # Started twice: the failing run and the real one, which is still running.
                assert calls.count(name) == 2, (name, calls)
            assert [t.get_name() for t in app._tasks if t.done()] == []
            assert dict(app.supervisor.failures) == {name: 1 for name in (*TASKS, keeper)}
            assert dict(app.supervisor.restarts) == {name: 1 for name in (*TASKS, keeper)}
            assert any("failure(s)" in line for line in app.diagnostics())
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "radio.tasks"]
    failed = sorted(r.getMessage().split()[1] for r in errors)
    assert failed == sorted((*TASKS, keeper))
    for record in errors:
        assert record.exc_info is not None and isinstance(record.exc_info[1], Injected)
