"""What happens before the bot has logged in must wait for it, not kill the start.

An alert raised while the application starts (the presenters' mount cannot
listen: its port is taken) wakes the announcements of a bot that has no event
loop yet in discord.py's eyes; the station still goes on air and the admins
read the alert once the bot is there.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from support.station_app import on_air, station_app
from support.wait import until

from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.sandbox import Emulator
from radio.sandbox.state import Message

from .conftest import make_station

pytestmark = pytest.mark.e2e


def mount_alerts(messages: list[Message]) -> list[str]:
    """The texts of the messages about the presenters' mount (other parts may alert too)."""
    texts = [message.content + str(message.embeds) for message in messages]
    return [text for text in texts if "presenters' mount" in text]


async def test_an_alert_before_login_is_posted_once_the_bot_is_on_air(tmp_path: Path) -> None:
    station = make_station(tmp_path / "station", show_start=None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emulator:
            world = emulator.world
            room = world.text_channel.id
            config = DiscordConfig.model_validate(
                {"guilds": [{"id": world.guild.id, "broadcast": world.voice_channel.id,
                             "admins": room}]}
            )  # fmt: skip
            app = station_app(station.root, station.data, config, live_port=port)
            async with on_air(app, emulator):
                await until(lambda: bool(mount_alerts(world.messages_in(room))))
                assert app.ingest is None
            (text,) = mount_alerts(world.messages_in(room))  # told once
    assert "The presenters' mount cannot listen on 127.0.0.1" in text and str(port) in text
