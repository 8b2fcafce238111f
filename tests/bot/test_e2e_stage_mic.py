"""Acceptance of the stage's talk-over, end to end: the real RadioBot on the local
Discord's stage, presenters played by the emulator, the level measured on what
the listener decoded (RMS per 20 ms frame, in the order the frames were sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from radio.audio.duck import Duck
from radio.audio.operators import Sine
from radio.bot.announcements import Announcer, Rooms
from radio.bot.audio import SimulcastFeed
from radio.bot.client import Backoff, RadioBot, RoomState
from radio.bot.config import DiscordConfig
from radio.bot.stage_mic import StageMic, receiving_voice_client
from radio.clock import SystemClock
from radio.live.talkover import TalkOver
from radio.sandbox import Emulator, point_discord_at
from radio.sandbox.speakers import Spurt

from .e2e import until

DEPTH = -15.0
ATTACK_FRAMES = 5  # 100 ms
RELEASE_FRAMES = 50  # 1 s


@contextlib.asynccontextmanager
async def stage_on_air(
    emulator: Emulator, allowed: set[str]
) -> AsyncIterator[tuple[RadioBot, TalkOver]]:
    """The bot on the stage, a ducked sine as its station, ``allowed`` may key the duck."""
    world = emulator.world
    stage = world.stage_channel.id
    text = world.text_channel.id
    config = DiscordConfig.model_validate(
        {
            "guilds": [
                {
                    "id": world.guild.id,
                    "broadcast": stage,
                    "announcements": text,
                    "programmers": text,
                }
            ]
        }
    )
    duck = Duck(Sine(440.0, level_dbfs=-12.0))
    ids = {emulator.person(name) for name in allowed}
    talkover = TalkOver(duck, time.monotonic, allowed=ids.__contains__)
    rooms = Rooms(announcements=(text,), stages=(stage,), programmers=(text,), admins=(text,))
    bot: RadioBot
    announcer = Announcer(rooms, station="Sandbox FM", notify=lambda: bot.wake_announcements())
    bot = RadioBot(
        config,
        SimulcastFeed(duck),
        clock=SystemClock(),
        announcer=announcer,
        backoff=Backoff(base=0.1, cap=0.5),
        connect_timeout=5.0,
        poll_interval=0.05,
    )
    bot.voice_class = receiving_voice_client(talkover)
    await bot.add_cog(StageMic(bot, talkover, rooms=lambda guild_id: stage))
    point_discord_at(bot, emulator.addresses)
    task = asyncio.create_task(bot.start(world.token))
    try:
        await until(lambda: bot.rooms[world.guild.id].state is RoomState.ON_AIR or task.done())
        if task.done():
            task.result()
        await until(lambda: len(heard(emulator)) >= 25)  # half a second on air
        yield bot, talkover
    finally:
        await bot.close()


# The silence frames a bot sends as it leaves carry a 3-byte Opus payload: with the
# RTP header and the transport's nonce and tag a packet is under this size, where
# every packet of the station's music (128 kb/s) is hundreds of bytes.
SILENCE_WIRE_BYTES = 64


def heard(emulator: Emulator) -> list[Any]:
    """The frames the listener decoded, in the order they were sent; without the
    silence frames a bot sends as it leaves (told by their size: their decoded
    audio is the music fading out, so it cannot be told by its samples)."""
    packets = emulator.record.audio_packets(channel_id=emulator.world.stage_channel.id)
    ordered = sorted((p for p in packets if p.pcm is not None), key=lambda p: p.sequence)
    while ordered and ordered[-1].size < SILENCE_WIRE_BYTES:
        ordered.pop()
    return ordered


def levels(frames: list[Any]) -> np.ndarray:
    """The level of each of ``frames`` (heard), in dB relative to the first frames'."""
    pcm = [np.frombuffer(p.pcm, "<i2").astype(np.float64) for p in frames]
    rms = np.array([math.sqrt(float(np.mean(f * f))) for f in pcm])
    return np.array(20 * np.log10(rms / np.median(rms[5:25])))


STALL_S = 0.06  # an arrival gap past the listeners' jitter buffer: the sender was late


def steady(frames: list[Any]) -> np.ndarray:
    """Per heard frame: False for a frame sent after a stall and the two after it.

    On a busy machine the sender can be held up past the jitter buffer; it then
    skips frames to stay on time, and the listener hears a jump in the music (a
    dropout and a step in the waveform). That is the sender's lateness (counted
    as a stall), not the duck's doing, so those frames are left out of the level
    checks; they must stay few.
    """
    mask = np.ones(len(frames), dtype=bool)
    for i in range(1, len(frames)):
        if frames[i].arrival - frames[i - 1].arrival > STALL_S:
            mask[i : i + 3] = False
    assert np.count_nonzero(~mask) <= len(frames) // 10, "the sender stalled too often"
    return mask


def worst(deviation: np.ndarray, mask: np.ndarray) -> float:
    """The largest ``deviation`` (dB) over the steady frames among them."""
    kept = np.abs(deviation)[mask]
    return float(kept.max()) if kept.size else 0.0


