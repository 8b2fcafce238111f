"""End to end: discord.py 2.7 and davey in a DAVE voice room; listeners decrypt as clients do."""

from __future__ import annotations

import asyncio
import json
import ssl

import aiohttp
import discord
import pytest

from radio.sandbox import Emulator
from radio.sandbox.analysis import missing_sequences, tone_runs
from radio.sandbox.dave import wire
from radio.sandbox.dave.member import DECRYPTED, FAILED, PASSTHROUGH, SILENCE, ListenerMember
from radio.sandbox.dave.room import DaveRoom

from .bot import TestBot, play_and_wait, wait_for
from .conftest import ToneMaker

# Packets laid end to end: what is asserted is what each frame carries, in order;
# how evenly they arrived on a busy machine is the listener benchmarks' business.
END_TO_END = float("inf")

pytestmark = pytest.mark.e2e

TONE_SECONDS = 0.4
FRAMES_PER_TONE = 20
SILENCE_FRAMES = 5  # discord.py ends every source with five Opus silence frames


async def join_voice(emulator: Emulator, bot: TestBot) -> tuple[discord.VoiceClient, DaveRoom]:
    channel = bot.get_channel(emulator.world.voice_channel.id)
    assert isinstance(channel, discord.VoiceChannel)
    vc: discord.VoiceClient = await channel.connect(timeout=10)
    room = emulator.voice.dave.rooms[channel.id]
    await wait_for(lambda: settled(room, {emulator.world.bot.id, emulator.world.listener.id}))
    return vc, room


def settled(room: DaveRoom, users: set[int]) -> bool:
    """The group holds exactly ``users`` and no transition is waiting."""
    return room.transition is None and room.epoch is not None and set(room.in_group()) == users


def after_invalid(room: DaveRoom) -> list[tuple[str, int]]:
    events = room.stats.events
    marks = [i for i, (event, _) in enumerate(events) if event == "invalid"]
    return events[marks[0] :] if marks else []


def outcomes(member: ListenerMember) -> list[str]:
    return [h.outcome for h in member.heard]


async def test_every_frame_of_three_tracks_is_dave_encrypted_and_heard_in_order(
    emulator: Emulator, bot: TestBot, tones: ToneMaker
) -> None:
    vc, room = await join_voice(emulator, bot)
    alice = emulator.voice.dave.listener(room.channel_id)
    try:
        for freq in (440.0, 660.0, 880.0):  # three tracks, each its own source
            with tones([freq], TONE_SECONDS).open("rb") as pcm:
                await play_and_wait(vc, discord.PCMAudio(pcm))
        total = 3 * (FRAMES_PER_TONE + SILENCE_FRAMES)
        await wait_for(lambda: len(emulator.record.packets) >= total)
    finally:
        await vc.disconnect()

    packets = emulator.record.audio_packets()
    assert len(packets) == total
    assert missing_sequences(packets) == []
    kinds = [p.e2ee for p in packets]
    # Plain Opus in a DAVE room would be "passthrough" here: the test fails on it.
    assert kinds == ([DECRYPTED] * FRAMES_PER_TONE + [SILENCE] * SILENCE_FRAMES) * 3
    assert alice.counts[DECRYPTED] == 3 * FRAMES_PER_TONE and alice.counts[PASSTHROUGH] == 0
    assert all(p.pcm is not None for p in packets)
    runs = tone_runs(emulator.record.pcm(packets, jitter=END_TO_END))
    assert [round(r.frequency) for r in runs] == [440, 660, 880]
    assert emulator.voice.dave.format_errors == 0


