"""Several voices on the local Discord: three bot accounts, one feed, every frame everywhere.

Two stages in one server (one bot each: a bot holds one voice room per server)
and a voice room in another server. The sender runs on a clock the test steps
one frame at a time, so the counts are exact: M frames are M station reads, M
Opus encodes and M packets in each room, with contiguous sequences and the same
audio in all three. Then one voice's token is refused: the two others play on
and the admins are told, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from radio.audio.operators import Sine
from radio.bot.announcements import Announcer, Rooms
from radio.bot.audio import SimulcastFeed
from radio.bot.client import Backoff, RadioBot, RoomState
from radio.bot.config import DiscordConfig
from radio.bot.sender import STOP_SILENCE_FRAMES
from radio.bot.voices import Voices, VoiceStatus, follower
from radio.clock import SystemClock
from radio.errors import ConfigError
from radio.sandbox import Emulator, point_discord_at
from radio.sandbox.analysis import missing_sequences, tone_runs
from radio.sandbox.state import ChannelType, bot_token

from .doubles import CountingEncoder, SteppedMonotonic
from .e2e import until

pytestmark = pytest.mark.e2e

FRAMES = 60
HZ = 523.25


class CountedSine(Sine):
    """The real sine operator, counting the station reads."""

    def __init__(self, hz: float) -> None:
        super().__init__(hz, level_dbfs=-12.0)
        self.reads = 0

    def read(self) -> bytes:
        self.reads += 1
        return super().read()


def three_voices(emulator: Emulator) -> tuple[DiscordConfig, list[int]]:
    """Stage 1 and Stage 2 of the first server, On Air of the second; admins in #studio."""
    world = emulator.world
    first, second = world.guilds.values()
    stage_1, stage_2 = (s.id for s in world.stages(first))
    far = second.channel_of_type(ChannelType.VOICE).id
    studio = first.channel_of_type(ChannelType.TEXT).id
    config = DiscordConfig.model_validate(
        {
            "guilds": [
                {"id": first.id, "broadcast": stage_1, "admins": studio},
                {"id": second.id, "broadcast": far},
            ],
            "voices": [
                {"name": "main"},
                {
                    "name": "stage-2",
                    "token_env": "VOICE_2",
                    "rooms": [{"guild": first.id, "room": stage_2}],
                },
                {
                    "name": "far",
                    "token_env": "VOICE_3",
                    "rooms": [{"guild": second.id, "room": far}],
                },
            ],
        }
    )
    return config, [stage_1, stage_2, far]


@contextlib.asynccontextmanager
async def station(
    emulator: Emulator,
    config: DiscordConfig,
    tokens: dict[str, str],
    feed: SimulcastFeed,
    clock: SteppedMonotonic | None = None,
) -> AsyncIterator[tuple[RadioBot[Any], Voices, Announcer]]:
    """The primary (announcing) and its followers, as the application wires them."""
    world = emulator.world
    studio = world.text_channel.id
    primary: RadioBot[Any]
    announcer = Announcer(
        Rooms(admins=(studio,), programmers=(studio,)),
        station="Sandbox FM",
        notify=lambda: primary.wake_announcements(),
    )
    plan = config.voice_plan()
    primary = RadioBot(
        config,
        feed,
        clock=SystemClock(),
        announcer=announcer,
        backoff=Backoff(base=0.1, cap=0.5),
        connect_timeout=5.0,
        poll_interval=0.05,
        monotonic=clock,
        realtime=False,
        rooms=plan[0].rooms,
        voice_name=plan[0].name,
        guild_ready_timeout=0.05,
    )
    followers = [
        (voice, follower(primary, voice, station="Sandbox FM", guild_ready_timeout=0.05))
        for voice in plan[1:]
    ]

    def token(name: str) -> str:
        if name not in tokens:
            raise ConfigError(f"{name}: missing or empty")
        return tokens[name]

    voices = Voices(
        (plan[0], primary),
        followers,
        token=token,
        supervisor=primary.supervisor,
        alerts=announcer,
        backoff=primary.backoff,
    )
    for bot in (primary, *(bot for _, bot in followers)):
        point_discord_at(bot, emulator.addresses)
    task = asyncio.create_task(primary.start(tokens["DISCORD_TOKEN"]))
    try:
        await until(lambda: primary.is_ready() or task.done())
        assert not task.done()
        voices.start()
        yield primary, voices, announcer
    finally:
        await voices.close()
        await primary.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 5)
        feed.close()


