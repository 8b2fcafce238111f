"""Gateway faults and discord.py's reaction: resume, re-identify, or stop."""

from __future__ import annotations

import asyncio
import math
from collections import deque

import discord
import pytest

from radio.sandbox import Emulator, point_discord_at

from .bot import TestBot, running_bot, wait_for


async def test_abnormal_close_is_resumed(emulator: Emulator, bot: TestBot) -> None:
    (session,) = emulator.gateway.sessions.values()

    await emulator.gateway.close_sockets(4000)
    await wait_for(lambda: bot.resumed_count == 1)

    assert list(emulator.gateway.sessions.values()) == [session]
    assert (session.identifies, session.resumes) == (1, 1)
    assert bot.ready_count == 1


async def test_events_missed_while_disconnected_are_replayed_on_resume(
    emulator: Emulator, bot: TestBot
) -> None:
    await emulator.gateway.close_sockets(4000)
    await emulator.inject_message("alice", "sent while the bot was away")
    await wait_for(lambda: bot.resumed_count == 1 and len(bot.seen) == 1)

    assert bot.seen[0].content == "sent while the bot was away"


async def test_op7_reconnect_is_resumed(emulator: Emulator, bot: TestBot) -> None:
    await emulator.gateway.send_reconnect()
    await wait_for(lambda: bot.resumed_count == 1)

    (session,) = emulator.gateway.sessions.values()
    assert session.resumes == 1
    assert emulator.gateway.connections == 2


@pytest.mark.e2e  # discord.py waits 5 s before identifying again
async def test_op9_not_resumable_makes_a_new_session(emulator: Emulator, bot: TestBot) -> None:
    (old,) = emulator.gateway.sessions.values()

    await emulator.gateway.invalidate_sessions(resumable=False)
    await wait_for(lambda: bot.ready_count == 2)

    (new,) = emulator.gateway.sessions.values()
    assert new.id != old.id
    assert bot.resumed_count == 0


async def test_op9_resumable_is_resumed(emulator: Emulator, bot: TestBot) -> None:
    await emulator.gateway.invalidate_sessions(resumable=True)
    await wait_for(lambda: bot.resumed_count == 1)

    assert bot.ready_count == 1


async def test_authentication_failed_close_stops_the_client(emulator: Emulator) -> None:
    client = TestBot()
    point_discord_at(client, emulator.addresses)
    task = asyncio.create_task(client.start(emulator.world.token))
    await wait_for(client.is_ready)

    await emulator.gateway.close_sockets(4004)

    with pytest.raises(discord.ConnectionClosed) as closed:
        await asyncio.wait_for(task, 10)
    assert closed.value.code == 4004
    assert client.is_closed()
    assert emulator.gateway.connections == 1


async def test_dropped_heartbeat_acks_make_the_client_reconnect_and_resume(
    emulator: Emulator,
) -> None:
    emulator.gateway.faults.heartbeat_interval_ms = 100
    emulator.gateway.faults.drop_acks = True
    # discord.py closes (4000) when nothing arrived for heartbeat_timeout seconds.
    async with running_bot(emulator, heartbeat_timeout=0.5) as bot:
        await wait_for(lambda: bot.resumed_count >= 1)
        emulator.gateway.faults.drop_acks = False
        connections = emulator.gateway.connections

    assert connections >= 2
    assert bot.ready_count == 1


async def test_delayed_heartbeat_acks_show_as_latency(emulator: Emulator) -> None:
    emulator.gateway.faults.ack_delay = 0.25
    async with running_bot(emulator) as bot:
        await wait_for(lambda: not math.isinf(bot.latency))
        latency = bot.latency

    # A causal lower bound: the ACK cannot arrive before it is sent.
    assert latency >= 0.25


@pytest.mark.e2e  # discord.py waits 5 s before identifying again
async def test_resume_past_the_replay_buffer_is_refused(emulator: Emulator, bot: TestBot) -> None:
    (session,) = emulator.gateway.sessions.values()
    session.sent = deque(session.sent, maxlen=2)

    await emulator.gateway.close_sockets(4000)
    for n in range(3):  # more than the buffer holds, before the bot is back
        await emulator.inject_message("alice", f"missed {n}")
    await wait_for(lambda: bot.ready_count == 2)

    assert bot.resumed_count == 0
    assert session.id not in emulator.gateway.sessions
