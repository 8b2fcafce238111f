"""The station's bot in a process of its own, for the crash test.

Usage: python tests/bot/bot_process.py '<json>' where the JSON gives the
emulator's addresses, the token, the ``discord:`` config and the database path.
Prints "ready" when the bot is on air with its commands registered.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta

from radio.audio.operators import Sine
from radio.audio.track import Track
from radio.bot.audio import SimulcastFeed
from radio.bot.catalogue import Catalogue
from radio.bot.client import RadioBot, RoomState
from radio.bot.commands import RadioCommands, Services
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.sandbox import Addresses, point_discord_at
from radio.sandbox.child import announce_ready
from radio.store.db import Database
from radio.store.requests import RequestQueue

TRACKS = [
    Track("/m/so-what.flac", "So What", "Miles Davis"),
    Track("/m/naima.flac", "Naima", "John Coltrane"),
    Track("/m/peace-piece.flac", "Peace Piece", "Bill Evans"),
]


class Controls:
    def skip(self) -> bool:
        return False

    def next_up(self) -> Track | None:
        return None


async def main(args: dict[str, object]) -> None:
    addresses = Addresses.from_json(args["addresses"])  # type: ignore[arg-type]
    config = DiscordConfig.model_validate(args["config"])
    queue = RequestQueue(Database(str(args["db"])), quota=10, cooldown=timedelta(0))
    feed = SimulcastFeed(Sine(440.0))
    clock = SystemClock()
    bot = RadioBot(config, feed, clock=clock, connect_timeout=5.0, poll_interval=0.05)
    services = Services(
        config=config,
        queue=queue,
        catalogue=Catalogue(TRACKS),
        controls=Controls(),
        rooms=bot,
        clock=clock,
        slot_now=lambda: None,
    )
    await bot.add_cog(RadioCommands(services))
    point_discord_at(bot, addresses)
    task = asyncio.create_task(bot.start(str(args["token"])))
    await announce_ready(
        lambda: all(room.state is RoomState.ON_AIR for room in bot.rooms.values()), task
    )


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
