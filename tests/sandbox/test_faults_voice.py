"""Voice faults and discord.py 2.7.1's reaction to each close code."""

from __future__ import annotations

import asyncio
import math

import discord
import pytest

from radio.sandbox import Emulator

from .bot import TestBot, wait_for

pytestmark = pytest.mark.e2e


async def connect(emulator: Emulator, bot: TestBot, *, timeout: float = 5.0) -> discord.VoiceClient:
    channel = bot.get_channel(emulator.world.voice_channel.id)
    assert isinstance(channel, discord.VoiceChannel)
    vc: discord.VoiceClient = await channel.connect(timeout=timeout)
    # The room speaks DAVE: let its group form before a fault closes the socket.
    # discord.py 2.7.1 answers a proposal (op 27) with a commit it cannot write
    # to a socket the server is closing; the error ends its voice poller, and
    # the close code is never acted on (see docs/sandbox.md).
    room = emulator.voice.dave.rooms[channel.id]
    await wait_for(lambda: bool(room.stats.executed))
    return vc


def events(emulator: Emulator) -> list[str]:
    return [event for _, event in emulator.voice.history]


def room_of_bot(emulator: Emulator) -> int | None:
    state = emulator.world.guild.voice_states.get(emulator.world.bot.id)
    return None if state is None else state.channel_id


async def test_4006_session_invalid_rejoins_with_a_new_identify(
    emulator: Emulator, bot: TestBot
) -> None:
    # discord.py leaves voice (op 4 with no channel), rejoins and identifies
    # afresh. Finishing that handshake then waits for its UDP reader, still
    # blocked up to 30 s in select() on the socket it closed, so the test stops
    # at the new IDENTIFY.
    vc = await connect(emulator, bot)
    try:
        await emulator.voice.close(None, 4006)
        await wait_for(lambda: events(emulator).count("identify") == 2)
        assert room_of_bot(emulator) == emulator.world.voice_channel.id
    finally:
        await vc.disconnect(force=True)

    assert events(emulator)[:3] == ["identify", "select_protocol", "identify"]


async def test_4014_with_a_kick_disconnects(emulator: Emulator, bot: TestBot) -> None:
    vc = await connect(emulator, bot)

    await emulator.voice_states.kick(emulator.world.bot.id)
    await wait_for(lambda: not vc.is_connected() and bot.voice_clients == [])

    assert room_of_bot(emulator) is None
    assert events(emulator) == ["identify", "select_protocol"]


async def test_4015_resume_is_attempted_then_abandoned(emulator: Emulator, bot: TestBot) -> None:
    # discord.py 2.7.1 sends RESUME and gets RESUMED, then waits for a new
    # SESSION_DESCRIPTION that Discord does not send after a resume; after its
    # connect timeout it leaves voice. The station must rejoin on its own.
    vc = await connect(emulator, bot, timeout=1.5)

    await emulator.voice.close(None, 4015)
    await wait_for(lambda: "resume" in events(emulator))
    await wait_for(lambda: room_of_bot(emulator) is None)

    assert events(emulator) == ["identify", "select_protocol", "resume"]
    assert not vc.is_connected()


async def test_4021_rate_limited_disconnects_without_retrying(
    emulator: Emulator, bot: TestBot
) -> None:
    vc = await connect(emulator, bot)

    await emulator.voice.close(None, 4021)
    await wait_for(lambda: room_of_bot(emulator) is None)

    assert events(emulator) == ["identify", "select_protocol"]
    assert not vc.is_connected()


async def test_unanswered_udp_times_the_connection_out(emulator: Emulator, bot: TestBot) -> None:
    emulator.listener.answering = False

    with pytest.raises(asyncio.TimeoutError):
        await connect(emulator, bot, timeout=1.0)

    assert events(emulator) == ["identify"]  # READY came, IP discovery never did
    await wait_for(lambda: room_of_bot(emulator) is None)


async def test_delayed_voice_heartbeat_acks_show_as_latency(
    emulator: Emulator, bot: TestBot
) -> None:
    emulator.voice.faults.heartbeat_interval_ms = 300
    emulator.voice.faults.ack_delay = 0.15
    vc = await connect(emulator, bot)
    try:
        await wait_for(lambda: not math.isinf(vc.latency))
        latency = vc.latency
    finally:
        await vc.disconnect()

    assert latency >= 0.15
