"""End to end on the local Discord: the real bot goes on air and survives (or reports) faults."""

from __future__ import annotations

import asyncio

import pytest

from radio.audio.track import Track
from radio.bot.client import RoomState
from radio.events import ShowStarted, TrackStarted
from radio.sandbox import Emulator
from radio.sandbox.analysis import missing_sequences, tone_runs

from .e2e import on_air, until

pytestmark = pytest.mark.e2e


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
