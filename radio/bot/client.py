"""The station's Discord client: joins its rooms, stays on air, says what plays.

:class:`RadioBot` is a ``commands.Bot`` (so the hybrid commands of the final
integration plug in as a cog). For every configured guild a *keeper* task
holds the broadcast room: it joins self-deafened, becomes a speaker on a stage
(unsuppress when it may, else request to speak and tell the admins which
permission is missing), attaches the connection to the station's one
:class:`~radio.bot.sender.Broadcaster` (a single sender thread that encodes
each frame once and sends it to every room), and watches the connection.
discord.py itself reconnects the voice session after most close codes (4006,
...); the broadcaster sends nothing while a room is down and says it is
speaking again on the new session. The keepers do not poll on their own: the
bot's one poll task checks every watched connection each ``poll_interval``, on a
grid of the loop's clock that every bot of the process shares (one wake of the
event loop per poll, whatever the rooms), and wakes a keeper only when its
connection is gone, stalled, or left. When discord.py lets the connection go,
the keeper learns why from discord.py's own log (:mod:`radio.bot.voiceclose`):
after 4014, 4021 or 4022 (kicked, rate limited, call terminated) Discord does not
want the bot back, so it reports to the admins' room and waits for an admin's
``join``; after anything else (a failed 4015 resume, a stall) it rejoins with
exponential backoff.

Announcements: a pump task sends what the :class:`~radio.bot.announcements.Announcer`
says is due (presence, embeds, stage topic, voice status, alerts), and hands
rate-limit refusals back to it instead of waiting (``max_ratelimit_timeout``).
:meth:`RadioBot.mirror_schedule` keeps the guild's scheduled events equal to the grid's week.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum, StrEnum
from typing import Any, ClassVar, Generic

import discord
from discord.ext import commands
from typing_extensions import TypeVar

from radio.bot.announcements import REFUSED_CLOSE_CODES, Announcer, rejoin_refused_alert
from radio.bot.audio import SimulcastFeed
from radio.bot.config import DiscordConfig, GuildConfig
from radio.bot.effects import Effects, apply_schedule
from radio.bot.schedule import Change, EventSpec
from radio.bot.sender import Broadcaster, PacketSource, VoiceLink
from radio.bot.sendloop import REALTIME_PRIORITY, SendLoop
from radio.bot.voiceclose import VoiceCloseLog
from radio.clock import Clock
from radio.tasks import Supervisor, cancel_all

logger = logging.getLogger(__name__)

# Polls to wait for discord.py to log why it let a connection go.
CLOSE_CODE_POLLS = 12

# The smallest value discord.py accepts; a longer wait raises RateLimited instead.
MAX_RATELIMIT_WAIT_S = 30.0


class RoomState(StrEnum):
    """Where a guild's keeper stands."""

    JOINING = "joining"
    ON_AIR = "on air"
    WAITING = "waiting to rejoin"
    REFUSED = "not rejoining"
    LEFT = "left by command"


@dataclass
class Room:
    """The keeper's view of one guild's broadcast room."""

    guild: GuildConfig
    state: RoomState = RoomState.JOINING
    joins: int = 0  # successful connections so far
    last_close_code: int | None = None
    last_problem: str = ""  # the last problem told to the admins (told once)
    broadcast: int = 0  # the room this bot keeps (0: the guild's broadcast room)

    def __post_init__(self) -> None:
        if not self.broadcast:
            self.broadcast = self.guild.broadcast


@dataclass(frozen=True, slots=True)
class _Ended:
    """How a watched connection ended: let go by discord.py (with the close code
    when known, see :mod:`radio.bot.voiceclose`), or stalled (:data:`_Ended.STALLED`)."""

    code: int | None
    stalled: bool = False

    STALLED: ClassVar[_Ended]


_Ended.STALLED = _Ended(None, stalled=True)


class _Outcome(Enum):
    """How the bot's poll settles a keeper's watch."""

    GONE = "discord.py let the connection go"
    STALLED = "down for stall_after while discord.py holds it"
    STOPPED = "the bot is closing, or the room was left by command"