def samples(frames: list[Any]) -> np.ndarray:
    return np.concatenate([np.frombuffer(p.pcm, "<i2") for p in frames])


def assert_no_click_nor_silence(emulator: Emulator) -> None:
    # from the third frame: a fresh Opus decoder fades its first frame in
    frames = heard(emulator)
    mask = steady(frames)
    level = levels(frames)[2:]
    assert level[mask[2:]].min() > DEPTH - 3  # never a silent frame
    left = samples(frames)[0::2].astype(np.int64)
    steps = np.abs(np.diff(left, prepend=left[0]))
    # a -12 dBFS 440 Hz sine moves at most ~475 per sample; a click is far above
    undisturbed = steps[960 * 5 : 960 * 25].max()
    per_frame = steps.reshape(-1, 960).max(axis=1)
    assert per_frame[2:][mask[2:]].max() <= undisturbed * 1.2


async def test_voice_state_mode_ducks_while_the_mic_is_open(emulator: Emulator) -> None:
    async with stage_on_air(emulator, allowed={"bob"}) as (_bot, talkover):
        speakers = emulator.speakers
        await speakers.enter("bob", muted=True)
        await asyncio.sleep(0)
        before = len(heard(emulator))
        await speakers.mute("bob", False)
        await until(lambda: talkover.on_mic == (emulator.person("bob"),))
        await until(lambda: len(heard(emulator)) > before + 60)
        muted_at = len(heard(emulator))
        await speakers.mute("bob", True)
        await until(lambda: talkover.on_mic == ())
        await until(lambda: len(heard(emulator)) > muted_at + 20 + RELEASE_FRAMES + 30)
    frames = heard(emulator)
    level, mask = levels(frames), steady(frames)
    assert not talkover.packet_mode
    onset = before + int(np.flatnonzero(level[before:] < -0.3)[0])
    # at the depth (±1 dB) within the attack (plus the frame it started in), and held
    assert abs(level[onset + ATTACK_FRAMES] - DEPTH) <= 1.0
    held = slice(onset + ATTACK_FRAMES, muted_at)
    assert worst(level[held] - DEPTH, mask[held]) <= 1.0
    # after the mute: held (at least the hold, more while the news travels), then released
    plateau_end = muted_at + int(np.flatnonzero(level[muted_at:] > DEPTH + 1.0)[0])
    assert plateau_end - muted_at >= 20 - 1
    back = plateau_end + int(np.flatnonzero(level[plateau_end:] > -0.5)[0])
    assert RELEASE_FRAMES - 8 <= back - plateau_end <= RELEASE_FRAMES + 2
    assert worst(level[back + 2 :], mask[back + 2 :]) <= 0.5
    assert_no_click_nor_silence(emulator)


async def test_packet_mode_hold_bridges_pauses_and_a_long_pause_releases(
    emulator: Emulator,
) -> None:
    async with stage_on_air(emulator, allowed={"carol"}) as (_bot, talkover):
        speakers = emulator.speakers
        await speakers.enter("carol", muted=False)
        # voice-state mode at first (no packet yet): the open mic ducks
        await until(lambda: talkover.on_mic == (emulator.person("carol"),))
        start = len(heard(emulator))
        report = await speakers.talk("carol", [Spurt(1.0, 0.3), Spurt(1.0, 0.3), Spurt(1.0, 0.0)])
        assert talkover.packet_mode
        talked = len(heard(emulator))
        # 2 s without a packet: the duck lets go although the mic stays open
        await until(lambda: talkover.on_mic == ())
        await until(lambda: len(heard(emulator)) > talked + 100)
    assert report.packets == 150
    frames = heard(emulator)
    level, mask = levels(frames), steady(frames)
    ducked = start + int(np.flatnonzero(level[start:] < DEPTH + 1.0)[0])
    released = ducked + int(np.flatnonzero(level[ducked:] > DEPTH + 1.0)[0])
    # one stretch at the depth through the three spurts and their pauses ...
    assert released >= talked - 5
    assert worst(level[ducked:released] - DEPTH, mask[ducked:released]) <= 1.0
    # ... and back to full level once the hold after the last packet is over
    after = slice(released + RELEASE_FRAMES + 5, None)
    assert worst(level[after], mask[after]) <= 0.5
    assert_no_click_nor_silence(emulator)


async def test_a_member_who_is_not_a_presenter_ducks_nothing(emulator: Emulator) -> None:
    async with stage_on_air(emulator, allowed={"bob"}) as (_bot, talkover):
        speakers = emulator.speakers
        await speakers.enter("alice", muted=False)
        report = await speakers.talk("alice", [Spurt(1.0, 0.3), Spurt(0.5, 0.0)])
        await until(lambda: talkover.packet_mode)
        await until(lambda: len(heard(emulator)) > 150)
        assert talkover.on_mic == ()
    assert report.packets == 75
    frames = heard(emulator)
    assert worst(levels(frames)[2:], steady(frames)[2:]) <= 0.5
