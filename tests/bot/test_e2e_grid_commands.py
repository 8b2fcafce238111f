"""Programmers' and admins' commands in the whole application, on the local Discord.

The real :class:`~radio.app.StationApp` (real FFmpeg, the real bot) runs a tiny
station of generated tones. ``grid check`` and ``grid reload`` by a programmer
and by a listener; ``settings`` by an admin and by a DJ; a broken grid edit
picked up by the watcher is posted once to the programmers' room however many
polls see it, and a "valid again" note follows the fix; dead air (the
fallback's media vanish) and its end are posted once each.

The station's people: alice (a listener), bob (DJ; the dj role is also the
programmer role here), carol (admin).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from radio.app import AppOptions, StationApp
from radio.audio import synth
from radio.bot.announcements import dead_air_alert
from radio.bot.client import RoomState
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.sandbox import Emulator, point_discord_at
from radio.sandbox.state import Interaction, Message

from .e2e import until

pytestmark = pytest.mark.e2e

EPHEMERAL = 64
BROKEN_ALERT = "The grid edit was not applied"
FIXED_ALERT = "The grid files are valid again"

# One show all day, every day, in the tiny station's UTC grid.
GOOD_WEEK = (
    "shows:\n"
    "  - id: allday\n"
    "    title: All Day Tones\n"
    "    days: [mon, tue, wed, thu, fri, sat, sun]\n"
    '    start: "00:00"\n'
    '    end: "24:00"\n'
    "    rotation: [{playlist: show}]\n"
)
# The same with a bad time of day: E101 at line 5, column 12 (the value).
BROKEN_WEEK = GOOD_WEEK.replace('start: "00:00"', 'start: "25:00"')
BROKEN_AT = "schedules/week.yaml:5:12 E101"


def make_station(root: Path) -> None:
    """A UTC station with no show: a fallback of two 2 s tones, a one-tone show playlist."""
    for folder, stem, hz in (("music", "a", 440.0), ("music", "b", 550.0), ("show", "s", 880.0)):
        path = root / "media" / folder / f"{stem}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        synth.tone(path, hz, 2.0, level_dbfs=-18.0, title=f"Tone {stem}", artist="Band")
    (root / "station.yaml").write_text(
        "name: Tiny FM\ntimezone: UTC\nfallback: music\n", encoding="utf-8"
    )
    (root / "playlists").mkdir()
    for name in ("music", "show"):
        (root / "playlists" / f"{name}.yaml").write_text(
            f"sources: [media/{name}]\norder: sequential\n", encoding="utf-8"
        )
    (root / "schedules").mkdir()
    (root / "schedules" / "week.yaml").write_text("shows: []\n", encoding="utf-8")


def config_for(emulator: Emulator) -> DiscordConfig:
    world = emulator.world
    roles = {role.name: role.id for role in world.guild.roles.values()}
    text = world.text_channel.id
    return DiscordConfig.model_validate(
        {
            "owners": [world.people["carol"].id],
            "guilds": [
                {
                    "id": world.guild.id,
                    "broadcast": world.voice_channel.id,
                    "announcements": text,
                    "programmers": text,
                    "roles": {
                        "dj": [roles["dj"]],
                        "programmer": [roles["dj"]],
                        "admin": [roles["admin"]],
                    },
                }
            ],
        }
    )


@contextlib.asynccontextmanager
async def station_app(
    emulator: Emulator, root: Path, watch_interval: float
) -> AsyncIterator[StationApp]:
    """The tiny station's application on the local Discord until the block ends."""
    make_station(root)
    options = AppOptions(
        live_port=0,
        web_port=0,
        watch_interval=watch_interval,
        normalize=False,
        bot_options={"guild_ready_timeout": 0.05},
    )
    app = StationApp(
        root,
        root / "data",
        config_for(emulator),
        clock=SystemClock(),
        monotonic=time.monotonic,
        options=options,
    )
    stop = asyncio.Event()
    addresses = emulator.addresses
    task = asyncio.create_task(
        app.run(emulator.world.token, stop, before_start=lambda b: point_discord_at(b, addresses))
    )
    guild = emulator.world.guild.id
    try:
        await until(
            lambda: (
                task.done()
                or (guild in app.bot.rooms and app.bot.rooms[guild].state is RoomState.ON_AIR)
            ),
            timeout=30.0,
        )
        if task.done():
            task.result()
        yield app
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 15)


def save(path: Path, text: str) -> None:
    """Write ``text`` and move the mtime a second on (coarse file system timestamps)."""
    path.write_text(text, encoding="utf-8")
    touch(path)


