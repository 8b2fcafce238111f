"""The ``/live`` commands on the local Discord, against a small in-test live rules.

The real live session rules (:mod:`radio.live.sessions`) are not wired here:
:class:`RecordingLive` implements the :class:`~radio.live.contracts.LiveControls`
protocol the cog talks to, records each call and answers or refuses as the rules
would. What is asserted is the cog's side: who may ask what, which answers are
private, that a password never reaches a public message, the status's wording.

The station's people: alice (a listener; the presenter of the evening show in
some steps), bob (DJ), carol (admin).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from discord.ext import commands

from radio.audio.duck import Duck
from radio.audio.operators import Silence
from radio.bot.announcements import Announcer
from radio.bot.catalogue import Catalogue
from radio.bot.client import RadioBot
from radio.bot.commands import RadioCommands, Services
from radio.bot.permissions import Slot
from radio.clock import ManualClock
from radio.errors import LiveRefused
from radio.grid.grid import Grid
from radio.live.contracts import Credentials, LiveStatus, Presenter
from radio.live.talkover import TalkOver
from radio.sandbox import Emulator
from radio.sandbox.state import Interaction, Message
from radio.store.db import Database
from radio.store.requests import RequestQueue

from .e2e import on_air, until
from .test_schedule import grid

pytestmark = pytest.mark.e2e

EPHEMERAL = 64
SINCE = datetime.fromisoformat("2026-11-23T19:04:00+00:00")  # 20:04 in Paris
NOW = SINCE + timedelta(hours=1, minutes=5)
CONNECTION = "Server 127.0.0.1, port 8000, mount /live, user {user}."


class RecordingLive:
    """A stand-in for the live session rules: records calls, answers like them."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.on_air: LiveStatus | None = None
        self.holder: int | None = None  # the user id of the session on air
        self.passwords: list[str] = []

    def status(self) -> LiveStatus | None:
        return self.on_air

    async def connection(self, who: Presenter) -> str:
        self.calls.append(("connection", who))
        return CONNECTION.format(user=who.name.lower())

    async def rotate_password(self, who: Presenter) -> Credentials:
        self.calls.append(("rotate_password", who))
        password = f"Pw{len(self.passwords)}-{who.user_id % 10_000}_q7Zx"
        self.passwords.append(password)
        return Credentials(user=who.name.lower(), password=password)

    async def start_relay(self, who: Presenter, url: str, *, force: bool = False) -> str:
        self.calls.append(("start_relay", who, url, force))
        if self.on_air is not None and not force:
            raise LiveRefused(403, f"{self.on_air.presenter} is live now.")
        self.on_air = LiveStatus(
            who.name, "Evening Live", "relay", SINCE.isoformat(), "", 0, 0, None, True
        )
        self.holder = who.user_id
        return f"Relaying {url}."

    async def stop(self, who: Presenter) -> str:
        self.calls.append(("stop", who))
        if self.on_air is None:
            raise LiveRefused(404, "Nobody is live.")
        if who.user_id != self.holder and not who.privileged:
            raise LiveRefused(403, f"Only {self.on_air.presenter} or a DJ can end this session.")
        self.on_air, self.holder = None, None
        return "The live session ended; the programme is back."

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] == name]


async def reply(emulator: Emulator, author: str, sub: str, **options: object) -> Message:
    """Run ``/live sub`` as ``author``; return the bot's answer (after a deferral too)."""
    types = {bool: 5, str: 3}
    nested = [{"name": k, "type": types[type(v)], "value": v} for k, v in options.items()]
    interaction: Interaction = await emulator.inject_interaction(
        author, "live", [{"name": sub, "type": 1, "options": nested}]
    )
    world = emulator.world

    def answered() -> Message | None:
        if interaction.followup_ids:
            return world.messages[interaction.followup_ids[0]]
        first = world.messages.get(interaction.response_message_id or 0)
        # A deferred answer is an empty "thinking" message until the follow-up.
        return first if first is not None and first.content else None

    await until(lambda: answered() is not None)
    message = answered()
    assert message is not None
    return message


