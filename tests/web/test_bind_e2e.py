"""A web address that cannot be bound: one message to the admins' room, and the station
plays on without its web face."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from .conftest import Station, until

pytestmark = pytest.mark.e2e


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port of 127.0.0.1 that something else listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


@pytest.fixture
def web_port(busy_port: int) -> int:
    return busy_port


async def test_a_refused_address_is_one_alert_and_the_station_plays_on(
    station: Station, busy_port: int
) -> None:
    world = station.emulator.world
    assert station.app.web is None

    def alerts() -> list[str]:
        return [
            m.content
            for m in world.messages_in(world.text_channel.id)
            if "cannot listen" in m.content
        ]

    await until(lambda: bool(alerts()))
    [alert] = alerts()
    assert f"127.0.0.1:{busy_port}" in alert and "/healthz" in alert
    heard = len(station.emulator.record.audio_packets(channel_id=world.voice_channel.id))
    await until(
        lambda: (
            len(station.emulator.record.audio_packets(channel_id=world.voice_channel.id))
            > heard + 50
        )
    )
    assert alerts() == [alert]
