"""Simulcast on the local Discord: one station, two guilds, one Opus encode per frame."""

from __future__ import annotations

import asyncio
import contextlib
import time

import discord
import pytest

from radio.audio.operators import Sine
from radio.bot.audio import SimulcastFeed, StationAudio
from radio.bot.client import RadioBot, RoomState
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.sandbox import Emulator, point_discord_at
from radio.sandbox.analysis import missing_sequences, tone_runs
from radio.sandbox.state import ChannelType

from .e2e import until

pytestmark = pytest.mark.e2e


async def test_one_station_two_guilds_one_encode() -> None:
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic, guilds=2) as emulator:
        world = emulator.world
        rooms = {g.id: g.channel_of_type(ChannelType.VOICE).id for g in world.guilds.values()}
        config = DiscordConfig.model_validate(
            {"guilds": [{"id": gid, "broadcast": room} for gid, room in rooms.items()]}
        )
        feed = SimulcastFeed(Sine(523.25, level_dbfs=-12.0))
        bot = RadioBot(config, feed, clock=SystemClock(), connect_timeout=5.0, poll_interval=0.05)
        point_discord_at(bot, emulator.addresses)
        task = asyncio.create_task(bot.start(world.token))
        try:
            await until(
                lambda: all(r.state is RoomState.ON_AIR for r in bot.rooms.values()) or task.done()
            )
            assert not task.done()

            def heard(room: int) -> int:
                return len(emulator.record.audio_packets(channel_id=room))

            await until(lambda: all(heard(room) >= 100 for room in rooms.values()))
            readers: list[StationAudio] = []
            for gid in rooms:
                guild = bot.get_guild(gid)
                assert guild is not None and isinstance(guild.voice_client, discord.VoiceClient)
                source = guild.voice_client.source
                assert isinstance(source, StationAudio)
                readers.append(source)
            # Readers first, the feed after: a reader never gets ahead of the feed.
            sents = [reader.stats().sent for reader in readers]
            stats = feed.stats()
            # Every packet any room sent came from the one encoder, once per frame:
            # two rooms sent nearly twice as many packets as there were encodes.
            assert stats.readers == 2
            assert stats.encoded == stats.pulled >= max(sents)
            assert sum(sents) > stats.encoded
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
            feed.close()

        assert emulator.record.auth_failures == 0
        for room in rooms.values():
            packets = emulator.record.audio_packets(channel_id=room)
            assert missing_sequences(packets) == []
            runs = tone_runs(emulator.record.pcm(packets))
            assert runs and all(abs(run.frequency - 523.25) < 1.0 for run in runs)
