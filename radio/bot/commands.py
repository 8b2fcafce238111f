"""The station's commands, hybrid (slash and prefix), with run-time permission checks.

Every command checks the member's level against the guild's configured role
IDs (:mod:`radio.bot.permissions`) the same way for slash and prefix
invocations; a refusal is a private reply (ephemeral for slash commands; for
prefix commands a direct message, or a reply that deletes itself when direct
messages are closed).

The ``live`` group talks to the live session rules only through
:class:`~radio.live.contracts.LiveControls` (``Services.live``; None: "not
configured"); their refusals are private like the rest, and an encoder password
is only ever sent privately (ephemeral, or by direct message: never in a room).

The cog talks to the station only through :class:`Services`, so the final
integration wires the real station, grid and store, and tests can wire small
real parts. Replies are rendered by pure functions (``format_*``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path, PurePath
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import urlsplit

import discord
from discord import app_commands
from discord.ext import commands

from radio.audio.track import Track
from radio.bot.announcements import Announcer, live_embed, now_playing_embed
from radio.bot.catalogue import Catalogue
from radio.bot.config import DiscordConfig
from radio.bot.gridreport import format_check, format_reload
from radio.bot.help import find, format_details, format_help, usage
from radio.bot.limits import MESSAGE, cut, fit, fit_embed, quote
from radio.bot.permissions import (
    Decision,
    Level,
    Member,
    SlotNow,
    check,
    check_live,
    levels_of,
)
from radio.bot.programme import ArgumentError, format_at, format_day, parse_day, parse_instant
from radio.bot.settings_card import Deployment, settings_embed
from radio.clock import Clock
from radio.errors import LiveRefused, RequestRefused
from radio.grid.check import CheckResult
from radio.grid.grid import Grid
from radio.grid.watch import Reload
from radio.live.contracts import Credentials, LiveControls, LiveStatus, Presenter
from radio.preflight import run_checks
from radio.store.history import PlayHistory
from radio.store.requests import Request, RequestQueue

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

Ctx = commands.Context[commands.Bot]
Callback = Callable[..., Coroutine[Any, Any, None]]


def _hybrid(*, name: str, description: str) -> Callable[[Callback], Any]:
    """``commands.hybrid_command``, typed loosely.

    mypy cannot solve discord.py's callback union (cog method or free function
    through a ParamSpec) for methods, so this one cast stands for all commands.
    """
    decorator = cast(Callable[..., Callable[[Callback], Any]], commands.hybrid_command)
    return decorator(name=name, description=description)


def _hybrid_group(*, name: str, description: str) -> Callable[[Callback], Any]:
    """``commands.hybrid_group``, typed loosely (see :func:`_hybrid`).

    The slash form is ``/name sub``; the group's own callback runs only for a
    prefix invocation without a subcommand.
    """
    decorator = cast(Callable[..., Callable[[Callback], Any]], commands.hybrid_group)
    return decorator(name=name, description=description, invoke_without_command=True)


def _subcommand(
    group: Any, *, name: str, description: str, usage: str | None = None
) -> Callable[[Callback], Any]:
    """``group.command(...)`` of a :func:`_hybrid_group`, typed loosely like the rest.
    ``usage`` is the arguments as a prefix-command refusal shows them (``<url> [force]``)."""
    return cast(
        Callable[[Callback], Any],
        group.command(name=name, description=description, usage=usage),
    )


class ForceFlag(commands.Converter[bool], app_commands.Transformer):
    """The optional ``force`` of ``/live relay``: a true/false option as a slash command;
    the word ``force`` (or yes/true/on/1) after the URL as a prefix command."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.boolean

    async def convert(self, ctx: commands.Context[Any], argument: str) -> bool:
        """Raises BadArgument for any other word."""
        word = argument.strip().lower()
        if word in ("force", "yes", "true", "on", "1"):
            return True
        if word in ("no", "false", "off", "0"):
            return False
        raise commands.BadArgument(f"“{argument}”: write `force` after the URL, or nothing.")

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> bool:
        return bool(value)


REFUSAL_SECONDS = 20.0  # how long a public private answer stays when a DM is impossible
LIST_MAX = 10
MESSAGE_MAX = MESSAGE  # Discord's limit on a message's content (radio.bot.limits)
QUERY_MAX = 200  # characters of a request's words searched for
LIVE_NOT_CONFIGURED = "Live is not configured on this station."


class StationControls(Protocol):
    """What the commands may ask of the station itself."""

    def skip(self) -> bool:
        """Cut the current track; True when something was skipped."""
        ...

    def next_up(self) -> Track | None:
        """The next track when known."""
        ...


class MicControls(Protocol):
    """The stage's talk-over switch (radio.live.talkover.TalkOver is one)."""

    def set_mic(self, user_id: int, on: bool | None) -> None:
        """This member's switch for the session (None: the show's default again)."""
        ...

    def mic_switch(self, user_id: int) -> bool:
        """Whether this member talking on the stage ducks the music now."""
        ...