def services_for(bot: RadioBot, tmp_path: Path, **extra: Any) -> Services:
    extra.setdefault("slot_now", lambda: None)
    return Services(
        config=bot.config,
        queue=RequestQueue(Database(tmp_path / "radio.sqlite3")),
        catalogue=Catalogue([]),
        controls=_NoControls(),
        rooms=bot,
        clock=ManualClock(NOW),
        station_name="Sandbox FM",
        **extra,
    )


class _NoControls:
    def skip(self) -> bool:
        return False

    def next_up(self) -> None:
        return None


def prefix_answers(emulator: Emulator, after: int) -> list[Message]:
    """The bot's plain messages in #studio (deleted ones too) since the ``after``-th."""
    world = emulator.world
    return [
        m
        for m in world.messages_in(world.text_channel.id, include_deleted=True)[after:]
        if m.author.id == world.bot.id and m.interaction_id is None
    ]


async def prefix(emulator: Emulator, author: str, command: str) -> Message:
    """Write ``@bot command`` as ``author``; return the bot's next plain message."""
    world = emulator.world
    before = len(world.messages_in(world.text_channel.id, include_deleted=True))
    await emulator.inject_message(author, f"<@{world.bot.id}> {command}")
    await until(lambda: len(prefix_answers(emulator, before)) >= 1)
    return prefix_answers(emulator, before)[0]


async def test_live_commands_on_a_station_without_live(emulator: Emulator, tmp_path: Path) -> None:
    def cogs(bot: RadioBot, announcer: Announcer) -> list[commands.Cog]:
        return [RadioCommands(services_for(bot, tmp_path))]

    async with on_air(emulator, emulator.world.voice_channel.id, cogs=cogs):
        for sub in ("status", "start", "password", "stop"):
            answer = await reply(emulator, "carol", sub)
            assert answer.flags & EPHEMERAL
            assert answer.content == "Live is not configured on this station."
        relay = await reply(emulator, "carol", "relay", url="https://example.org/x.mp3")
        assert (relay.content, relay.flags & EPHEMERAL) == (
            "Live is not configured on this station.",
            EPHEMERAL,
        )
        by_prefix = await prefix(emulator, "alice", "live")
        assert by_prefix.content == "Live is not configured on this station."