@dataclass(eq=False)
class _Watch:
    """A connection a keeper watches, checked by the bot's poll (:meth:`RadioBot._poll_rooms`)."""

    room: Room
    vc: discord.VoiceClient
    outcome: asyncio.Future[_Outcome]
    down: int = 0  # consecutive polls that found it down while discord.py held it


def until_next_poll(now: float, interval: float) -> float:
    """Seconds from ``now`` to the next multiple of ``interval`` after it (in (0, interval]).

    The bots poll their rooms on this grid: whenever each started, they wake together.
    """
    return interval - now % interval


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between rejoin attempts: ``base · factor^n``, at most ``cap`` seconds."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (0 = the first retry)."""
        return float(min(self.cap, self.base * self.factor ** max(0, attempt)))


# What the bot's rooms are sent: the station's feed, or a relay node's packets.
FeedT = TypeVar("FeedT", bound=PacketSource, default=SimulcastFeed)


class RadioBot(commands.Bot, Generic[FeedT]):
    """The station on Discord. ``start(token)`` runs it; ``close()`` stops it.

    ``feed`` is the station's feed (one encode per frame for every room), or
    any other :class:`~radio.bot.sender.PacketSource` (a relay node's).
    ``clock`` gives the wall time for rate-limit budgets. ``message_content``
    asks for the privileged intent so that prefix commands work without
    mentioning the bot. ``monotonic`` (a monotonic clock in seconds, default
    ``time.monotonic``) paces the :attr:`broadcaster`, the one sender for all
    rooms; it also keeps the programme moving in real time while no room is
    connected. ``send_loop`` is a :class:`~radio.bot.sendloop.SendLoop` shared
    by several stations of one process (its clock then paces, and ``monotonic``
    is not used); by default the bot runs its own. ``cogs`` are added at start
    (the station's commands, :mod:`radio.bot.commands`).
    ``supervisor`` restarts the keepers and the announcement pump when they fail
    (logged, counted); by default the bot has its own, spaced by ``backoff``.
    ``rooms`` maps each guild this bot broadcasts in to its room there (default:
    every configured guild's ``broadcast`` room); the slash commands are
    registered in every configured guild all the same. Several bots of one
    station (its voices, :mod:`radio.bot.voices`) share one ``broadcaster``
    (the feed is pulled and encoded once for all their rooms): a bot given one
    attaches its rooms to it and leaves it running when it closes. ``alerts``
    carries this bot's problems to the admins (default ``announcer``: a voice
    that does not announce still reports), prefixed with ``voice_name`` when set.
    ``first_room_hold`` (seconds) holds the bot's own broadcaster at start
    until its first room is connected, at most that long (see
    :class:`~radio.bot.sender.Broadcaster`): the programme's first frame is
    then heard, not pulled while the bot joins.
    ``poll_interval`` is how often a keeper checks its connection (seconds);
    after ``stall_after`` seconds without a connection that discord.py still
    holds (default three times ``connect_timeout``: one minute) it drops the
    connection and joins afresh. Raises ValueError when ``stall_after`` is less
    than twice ``connect_timeout`` (it would cut discord.py's own retries short).
    """

    def __init__(
        self,
        config: DiscordConfig,
        feed: FeedT,
        *,
        clock: Clock,
        announcer: Announcer | None = None,
        message_content: bool = False,
        backoff: Backoff = Backoff(),
        connect_timeout: float = 20.0,
        poll_interval: float = 0.25,
        stall_after: float | None = None,
        cogs: Sequence[commands.Cog] = (),
        sync_commands: bool = True,
        monotonic: Callable[[], float] | None = None,
        send_loop: SendLoop | None = None,
        realtime: bool = True,
        supervisor: Supervisor | None = None,
        rooms: Mapping[int, int] | None = None,
        broadcaster: Broadcaster | None = None,
        alerts: Announcer | None = None,
        voice_name: str = "",
        first_room_hold: float = 0.0,
        **options: Any,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content or config.message_content
        message_content = intents.message_content
        prefix: Callable[..., Any] = (
            commands.when_mentioned_or(config.prefix)
            if message_content
            else commands.when_mentioned
        )
        super().__init__(
            command_prefix=prefix,
            intents=intents,
            help_command=None,
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT_S,
            owner_ids=set(config.owners) or None,
            **options,
        )
        self.config = config
        self.feed = feed
        self.clock = clock
        self.announcer = announcer
        self.alerts = alerts if alerts is not None else announcer
        self.voice_name = voice_name
        self.backoff = backoff
        self.connect_timeout = connect_timeout
        self.poll_interval = poll_interval
        # Longer than discord.py's own reconnect and resume waits (each up to
        # connect_timeout), so that the keeper only steps in when it gave up silently.
        stall = 3 * connect_timeout if stall_after is None else stall_after
        if stall < 2 * connect_timeout:
            raise ValueError("stall_after must be at least twice connect_timeout")
        self.stall_polls = max(1, math.ceil(stall / poll_interval))
        self._cogs = list(cogs)
        self.sync_commands = sync_commands
        # Named after its first guild, so that logs tell the stations of one process apart.
        first = f":{config.guilds[0].id}" if config.guilds else ""
        self._own_broadcaster = broadcaster is None
        self.broadcaster = (
            broadcaster
            if broadcaster is not None
            else Broadcaster(feed, name=f"radio-sender{first}", hold=first_room_hold)
        )
        # The sender sleeps in real time whatever clock it is given: a monotonic
        # clock is the schedule's reference, not the wall clock.
        self._own_send_loop = send_loop is None
        self.send_loop = (
            send_loop
            if send_loop is not None
            else SendLoop(
                monotonic or time.monotonic,
                name=f"radio-sender{first}",
                realtime=REALTIME_PRIORITY if realtime else None,
            )
        )
        self._closes = VoiceCloseLog()
        kept = {guild.id: guild.broadcast for guild in config.guilds} if rooms is None else rooms
        self.rooms: dict[int, Room] = {
            guild.id: Room(guild, broadcast=kept[guild.id])
            for guild in config.guilds
            if guild.id in kept
        }
        self._wake: dict[int, asyncio.Event] = {}
        self._watches: dict[int, _Watch] = {}  # by guild: the connections the keepers watch
        self._tasks: list[asyncio.Task[None]] = []
        self.supervisor = supervisor or Supervisor(
            delay=backoff.delay, monotonic=monotonic or time.monotonic
        )
        self._announce_wake = asyncio.Event()
        self._effects = Effects(self)
        # The class of the broadcast rooms' connections: the stage's talk-over
        # (radio.bot.stage_mic) puts one that hears members' packets here.
        self.voice_class: type[discord.VoiceClient] = discord.VoiceClient

    # -- lifecycle ---------------------------------------------------------------

    async def setup_hook(self) -> None:
        """Add the command cogs, register the slash commands per guild, start the tasks.

        Commands are registered per guild (they appear at once, unlike global
        commands) on every start; discord.py's bulk overwrite makes that idempotent.
        """
        self._closes.install()
        for cog in self._cogs:
            await self.add_cog(cog)
        if self.sync_commands and self.tree.get_commands():
            for configured in self.config.guilds:
                guild = discord.Object(id=configured.id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        self.send_loop.add(self.broadcaster)
        self.send_loop.start()
        # Started here, after login: their wait_until_ready raises before it.
        spawn = self.supervisor.spawn
        for guild_id in self.rooms:
            self._wake[guild_id] = asyncio.Event()
            self._tasks.append(spawn(f"keeper:{guild_id}", functools.partial(self._keep, guild_id)))
        if self.rooms:
            self._tasks.append(spawn("rooms-poll", self._poll_rooms))
        if self.announcer is not None:
            self._tasks.append(spawn("announcements", self._pump))

    def wake_announcements(self) -> None:
        """Thread-safe: new announcements may be due (give it to Announcer's ``notify``).

        Before login there is nothing to wake (discord.py's ``loop`` is still a
        placeholder whose every attribute raises): the pump reads what is due when
        it starts.
        """
        loop = self.loop
        if not isinstance(loop, asyncio.AbstractEventLoop):
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to wake
            loop.call_soon_threadsafe(self._announce_wake.set)

    async def close(self) -> None:
        """Stop the keepers and the pump, leave every room, then log out."""
        await cancel_all(self._tasks)
        # Five silence frames to every room, before the connections go.
        if self._own_broadcaster:
            self.send_loop.remove(self.broadcaster)
            if self._own_send_loop:
                self.send_loop.stop()
            self.broadcaster.stop()
        else:
            # Shared with the station's other voices: only this bot's rooms leave it.
            for vc in list(self.voice_clients):
                self.broadcaster.detach(vc)
        self._closes.uninstall()
        for vc in list(self.voice_clients):
            with contextlib.suppress(Exception):
                await vc.disconnect(force=True)
        await super().close()

    # -- admin actions -----------------------------------------------------------

    def join(self, guild_id: int) -> None:
        """Rejoin ``guild_id``'s room, also after a refused close code (an admin asked).

        Nothing happens in a guild where this bot keeps no room.
        """
        room = self.rooms.get(guild_id)
        if room is None:
            return
        room.state = RoomState.JOINING
        self._wake[guild_id].set()

    async def leave(self, guild_id: int) -> None:
        """Leave ``guild_id``'s room and stay out until :meth:`join` (none kept: nothing)."""
        if guild_id not in self.rooms:
            return
        self.rooms[guild_id].state = RoomState.LEFT
        guild = self.get_guild(guild_id)
        vc = guild.voice_client if guild is not None else None
        if isinstance(vc, discord.VoiceClient):
            self.broadcaster.detach(vc)
            await vc.disconnect(force=True)
        self._wake[guild_id].set()

    # -- keeping the room --------------------------------------------------------

    async def _keep(self, guild_id: int) -> None:
        # A bug must not take the station off the air for good: the supervisor logs
        # it and starts the keeper again after a backoff; the room waits meanwhile.
        try:
            await self._keep_room(guild_id)
        except Exception:
            self.rooms[guild_id].state = RoomState.WAITING
            raise

    async def _keep_room(self, guild_id: int) -> None:
        room = self.rooms[guild_id]
        failures = 0
        await self.wait_until_ready()
        while not self.is_closed():
            if room.state in (RoomState.REFUSED, RoomState.LEFT):
                await self._wait_for_wake(guild_id, None)
                continue
            room.state = RoomState.JOINING
            vc = await self._connect(room)
            if vc is None:
                room.state = RoomState.WAITING
                await self._wait_for_wake(guild_id, self.backoff.delay(failures))
                failures += 1
                continue
            failures = 0
            room.last_problem = ""
            room.joins += 1
            room.state = RoomState.ON_AIR
            ended = await self._watch(room, vc)
            self.broadcaster.detach(vc)
            if self.is_closed() or room.state is RoomState.LEFT:
                continue
            if ended.code not in REFUSED_CLOSE_CODES:
                # A stall, a failed resume (4015) or an unexplained end: come back.
                room.state = RoomState.WAITING
                room.last_close_code = ended.code
                with contextlib.suppress(Exception):
                    await vc.disconnect(force=True)
                delay = self.backoff.delay(failures)
                logger.warning(
                    "voice in guild %d %s; rejoining in %.1f s",
                    guild_id,
                    "did not come back" if ended.stalled else f"ended (close code {ended.code})",
                    delay,
                )
                await self._wait_for_wake(guild_id, delay)
                failures += 1
                continue
            # Discord does not want the bot back (kicked, room gone, rate limited,
            # call terminated): say so to the admins and wait for a join command.
            room.state = RoomState.REFUSED
            room.last_close_code = ended.code
            logger.error(
                "voice in guild %d closed by Discord with %s: not rejoining", guild_id, ended.code
            )
            if self.alerts is not None:
                self.alerts.alert(
                    "voice",
                    self._said(rejoin_refused_alert(room.broadcast, ended.code)),
                    admins=True,
                )

    async def _wait_for_wake(self, guild_id: int, timeout: float | None) -> None:
        wake = self._wake[guild_id]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout)
        wake.clear()

    async def _connect(self, room: Room) -> discord.VoiceClient | None:
        """Join the room self-deafened and start playing; None when it failed (logged)."""
        channel = self.get_channel(room.broadcast)
        if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            logger.error(
                "broadcast room %d of guild %d is not a voice or stage channel I can see",
                room.broadcast,
                room.guild.id,
            )
            return None
        permissions = channel.permissions_for(channel.guild.me)
        missing = [
            name
            for name, granted in (
                ("View Channel", permissions.view_channel),
                ("Connect", permissions.connect),
                ("Speak", permissions.speak),
            )
            if not granted
        ]
        if missing:
            self._tell_admins_once(
                room,
                f"I cannot broadcast in <#{channel.id}>: my role lacks "
                + ", ".join(f"**{name}**" for name in missing)
                + " there. I will keep trying.",
            )
            return None
        existing = channel.guild.voice_client
        if isinstance(existing, discord.VoiceClient):
            self.broadcaster.detach(existing)
            await existing.disconnect(force=True)
        try:
            vc: discord.VoiceClient = await channel.connect(
                cls=self.voice_class,
                timeout=self.connect_timeout,
                reconnect=True,
                self_deaf=True,
            )
        except (TimeoutError, discord.ClientException, discord.HTTPException, OSError) as exc:
            logger.warning("joining %s failed: %s", channel, exc)
            return None
        if isinstance(channel, discord.StageChannel):
            await self._become_speaker(channel)
        self._play(vc, channel)
        logger.info("on air in %s (%s)", channel, channel.guild)
        return vc

    def _play(self, vc: discord.VoiceClient, channel: discord.abc.Connectable) -> None:
        # Idempotent: a connection is attached once, for as long as it lives.
        self.broadcaster.attach(vc, VoiceLink(vc, f"{channel}"))

    def _tell_admins_once(self, room: Room, message: str) -> None:
        # Retries repeat the same problem; the admins hear of it once per change.
        if room.last_problem != message:
            room.last_problem = message
            logger.warning("%s", self._said(message))
            if self.alerts is not None:
                self.alerts.alert("voice", self._said(message), admins=True)

    def _said(self, message: str) -> str:
        # The admins hear every voice in one room: say which one speaks.
        return f"Voice **{self.voice_name}**: {message}" if self.voice_name else message

    async def _become_speaker(self, channel: discord.StageChannel) -> None:
        """Speak on the stage: unsuppress when allowed, else request to speak and say why."""
        me = channel.guild.me
        permissions = channel.permissions_for(me)
        try:
            if permissions.mute_members:
                # Stage moderators (Mute Members on the stage) may unsuppress themselves.
                await me.edit(suppress=False)
                return
            if permissions.request_to_speak:
                await me.request_to_speak()
                message = (
                    f"I asked to speak on <#{channel.id}>. A stage moderator must invite me"
                    " to speak, or give my role the **Mute Members** permission on that"
                    " stage so that I can become a speaker on my own."
                )
            else:
                message = (
                    f"I cannot speak on <#{channel.id}>: my role needs **Mute Members**"
                    " (stage moderator) or at least **Request to Speak** there."
                )
        except discord.HTTPException as exc:
            message = f"Becoming a speaker on <#{channel.id}> failed: {exc}"
        logger.warning("%s", self._said(message))
        if self.alerts is not None:
            self.alerts.alert("voice", self._said(message), admins=True)

    async def _watch(self, room: Room, vc: discord.VoiceClient) -> _Ended:
        """Wait until the connection ends for good, or stalls; say which.

        While discord.py resumes or reconnects, the broadcaster skips the room;
        it sends again (at the live edge) as soon as the connection is back. A
        connection that stays down for ``stall_after`` seconds of checks while
        discord.py still holds it is reported as STALLED. The checks are the
        bot's one poll (:meth:`_poll_rooms`); the keeper waits for its verdict.
        """
        watch = _Watch(room, vc, asyncio.get_running_loop().create_future())
        self._watches[room.guild.id] = watch
        try:
            outcome = await watch.outcome
        finally:
            if self._watches.get(room.guild.id) is watch:
                del self._watches[room.guild.id]
        if outcome is _Outcome.GONE:
            return _Ended(await self._close_code(room.guild.id))
        return _Ended.STALLED if outcome is _Outcome.STALLED else _Ended(None)

    async def _poll_rooms(self) -> None:
        """Check every watched connection once per ``poll_interval``, settling a
        keeper's watch when its connection is gone, stalled, or no longer wanted.

        One task per bot rather than one timer per room: each poll is one wake
        of the event loop, on a grid every bot of the process shares.
        """
        while not self.is_closed():
            await self._next_poll()
            for watch in list(self._watches.values()):
                if not watch.outcome.done():
                    outcome = self._check(watch)
                    if outcome is not None:
                        watch.outcome.set_result(outcome)

    def _check(self, watch: _Watch) -> _Outcome | None:
        """One poll of one connection: its outcome, or None while it is watched on."""
        vc = watch.vc
        if self.is_closed() or watch.room.state is RoomState.LEFT:
            return _Outcome.STOPPED
        if vc.is_connected():
            if watch.down:
                logger.info("connection to %s is back: playing live again", vc.channel)
            watch.down = 0
            return None
        if vc not in self.voice_clients:
            return _Outcome.GONE
        watch.down += 1
        return _Outcome.STALLED if watch.down >= self.stall_polls else None

    async def _next_poll(self) -> None:
        # Every bot of the process polls on one grid of the loop's clock, so the
        # loop wakes once per poll for all of them.
        await asyncio.sleep(until_next_poll(asyncio.get_running_loop().time(), self.poll_interval))

    async def _close_code(self, guild_id: int) -> int | None:
        """The close code that ended the guild's connection, when discord.py logged one.

        Its polling task may log it a moment after the connection left (a kick
        is processed by the gateway task first), so wait a few polls for it.
        """
        for _ in range(CLOSE_CODE_POLLS):
            code = self._closes.take(guild_id)
            if code is not None:
                return code
            await self._next_poll()
        return None

    # -- scheduled events ----------------------------------------------------------

    async def mirror_schedule(self, guild_id: int, desired: Sequence[EventSpec]) -> list[Change]:
        """Make the guild's scheduled events match ``desired``; return the changes made.

        Only the station's own events (marked in their description) are
        touched. A change Discord refuses is logged and skipped; a rate limit
        ends the run (the next run, at the next grid reload or day, goes on).
        """
        guild = self.get_guild(guild_id)
        configured = self.config.guild(guild_id)
        # The guild's broadcast room, whichever voice keeps it.
        room = configured.broadcast if configured is not None else 0
        channel = guild.get_channel(room) if guild is not None else None
        if guild is None or not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            logger.warning("cannot mirror the schedule in guild %d: room not found", guild_id)
            return []
        return await apply_schedule(guild, channel, desired)

    # -- announcements -----------------------------------------------------------

    async def _pump(self) -> None:
        announcer = self.announcer
        assert announcer is not None
        await self.wait_until_ready()
        while not self.is_closed():
            now = self.clock.now()
            for action in announcer.due(now):
                try:
                    await self._effects.perform(action)
                except discord.RateLimited as exc:
                    announcer.refused(action, exc.retry_after, self.clock.now())
                except discord.HTTPException as exc:
                    logger.warning("announcement %r failed: %s", type(action).__name__, exc)
                except Exception:
                    # One bad action must not stop every later announcement.
                    logger.exception("announcement %r failed", type(action).__name__)
            when = announcer.next_due(self.clock.now())
            timeout = (
                None if when is None else max(0.0, (when - self.clock.now()) / timedelta(seconds=1))
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._announce_wake.wait(), timeout)
            self._announce_wake.clear()
