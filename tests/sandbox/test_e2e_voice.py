"""End to end: a real discord.py bot joins the voice room, then the stage, and plays tones."""

from __future__ import annotations

import discord
import pytest

from radio.sandbox import Emulator
from radio.sandbox.analysis import missing_sequences, tone_runs

from .bot import TestBot, play_and_wait, wait_for
from .conftest import ToneMaker

pytestmark = pytest.mark.e2e

SILENCE_FRAMES = 5  # discord.py sends five Opus silence frames when a source ends
TONE_SECONDS = 0.4
FRAMES_PER_TONE = 20


async def test_voice_room_hears_tones_in_order(
    emulator: Emulator, bot: TestBot, tones: ToneMaker
) -> None:
    world = emulator.world
    channel = bot.get_channel(world.voice_channel.id)
    assert isinstance(channel, discord.VoiceChannel)
    vc = await channel.connect(timeout=10)
    try:
        freqs = [440.0, 660.0, 880.0]
        with tones(freqs, TONE_SECONDS).open("rb") as pcm:
            await play_and_wait(vc, discord.PCMAudio(pcm))
        await wait_for(lambda: len(emulator.record.packets) >= 3 * FRAMES_PER_TONE + SILENCE_FRAMES)
    finally:
        await vc.disconnect()

    record = emulator.record
    packets = record.audio_packets()
    assert record.auth_failures == 0
    assert len(packets) == len(record.packets) == 3 * FRAMES_PER_TONE + SILENCE_FRAMES
    assert missing_sequences(packets) == []
    assert {p.channel_id for p in packets} == {world.voice_channel.id}
    assert all(p.pcm is not None for p in packets)
    runs = tone_runs(record.pcm())
    assert [round(r.frequency) for r in runs] == [440, 660, 880]
    for run, expected in zip(runs, freqs, strict=True):
        assert abs(run.frequency - expected) < 1.0