async def test_live_commands_by_presenters_djs_and_listeners(
    emulator: Emulator, tmp_path: Path
) -> None:
    world = emulator.world
    role = {r.name: r.id for r in world.guild.roles.values()}
    alice, bob, carol = (world.people[n].id for n in ("alice", "bob", "carol"))
    live = RecordingLive()
    evening = Slot("Evening Live", frozenset({alice}))
    other = Slot("Night Talk", frozenset({carol}))
    slot: dict[str, Slot | None] = {"now": other}
    grids: dict[str, Grid] = {}
    # Alice presents a live show of the grid, on Mondays (not on air in most steps).
    week = grid(
        {
            "id": "evening",
            "title": "Evening Live",
            "days": ["mon"],
            "start": "20:00",
            "end": "22:00",
            "presenters": [alice],
            "live": {"allowed": True},
        }
    )
    grids["now"] = week

    def cogs(bot: RadioBot, announcer: Announcer) -> list[commands.Cog]:
        services = services_for(
            bot, tmp_path, live=live, grid=lambda: grids["now"], slot_now=lambda: slot["now"]
        )
        return [RadioCommands(services)]

    roles = {"dj": [role["dj"]], "admin": [role["admin"]]}
    async with on_air(emulator, world.voice_channel.id, roles=roles, cogs=cogs):
        [registered] = [c for c in world.commands[world.guild.id] if c["name"] == "live"]
        subs = {o["name"]: o for o in registered["options"]}
        assert sorted(subs) == ["mic", "password", "relay", "start", "status", "stop"]
        assert [
            (o["name"], o["type"], o.get("required", False)) for o in subs["relay"]["options"]
        ] == [
            ("url", 3, True),
            ("force", 5, False),
        ]

        # status: public, by anyone.
        nobody = await reply(emulator, "alice", "status")
        assert (nobody.content, nobody.flags & EPHEMERAL) == ("Nobody is live.", 0)
        live.on_air = LiveStatus(
            presenter="Alice *the* Host",
            show="Evening Live",
            via="encoder",
            since=SINCE.isoformat(),
            title="Miles Davis – So What",
            bytes_in=12_345_678,
            frames_in=45_000,
            recording="/var/lib/radio/recordings/evening-2026-11-23.ogg",
            on_air=True,
        )
        live.holder = alice
        status = await reply(emulator, "alice", "status")
        assert not status.flags & EPHEMERAL
        assert status.content.splitlines() == [
            r"🔴 **Alice \*the\* Host** is live in **Evening Live** via their encoder,"
            " since 20:04 (Europe/Paris, 1 h 05 min).",
            "Playing: Miles Davis – So What",
            "Received: 12.3 MB, 45,000 frames (15 min of audio).",
            "Recording: evening-2026-11-23.ogg",
        ]
        live.on_air = replace(live.on_air, on_air=False, title="x" * 5000, recording=None)
        quiet = await reply(emulator, "bob", "status")
        assert len(quiet.content) < 2000
        assert quiet.content.splitlines()[1:] == [
            "The source has gone quiet: the programme takes over if it does not return.",
            "Playing: " + "x" * 299 + "…",
            "Received: 12.3 MB, 45,000 frames (15 min of audio).",
            "Not recorded.",
        ]
        live.on_air, live.holder = None, None

        # start: a presenter of a live show of the grid gets the connection details
        # privately even outside her slot (the live rules' answer says whether she may
        # go live now: the show on air, or hers within its early margin); so does a DJ.
        early = await reply(emulator, "alice", "start")
        assert (early.content, early.flags & EPHEMERAL) == (
            CONNECTION.format(user="alice"),
            EPHEMERAL,
        )
        assert live.named("connection") == [
            ("connection", Presenter(alice, "alice", privileged=False))
        ]
        slot["now"] = evening
        started = await reply(emulator, "alice", "start")
        assert (started.content, started.flags & EPHEMERAL) == (
            CONNECTION.format(user="alice"),
            EPHEMERAL,
        )
        dj = await reply(emulator, "bob", "start")  # a DJ, not a presenter of the show
        assert dj.flags & EPHEMERAL
        assert live.named("connection") == [
            ("connection", Presenter(alice, "alice", privileged=False)),
            ("connection", Presenter(alice, "alice", privileged=False)),
            ("connection", Presenter(bob, "bob", privileged=True)),
        ]

        # password: private; the presenter of a live show of the grid may have one
        # outside their slot; the old one is said to stop working.
        slot["now"] = other
        new = await reply(emulator, "alice", "password")
        assert new.flags & EPHEMERAL
        assert new.content.splitlines()[:4] == [
            "Your new encoder login for Sandbox FM (the old password no longer works):",
            "User: `alice`",
            f"Password: `{live.passwords[-1]}`",
            "Keep the password to yourself: anyone who has it can go live as you.",
        ]
        assert new.content.endswith(CONNECTION.format(user="alice"))
        assert live.named("rotate_password") == [
            ("rotate_password", Presenter(alice, "alice", privileged=False))
        ]
        grids["now"] = grid({"id": "evening", "days": ["mon"], "start": "20:00", "end": "22:00"})
        not_a_presenter = await reply(emulator, "alice", "password")
        assert (not_a_presenter.content, not_a_presenter.flags & EPHEMERAL) == (
            "Only the presenters of Night Talk can go live now.",
            EPHEMERAL,
        )
        assert len(live.named("rotate_password")) == 1
        grids["now"] = week

        # relay: a presenter may not force; the live rules' refusal is private; a DJ forces.
        slot["now"] = evening
        live.on_air = LiveStatus(
            "Carol", "Evening Live", "encoder", SINCE.isoformat(), "", 0, 0, None, True
        )
        live.holder = carol
        forced = await reply(
            emulator, "alice", "relay", url="https://example.org/a.mp3", force=True
        )
        assert forced.flags & EPHEMERAL
        assert forced.content.startswith("Only DJs and admins can force a hand-over")
        assert live.named("start_relay") == []
        busy = await reply(emulator, "alice", "relay", url="https://example.org/a.mp3")
        assert (busy.content, busy.flags & EPHEMERAL) == ("Carol is live now.", EPHEMERAL)
        taken = await reply(emulator, "bob", "relay", url="https://example.org/b.mp3", force=True)
        assert (taken.content, taken.flags & EPHEMERAL) == (
            "Relaying https://example.org/b.mp3.",
            EPHEMERAL,
        )
        assert live.named("start_relay")[-1] == (
            "start_relay",
            Presenter(bob, "bob", privileged=True),
            "https://example.org/b.mp3",
            True,
        )

        # stop: not the presenter on air, refused privately by the rules; the DJ may.
        not_yours = await reply(emulator, "alice", "stop")
        assert (not_yours.content, not_yours.flags & EPHEMERAL) == (
            "Only bob or a DJ can end this session.",
            EPHEMERAL,
        )
        stopped = await reply(emulator, "bob", "stop")
        assert stopped.content == "The live session ended; the programme is back."
        assert live.on_air is None

        # Prefix forms, by mention. The local Discord has no direct messages: private
        # answers are replies that delete themselves.
        shown = await prefix(emulator, "alice", "live")
        assert (shown.content, shown.deleted) == ("Nobody is live.", False)
        missing = await prefix(emulator, "alice", "live relay")
        assert missing.content == (
            "Missing `url`. Use `@radio-bot live relay <url> [force]`;"
            " `@radio-bot help live relay` tells more."
        )
        bad_word = await prefix(emulator, "bob", "live relay https://example.org/c.mp3 now")
        assert bad_word.content.startswith("“now”: write `force` after the URL, or nothing.")
        relays = len(live.named("start_relay"))
        forced_by_prefix = await prefix(
            emulator, "alice", "live relay https://example.org/c.mp3 force"
        )
        assert forced_by_prefix.content.startswith("Only DJs and admins can force a hand-over")
        assert len(live.named("start_relay")) == relays
        rotations = len(live.named("rotate_password"))
        no_dm = await prefix(emulator, "alice", "live password")
        assert no_dm.content.startswith(
            "I cannot send you a direct message, so your encoder password was not changed."
        )
        assert len(live.named("rotate_password")) == rotations  # the old password still works
        slot["now"] = Slot("Night Talk", frozenset({carol}))
        grids["now"] = grid({"id": "evening", "days": ["mon"], "start": "20:00", "end": "22:00"})
        listener = await prefix(emulator, "alice", "live start")  # no show of hers at all
        assert listener.content == "Only the presenters of Night Talk can go live now."

        # No password ever reached a message anyone else could read.
        assert live.passwords
        for message in world.messages.values():
            for password in live.passwords:
                if password in message.content:
                    assert message.flags & EPHEMERAL, message.content


