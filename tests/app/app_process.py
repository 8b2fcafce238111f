"""The whole station application in a process of its own, for the SIGKILL test.

Usage: python tests/app/app_process.py '<json>' where the JSON gives the
emulator's addresses, the token, the ``discord:`` config, the station folder and
the data folder. Prints "ready" when the bot is on air; runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

from radio.app import AppOptions, StationApp
from radio.bot.client import RoomState
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.sandbox import Addresses, point_discord_at
from radio.sandbox.child import announce_ready


async def main(args: dict[str, object]) -> None:
    addresses = Addresses.from_json(args["addresses"])  # type: ignore[arg-type]
    app = StationApp(
        Path(str(args["station"])),
        Path(str(args["data"])),
        DiscordConfig.model_validate(args["config"]),
        clock=SystemClock(),
        monotonic=time.monotonic,
        options=AppOptions(
            # any free port unless the test names the presenters' mount's port
            live_port=int(str(args["live_port"])) if "live_port" in args else 0,
            web_port=0,
            connect_timeout=5.0,
            poll_interval=0.05,
            bot_options={"guild_ready_timeout": 0.05},
        ),
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(
        app.run(str(args["token"]), stop, before_start=lambda bot: point_discord_at(bot, addresses))
    )
    await announce_ready(
        lambda: all(room.state is RoomState.ON_AIR for room in app.bot.rooms.values()), task
    )


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