def on_air(voices: Voices, rooms: list[int]) -> bool:
    states = {line.room: line.state for line in voices.rooms()}
    return all(states.get(room) == str(RoomState.ON_AIR) for room in rooms)


async def test_three_voices_every_frame_in_every_room_one_pull_one_encode() -> None:
    async with Emulator(
        clock=SystemClock(), monotonic=time.monotonic, guilds=2, bots=3, stages=2
    ) as emulator:
        config, rooms = three_voices(emulator)
        token = emulator.world.token
        tokens = {
            "DISCORD_TOKEN": token,
            "VOICE_2": bot_token(token, 2),
            "VOICE_3": bot_token(token, 3),
        }
        station_source = CountedSine(HZ)
        encoder = CountingEncoder()
        feed = SimulcastFeed(station_source, encoder)
        clock = SteppedMonotonic(1000.0)

        def heard(room: int) -> int:
            return len(emulator.record.audio_packets(channel_id=room))

        async with station(emulator, config, tokens, feed, clock) as (primary, voices, _):
            await until(lambda: on_air(voices, rooms), timeout=30)
            await until(lambda: primary.broadcaster.stats().rooms == 3)
            # Every voice is a speaker where it broadcasts (stages: unsuppressed).
            first, second = emulator.world.guilds.values()
            await until(
                lambda: (
                    sum(
                        1
                        for g in (first, second)
                        for s in g.voice_states.values()
                        if s.channel_id in rooms and not s.suppress
                    )
                    == 3
                )
            )
            # One voice room per bot per server: three bots, three rooms, nobody doubled.
            holders = {
                s.channel_id: uid
                for g in (first, second)
                for uid, s in g.voice_states.items()
                if s.channel_id in rooms
            }
            assert sorted(holders) == sorted(rooms)
            assert len(set(holders.values())) == 3
            assert [v.status for v in voices.all] == [
                VoiceStatus.PRIMARY,
                VoiceStatus.CONNECTED,
                VoiceStatus.CONNECTED,
            ]
            position = feed.position
            reads, encodes = station_source.reads, encoder.calls
            before = {room: heard(room) for room in rooms}
            for n in range(position, position + FRAMES):
                clock.to_frame(n)
                await until(lambda n=n: feed.position == n + 1)
            await until(lambda: all(heard(r) == before[r] + FRAMES for r in rooms))
            assert station_source.reads - reads == FRAMES
            assert encoder.calls - encodes == FRAMES
            stats = primary.broadcaster.stats()
            assert stats.rooms == 3 and stats.skipped == 0
            diag = "\n".join(voices.diagnostics())
            assert "voice stage-2 (VOICE_2): connected, 1 room(s)" in diag
            assert f"far in guild {second.id} room {rooms[2]}: on air" in diag

        # each room's detach sent five silence frames: the listener's thread files
        # them when it gets to them, so wait for them before counting
        await until(
            lambda: all(heard(r) >= before[r] + FRAMES + STOP_SILENCE_FRAMES for r in rooms)
        )
        record = emulator.record
        assert record.auth_failures == 0
        heard_pcm = []
        for room in rooms:
            packets = record.audio_packets(channel_id=room)
            assert missing_sequences(packets) == []
            assert [p.sequence for p in packets] == list(
                range(packets[0].sequence, packets[0].sequence + len(packets))
            )
            window = packets[before[room] : before[room] + FRAMES]
            assert len(window) == FRAMES
            # Laid end to end: every frame is there (sequences checked above), and
            # a late packet on a busy machine is not a gap in what was sent.
            runs = tone_runs(record.pcm(window, jitter=math.inf))
            assert runs and all(abs(run.frequency - HZ) < 1.0 for run in runs)
            heard_pcm.append([p.pcm for p in window])
            # Closing sends each room the five silence frames, nothing after.
            assert len(packets) == before[room] + FRAMES + STOP_SILENCE_FRAMES
        # The same packets, decoded the same: identical audio in the three rooms.
        assert heard_pcm[0] == heard_pcm[1] == heard_pcm[2]


