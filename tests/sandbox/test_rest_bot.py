"""What the bot does through REST is visible in the emulator (and through its control API)."""

from __future__ import annotations

import datetime
import wave
from pathlib import Path

import aiohttp
import discord

from radio.sandbox import Emulator

from .bot import TestBot, play_and_wait, wait_for
from .conftest import ToneMaker


async def test_messages_are_created_edited_and_deleted(emulator: Emulator, bot: TestBot) -> None:
    channel = bot.get_channel(emulator.world.text_channel.id)
    assert isinstance(channel, discord.TextChannel)

    first = await channel.send("Now: A440", embed=discord.Embed(title="A440", description="tone"))
    second = await channel.send("to be removed")
    await first.edit(content="Now: A880", embed=discord.Embed(title="A880"))
    await second.delete()

    stored = emulator.world.messages_in(channel.id, include_deleted=True)
    assert [(m.content, m.deleted) for m in stored] == [
        ("Now: A880", False),
        ("to be removed", True),
    ]
    assert stored[0].embeds[0]["title"] == "A880"
    assert stored[0].edited_timestamp is not None
    await wait_for(lambda: len(bot.seen) == 2)  # the bot sees its own MESSAGE_CREATEs
    assert [m.id for m in bot.seen] == [first.id, second.id]


async def test_stage_instance_lifecycle_and_raising_a_hand(
    emulator: Emulator, bot: TestBot, tones: ToneMaker
) -> None:
    stage = bot.get_channel(emulator.world.stage_channel.id)
    assert isinstance(stage, discord.StageChannel)
    vc = await stage.connect(timeout=5)
    try:
        me = stage.guild.me
        await wait_for(lambda: me.voice is not None and me.voice.suppress)
        with tones([440.0], 0.1).open("rb") as pcm:  # heard by no one: an audience member
            await play_and_wait(vc, discord.PCMAudio(pcm))
        await wait_for(lambda: len(emulator.record.packets) == 5 + 5)
        assert all(p.suppressed for p in emulator.record.packets)
        await me.request_to_speak()
        await wait_for(lambda: me.voice is not None and me.voice.requested_to_speak_at is not None)
        instance = await stage.create_instance(topic="Morning show")
        await instance.edit(topic="Morning show – hour 2")
        state = emulator.world.guild.voice_states[emulator.world.bot.id]
        assert state.suppress and state.request_to_speak_timestamp is not None
        assert [s.topic for s in emulator.world.guild.stage_instances.values()] == [
            "Morning show – hour 2"
        ]
        await instance.delete()
        assert emulator.world.guild.stage_instances == {}
        url = f"{emulator.addresses.control_url}/state"
        async with aiohttp.ClientSession() as http, http.get(url) as answer:
            (connection,) = (await answer.json())["voice_connections"]
        assert connection["channel_id"] == str(stage.id)
        assert connection["live"] and connection["mode"] == "aead_xchacha20_poly1305_rtpsize"
    finally:
        await vc.disconnect()


async def test_scheduled_events_are_created_edited_and_deleted(
    emulator: Emulator, bot: TestBot
) -> None:
    guild = bot.get_guild(emulator.world.guild.id)
    assert guild is not None
    stage = guild.get_channel(emulator.world.stage_channel.id)
    assert isinstance(stage, discord.StageChannel)
    start = datetime.datetime(2030, 1, 6, 8, 0, tzinfo=datetime.UTC)

    event = await guild.create_scheduled_event(
        name="Morning show",
        start_time=start,
        channel=stage,
        privacy_level=discord.PrivacyLevel.guild_only,
    )
    assert event.start_time == start
    assert event.channel_id == stage.id
    event = await event.edit(name="Breakfast show")
    stored = list(emulator.world.guild.scheduled_events.values())
    assert [e.fields["name"] for e in stored] == ["Breakfast show"]
    await event.delete()

    assert emulator.world.guild.scheduled_events == {}


async def test_listener_wav_through_the_control_api(
    emulator: Emulator, bot: TestBot, tones: ToneMaker, tmp_path: Path
) -> None:
    channel = bot.get_channel(emulator.world.voice_channel.id)
    assert isinstance(channel, discord.VoiceChannel)
    vc = await channel.connect(timeout=5)
    try:
        with tones([523.25], 0.2).open("rb") as pcm:
            await play_and_wait(vc, discord.PCMAudio(pcm))
        await wait_for(lambda: len(emulator.record.packets) >= 15)
    finally:
        await vc.disconnect()

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emulator.addresses.control_url}/listener.wav") as answer:
            assert answer.headers["Content-Type"] == "audio/wav"
            (tmp_path / "heard.wav").write_bytes(await answer.read())
        async with http.post(f"{emulator.addresses.control_url}/listener/clear") as answer:
            assert answer.status == 204

    with wave.open(str(tmp_path / "heard.wav")) as heard:
        assert heard.getnchannels() == 2
        assert heard.getnframes() >= 15 * 960
    assert emulator.record.packets == []


async def test_history_voice_status_and_deferred_interaction(
    emulator: Emulator, bot: TestBot
) -> None:
    text = bot.get_channel(emulator.world.text_channel.id)
    voice = bot.get_channel(emulator.world.voice_channel.id)
    assert isinstance(text, discord.TextChannel)
    assert isinstance(voice, discord.VoiceChannel)
    for n in range(3):
        await text.send(f"track {n}")
    await emulator.inject_message("alice", "nice")

    history = [m.content async for m in text.history(limit=10)]
    await voice.edit(status="On air: Tone Hour")  # discord.py 2.7.1 caches no status

    tree = discord.app_commands.CommandTree(bot)

    @tree.command(name="skip", description="Skip the track")
    async def skip(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="Skipped")

    await tree.sync()
    interaction = await emulator.inject_interaction("bob", "skip")
    await wait_for(lambda: any(m.content == "Skipped" for m in emulator.world.messages.values()))

    assert history == ["nice", "track 2", "track 1", "track 0"]
    assert emulator.world.voice_channel.status == "On air: Tone Hour"
    assert interaction.response_type == 5
    answer = emulator.world.messages[interaction.response_message_id or 0]
    assert (answer.content, answer.interaction_id) == ("Skipped", interaction.id)


async def test_a_message_with_a_file_is_posted(
    emulator: Emulator, bot: TestBot, tmp_path: Path
) -> None:
    channel = bot.get_channel(emulator.world.text_channel.id)
    assert isinstance(channel, discord.TextChannel)
    playlist = tmp_path / "playlist.txt"
    playlist.write_text("A440\nA880\n")

    sent = await channel.send("Tonight's playlist", file=discord.File(playlist))

    (stored,) = emulator.world.messages_in(channel.id)
    assert (stored.id, stored.content) == (sent.id, "Tonight's playlist")