class GridFiles(Protocol):
    """The station's grid files: checked or loaded on a programmer's demand (``OnAir`` is one).

    Both calls block (they read files and may probe media): the commands run
    them off the event loop.
    """

    @property
    def station_dir(self) -> Path: ...

    def check(self) -> CheckResult:
        """Check the files on disk; nothing changes on air."""
        ...

    def reload(self) -> Reload:
        """Load the files now; a valid grid goes on air, an invalid one is refused."""
        ...


class RoomControls(Protocol):
    """Joining and leaving the broadcast room (the bot client provides it)."""

    def join(self, guild_id: int) -> None: ...

    async def leave(self, guild_id: int) -> None: ...


@dataclass
class Services:
    """Everything the commands use. ``diagnostics`` returns lines for the owner."""

    config: DiscordConfig
    queue: RequestQueue
    catalogue: Catalogue
    controls: StationControls
    rooms: RoomControls
    clock: Clock
    slot_now: SlotNow
    announcer: Announcer | None = None
    history: PlayHistory | None = None
    diagnostics: Callable[[], list[str]] = lambda: []
    station_name: str = "radio"
    grid: Callable[[], Grid] | None = None  # the grid on air now
    # Why a track may not be requested now (separation rules), or None.
    request_check: Callable[[Track, datetime], str | None] = lambda track, now: None
    grid_files: GridFiles | None = None  # check and reload the grid files
    deployment: Callable[[], Deployment] | None = None  # data folder, log level (no token)
    live: LiveControls | None = None  # None: the station has no live setup
    mic: MicControls | None = None  # the stage's talk-over; None: none


# -- rendering -------------------------------------------------------------------


def format_request(request: Request, place: int | None) -> str:
    """The confirmation of a request: its place in the queue, or None when it already
    plays. Requests play at track boundaries: the song on air is never cut."""
    what = discord.utils.escape_markdown(request.track.display)
    if place is None:
        return f"Playing **{what}** now (request {request.id})."
    queued = f"Queued **{what}** (request {request.id}, number {place} in the queue)"
    if place == 1:
        return f"{queued}: it plays after the current track."
    before = "1 request" if place == 2 else f"{place - 1} requests"
    return f"{queued}: it plays after the current track and the {before} before it."


def format_queue(playing: Request | None, pending: Sequence[Request]) -> str:
    """The request queue as a short list, the request being played first.

    A pending request the station has already opened (``taken``, not started:
    it plays at the end of the current track) is marked "up next".
    """
    if playing is None and not pending:
        return "The request queue is empty."
    lines: list[str] = []
    if playing is not None:
        lines.append(f"▶ {_line(playing)}")
    lines += [
        f"{n}. {_line(r)}{' · up next' if r.state == 'taken' else ''}"
        for n, r in enumerate(pending[:LIST_MAX], start=1)
    ]
    if len(pending) > LIST_MAX:
        lines.append(f"… and {len(pending) - LIST_MAX} more")
    return "\n".join(lines)


def _line(request: Request) -> str:
    who = f"<@{request.user_id}>"
    return f"{discord.utils.escape_markdown(request.track.display)} · {who} · #{request.id}"


def format_history(plays: Sequence[tuple[str, str]], zone: str) -> str:
    """Recent plays, newest first: (HH:MM in the station's time zone ``zone``,
    "Artist – Title") pairs."""
    if not plays:
        return "Nothing has played in the last hour."
    lines = [f"**The last hour** ({zone})"]
    lines += [f"`{at}` {discord.utils.escape_markdown(what)}" for at, what in plays]
    return fit("\n".join(lines))


def format_move(
    request_id: int, asked: int, before: Sequence[Request], after: Sequence[Request]
) -> str:
    """Where a moved request ended up in the queue as listed, and why when that is not
    the place asked for (past the end, or the queue changed meanwhile); says so when
    the request that was up next had to give way."""
    ids = [r.id for r in after]
    if request_id not in ids:
        return f"Request {request_id} started playing meanwhile."
    place = ids.index(request_id) + 1
    if place != asked:
        why = (
            f"the end of the queue ({len(ids)})"
            if asked > len(ids)
            else "the queue changed meanwhile"
        )
        return f"Moved request {request_id} to number {place}: {why}."
    text = f"Moved request {request_id} to number {place}"
    if place == 1:
        text += ": it plays after the current track"
    head = before[0] if before else None
    if head is not None and head.state == "taken" and head.id != request_id and head.id in ids:
        text += (
            f"; request {head.id}, which was up next, goes back to number {ids.index(head.id) + 1}"
        )
    return text + "."


def format_choices(query: str, tracks: Sequence[Track]) -> str:
    """The answer when a request matches several tracks: the first is queued, the rest listed."""
    others = "\n".join(f"• {discord.utils.escape_markdown(t.display)}" for t in tracks[1:])
    return f"Other matches for {quote(query)} (be more specific to pick one):\n{others}"


