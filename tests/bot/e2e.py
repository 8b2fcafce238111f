"""Helpers for the bot's end-to-end tests: wait for a condition, run the bot on air."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from discord.ext import commands

from radio.audio.operators import Sine
from radio.bot.announcements import Announcer, Rooms
from radio.bot.audio import SimulcastFeed
from radio.bot.client import Backoff, RadioBot, RoomState
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.sandbox import Emulator, point_discord_at


async def until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``predicate`` on the loop; fail after ``timeout`` (a deadlock guard, not a measure)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def on_air(
    emulator: Emulator,
    room: int,
    station_hz: float = 440.0,
    *,
    roles: dict[str, list[int]] | None = None,
    owners: Sequence[int] = (),
    cogs: Callable[[RadioBot, Announcer], Sequence[commands.Cog]] | None = None,
    monotonic: Callable[[], float] | None = None,
) -> AsyncIterator[tuple[RadioBot, Announcer]]:
    """Run a RadioBot broadcasting a sine in ``room`` (plus ``cogs``) until the block ends."""
    world = emulator.world
    text = world.text_channel.id
    guild: dict[str, Any] = {
        "id": world.guild.id,
        "broadcast": room,
        "announcements": text,
        "programmers": text,
        "roles": roles or {},
    }
    config = DiscordConfig.model_validate({"guilds": [guild], "owners": list(owners)})
    feed = SimulcastFeed(Sine(station_hz, level_dbfs=-12.0))
    rooms = Rooms(
        announcements=(text,),
        voices=(room,) if room == world.voice_channel.id else (),
        stages=(room,) if room == world.stage_channel.id else (),
        programmers=(text,),
        admins=(text,),
    )
    bot: RadioBot
    announcer = Announcer(rooms, station="Sandbox FM", notify=lambda: bot.wake_announcements())
    bot = RadioBot(
        config,
        feed,
        clock=SystemClock(),
        announcer=announcer,
        backoff=Backoff(base=0.1, cap=0.5),
        connect_timeout=5.0,
        poll_interval=0.05,
        monotonic=monotonic,
    )
    for cog in cogs(bot, announcer) if cogs is not None else ():
        await bot.add_cog(cog)
    point_discord_at(bot, emulator.addresses)
    task = asyncio.create_task(bot.start(world.token))
    try:
        await until(lambda: bot.rooms[world.guild.id].state is RoomState.ON_AIR or task.done())
        if task.done():
            task.result()
        yield bot, announcer
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 5)
        feed.close()