async def test_live_mic_switches_a_presenters_talk_over(emulator: Emulator, tmp_path: Path) -> None:
    world = emulator.world
    role = {r.name: r.id for r in world.guild.roles.values()}
    alice = world.people["alice"].id
    talkover = TalkOver(Duck(Silence()), time.monotonic, mic_default=lambda: True)
    slot = {"now": Slot("Evening Live", frozenset({alice}))}

    def cogs(bot: RadioBot, announcer: Announcer) -> list[commands.Cog]:
        services = services_for(bot, tmp_path, mic=talkover, slot_now=lambda: slot["now"])
        return [RadioCommands(services)]

    roles = {"dj": [role["dj"]], "admin": [role["admin"]]}
    async with on_air(emulator, world.voice_channel.id, roles=roles, cogs=cogs):
        off = await reply(emulator, "alice", "mic", state="off")
        assert (off.content, off.flags & EPHEMERAL) == (
            "Your talking on the stage leaves the music as it is (for this session).",
            EPHEMERAL,
        )
        assert talkover.mic_switch(alice) is False
        back = await reply(emulator, "alice", "mic", state="default")
        assert back.content.startswith("Your talking on the stage now ducks the music")
        assert talkover.mic_switch(alice) is True
        wrong = await reply(emulator, "alice", "mic", state="loud")
        assert wrong.content.endswith("is not on, off or default: `/live mic on` for example.")
        slot["now"] = Slot("Night Talk", frozenset())  # not her show: refused, unchanged
        talkover.set_mic(alice, False)
        refused = await reply(emulator, "alice", "mic", state="on")
        assert refused.flags & EPHEMERAL
        assert refused.content == "No show with presenters is on air now, so nobody can go live."
        assert talkover.mic_switch(alice) is False
