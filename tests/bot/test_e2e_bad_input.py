"""Every bad input gets one short, clear reply and no traceback: end to end on the local Discord.

The table below is the acceptance table of issue 13: each row is what a member
typed (a prefix command by mention, or a slash command with its options) and
the reply the bot gave, exactly. The local Discord refuses any reply over
Discord's limits (radio.sandbox.form_limits), so a reply that broke one would
never arrive and the row would fail.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from discord.ext import commands

from radio.bot.announcements import Announcer
from radio.bot.catalogue import Catalogue
from radio.bot.client import RadioBot
from radio.bot.commands import RadioCommands, Services
from radio.bot.permissions import Slot
from radio.clock import SystemClock
from radio.sandbox import Emulator
from radio.sandbox.state import Message
from radio.store.db import Database
from radio.store.requests import RequestQueue

from .e2e import on_air, until
from .test_e2e_commands import NAIMA, PEACE, SO_WHAT, Controls, answer
from .test_schedule import WEEK

pytestmark = pytest.mark.e2e

P = "@radio-bot "  # how a member without the message content intent writes a command
LONG = "x" * 3000


def usage(problem: str, use: str) -> str:
    """The reply to a command typed wrong: the problem, how the command is written (its
    name first), and where to read more."""
    name = use.split()[0]
    return f"{problem} Use `{P}{use}`; `{P}help {name}` tells more."


# (who, what they typed after the mention, the bot's reply, first line); run in this order.
PREFIX_ROWS: list[tuple[str, str, str]] = [
    ("alice", "request", usage("Missing `words`.", "request <words>")),
    ("alice", "request zzz", "No requestable track matches “zzz”."),
    ("alice", f"request {LONG}", "No requestable track matches “" + "x" * 59 + "…”."),
    ("alice", "cancel", usage("Missing `id`.", "cancel <id>")),
    ("alice", "cancel abc", usage("“abc” is not a whole number.", "cancel <id>")),
    ("alice", "cancel 42", "You have no request number 42."),
    ("alice", "cancel 2", "You have no request number 2."),  # bob's request: not hers
    ("alice", "cancel 99999999999999999999", "You have no request number 99999999999999999999."),
    ("alice", "cancel -1", "You have no request number -1."),
    ("bob", "move abc 2", usage("“abc” is not a whole number.", "move <id> <place>")),
    ("bob", "move 1", usage("Missing `place`.", "move <id> <place>")),
    ("bob", "move 1 0", "Places in the queue start at 1, not 0."),
    ("bob", "move 77 1", "There is no request number 77 in the queue."),
    (
        "bob",
        "move 1 99999999999999999999",
        "Moved request 1 to number 2: the end of the queue (2).",
    ),
    ("bob", "remove xyz", usage("“xyz” is not a whole number.", "remove <id>")),
    ("bob", "remove 77", "You have no request number 77."),
    ("alice", "skip", "This command is for DJs: you need one of these roles: {dj}."),
    (
        "alice",
        "schedule someday",
        "“someday” is not a day: use today, tomorrow, a weekday (mon…sun) or YYYY-MM-DD.",
    ),
    (
        "alice",
        "schedule " + "y" * 500,
        "“" + "y" * 59 + "…” is not a day: use today, tomorrow, a weekday (mon…sun) or YYYY-MM-DD.",
    ),
    ("carol", "at 25:99", "“25:99” is not a time: use HH:MM or YYYY-MM-DD HH:MM (station time)."),
    ("carol", "at", usage("Missing `when`.", "at <time>")),
    (
        "alice",
        "at 10:00",
        "This command is for programmers: you need one of these roles: {admin}.",
    ),
    ("alice", "help frobnicate", f"There is no command “frobnicate”; `{P}help` lists them."),
    ("alice", "live relay http://example.org/a.mp3", "Live is not configured on this station."),
    (
        "alice",
        "grid check",
        "This command is for programmers: you need one of these roles: {admin}.",
    ),
    ("alice", "diag", "This command is for the bot's owner only."),
    ("bob", "settings", "This command is for radio admins: you need one of these roles: {admin}."),
]

# (who, slash command, options, the ephemeral reply)
SLASH_ROWS: list[tuple[str, str, dict[str, object], str]] = [
    ("alice", "cancel", {"request_id": 999}, "You have no request number 999."),
    ("alice", "cancel", {"request_id": 0}, "You have no request number 0."),
    (
        "bob",
        "move",
        {"request_id": 2, "place": 99999999999999999999},
        "Moved request 2 to number 2: the end of the queue (2).",
    ),
    (
        "alice",
        "help",
        {"command": "nothing-like-it"},
        "There is no command “nothing-like-it”; `/help` lists them.",
    ),
    (
        "alice",
        "schedule",
        {"day": "31/02"},
        "“31/02” is not a day: use today, tomorrow, a weekday (mon…sun) or YYYY-MM-DD.",
    ),
]


def first_line(message: Message) -> str:
    """What the table shows of a reply (a move goes on with the queue as it now is)."""
    assert len(message.content) <= 2000
    return message.content.splitlines()[0]


async def test_every_bad_input_gets_a_short_clear_reply(
    emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = emulator.world
    role = {r.name: r.id for r in world.guild.roles.values()}
    db = Database(tmp_path / "radio.sqlite3")
    queue = RequestQueue(db, quota=3, cooldown=timedelta(0))
    # #1 by alice, #2 by bob: waiting in the queue
    queue.add(world.people["alice"].id, "alice", SO_WHAT, SystemClock().now())
    queue.add(world.people["bob"].id, "bob", NAIMA, SystemClock().now())

    def cogs(bot: RadioBot, announcer: Announcer) -> list[commands.Cog]:
        services = Services(
            config=bot.config,
            queue=queue,
            catalogue=Catalogue([SO_WHAT, NAIMA, PEACE]),
            controls=Controls(),
            rooms=bot,
            clock=SystemClock(),
            slot_now=lambda: Slot("Evening", frozenset()),
            announcer=announcer,
            station_name="Sandbox FM",
            grid=lambda: WEEK,
        )
        return [RadioCommands(services)]

    roles = {"dj": [role["dj"]], "admin": [role["admin"]]}
    names = {
        "dj": f"<@&{min(role['dj'], role['admin'])}>, <@&{max(role['dj'], role['admin'])}>",
        "admin": f"<@&{role['admin']}>",
    }
    text = world.text_channel.id
    mention = f"<@{world.bot.id}>"

    def replies() -> list[Message]:
        return [
            m
            for m in world.messages_in(text, include_deleted=True)
            if m.author.id == world.bot.id and m.interaction_id is None
        ]

    got: list[tuple[str, str, str]] = []
    async with on_air(emulator, world.voice_channel.id, roles=roles, cogs=cogs):
        # An unknown word first: no answer, one debug line; the next command is answered.
        await emulator.inject_message("alice", f"{mention} frobnicate")
        for who, words, _ in PREFIX_ROWS:
            count = len(replies())
            await emulator.inject_message(who, f"{mention} {words}")
            await until(lambda: len(replies()) == count + 1)  # noqa: B023 (awaited at once)
            got.append((who, words, first_line(replies()[-1])))
        for who, name, options, _ in SLASH_ROWS:
            reply = await answer(emulator, who, name, **options)
            # private, but for a DJ's move: its result is the queue everyone shares
            assert bool(reply.flags & 64) == (name != "move"), (name, options)
            got.append((who, f"/{name} {options}", first_line(reply)))

    expected = [(w, t, r.format(dj=names["dj"], admin=names["admin"])) for w, t, r in PREFIX_ROWS]
    expected += [(w, f"/{n} {o}", r) for w, n, o, r in SLASH_ROWS]
    assert got == expected
    assert len(got) >= 20
    assert all(len(reply) <= 300 for _, _, reply in got)  # short
    assert "not a command of ours: 'frobnicate'" in caplog.messages
    noisy = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert noisy == []