async def test_a_refused_token_silences_only_its_voice_and_the_admins_are_told_once() -> None:
    async with Emulator(
        clock=SystemClock(), monotonic=time.monotonic, guilds=2, bots=3, stages=2
    ) as emulator:
        config, rooms = three_voices(emulator)
        token = emulator.world.token
        tokens = {
            "DISCORD_TOKEN": token,
            "VOICE_2": "revoked-token",
            "VOICE_3": bot_token(token, 3),
        }
        feed = SimulcastFeed(Sine(HZ, level_dbfs=-12.0))
        studio = emulator.world.text_channel.id

        def alerts() -> list[str]:
            return [m.content for m in emulator.world.messages_in(studio) if "stage-2" in m.content]

        async with station(emulator, config, tokens, feed) as (_primary, voices, _):
            await until(lambda: on_air(voices, [rooms[0], rooms[2]]), timeout=30)
            await until(lambda: bool(alerts()))
            refused = voices.all[1]
            assert refused.status is VoiceStatus.REFUSED
            # The other two play on: their listeners keep receiving audio.
            counts = {r: len(emulator.record.audio_packets(channel_id=r)) for r in rooms}
            await until(
                lambda: all(
                    len(emulator.record.audio_packets(channel_id=r)) >= counts[r] + 25
                    for r in (rooms[0], rooms[2])
                )
            )
            assert len(emulator.record.audio_packets(channel_id=rooms[1])) == 0
            assert "Discord refused the token in VOICE_2" in alerts()[0]
            assert "revoked-token" not in alerts()[0]
            diag = "\n".join(voices.diagnostics())
            assert "voice stage-2 (VOICE_2): off: token refused, 1 room(s)" in diag
        assert len(alerts()) == 1


async def test_a_missing_token_variable_is_told_and_the_others_play() -> None:
    async with Emulator(
        clock=SystemClock(), monotonic=time.monotonic, guilds=2, bots=3, stages=2
    ) as emulator:
        config, rooms = three_voices(emulator)
        token = emulator.world.token
        tokens = {"DISCORD_TOKEN": token, "VOICE_2": bot_token(token, 2)}
        feed = SimulcastFeed(Sine(HZ, level_dbfs=-12.0))
        studio = emulator.world.text_channel.id
        async with station(emulator, config, tokens, feed) as (_, voices, _announcer):
            await until(lambda: on_air(voices, rooms[:2]), timeout=30)
            await until(
                lambda: any("VOICE_3" in m.content for m in emulator.world.messages_in(studio))
            )
            assert voices.all[2].status is VoiceStatus.NO_TOKEN


async def test_four_voices_stop_together_each_hearing_discord_confirm_its_leave() -> None:
    # Four bots in four stages of one server (the bench's arrangement). Each
    # voice leaves while it still reads its gateway, so Discord's confirmation
    # (the VOICE_STATE_UPDATE with no room) reaches the bot that left; a voice
    # that no longer reads it waits connect_timeout for it, one voice after another.
    async with Emulator(
        clock=SystemClock(), monotonic=time.monotonic, guilds=1, bots=4, stages=4
    ) as emulator:
        world = emulator.world
        guild = world.guild
        stages = [s.id for s in world.stages(guild)]
        config = DiscordConfig.model_validate(
            {
                "guilds": [{"id": guild.id, "broadcast": stages[0]}],
                "voices": [{"name": "main"}]
                + [
                    {
                        "name": f"stage-{n}",
                        "token_env": f"VOICE_{n}",
                        "rooms": [{"guild": guild.id, "room": stages[n - 1]}],
                    }
                    for n in range(2, 5)
                ],
            }
        )
        token = world.token
        tokens = {"DISCORD_TOKEN": token} | {f"VOICE_{n}": bot_token(token, n) for n in range(2, 5)}
        feed = SimulcastFeed(Sine(HZ, level_dbfs=-12.0))
        left: dict[int, int] = {}  # bot user id -> confirmations of its own leave

        def count_leaves(bot: RadioBot[Any]) -> None:
            async def on_voice_state_update(
                member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
            ) -> None:
                if bot.user is not None and member.id == bot.user.id and after.channel is None:
                    left[member.id] = left.get(member.id, 0) + 1

            bot.add_listener(on_voice_state_update)

        async with station(emulator, config, tokens, feed) as (primary, voices, _):
            for entry in voices.all:
                count_leaves(entry.bot)
            await until(lambda: on_air(voices, stages), timeout=30)
            await until(lambda: primary.broadcaster.stats().rooms == 4)
            bots = [entry.bot.user.id for entry in voices.all if entry.bot.user is not None]
            assert len(set(bots)) == 4
            left.clear()  # a join retried on a busy machine leaves first: count from here
        # Closed (the station's close: the voices, then the primary).
        assert all(entry.bot.is_closed() for entry in voices.all)
        assert [v.status for v in voices.all] == [VoiceStatus.PRIMARY] + [VoiceStatus.STOPPED] * 3
        await until(lambda: len(left) == 4)
        assert left == {user: 1 for user in bots}
        assert all(guild.voice_states[user].channel_id is None for user in bots)
