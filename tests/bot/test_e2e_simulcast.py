"""Simulcast on the local Discord: one station, N guilds, one pull and one encode per frame.

The bot's sender runs on a monotonic clock that the test steps one frame at a
time, so the counts are exact: M frames are M station reads, M Opus encodes
and M packets in each of the N rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

import discord
import discord.opus
import pytest

from radio.audio.operators import Sine
from radio.bot.audio import SimulcastFeed
from radio.bot.client import RadioBot, RoomState
from radio.bot.config import DiscordConfig
from radio.bot.sender import STOP_SILENCE_FRAMES
from radio.clock import SystemClock
from radio.sandbox import Emulator, point_discord_at
from radio.sandbox.analysis import missing_sequences, tone_runs
from radio.sandbox.state import ChannelType

from .doubles import CountingEncoder, SteppedMonotonic
from .e2e import until

pytestmark = pytest.mark.e2e

ROOMS = 3
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


async def test_n_rooms_m_frames_one_read_one_encode_n_times_m_packets() -> None:
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic, guilds=ROOMS) as emulator:
        world = emulator.world
        rooms = {g.id: g.channel_of_type(ChannelType.VOICE).id for g in world.guilds.values()}
        config = DiscordConfig.model_validate(
            {"guilds": [{"id": gid, "broadcast": room} for gid, room in rooms.items()]}
        )
        station = CountedSine(HZ)
        encoder = CountingEncoder()
        feed = SimulcastFeed(station, encoder)
        clock = SteppedMonotonic(1000.0)
        bot = RadioBot(
            config,
            feed,
            clock=SystemClock(),
            connect_timeout=5.0,
            poll_interval=0.05,
            monotonic=clock,
        )
        point_discord_at(bot, emulator.addresses)
        task = asyncio.create_task(bot.start(world.token))

        def heard(room: int) -> int:
            return len(emulator.record.audio_packets(channel_id=room))

        def clients() -> list[discord.VoiceClient]:
            found = []
            for gid in rooms:
                guild = bot.get_guild(gid)
                vc = guild.voice_client if guild is not None else None
                if isinstance(vc, discord.VoiceClient):
                    found.append(vc)
            return found

        try:
            await until(
                lambda: all(r.state is RoomState.ON_AIR for r in bot.rooms.values()) or task.done()
            )
            assert not task.done()
            await until(
                lambda: (
                    len(clients()) == ROOMS
                    and all(
                        vc.is_connected() and bot.broadcaster.is_attached(vc) for vc in clients()
                    )
                )
            )
            # The clock stands still: the sender pulled at most frame 0 (no room yet).
            position = feed.position
            assert position <= 1
            reads, encodes = station.reads, encoder.calls
            before = {room: heard(room) for room in rooms.values()}
            for n in range(position, position + FRAMES):
                clock.to_frame(n)
                await until(lambda n=n: feed.position == n + 1)
            await until(lambda: all(heard(r) == before[r] + FRAMES for r in rooms.values()))

            assert station.reads - reads == FRAMES
            assert encoder.calls - encodes == FRAMES
            stats = bot.broadcaster.stats()
            assert stats.frames == FRAMES
            assert stats.packets == ROOMS * FRAMES
            assert stats.skipped == 0 and stats.rooms == ROOMS
            # Every room was told the bot speaks (SpeakingState.voice) before its audio.
            # (The flag goes by WebSocket and the audio by UDP: wait for the flag.)
            await until(
                lambda: (
                    {c.channel_id: c.speaking for c in emulator.voice.connections()}
                    == {room: 1 for room in rooms.values()}
                )
            )
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
            feed.close()

        assert emulator.record.auth_failures == 0
        await until(lambda: all(heard(r) == FRAMES + STOP_SILENCE_FRAMES for r in rooms.values()))
        for room in rooms.values():
            packets = emulator.record.audio_packets(channel_id=room)
            assert missing_sequences(packets) == []
            assert [p.sequence for p in packets] == list(
                range(packets[0].sequence, packets[0].sequence + FRAMES + STOP_SILENCE_FRAMES)
            )
            # Laid end to end: the test's clock paces the sends, and a pause of its
            # loop on a busy machine is not a gap in what the room was sent.
            runs = tone_runs(emulator.record.pcm(packets[:FRAMES], jitter=math.inf))
            assert runs and all(abs(run.frequency - HZ) < 1.0 for run in runs)
