"""End to end on the local Discord: the real bot goes on air and survives (or reports) faults."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import discord
import pytest

from radio.audio.frames import SILENCE
from radio.audio.track import Track
from radio.bot.client import RoomState
from radio.bot.sender import MAX_LATE_FRAMES, STOP_SILENCE_FRAMES
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
    # One run, or more when the loaded machine delayed packets (arrival gaps split it).
    assert runs
    assert all(abs(run.frequency - 440.0) < 1.0 for run in runs)
    assert world.voice_channel.status == "On air: Tone Hour with Sine Bot"
    [message] = world.messages_in(world.text_channel.id)
    assert message.embeds[0]["title"] == "A440"
    assert message.embeds[0]["description"] == "by **Test Tone**"
    # One encode per frame sent, then five Opus silence frames as the bot leaves
    # (the decoder fades out over the first; the last is digital silence).
    sent = bot.broadcaster.stats()
    assert bot.feed.stats().encoded == sent.frames
    assert sent.packets == sent.frames + STOP_SILENCE_FRAMES
    await until(lambda: len(emulator.record.audio_packets(channel_id=voice)) >= sent.packets)
    packets = emulator.record.audio_packets(channel_id=voice)
    assert len(packets) == sent.packets
    assert packets[-1].pcm == SILENCE


@pytest.mark.parametrize("fault", ["close 4014", "kick", "close 4021"])
async def test_refused_close_is_reported_not_rejoined(emulator: Emulator, fault: str) -> None:
    world = emulator.world
    voice = world.voice_channel.id
    async with on_air(emulator, voice) as (bot, _):
        await until(lambda: len(emulator.record.audio_packets(channel_id=voice)) >= 25)
        if fault == "kick":  # a moderator disconnects the bot: 4014 and a voice state
            await emulator.voice_states.kick(world.bot.id)
        else:
            await emulator.voice.close(None, int(fault.split()[1]))
        expected = 4021 if fault == "close 4021" else 4014
        room = bot.rooms[world.guild.id]
        await until(lambda: room.state is RoomState.REFUSED)
        await until(lambda: bool(world.messages_in(world.text_channel.id)))
        heard = len(emulator.record.packets)
        # It stays out: the keeper waits for an admin's join, however long we look
        # (while the sender pulls 25 more frames with no room).
        idle = bot.broadcaster.stats().idle
        await until(lambda: bot.broadcaster.stats().idle >= idle + 25)
        assert room.state is RoomState.REFUSED
        assert room.joins == 1
        assert room.last_close_code == expected
        assert len(emulator.record.packets) <= heard + 5
        [alert] = world.messages_in(world.text_channel.id)
        assert alert.content.startswith(f"Left <#{voice}> (voice close code {expected}: ")
        assert alert.content.endswith(
            "will not rejoin on its own. Fix the cause, then use the join command."
        )
        bot.join(world.guild.id)  # an admin says so: back on air
        await until(lambda: room.state is RoomState.ON_AIR and room.joins == 2)
        before = len(emulator.record.audio_packets(channel_id=voice))
        await until(lambda: len(emulator.record.audio_packets(channel_id=voice)) >= before + 25)


async def test_close_4006_comes_back_on_air(emulator: Emulator) -> None:
    world = emulator.world
    voice = world.voice_channel.id
    async with on_air(emulator, voice) as (bot, _):
        await until(lambda: len(emulator.record.audio_packets(channel_id=voice)) >= 25)
        # The sender told the room that the bot speaks (the emulator keeps the flag
        # on the session across a re-identify, so the repeat after the reconnect is
        # unit-tested in test_sender.py).
        [session] = [c for c in emulator.voice.connections() if c.user_id == world.bot.id]
        assert session.speaking == 1
        await emulator.voice.close(None, 4006)
        mark = len(emulator.record.audio_packets(channel_id=voice))
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
    # A reconnect can leave a phase jump inside a run (a frame the session lost),
    # which moves the measured peak by under a hertz: the pitch is what matters.
    assert runs and all(abs(r.frequency - 440.0) < 2.0 for r in runs), runs


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


async def test_voice_resume_4015_udp_silence_and_gateway_drop(emulator: Emulator) -> None:
    world = emulator.world
    voice = world.voice_channel.id

    def heard() -> int:
        return len(emulator.record.audio_packets(channel_id=voice))

    async with on_air(emulator, voice) as (bot, _):
        await until(lambda: heard() >= 25)
        # Voice server crash: discord.py tries to resume; when that fails it lets go
        # and the keeper rejoins (4015 is not a refusal).
        await emulator.voice.close(None, 4015)
        mark = heard()
        await until(lambda: heard() >= mark + 50, timeout=30)

        emulator.listener.answering = False  # the UDP path goes silent
        sent = bot.broadcaster.stats().frames
        await until(lambda: bot.broadcaster.stats().frames >= sent + 15)  # 15 frames lost
        emulator.listener.answering = True
        mark = heard()
        await until(lambda: heard() >= mark + 50, timeout=30)

        await emulator.gateway.close_sockets(4000)  # gateway drop: discord.py resumes it
        mark = heard()
        await until(lambda: heard() >= mark + 50, timeout=30)
        room = bot.rooms[world.guild.id]
        assert room.state is RoomState.ON_AIR
        assert room.joins in (1, 2)  # discord.py recovered (2: the keeper's stall rejoin did)
        assert not world.messages_in(world.text_channel.id)  # nothing to report
    packets = emulator.record.audio_packets(channel_id=voice)
    assert emulator.record.auth_failures == 0
    runs = tone_runs(emulator.record.pcm(packets))
    # A reconnect can leave a phase jump inside a run (a frame the session lost),
    # which moves the measured peak by under a hertz: the pitch is what matters.
    assert runs and all(abs(r.frequency - 440.0) < 2.0 for r in runs), runs


async def test_programme_keeps_time_while_the_room_is_gone(emulator: Emulator) -> None:
    world = emulator.world
    voice = world.voice_channel.id
    async with on_air(emulator, voice, monotonic=time.monotonic) as (bot, _):
        await until(lambda: len(emulator.record.audio_packets(channel_id=voice)) >= 25)
        await emulator.voice.close(None, 4014)  # out for good until an admin says join
        room = bot.rooms[world.guild.id]
        await until(lambda: room.state is RoomState.REFUSED)
        before = bot.broadcaster.stats()
        await until(lambda: bot.broadcaster.stats().idle >= before.idle + 25)
        # No room is connected, yet the station moved on: the sender pulled the
        # frames due without encoding or sending them.
        after = bot.broadcaster.stats()
        assert after.idle > before.idle
        assert after.frames == before.frames
        assert bot.feed.stats().encoded == after.frames
        due = bot.broadcaster.due(time.monotonic())
        await until(lambda: bot.feed.position >= due - MAX_LATE_FRAMES)


async def test_scheduled_events_mirror_the_grid(emulator: Emulator) -> None:
    from radio.bot.schedule import Create, Delete, Update, desired_events

    from .test_schedule import WEEK

    world = emulator.world
    stage = world.stage_channel.id
    now = datetime(2030, 11, 18, 0, 0, tzinfo=UTC)  # a Monday: every airing in the future
    async with on_air(emulator, stage) as (bot, _):
        guild = bot.get_guild(world.guild.id)
        assert guild is not None
        channel = guild.get_channel(stage)
        assert isinstance(channel, discord.StageChannel)
        await guild.create_scheduled_event(
            name="Community meetup",
            start_time=now + timedelta(days=2),
            channel=channel,
            privacy_level=discord.PrivacyLevel.guild_only,
        )
        first = await bot.mirror_schedule(world.guild.id, desired_events(WEEK, now))
        assert [type(c) for c in first] == [Create] * 5

        def mirrored() -> list[tuple[str, str, str | None]]:
            return sorted(
                (e["name"], e["scheduled_start_time"], e.get("description"))
                for e in (
                    s.payload(world.guild.id, world.bot.id)
                    for s in world.guild.scheduled_events.values()
                )
            )

        names = [name for name, _, _ in mirrored()]
        assert names.count("Morning Hits") == 3 and "Community meetup" in names
        assert len(names) == 6
        # The grid changes: the news is dropped, the evening show renamed.
        edited = [s for s in desired_events(WEEK, now) if not s.key.startswith("news")]
        edited = [
            replace(s, name="Evening Live!") if s.key.startswith("live") else s for s in edited
        ]
        second = await bot.mirror_schedule(world.guild.id, edited)
        assert [type(c) for c in second] == [Delete, Update]
        names = [name for name, _, _ in mirrored()]
        assert sorted(names) == sorted(["Community meetup", "Evening Live!"] + ["Morning Hits"] * 3)
        assert await bot.mirror_schedule(world.guild.id, edited) == []  # idempotent
