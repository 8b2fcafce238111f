"""End to end: a second member on the stage, as a real discord.py bot sees them.

The bot joins the stage self-deafened; ``bob`` steps onto it as a speaker,
unmutes and talks. The bot hears it the way Discord shows it: voice states on
the gateway, SPEAKING (op 5) on its voice WebSocket, sealed RTP packets with
bob's SSRC on its UDP socket (read through discord.py's socket listener), and
nothing during bob's pauses.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
from discord.voice_state import VoiceConnectionState

from radio.sandbox import Emulator
from radio.sandbox.rtp import header_fields, open_packet
from radio.sandbox.speakers import Spurt

from .bot import TestBot, wait_for


class Hearing(discord.VoiceClient):
    """A VoiceClient that keeps the voice WebSocket's messages and the UDP datagrams."""

    def __init__(self, client: discord.Client, channel: discord.abc.Connectable) -> None:
        self.messages: list[dict[str, Any]] = []
        self.datagrams: list[bytes] = []
        super().__init__(client, channel)

    def create_connection_state(self) -> VoiceConnectionState:
        self.state = VoiceConnectionState(self, hook=self._hook)
        return self.state

    async def connect(self, **options: Any) -> None:
        await super().connect(**options)
        # Only once the socket exists: discord.py's reader spins on a missing one.
        self.state.add_socket_listener(self.datagrams.append)

    async def _hook(self, ws: object, message: dict[str, Any]) -> None:
        self.messages.append(message)


async def _on_stage(emulator: Emulator, bot: TestBot) -> tuple[Hearing, discord.Guild]:
    guild = bot.get_guild(emulator.world.guild.id)
    assert guild is not None
    stage = guild.get_channel(emulator.world.stage_channel.id)
    assert isinstance(stage, discord.StageChannel)
    vc = await stage.connect(cls=Hearing, self_deaf=True, timeout=10)
    assert isinstance(vc, Hearing)
    return vc, guild


async def test_a_member_steps_on_stage_unmutes_and_talks_in_spurts(
    emulator: Emulator, bot: TestBot
) -> None:
    vc, guild = await _on_stage(emulator, bot)
    bob = emulator.person("bob")
    speakers = emulator.speakers

    await speakers.enter("bob", muted=True)
    await wait_for(lambda: (m := guild.get_member(bob)) is not None and m.voice is not None)
    member = guild.get_member(bob)
    assert member is not None and member.voice is not None
    assert member.voice.channel is not None and member.voice.channel.id == vc.channel.id
    assert member.voice.suppress is False and member.voice.self_mute is True

    await speakers.mute("bob", False)
    await wait_for(lambda: member.voice is not None and member.voice.self_mute is False)

    report = await speakers.talk("bob", [Spurt(0.4, 0.3), Spurt(0.2, 0.0)])
    ssrc = speakers.ssrc_of("bob")
    await wait_for(lambda: sum(1 for d in vc.datagrams if d[1] & 0x7F == 0x78) >= 30)
    # SPEAKING came once, with bob's id and SSRC, numbered like every server message.
    speaking = [m for m in vc.messages if m["op"] == 5]
    assert [(m["d"]["user_id"], m["d"]["ssrc"], m["d"]["speaking"]) for m in speaking] == [
        (str(bob), ssrc, 1)
    ]
    assert isinstance(speaking[0].get("seq"), int)
    assert report.packets == 30 and report.receivers == 1
    packets = [d for d in vc.datagrams if d[1] & 0x7F == 0x78]
    assert len(packets) == 30
    headers = [header_fields(d) for d in packets]
    assert {h[2] for h in headers} == {ssrc}
    assert [h[0] for h in headers] == list(range(30))  # consecutive: nothing sent in the pause
    # The RTP clock runs through the pause: 20 frames, 15 frames of silence, 10 frames.
    stamps = [h[1] for h in headers]
    assert stamps[:20] == [960 * k for k in range(20)]
    assert stamps[20:] == [960 * (35 + k) for k in range(10)]
    # Sealed with the bot's own session key, in the negotiated mode.
    key = bytes(vc.secret_key)
    assert vc.mode == "aead_xchacha20_poly1305_rtpsize"
    assert all(len(open_packet(d, key).payload) > 0 for d in packets)


async def test_a_muted_or_suppressed_member_sends_nothing(emulator: Emulator, bot: TestBot) -> None:
    vc, guild = await _on_stage(emulator, bot)
    speakers = emulator.speakers
    await speakers.enter("alice", speaker=False, muted=False)
    alice = emulator.person("alice")
    await wait_for(lambda: (m := guild.get_member(alice)) is not None and m.voice is not None)
    member = guild.get_member(alice)
    assert member is not None and member.voice is not None and member.voice.suppress is True
    try:
        await speakers.talk("alice", [Spurt(0.1)])
    except ValueError as exc:
        assert "not a speaker" in str(exc)
    else:
        raise AssertionError("a suppressed member talked")
    # Muting midway ends the talk: the packets stop.
    await speakers.enter("alice", speaker=True, muted=False)
    task = speakers.start_talk("alice", [Spurt(30.0)])
    await wait_for(lambda: len([d for d in vc.datagrams if d[1] & 0x7F == 0x78]) >= 5)
    await speakers.mute("alice", True)
    report = await asyncio.wait_for(task, 10)
    assert 5 <= report.packets < 1500
    count = len([d for d in vc.datagrams if d[1] & 0x7F == 0x78])
    assert count == report.packets


async def test_control_api_speakers(emulator: Emulator, bot: TestBot) -> None:
    await _on_stage(emulator, bot)
    url = emulator.addresses.control_url + "/speakers"
    async with aiohttp.ClientSession() as http:
        for body, status, text in (
            ({"name": "nobody", "action": "enter"}, 404, "no person named"),
            ({"name": "bob", "action": "dance"}, 400, "action must be one of"),
            ({"name": "bob", "action": "talk", "spurts": [[1, -1]]}, 400, "between 0 and"),
            ({"name": "bob", "action": "talk", "spurts": "loud"}, 400, "non-empty list"),
            ({"name": "bob", "action": "mute"}, 404, "in no voice room"),
        ):
            async with http.post(url, json=body) as answer:
                assert answer.status == status, body
                assert text in await answer.text()
        async with http.post(url, json={"name": "bob", "action": "enter"}) as answer:
            assert answer.status == 200
        talk = {"name": "bob", "action": "talk", "spurts": [[0.2, 0]]}
        async with http.post(url, json=talk) as answer:
            assert answer.status == 202
            assert (await answer.json())["ssrc"] == emulator.speakers.ssrc_of("bob")
        await wait_for(lambda: len(emulator.speakers.reports) == 1)
        async with http.get(url) as answer:
            reports = await answer.json()
    assert reports[0]["user_id"] == str(emulator.person("bob"))
    assert reports[0]["packets"] == 10
    state = emulator.world.guild.voice_states[emulator.person("bob")]
    assert state.self_mute is False  # talk unmuted bob first
