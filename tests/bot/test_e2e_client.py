"""End to end on the local Discord: the real bot goes on air and survives (or reports) faults."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest

from radio.audio.operators import Sine
from radio.audio.track import Track
from radio.bot.announcements import Announcer, Rooms
from radio.bot.audio import SimulcastFeed
from radio.bot.client import Backoff, RadioBot, RoomState
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.events import ShowStarted, TrackStarted
from radio.sandbox import Emulator, point_discord_at
from radio.sandbox.analysis import missing_sequences, tone_runs

pytestmark = pytest.mark.e2e


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emu:
        yield emu


async def until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``predicate`` on the loop; fail after ``timeout`` (a deadlock guard, not a measure)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def on_air(
    emulator: Emulator, room: int, station_hz: float = 440.0
) -> AsyncIterator[tuple[RadioBot, Announcer]]:
    world = emulator.world
    text = world.text_channel.id
    config = DiscordConfig.model_validate(
        {
            "guilds": [
                {
                    "id": world.guild.id,
                    "broadcast": room,
                    "announcements": text,
                    "programmers": text,
                }
            ]
        }
    )
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
        stall_polls=100,
    )
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


async def test_bot_broadcasts_the_station_and_announces(emulator: Emulator) -> None:
    world = emulator.world
    voice = world.voice_channel.id
    async with on_air(emulator, voice) as (bot, announcer):
        announcer.handle(
            ShowStarted(frame=0, show_id="tones", title="Tone Hour", tags={"presenter": "Sine Bot"})
        )
        announcer.handle(TrackStarted(frame=0, track=Track("sine:440", "A440", "Test Tone")))
        await until(lambda: len(emulator.record.audio_packets(channel_id=voice)) >= 100)
        await until(lambda: bool(world.messages_in(world.text_channel.id)))
        await until(lambda: world.voice_channel.status is not None)
        member = world.guild.voice_states[world.bot.id]
        assert member.channel_id == voice
        assert member.self_deaf
        presence = world.presences[world.bot.id]
        assert presence.activities[0]["name"] == "Test Tone – A440"

    packets = emulator.record.audio_packets(channel_id=voice)
    assert emulator.record.auth_failures == 0
    assert missing_sequences(packets) == []
    runs = tone_runs(emulator.record.pcm(packets))
    assert len(runs) == 1
    assert abs(runs[0].frequency - 440.0) < 1.0
    assert world.voice_channel.status == "On air: Tone Hour with Sine Bot"
    [message] = world.messages_in(world.text_channel.id)
    assert message.embeds[0]["title"] == "A440"
    assert message.embeds[0]["description"] == "by **Test Tone**"
    assert bot.feed.stats().encoded >= len(packets)


async def test_close_4014_is_reported_not_rejoined(emulator: Emulator) -> None:
    world = emulator.world
    voice = world.voice_channel.id
    async with on_air(emulator, voice) as (bot, _):
        await until(lambda: len(emulator.record.audio_packets(channel_id=voice)) >= 25)
        await emulator.voice.close(None, 4014)
        room = bot.rooms[world.guild.id]
        await until(lambda: room.state is RoomState.REFUSED)
        await until(lambda: bool(world.messages_in(world.text_channel.id)))
        heard = len(emulator.record.packets)
        # It stays out: the keeper waits for an admin's join, however long we look.
        await asyncio.sleep(0.5)
        assert room.state is RoomState.REFUSED
        assert room.joins == 1
        assert len(emulator.record.packets) <= heard + 5
        [alert] = world.messages_in(world.text_channel.id)
        assert alert.content.startswith(f"Left <#{voice}> (")
        assert "will not rejoin on its own" in alert.content
        assert room.last_close_code in (4014, None)  # aiohttp may report 1006 by then
        bot.join(world.guild.id)  # an admin says so: back on air
        await until(lambda: room.state is RoomState.ON_AIR and room.joins == 2)
        before = len(emulator.record.audio_packets(channel_id=voice))
        await until(lambda: len(emulator.record.audio_packets(channel_id=voice)) >= before + 25)


async def test_close_4006_comes_back_on_air(emulator: Emulator) -> None:
    world = emulator.world
    voice = world.voice_channel.id
    async with on_air(emulator, voice) as (bot, _):
        await until(lambda: len(emulator.record.audio_packets(channel_id=voice)) >= 25)
        await emulator.voice.close(None, 4006)
        mark = len(emulator.record.packets)
        await until(
            lambda: len(emulator.record.audio_packets(channel_id=voice)) >= mark + 50, timeout=30
        )
        room = bot.rooms[world.guild.id]
        assert room.state is RoomState.ON_AIR
        # discord.py reconnects by itself (joins stays 1); when its reconnect hangs
        # (its UDP reader can block on the old socket), the keeper's stall rejoin does.
        assert room.joins in (1, 2)
        assert not world.messages_in(world.text_channel.id)
    packets = emulator.record.audio_packets(channel_id=voice)
    runs = tone_runs(emulator.record.pcm(packets[mark:]))
    assert runs and {round(r.frequency) for r in runs} == {440}


async def test_stage_speaker_with_the_show_as_topic(emulator: Emulator) -> None:
    world = emulator.world
    stage = world.stage_channel.id
    async with on_air(emulator, stage, station_hz=660.0) as (_, announcer):
        announcer.handle(ShowStarted(frame=0, show_id="m", title="Morning Tones"))
        await until(lambda: len(emulator.record.audio_packets(channel_id=stage)) >= 100)
        await until(lambda: bool(world.guild.stage_instances))
        state = world.guild.voice_states[world.bot.id]
        assert state.channel_id == stage
        assert state.self_deaf
        assert not state.suppress
    packets = emulator.record.audio_packets(channel_id=stage)
    # The bot unsuppresses itself before it starts playing: every packet is heard.
    assert [p for p in packets if p.suppressed] == []
    assert missing_sequences(packets) == []
    runs = tone_runs(emulator.record.pcm(packets))
    assert [round(r.frequency) for r in runs] == [660]
    assert [s.topic for s in world.guild.stage_instances.values()] == ["Morning Tones"]