async def test_listeners_join_and_leave_mid_stream_without_a_lost_frame(
    emulator: Emulator, bot: TestBot, tones: ToneMaker
) -> None:
    world = emulator.world
    vc, room = await join_voice(emulator, bot)
    dave = emulator.voice.dave
    alice = dave.listener(room.channel_id)
    bob, carol = world.people["bob"].id, world.people["carol"].id
    executed = len(room.stats.executed)
    seconds = 2.4
    with tones([440.0, 880.0], seconds / 2).open("rb") as pcm:
        playing = asyncio.create_task(play_and_wait(vc, discord.PCMAudio(pcm)))
        try:
            heard = emulator.record.packets
            await wait_for(lambda: len(heard) >= 20)
            bob_member = await dave.add_listener(room.channel_id, bob)
            await wait_for(lambda: settled(room, {world.bot.id, alice.user_id, bob}))
            await wait_for(lambda: len(heard) >= 50)
            carol_member = await dave.add_listener(room.channel_id, carol)
            await wait_for(lambda: settled(room, {world.bot.id, alice.user_id, bob, carol}))
            await wait_for(lambda: len(heard) >= 80)
            await dave.remove_listener(room.channel_id, bob)
            await wait_for(lambda: settled(room, {world.bot.id, alice.user_id, carol}))
            await playing
            await wait_for(lambda: len(heard) >= round(2.4 / 0.020) + SILENCE_FRAMES)
            transitions = len(room.stats.executed) - executed
        finally:
            await vc.disconnect()

    frames = round(seconds / 0.020)
    packets = emulator.record.audio_packets()
    assert len(packets) == frames + SILENCE_FRAMES
    assert missing_sequences(packets) == []
    # The listener who stayed throughout decrypted every frame, across four epochs.
    assert outcomes(alice) == [DECRYPTED] * frames + [SILENCE] * SILENCE_FRAMES
    epochs = [h.epoch for h in alice.heard]
    assert len(set(epochs)) == 4, " ".join(e for e, _ in room.stats.events)  # +bob, +carol, -bob
    assert transitions == 3
    # A joiner cannot open frames sealed before its welcome; after it, it loses none.
    for joiner in (bob_member, carol_member):
        kinds = outcomes(joiner)
        first = kinds.index(DECRYPTED)
        assert set(kinds[:first]) <= {FAILED} and FAILED not in kinds[first:]
    assert carol_member.counts[FAILED] + carol_member.counts[DECRYPTED] + carol_member.counts[
        SILENCE
    ] == len(carol_member.heard)
    # discord.py kept encrypting through every transition: no passthrough frame.
    assert sum(m.counts[PASSTHROUGH] for m in (alice, bob_member, carol_member)) == 0
    runs = tone_runs(emulator.record.pcm(packets, jitter=END_TO_END))
    assert [round(r.frequency) for r in runs] == [440, 880]


@pytest.mark.parametrize("broken", ["commit", "welcome"])
async def test_an_invalid_commit_or_welcome_is_recovered_by_readding_the_member(
    emulator: Emulator, bot: TestBot, tones: ToneMaker, broken: str
) -> None:
    world = emulator.world
    vc, room = await join_voice(emulator, bot)
    dave = emulator.voice.dave
    alice = dave.listener(room.channel_id)
    bob = world.people["bob"].id
    if broken == "commit":
        room.faults.corrupt_commit_for = world.bot.id  # the bot's copy of the next commit
    else:
        room.faults.corrupt_welcome_for = bob  # bob's copy of his welcome
    try:
        bob_member = await dave.add_listener(room.channel_id, bob)
        await wait_for(lambda: room.stats.invalid_reports == 1)
        # Recovered: a commit after the report (the member re-added), then all ready.
        await wait_for(lambda: "commit" in [e for e, _ in after_invalid(room)])
        await wait_for(lambda: settled(room, {world.bot.id, alice.user_id, bob}))
        with tones([550.0], TONE_SECONDS).open("rb") as pcm:
            await play_and_wait(vc, discord.PCMAudio(pcm))
        await wait_for(lambda: len(emulator.record.packets) >= FRAMES_PER_TONE + SILENCE_FRAMES)
    finally:
        await vc.disconnect()

    reporter = world.bot.id if broken == "commit" else bob
    recovery = after_invalid(room)
    assert recovery[0] == ("invalid", reporter)
    assert ("key_package", reporter) in recovery  # a fresh package after op 31
    if broken == "welcome":
        assert bob_member.counts["invalid_welcome"] == 1
    for member in (alice, bob_member):
        assert outcomes(member) == [DECRYPTED] * FRAMES_PER_TONE + [SILENCE] * SILENCE_FRAMES
    runs = tone_runs(emulator.record.pcm(emulator.record.audio_packets(), jitter=END_TO_END))
    assert [round(r.frequency) for r in runs] == [550]


async def test_downgrade_sends_plain_opus_passed_through_then_upgrade_encrypts_again(
    emulator: Emulator, bot: TestBot, tones: ToneMaker
) -> None:
    world = emulator.world
    vc, room = await join_voice(emulator, bot)
    alice = emulator.voice.dave.listener(room.channel_id)
    try:
        await room.downgrade()
        await wait_for(lambda: room.protocol_version == 0 and room.transition is None)
        await wait_for(lambda: alice.protocol_version == 0)
        with tones([440.0], TONE_SECONDS).open("rb") as pcm:
            await play_and_wait(vc, discord.PCMAudio(pcm))
        await room.upgrade()
        await wait_for(lambda: settled(room, {world.bot.id, alice.user_id}))
        with tones([880.0], TONE_SECONDS).open("rb") as pcm:
            await play_and_wait(vc, discord.PCMAudio(pcm))
        await wait_for(lambda: len(emulator.record.packets) >= 2 * (FRAMES_PER_TONE + 5))
    finally:
        await vc.disconnect()

    one = [PASSTHROUGH] * FRAMES_PER_TONE + [SILENCE] * SILENCE_FRAMES
    two = [DECRYPTED] * FRAMES_PER_TONE + [SILENCE] * SILENCE_FRAMES
    assert [p.e2ee for p in emulator.record.audio_packets()] == one + two
    assert ("prepare_transition", 0) in room.stats.events
    assert ("prepare_epoch", 0) in room.stats.events
    runs = tone_runs(emulator.record.pcm(emulator.record.audio_packets(), jitter=END_TO_END))
    assert [round(r.frequency) for r in runs] == [440, 880]


