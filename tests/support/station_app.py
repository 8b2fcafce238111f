"""The station's whole application run in the test's own process, on the local Discord.

:func:`station_app` builds a :class:`StationApp` with the settings a test wants (no
loudness analysis, any free port, quick connects, polls and backoff, the sender on
ordinary priority); :func:`on_air` runs it until the block ends, entered once the
broadcast room is on air.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from radio.app import AppOptions, StationApp
from radio.bot.client import Backoff, RoomState
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.sandbox import Emulator, point_discord_at
from support.wait import until


def station_app(root: Path, data: Path, config: DiscordConfig, **options: Any) -> StationApp:
    """The application of the station folder ``root`` (data in ``data``) on the system
    clock, with the tests' quick settings; ``options`` adds or overrides
    :class:`AppOptions` fields (``live_port``, ``watch_interval``, ``live``, ...)."""
    settings: dict[str, Any] = {
        "web_port": 0,
        "normalize": False,
        "connect_timeout": 3.0,
        "poll_interval": 0.05,
        "backoff": Backoff(base=0.1, cap=0.5),
        "realtime_sender": False,
        "live_port": 0,
        "bot_options": {"guild_ready_timeout": 0.05},
    }
    settings.update(options)
    return StationApp(
        root,
        data,
        config,
        clock=SystemClock(),
        monotonic=time.monotonic,
        options=AppOptions(**settings),
    )


@contextlib.asynccontextmanager
async def on_air(
    app: StationApp,
    emulator: Emulator,
    *,
    ready: Callable[[], bool] = lambda: True,
    timeout: float = 60.0,
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``app`` on ``emulator``'s Discord; yield its task once the guild's broadcast
    room is on air and ``ready()`` holds.

    Fails (AssertionError) if the run ends before that, TimeoutError after ``timeout``
    seconds (a deadlock guard, not a measure). On leaving, the run is told to stop and
    given 15 s to close; what it raises then is not the test's concern.
    """
    world = emulator.world
    stop = asyncio.Event()
    addresses = emulator.addresses
    task = asyncio.create_task(
        app.run(world.token, stop, before_start=lambda bot: point_discord_at(bot, addresses))
    )
    try:
        room = world.guild.id
        await until(
            lambda: task.done() or (app.bot.rooms[room].state is RoomState.ON_AIR and ready()),
            timeout,
        )
        assert not task.done(), task.exception()
        yield task
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 15)