def format_live_status(status: LiveStatus | None, now: datetime, tz: tzinfo) -> str:
    """The answer of ``/live status``: who is live, in which show, how and since when
    (in the station's time zone ``tz``), what plays, what came in, the recording's
    file name; or "Nobody is live.". Names and titles come from presenters' encoders:
    they are escaped and cut so that the answer stays within Discord's limit."""
    if status is None:
        return "Nobody is live."
    since = datetime.fromisoformat(status.since)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    zone = getattr(tz, "key", None) or since.astimezone(tz).tzname() or "UTC"
    via = {"encoder": "their encoder", "relay": "a relay"}.get(status.via, status.via)
    lines = [
        f"🔴 **{_cut(status.presenter, 100)}** is live in **{_cut(status.show, 100)}**"
        f" via {_cut(via, 40)}, since {since.astimezone(tz).strftime('%H:%M')} ({zone},"
        f" {_duration(now - since)})."
    ]
    if not status.on_air:
        lines.append("The source has gone quiet: the programme takes over if it does not return.")
    lines.append(f"Playing: {_cut(status.title, 300)}" if status.title else "Playing: no title")
    audio = _duration(timedelta(seconds=status.frames_in * 0.02))
    lines.append(
        f"Received: {_megabytes(status.bytes_in)}, {status.frames_in:,} frames ({audio} of audio)."
    )
    if status.recording:
        lines.append(f"Recording: {_cut(PurePath(status.recording).name, 200)}")
    else:
        lines.append("Not recorded.")
    return _fit("\n".join(lines))


def format_credentials(credentials: Credentials, station: str) -> str:
    """The private answer of ``/live password``: the new user name and password."""
    return (
        f"Your new encoder login for {discord.utils.escape_markdown(station)}"
        " (the old password no longer works):\n"
        f"User: `{credentials.user}`\n"
        f"Password: `{credentials.password}`\n"
        "Keep the password to yourself: anyone who has it can go live as you."
    )


def _cut(text: str, limit: int) -> str:
    """``text`` escaped for Markdown, at most ``limit`` characters of it."""
    short = text if len(text) <= limit else text[: limit - 1] + "…"
    return discord.utils.escape_markdown(short)


def _host(url: str) -> str:
    """The host of a stream URL, for the log: the URL may carry a token or a password."""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def _fit(text: str) -> str:
    return fit(text)


def _valid_id(number: int) -> bool:
    """A number that can be a request's id (SQLite's integers stop at 2**63 - 1)."""
    return 0 < number < 2**63


def _quoted(problem: Exception, words: str) -> str:
    """An argument error's message with the member's words quoted short."""
    return str(problem).replace(f"“{words}”", quote(words))