async def test_a_rekey_builds_a_new_group_and_frames_keep_decrypting(
    emulator: Emulator, bot: TestBot, tones: ToneMaker
) -> None:
    world = emulator.world
    vc, room = await join_voice(emulator, bot)
    alice = emulator.voice.dave.listener(room.channel_id)
    before = room.stats.commits
    try:
        await room.rekey()
        await wait_for(lambda: room.stats.commits > before)
        await wait_for(lambda: settled(room, {world.bot.id, alice.user_id}))
        with tones([660.0], TONE_SECONDS).open("rb") as pcm:
            await play_and_wait(vc, discord.PCMAudio(pcm))
        await wait_for(lambda: len(emulator.record.packets) >= FRAMES_PER_TONE + SILENCE_FRAMES)
        epoch = room.epoch
    finally:
        await vc.disconnect()
    assert alice.reinits == 2 and epoch == 1  # a new group: epoch 1 again
    assert [p.e2ee for p in emulator.record.audio_packets()] == [DECRYPTED] * FRAMES_PER_TONE + [
        SILENCE
    ] * SILENCE_FRAMES


@pytest.mark.parametrize("room_kind", ["stage", "switched off"])
async def test_no_dave_on_a_stage_or_in_a_room_switched_off(
    emulator: Emulator, bot: TestBot, tones: ToneMaker, room_kind: str
) -> None:
    world = emulator.world
    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    if room_kind == "stage":
        channel = guild.get_channel(world.stage_channel.id)
        assert isinstance(channel, discord.StageChannel)
    else:
        emulator.voice.dave.switch_off(world.voice_channel.id)
        channel = guild.get_channel(world.voice_channel.id)
        assert isinstance(channel, discord.VoiceChannel)
    vc: discord.VoiceClient = await channel.connect(timeout=10)
    try:
        if room_kind == "stage":
            await guild.me.edit(suppress=False)
        with tones([440.0], TONE_SECONDS).open("rb") as pcm:
            await play_and_wait(vc, discord.PCMAudio(pcm))
        await wait_for(lambda: len(emulator.record.packets) >= FRAMES_PER_TONE + SILENCE_FRAMES)
    finally:
        await vc.disconnect()
    assert emulator.voice.dave.rooms == {}
    assert {p.e2ee for p in emulator.record.packets} == {"none"}
    (run,) = tone_runs(emulator.record.pcm(jitter=END_TO_END))
    assert round(run.frequency) == 440


async def test_a_client_that_cannot_speak_dave_is_closed_with_4017(
    emulator: Emulator, bot: TestBot
) -> None:
    world = emulator.world
    vc, _room = await join_voice(emulator, bot)
    session = emulator.voice.session_of(world.bot.id, world.guild.id)
    assert session is not None
    context = ssl.create_default_context(cafile=str(emulator.addresses.cert_path))
    identify = {
        "server_id": str(world.guild.id),
        "user_id": str(world.bot.id),
        "session_id": session.session_id,
        "token": session.token,
    }
    answers: list[int | None] = []
    try:
        async with aiohttp.ClientSession() as http:
            for version in (None, 0, wire.PROTOCOL_VERSION):
                url = f"wss://{emulator.addresses.voice_endpoint}/?v=8"
                async with http.ws_connect(url, ssl=context) as socket:
                    await socket.receive()  # HELLO
                    data: dict[str, object] = dict(identify)
                    if version is not None:
                        data["max_dave_protocol_version"] = version
                    await socket.send_str(json.dumps({"op": 0, "d": data}))
                    message = await socket.receive()
                    if message.type is aiohttp.WSMsgType.TEXT:
                        answers.append(json.loads(message.data)["op"])
                    else:
                        answers.append(socket.close_code)
    finally:
        await vc.disconnect(force=True)
    assert answers == [wire.CLOSE_E2EE_REQUIRED, wire.CLOSE_E2EE_REQUIRED, 2]  # 2: READY