def touch(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


async def reply(emulator: Emulator, author: str, name: str, *sub: str) -> Message:
    """Run ``/name [sub]`` as ``author``; return the bot's answer (after a deferral too)."""
    options: list[dict[str, object]] = [{"name": s, "type": 1, "options": []} for s in sub]
    interaction: Interaction = await emulator.inject_interaction(author, name, options)
    world = emulator.world

    def answered() -> Message | None:
        if interaction.followup_ids:
            return world.messages[interaction.followup_ids[0]]
        first = world.messages.get(interaction.response_message_id or 0)
        # A deferred answer is an empty "thinking" message until the follow-up.
        return first if first is not None and (first.content or first.embeds) else None

    await until(lambda: answered() is not None, timeout=30.0)
    message = answered()
    assert message is not None
    return message


def bot_posts(emulator: Emulator, starting: str) -> list[str]:
    """The bot's plain messages (not interaction answers) in #studio starting with ``starting``."""
    world = emulator.world
    return [
        m.content
        for m in world.messages_in(world.text_channel.id)
        if m.author.id == world.bot.id
        and m.interaction_id is None
        and m.content.startswith(starting)
    ]


async def test_grid_check_reload_and_settings_by_allowed_and_refused_members(
    emulator: Emulator, tmp_path: Path
) -> None:
    world = emulator.world
    roles = {role.name: role.id for role in world.guild.roles.values()}
    root = tmp_path / "station"
    # The watcher never polls in this test: only the commands load the files.
    async with station_app(emulator, root, watch_interval=3600.0) as app:
        registered = {c["name"]: c for c in world.commands[world.guild.id]}
        grid_command = registered["grid"]
        assert sorted(o["name"] for o in grid_command["options"]) == ["check", "reload"]
        assert "settings" in registered
        on_air = app.onair.station.grid
        assert on_air.shows == ()

        # grid check: a listener is refused, privately.
        refused = await reply(emulator, "alice", "grid", "check")
        assert refused.flags & EPHEMERAL
        assert refused.content == (
            "This command is for programmers: you need one of these roles: "
            + ", ".join(f"<@&{rid}>" for rid in sorted([roles["dj"], roles["admin"]]))
            + "."
        )

        checked = await reply(emulator, "bob", "grid", "check")
        assert checked.flags & EPHEMERAL
        assert checked.content.startswith("OK: 0 shows, 2 playlists, 3 tracks,")
        assert "By these files, now: **music** until" in checked.content
        assert "Nothing was changed on air" in checked.content

        # A valid edit that nobody reloads: check sees it, the air does not change.
        week = root / "schedules" / "week.yaml"
        save(week, GOOD_WEEK)
        checked = await reply(emulator, "bob", "grid", "check")
        assert checked.content.startswith("OK: 1 show, 2 playlists, 3 tracks, 0 warnings.")
        assert "By these files, now: **All Day Tones** until" in checked.content
        assert app.onair.station.grid is on_air

        # A broken edit: check lists the error with its place; nothing changes.
        save(week, BROKEN_WEEK)
        checked = await reply(emulator, "bob", "grid", "check")
        assert checked.content.startswith(
            "The station's files have 1 error and 0 warnings; nothing was changed on air:"
        )
        assert BROKEN_AT in checked.content
        assert app.onair.station.grid is on_air
        assert bot_posts(emulator, BROKEN_ALERT) == []  # a check reports to nobody else

        # grid reload: refused to a listener; by a programmer the broken files are refused,
        # the last good grid stays, and the programmers' room hears of it once.
        refused = await reply(emulator, "alice", "grid", "reload")
        assert refused.flags & EPHEMERAL
        assert refused.content.startswith("This command is for programmers")
        for _ in range(2):
            reloaded = await reply(emulator, "bob", "grid", "reload")
            assert reloaded.flags & EPHEMERAL
            assert reloaded.content.startswith(
                "Not reloaded: the files have 1 error; the last good grid stays on air:"
            )
            assert BROKEN_AT in reloaded.content
            assert app.onair.station.grid is on_air
        await until(lambda: len(bot_posts(emulator, BROKEN_ALERT)) == 1)
        [alert] = bot_posts(emulator, BROKEN_ALERT)
        assert BROKEN_AT in alert

        # Fixed: the reload puts the new grid on air and says what plays.
        save(week, GOOD_WEEK)
        reloaded = await reply(emulator, "bob", "grid", "reload")
        assert reloaded.content.startswith(
            "Reloaded: the new grid is on air (0 shows → 1). On air now: **All Day Tones** until"
        )
        assert [s.id for s in app.onair.station.grid.shows] == ["allday"]
        await until(lambda: len(bot_posts(emulator, FIXED_ALERT)) == 1)
        assert len(bot_posts(emulator, BROKEN_ALERT)) == 1

        # settings: refused to a DJ and programmer; an admin sees the configuration.
        refused = await reply(emulator, "bob", "settings")
        assert refused.flags & EPHEMERAL
        assert refused.content.startswith("This command is for radio admins")
        shown = await reply(emulator, "carol", "settings")
        assert shown.flags & EPHEMERAL
        [embed] = shown.embeds
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        text = world.text_channel.id
        assert embed["title"] == "Settings of Tiny FM"
        assert fields["Station"] == "Tiny FM · UTC"
        assert fields["Broadcast room"] == f"<#{world.voice_channel.id}>"
        assert fields["Announcements"] == fields["Programmers' room"] == f"<#{text}>"
        assert fields["Admins' room"] == f"<#{text}> (the programmers' room)"
        assert fields["Now playing"] == "post"
        assert fields["Roles"].splitlines() == [
            "listener: everyone",
            "presenter: none (only the grid’s presenters)",
            f"DJ: <@&{roles['dj']}>",
            f"programmer: <@&{roles['dj']}>",
            f"admin: <@&{roles['admin']}>",
            "Discord administrators are radio admins: yes",
        ]
        assert fields["Owners"] == f"<@{world.people['carol'].id}>"
        assert fields["Data folder"] == f"`{(root / 'data').resolve()}`"
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        assert fields["Log level"] == level
        assert world.token not in json.dumps(embed)

        # The prefix forms, by mention: the same checks and answers, as replies (the
        # local Discord has no direct messages, so private answers delete themselves).
        mention = f"<@{world.bot.id}>"
        before = len(world.messages_in(text))

        def answers() -> list[Message]:
            return [
                m
                for m in world.messages_in(text)[before:]
                if m.author.id == world.bot.id and m.interaction_id is None
            ]

        commands = [
            ("alice", "grid reload"),
            ("bob", "grid check"),
            ("bob", "grid"),
            ("carol", "settings"),
        ]
        for count, (who, command) in enumerate(commands, start=1):
            await emulator.inject_message(who, f"{mention} {command}")
            await until(lambda: len(answers()) == count)  # noqa: B023 (awaited at once)
        refusal, checked_by_prefix, usage, card = answers()
        assert refusal.content.startswith("This command is for programmers")
        assert checked_by_prefix.content.startswith(
            "OK: 1 show, 2 playlists, 3 tracks, 0 warnings."
        )
        assert usage.content == (  # the way the member wrote the command: a mention
            "Use `@radio-bot grid check` (check the files, change nothing) or"
            " `@radio-bot grid reload` (put the files on air now)."
        )
        assert card.embeds[0]["title"] == "Settings of Tiny FM"
        assert [s.id for s in app.onair.station.grid.shows] == ["allday"]


async def test_a_broken_edit_is_posted_once_across_polls_then_fixed(
    emulator: Emulator, tmp_path: Path
) -> None:
    root = tmp_path / "station"
    async with station_app(emulator, root, watch_interval=0.1) as app:
        watcher = app.onair.watcher
        on_air = app.onair.station.grid
        week = root / "schedules" / "week.yaml"

        async def polls(count: int) -> None:
            target = watcher.polls + count
            await until(lambda: watcher.polls >= target)

        save(week, BROKEN_WEEK)
        await until(lambda: len(bot_posts(emulator, BROKEN_ALERT)) == 1)
        [alert] = bot_posts(emulator, BROKEN_ALERT)
        assert BROKEN_AT in alert
        assert watcher.rejected == 1
        await polls(5)
        # Saved again, unchanged: loaded and refused again, not posted again.
        touch(week)
        await until(lambda: watcher.rejected == 2)
        await polls(5)
        assert len(bot_posts(emulator, BROKEN_ALERT)) == 1
        assert app.onair.station.grid is on_air

        save(week, GOOD_WEEK)
        await until(lambda: len(bot_posts(emulator, FIXED_ALERT)) == 1)
        assert [s.id for s in app.onair.station.grid.shows] == ["allday"]
        await polls(5)
        assert len(bot_posts(emulator, BROKEN_ALERT)) == 1
        assert len(bot_posts(emulator, FIXED_ALERT)) == 1
        assert (watcher.rejected, watcher.reloads) == (2, 1)


async def test_dead_air_start_and_end_are_posted_once(emulator: Emulator, tmp_path: Path) -> None:
    root = tmp_path / "station"
    async with station_app(emulator, root, watch_interval=3600.0) as app:
        music = root / "media" / "music"
        # Make the replacements first: they go back in whole (os.replace), never half-written.
        spare = tmp_path / "spare"
        for stem, hz in (("a", 440.0), ("b", 550.0)):
            synth.tone(spare / f"{stem}.flac", hz, 2.0, level_dbfs=-18.0, title=stem, artist="B")
        for path in music.glob("*.flac"):
            path.unlink()  # the fallback's media vanish: after the track on air, nothing
        await until(lambda: len(bot_posts(emulator, "Dead air:")) == 1, timeout=30.0)
        assert app.onair.root.dead_air
        for path in spare.glob("*.flac"):
            os.replace(path, music / path.name)
        await until(lambda: len(bot_posts(emulator, "Back on air after")) == 1, timeout=30.0)
        assert not app.onair.root.dead_air
        [back] = bot_posts(emulator, "Back on air after")
        assert back.endswith(" s of dead air.")
        assert len(bot_posts(emulator, "Dead air:")) == 1
        assert bot_posts(emulator, "Dead air:") == [dead_air_alert()]