def _zone(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or datetime.now(tz).tzname() or "UTC"


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    if hours:
        return f"{hours} h {rest // 60:02d} min"
    if rest >= 60:
        return f"{rest // 60} min"
    return f"{rest} s"


def _megabytes(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB" if count >= 100_000 else f"{count / 1000:.1f} kB"


# -- the cog ---------------------------------------------------------------------


class RadioCommands(commands.Cog):
    """Listener, DJ, presenter, programmer, admin and owner commands of the station."""

    def __init__(self, services: Services) -> None:
        self.s = services

    @_hybrid(name="help", description="The commands you may use, or one in detail")
    async def help(self, ctx: Ctx, *, command: str | None = None) -> None:
        prefix = self._prefix(ctx)
        if command is None:
            await self._answer(ctx, format_help(self._levels(ctx), prefix))
            return
        found = find(command)
        if found is None:
            await self._refuse(
                ctx, f"There is no command {quote(command, 40)}; `{prefix}help` lists them."
            )
            return
        await self._answer(ctx, format_details(found, prefix))

    # everyone

    @_hybrid(name="np", description="What is playing now")
    async def now_playing(self, ctx: Ctx) -> None:
        if not await self._allowed(ctx, Level.LISTENER):
            return
        announcer = self.s.announcer
        live = announcer.live if announcer is not None else None
        if live is not None:
            embed = live_embed(live, self.s.station_name)
            await ctx.send(embed=discord.Embed.from_dict(fit_embed(embed)), ephemeral=True)
            return
        track = announcer.track if announcer is not None else None
        if track is None:
            await self._answer(ctx, "Nothing is playing right now.")
            return
        show = announcer.show if announcer is not None else None
        embed = now_playing_embed(track, show, self.s.controls.next_up(), self.s.station_name)
        await ctx.send(embed=discord.Embed.from_dict(fit_embed(embed)), ephemeral=True)

    @_hybrid(name="request", description="Request a track by title or artist")
    async def request(self, ctx: Ctx, *, query: str) -> None:
        if not await self._allowed(ctx, Level.LISTENER):
            return
        matches = self.s.catalogue.search(query[:QUERY_MAX])
        if not matches:
            await self._refuse(ctx, f"No requestable track matches {quote(query)}.")
            return
        now = self.s.clock.now()
        refusal = self.s.request_check(matches[0], now)
        if refusal is not None:
            await self._refuse(ctx, refusal)
            return
        try:
            request = self.s.queue.add(ctx.author.id, ctx.author.display_name, matches[0], now)
        except RequestRefused as refused:
            await self._refuse(ctx, str(refused))
            return
        # The station may have taken the request between add() and this look-up.
        pending = [r.id for r in self.s.queue.pending()]
        place = pending.index(request.id) + 1 if request.id in pending else None
        text = format_request(request, place)
        if len(matches) > 1:
            text += "\n" + format_choices(query, matches)
        await ctx.send(fit(text), allowed_mentions=discord.AllowedMentions.none())

    @_hybrid(name="queue", description="The request queue")
    async def queue(self, ctx: Ctx) -> None:
        if not await self._allowed(ctx, Level.LISTENER):
            return
        await self._answer(ctx, format_queue(self.s.queue.playing(), self.s.queue.pending()))

    @_hybrid(name="cancel", description="Cancel one of your requests (its # in the queue)")
    async def cancel(self, ctx: Ctx, request_id: int) -> None:
        if not await self._allowed(ctx, Level.LISTENER):
            return
        if not _valid_id(request_id):
            await self._refuse(ctx, f"You have no request number {cut(str(request_id), 24)}.")
            return
        try:
            request = self.s.queue.cancel(request_id, ctx.author.id, self.s.clock.now())
        except RequestRefused as refused:
            await self._refuse(ctx, str(refused))
            return
        what = discord.utils.escape_markdown(request.track.display)
        await self._answer(ctx, f"Cancelled {what} (request {request.id}).")

    @_hybrid(name="history", description="What played in the last hour")
    async def history(self, ctx: Ctx) -> None:
        if not await self._allowed(ctx, Level.LISTENER):
            return
        if self.s.history is None:
            await self._answer(ctx, "The play history is not kept on this station.")
            return
        tz = self._tz()
        plays = self.s.history.since(self.s.clock.now() - timedelta(hours=1))
        rows = [
            (p.played_at.astimezone(tz).strftime("%H:%M"), _display(p.artist, p.title))
            for p in plays
        ]
        await self._answer(ctx, format_history(rows[::-1][:LIST_MAX], _zone(tz)))

    @_hybrid(name="schedule", description="The programme of a day (today, tomorrow, mon…sun)")
    async def schedule(self, ctx: Ctx, day: str = "today") -> None:
        if not await self._allowed(ctx, Level.LISTENER):
            return
        grid = self.s.grid() if self.s.grid is not None else None
        if grid is None:
            await self._answer(ctx, "The programme is not available.")
            return
        now = self.s.clock.now()
        try:
            wanted = parse_day(day, now.astimezone(grid.tz).date())
        except ArgumentError as problem:
            await self._refuse(ctx, _quoted(problem, day))
            return
        await self._answer(ctx, format_day(grid, wanted, now))

    # DJ

    @_hybrid(name="skip", description="Skip the current track (DJ)")
    async def skip(self, ctx: Ctx) -> None:
        if not await self._allowed(ctx, Level.DJ):
            return
        skipped = self.s.controls.skip()
        status = self.s.live.status() if self.s.live is not None and not skipped else None
        if status is not None and status.on_air:
            await ctx.send("A live session is on air: `/live stop` ends it.")
            return
        await ctx.send("Skipped." if skipped else "Nothing to skip.")

    @_hybrid(name="remove", description="Remove a request from the queue (DJ)")
    async def remove(self, ctx: Ctx, request_id: int) -> None:
        if not await self._allowed(ctx, Level.DJ):
            return
        if not _valid_id(request_id):
            await self._refuse(ctx, f"There is no request number {cut(str(request_id), 24)}.")
            return
        try:
            request = self.s.queue.remove(request_id, self.s.clock.now())
        except RequestRefused as refused:
            await self._refuse(ctx, str(refused))
            return
        what = discord.utils.escape_markdown(request.track.display)
        await ctx.send(fit(f"Removed {what} (request {request.id})."))

    @_hybrid(name="move", description="Move a request to a place in the queue (DJ)")
    async def move(self, ctx: Ctx, request_id: int, place: int) -> None:
        if not await self._allowed(ctx, Level.DJ):
            return
        if not _valid_id(request_id):
            await self._refuse(ctx, f"There is no request number {cut(str(request_id), 24)}.")
            return
        if place < 1:
            await self._refuse(ctx, f"Places in the queue start at 1, not {cut(str(place), 24)}.")
            return
        before = self.s.queue.pending()
        try:
            pending = self.s.queue.move(request_id, place)
        except RequestRefused as refused:
            await self._refuse(ctx, str(refused))
            return
        text = format_move(request_id, place, before, pending) + "\n"
        text += format_queue(self.s.queue.playing(), pending)
        await ctx.send(fit(text), allowed_mentions=discord.AllowedMentions.none())

    @_hybrid(name="clear", description="Clear the request queue (DJ)")
    async def clear(self, ctx: Ctx) -> None:
        if not await self._allowed(ctx, Level.DJ):
            return
        count = self.s.queue.clear(self.s.clock.now())
        await ctx.send(f"Cleared the queue ({count} request{'s' if count != 1 else ''}).")

    # presenter

    @_hybrid_group(name="live", description="Live shows: status, start, password, relay, stop")
    async def live_group(self, ctx: Ctx) -> None:
        # Only a prefix invocation without a subcommand lands here: the status.
        await self._live_status(ctx)

    @_subcommand(live_group, name="status", description="Who is live now")
    async def live_status(self, ctx: Ctx) -> None:
        await self._live_status(ctx)

    @_subcommand(
        live_group,
        name="start",
        description="How to connect your encoder (presenters in their slot, DJs)",
    )
    async def live_start(self, ctx: Ctx) -> None:
        live = await self._live(ctx)
        # whoever may hold credentials; the answer says whether they may go live now
        who = await self._may_have_credentials(ctx) if live is not None else None
        if live is None or who is None:
            return
        try:
            text = await live.connection(who)
        except LiveRefused as refusal:
            await self._refuse(ctx, refusal.reason)
            return
        await self._private(ctx, _fit(text))

    @_subcommand(live_group, name="password", description="New encoder password, sent only to you")
    async def live_password(self, ctx: Ctx) -> None:
        live = await self._live(ctx)
        who = await self._may_have_credentials(ctx) if live is not None else None
        if live is None or who is None:
            return
        if ctx.interaction is not None:
            text, _ = await self._rotate(live, who)
            await ctx.send(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
            return
        # A prefix command: the password goes by direct message only. The DM is opened
        # first, so that closed DMs leave the old password working rather than lost.
        try:
            letter = await ctx.author.send("Making you a new encoder password…")
        except discord.HTTPException:
            await ctx.reply(
                "I cannot send you a direct message, so your encoder password was not changed."
                " Allow direct messages from this server's members and ask again, or use"
                " `/live password` (only you see its answer).",
                allowed_mentions=discord.AllowedMentions.none(),
            )
            return
        text, rotated = await self._rotate(live, who)
        await letter.edit(content=text)
        if rotated:
            await ctx.reply(
                "I sent you your new encoder password by direct message.",
                allowed_mentions=discord.AllowedMentions.none(),
            )

    @_subcommand(
        live_group,
        name="relay",
        description="Put a stream URL on air (presenters in their slot, DJs)",
        usage="<url> [force]",
    )
    async def live_relay(
        self, ctx: Ctx, url: str, force: app_commands.Transform[bool, ForceFlag] = False
    ) -> None:
        live = await self._live(ctx)
        # the live rules decide when (the show on air, or the next within its early
        # margin); here only who may present at all
        who = await self._may_have_credentials(ctx) if live is not None else None
        if live is None or who is None:
            return
        if force and not who.privileged:
            await self._refuse(
                ctx,
                "Only DJs and admins can force a hand-over; ask one, or wait until the"
                " session on air ends.",
            )
            return
        await ctx.defer(ephemeral=True)
        try:
            text = await live.start_relay(who, url, force=force)
        except LiveRefused as refusal:
            await self._refuse(ctx, refusal.reason)
            return
        logger.info(
            "live relay by %s from %s%s", ctx.author, _host(url), " (forced)" if force else ""
        )
        await self._private(ctx, _fit(text))

    @_subcommand(live_group, name="stop", description="End the live session (its presenter, DJs)")
    async def live_stop(self, ctx: Ctx) -> None:
        live = await self._live(ctx)
        if live is None:
            return
        if self._member(ctx) is None or ctx.guild is None:
            await self._refuse(ctx, "The station's commands work in its servers only.")
            return
        # Whether the asker presents the session on air is the live rules' to say.
        await ctx.defer(ephemeral=True)
        try:
            text = await live.stop(self._presenter(ctx))
        except LiveRefused as refusal:
            await self._refuse(ctx, refusal.reason)
            return
        logger.info("live stopped by %s", ctx.author)
        await self._private(ctx, _fit(text))

    @_subcommand(
        live_group,
        name="mic",
        description="On the stage: does your talking duck the music? on, off or default",
    )
    async def live_mic(self, ctx: Ctx, state: str) -> None:
        mic = self.s.mic
        if mic is None:
            await self._private(ctx, "The stage's talk-over is not set up on this station.")
            return
        choice = state.strip().lower()
        wanted = {"on": True, "off": False, "default": None}
        if choice not in wanted:
            await self._refuse(
                ctx, f"{quote(state)} is not on, off or default: `/live mic on` for example."
            )
            return
        who = await self._may_go_live(ctx)
        if who is None:
            return
        mic.set_mic(who.user_id, wanted[choice])
        on = mic.mic_switch(who.user_id)
        await self._private(
            ctx,
            "Your talking on the stage now ducks the music (for this session)."
            if on
            else "Your talking on the stage leaves the music as it is (for this session).",
        )

    # programmer

    @_hybrid(name="at", description="What plays at a given time (programmers)")
    async def at(self, ctx: Ctx, *, when: str) -> None:
        if not await self._allowed(ctx, Level.PROGRAMMER):
            return
        grid = self.s.grid() if self.s.grid is not None else None
        if grid is None:
            await self._answer(ctx, "The programme is not available.")
            return
        try:
            instant = parse_instant(when, grid, self.s.clock.now())
        except (ArgumentError, OverflowError, ValueError) as problem:
            await self._refuse(ctx, _quoted(problem, when))
            return
        await self._answer(ctx, format_at(grid, instant))

    @_hybrid_group(name="grid", description="Check or reload the grid files (programmers)")
    async def grid_group(self, ctx: Ctx) -> None:
        # Only a prefix invocation without a subcommand lands here.
        if not await self._allowed(ctx, Level.PROGRAMMER):
            return
        prefix = self._prefix(ctx)
        await self._answer(
            ctx,
            f"Use `{prefix}grid check` (check the files, change nothing) or"
            f" `{prefix}grid reload` (put the files on air now).",
        )

    @_subcommand(grid_group, name="check", description="Check the grid files now (programmers)")
    async def grid_check(self, ctx: Ctx) -> None:
        if not await self._allowed(ctx, Level.PROGRAMMER):
            return
        files = self.s.grid_files
        if files is None:
            await self._answer(ctx, "The grid files cannot be checked on this station.")
            return
        result = await self._off_loop(ctx, "check", files.check)
        if result is None:
            return
        await self._answer(ctx, format_check(result, self.s.clock.now(), files.station_dir))

    @_subcommand(grid_group, name="reload", description="Put the grid files on air (programmers)")
    async def grid_reload(self, ctx: Ctx) -> None:
        if not await self._allowed(ctx, Level.PROGRAMMER):
            return
        files = self.s.grid_files
        before = self.s.grid() if self.s.grid is not None else None
        if files is None or before is None:
            await self._answer(ctx, "The grid cannot be reloaded on this station.")
            return
        outcome = await self._off_loop(ctx, "reload", files.reload)
        if outcome is None:
            return
        logger.info(
            "grid reload by %s: %s", ctx.author, "applied" if outcome.applied else "refused"
        )
        text = format_reload(before, outcome, self.s.clock.now(), files.station_dir)
        await self._answer(ctx, text)

    # admin

    @_hybrid(name="settings", description="The station's effective configuration (admin)")
    async def settings(self, ctx: Ctx) -> None:
        if not await self._allowed(ctx, Level.ADMIN) or ctx.guild is None:
            return
        guild = self.s.config.guild(ctx.guild.id)
        deployment = self.s.deployment
        grid = self.s.grid() if self.s.grid is not None else None
        if guild is None or deployment is None:
            await self._answer(ctx, "The settings are not available on this station.")
            return
        embed = settings_embed(
            self.s.config,
            guild,
            station=self.s.station_name,
            timezone=grid.tz.key if grid is not None else "unknown time zone",
            deployment=deployment(),
        )
        await ctx.send(embed=discord.Embed.from_dict(fit_embed(embed)), ephemeral=True)

    @_hybrid(name="join", description="Join the broadcast room (admin)")
    async def join(self, ctx: Ctx) -> None:
        if not await self._allowed(ctx, Level.ADMIN) or ctx.guild is None:
            return
        self.s.rooms.join(ctx.guild.id)
        await self._answer(ctx, "Joining the broadcast room.")

    @_hybrid(name="leave", description="Leave the broadcast room (admin)")
    async def leave(self, ctx: Ctx) -> None:
        if not await self._allowed(ctx, Level.ADMIN) or ctx.guild is None:
            return
        await self.s.rooms.leave(ctx.guild.id)
        await self._answer(ctx, "Left the broadcast room; `join` brings the station back.")

    # owner

    @_hybrid(name="diag", description="Versions and audio counters (owner)")
    async def diag(self, ctx: Ctx) -> None:
        if not await self._allowed(ctx, Level.OWNER):
            return
        lines = [f"discord.py {discord.__version__}"]
        # The checks run FFmpeg and libopus for real: off the event loop.
        lines += [str(result) for result in await asyncio.to_thread(run_checks)]
        lines += self.s.diagnostics()
        body = "\n".join(lines)[: MESSAGE - 8]  # room for the code fences
        await self._answer(ctx, "```\n" + body + "\n```")

    # checks

    def _member(self, ctx: Ctx) -> Member | None:
        author = ctx.author
        if not isinstance(author, discord.Member):
            return None  # direct messages: the station's commands are per guild
        return Member(
            user_id=author.id,
            role_ids=frozenset(role.id for role in author.roles),
            administrator=author.guild_permissions.administrator,
        )

    def _decision(self, ctx: Ctx, level: Level) -> Decision:
        member = self._member(ctx)
        guild = self.s.config.guild(ctx.guild.id) if ctx.guild is not None else None
        if member is None or guild is None:
            return Decision(False, "The station's commands work in its servers only.")
        return check(member, level, guild.roles, self.s.config.owners)

    def _live_decision(self, ctx: Ctx) -> Decision:
        member = self._member(ctx)
        guild = self.s.config.guild(ctx.guild.id) if ctx.guild is not None else None
        if member is None or guild is None:
            return Decision(False, "The station's commands work in its servers only.")
        return check_live(member, guild.roles, self.s.config.owners, self.s.slot_now)

    def _presenter(self, ctx: Ctx) -> Presenter:
        """The asker as the live rules see them: privileged when a DJ or admin."""
        member = self._member(ctx)
        guild = self.s.config.guild(ctx.guild.id) if ctx.guild is not None else None
        levels = (
            levels_of(member, guild.roles, self.s.config.owners)
            if member is not None and guild is not None
            else frozenset()
        )
        return Presenter(ctx.author.id, ctx.author.display_name, privileged=Level.DJ in levels)

    async def _live(self, ctx: Ctx) -> LiveControls | None:
        """The live controls, or None (the member told privately) when there are none."""
        if self.s.live is None:
            await self._private(ctx, LIVE_NOT_CONFIGURED)
        return self.s.live

    async def _may_go_live(self, ctx: Ctx) -> Presenter | None:
        """The asker when they may go live now (a presenter of the show on air, or a
        DJ/admin); None, refused privately, otherwise."""
        who = self._presenter(ctx)
        decision = self._live_decision(ctx)
        if not (decision.allowed or who.privileged):
            await self._refuse(ctx, decision.reason)
            return None
        return who

    async def _may_have_credentials(self, ctx: Ctx) -> Presenter | None:
        """The asker when they may hold encoder credentials; None, refused privately, otherwise.

        Besides those who may go live now: members with the presenter role, and
        the presenters of any live show of the grid (by user or role ID), so that a
        presenter can set up their encoder before their slot.
        """
        who = self._presenter(ctx)
        member = self._member(ctx)
        guild = self.s.config.guild(ctx.guild.id) if ctx.guild is not None else None
        if who.privileged:
            return who
        if member is not None and guild is not None:
            if Level.PRESENTER in levels_of(member, guild.roles, self.s.config.owners):
                return who
            grid = self.s.grid() if self.s.grid is not None else None
            ids = {member.user_id, *member.role_ids}
            shows = grid.shows if grid is not None else ()
            if any(show.live.allowed and ids & set(show.presenters) for show in shows):
                return who
        return await self._may_go_live(ctx)

    async def _rotate(self, live: LiveControls, who: Presenter) -> tuple[str, bool]:
        """New credentials for ``who``: the private answer and True, or the refusal's
        reason and False. The answer adds how to connect when the live rules tell it."""
        try:
            credentials = await live.rotate_password(who)
        except LiveRefused as refusal:
            logger.info("refused live password to %s: %s", who.name, refusal.reason)
            return refusal.reason, False
        logger.info("new encoder password for %s (%s)", who.name, credentials.user)
        text = format_credentials(credentials, self.s.station_name)
        with contextlib.suppress(LiveRefused):
            text += "\n\n" + await live.connection(who)
        return _fit(text), True

    async def _live_status(self, ctx: Ctx) -> None:
        live = await self._live(ctx)
        if live is None or not await self._allowed(ctx, Level.LISTENER):
            return
        grid = self.s.grid() if self.s.grid is not None else None
        tz: tzinfo = grid.tz if grid is not None else UTC
        text = format_live_status(live.status(), self.s.clock.now(), tz)
        await ctx.send(fit(text), allowed_mentions=discord.AllowedMentions.none())

    async def cog_command_error(self, ctx: commands.Context[Any], error: Exception) -> None:
        """Bad input (a missing or wrong argument) gets a short private line saying what
        was wrong, with the member's words quoted short, and how to write the command;
        never a traceback. Anything else is a failure of ours: logged with its
        traceback, and the member told it failed."""
        if isinstance(error, commands.HybridCommandError):
            error = error.original  # the slash form's own error
        if isinstance(error, commands.UserInputError | app_commands.TransformerError):
            logger.info("bad input to %s by %s: %s", ctx.command, ctx.author, error)
            with contextlib.suppress(discord.HTTPException):
                await self._private(ctx, self._input_problem(ctx, error))
            return
        if isinstance(error, commands.CheckFailure | app_commands.CheckFailure):
            with contextlib.suppress(discord.HTTPException):
                await self._refuse(ctx, "You cannot use this command here.")
            return
        logger.error("command %s by %s failed", ctx.command, ctx.author, exc_info=error)
        with contextlib.suppress(discord.HTTPException):
            await self._private(ctx, "That command failed on the station's side; see the log.")

    @commands.Cog.listener()
    async def on_command_error(self, ctx: commands.Context[Any], error: Exception) -> None:
        """The bot-wide error event: an unknown word after the prefix is not an error
        (other bots share prefixes): logged at debug, no answer. Errors of this cog's
        commands are answered by :meth:`cog_command_error`; any other command's error
        is logged (this listener replaces discord.py's default report)."""
        if isinstance(error, commands.CommandNotFound):
            logger.debug("not a command of ours: %r", ctx.invoked_with)
            return
        if ctx.cog is self:
            return
        logger.error("command %s by %s failed", ctx.command, ctx.author, exc_info=error)

    def _input_problem(self, ctx: commands.Context[Any], error: Exception) -> str:
        """What was wrong with the member's input, and how to write the command."""
        command = ctx.command
        how = ""
        if command is not None:
            found = find(command.qualified_name)
            prefix = self._prefix(ctx)
            if found is not None and found.name == command.qualified_name:
                written = usage(found, prefix)
            else:
                args = command.usage if command.usage is not None else command.signature
                written = f"{prefix}{command.qualified_name} {args}".rstrip()
            how = f" Use `{written}`; `{prefix}help {command.qualified_name}` tells more."
        if isinstance(error, commands.MissingRequiredArgument):
            return f"Missing `{_argument(error.param.name)}`.{how}"
        raw = getattr(ctx, "current_argument", None)
        if isinstance(error, commands.BadArgument | app_commands.TransformerError) and raw:
            if isinstance(error, commands.RangeError | commands.BadLiteralArgument):
                return f"{quote(raw, 30)} is out of range.{how}"
            param = getattr(ctx, "current_parameter", None)
            if param is not None and param.annotation is int:
                return f"{quote(raw, 30)} is not a whole number.{how}"
            if isinstance(error, commands.BadArgument) and len(str(error)) <= 200:
                return f"{error}{how}".replace(f"“{raw}”", quote(raw, 30))
            return f"{quote(raw, 30)} is not valid here.{how}"
        if isinstance(error, commands.TooManyArguments):
            return f"Too many words.{how}"
        if isinstance(
            error, commands.ExpectedClosingQuoteError | commands.InvalidEndOfQuotedStringError
        ):
            return f"A quotation mark is not closed.{how}"
        return f"That is not how this command is written.{how}"

    def _prefix(self, ctx: commands.Context[Any]) -> str:
        """How the member writes commands here: ``/`` for a slash command, else the
        prefix they used (``!``, or ``@Radio ``)."""
        if ctx.interaction is not None:
            return "/"
        return ctx.clean_prefix or self.s.config.prefix

    def _levels(self, ctx: commands.Context[Any]) -> frozenset[Level]:
        member = self._member(ctx)
        guild = self.s.config.guild(ctx.guild.id) if ctx.guild is not None else None
        if member is None or guild is None:
            return frozenset({Level.LISTENER})
        return levels_of(member, guild.roles, self.s.config.owners)

    def _tz(self) -> tzinfo:
        """The station's time zone (UTC when the grid is not known)."""
        grid = self.s.grid() if self.s.grid is not None else None
        return grid.tz if grid is not None else UTC

    async def _answer(self, ctx: commands.Context[Any], text: str) -> None:
        """An answer to the member's question, within Discord's limit: ephemeral for a
        slash command, in the room where a prefix command was written."""
        await ctx.send(fit(text), ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    async def _off_loop(self, ctx: Ctx, what: str, work: Callable[[], _T]) -> _T | None:
        """Run the grid's ``work`` off the event loop; None (the programmer told) if it failed.

        The check and the reload read and validate files: seconds on a big grid,
        too long for the event loop, and an unexpected failure must still answer.
        """
        await ctx.defer(ephemeral=True)
        try:
            return await asyncio.to_thread(work)
        except Exception as exc:
            logger.exception("grid %s by %s failed", what, ctx.author)
            await self._private(ctx, f"The {what} failed ({exc}); the log has the details.")
            return None

    async def _allowed(self, ctx: Ctx, level: Level) -> bool:
        decision = self._decision(ctx, level)
        if not decision.allowed:
            await self._refuse(ctx, decision.reason)
        return decision.allowed

    async def _refuse(self, ctx: Ctx, reason: str) -> None:
        logger.info("refused %s to %s: %s", ctx.command, ctx.author, reason)
        await self._private(ctx, reason)

    async def _private(
        self, ctx: Ctx, content: str | None = None, *, embed: discord.Embed | None = None
    ) -> None:
        """Answer only the member: ephemeral for a slash command; for a prefix command a
        direct message, or a reply that deletes itself when direct messages are closed."""
        # discord.py's overloads take either an embed or none: pass it only when given.
        extra: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
        if embed is not None:
            extra["embed"] = discord.Embed.from_dict(fit_embed(embed.to_dict()))  # type: ignore[arg-type]
        content = fit(content) if content is not None else None
        if ctx.interaction is not None:
            await ctx.send(content, ephemeral=True, **extra)
            return
        try:
            await ctx.author.send(content, **extra)
        except discord.HTTPException:
            await ctx.reply(content, delete_after=REFUSAL_SECONDS, **extra)


def _argument(name: str) -> str:
    return {"request_id": "id", "query": "words"}.get(name, name)


def _display(artist: str, title: str) -> str:
    return f"{artist} – {title}" if artist else title
