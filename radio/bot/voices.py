"""A station's voices: several bot accounts, one feed, one sender, one encode.

A Discord bot holds one voice connection per server, and a stage holds at most
10,000 listeners (docs/big-station.md), so a big station speaks through several
bot accounts: its *voices* (``discord.voices`` in the station file,
:meth:`~radio.bot.config.DiscordConfig.voice_plan`). The first, the primary,
is the station's :class:`~radio.bot.client.RadioBot` as it always was: it
answers commands and posts announcements. Every other voice is a
:class:`RadioBot` made by :func:`follower` that only keeps its rooms::

    primary RadioBot ── Broadcaster (one feed: one pull, one Opus encode per frame)
         │                 ├── primary's rooms      send_audio_packet per room
    follower RadioBot ─────┼── voice 2's rooms     (RTP header, encryption, UDP)
    follower RadioBot ─────┴── voice 3's rooms
                 all stepped by one SendLoop (one sender thread per process)

A follower shares the primary's broadcaster and send loop, so each extra room
costs only its packet's send and encryption. Its presence follows the station
through an announcer of its own that has no rooms (presence only); its
problems (a missing permission, a close code that forbids rejoining) go to the
admins through the station's announcer, prefixed with the voice's name.

:class:`Voices` runs the followers (the application runs the primary) and
answers for all of them: each logs in, connects, rejoins and is reported on
its own. A token that is missing or that Discord refuses takes that voice off
the air with one message to the admins; the others play on. A failed login
for another reason (Discord unreachable) is retried with backoff, told once.
A relay node (``radio relay``, :mod:`radio.relay.node`) builds the same pieces
around its own packet source and runs every voice as a follower (no primary:
it has no commands); it owns the broadcaster and the send loop, so a first voice
whose token is refused silences only its own rooms there too, and
:meth:`Voices.ended` tells it when no voice is left to broadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
import discord

from radio.bot.announcements import Announcer, Rooms
from radio.bot.client import Backoff, RadioBot
from radio.bot.config import Voice
from radio.errors import ConfigError
from radio.events import Event
from radio.tasks import Supervisor, cancel_all

logger = logging.getLogger(__name__)

# A token from the variable a voice names; raises ConfigError when it is missing.
TokenLookup = Callable[[str], str]


class VoiceStatus(StrEnum):
    """Where a voice's login stands (its rooms have their own :class:`RoomState`)."""

    PRIMARY = "the station's bot"  # run by the application, not by Voices
    STARTING = "logging in"
    CONNECTED = "connected"
    RETRYING = "cannot reach Discord, retrying"
    NO_TOKEN = "off: no token"
    REFUSED = "off: token refused"
    STOPPED = "stopped"


@dataclass
class VoiceBot:
    """One voice and the bot that speaks for it; ``status`` and ``problem`` as last seen."""

    voice: Voice
    bot: RadioBot[Any]
    status: VoiceStatus = VoiceStatus.STARTING
    problem: str = ""  # the last problem told to the admins (told once per change)


@dataclass(frozen=True, slots=True)
class RoomLine:
    """One room of one voice, for ``diag``: the keeper's state and counters."""

    voice: str
    guild: int
    room: int
    state: str
    joins: int
    last_close_code: int | None


def follower(
    primary: RadioBot[Any],
    voice: Voice,
    *,
    station: str,
    subscribe: Callable[[Callable[[Event], None]], object] | None = None,
    **options: Any,
) -> RadioBot[Any]:
    """A bot for ``voice`` that broadcasts the primary's feed in its own rooms.

    It shares ``primary``'s feed, broadcaster and send loop (nothing more is
    pulled or encoded), its supervisor and its timings, registers no command
    and posts nothing but its presence: an announcer without rooms, fed by
    ``subscribe`` (the station's event bus; None: no presence). Its problems
    reach the admins through the primary's announcer. ``options`` go to
    :class:`RadioBot` (and on to ``discord.Client``). Must be called inside
    the running event loop, like any RadioBot.
    """
    bot: RadioBot[Any]
    presence = Announcer(Rooms(), station=station, notify=lambda: bot.wake_announcements())
    if subscribe is not None:
        subscribe(presence.handle)
    bot = RadioBot(
        primary.config,
        primary.feed,
        clock=primary.clock,
        announcer=presence,
        alerts=primary.alerts,
        voice_name=voice.name,
        rooms=voice.rooms,
        broadcaster=primary.broadcaster,
        send_loop=primary.send_loop,
        supervisor=primary.supervisor,
        backoff=primary.backoff,
        connect_timeout=primary.connect_timeout,
        poll_interval=primary.poll_interval,
        sync_commands=False,
        message_content=False,
        **options,
    )
    return bot


class Voices:
    """The voices of one station: runs the followers, answers for every voice.

    ``primary`` is the voice the application runs itself (None for a node
    where every voice is equal, such as a relay); ``followers`` are started by
    :meth:`start` and closed by :meth:`close`. ``token`` reads the token of
    the variable a voice names (raises ConfigError when it is missing).
    ``alerts`` tells the admins (None: only logged). ``supervisor`` runs one
    task per follower (``voice:<name>``): a bug is logged, counted and the
    task started again. ``backoff`` spaces login retries. ``node`` names what
    must restart to bring back a voice whose token is missing ("station", "relay").

    :meth:`join` and :meth:`leave` act on every voice with a room in the guild
    (the admins' ``join``/``leave`` commands), so that a voice that was kicked
    (close code 4014) comes back when an admin asks.
    """

    def __init__(
        self,
        primary: tuple[Voice, RadioBot[Any]] | None,
        followers: Sequence[tuple[Voice, RadioBot[Any]]],
        *,
        token: TokenLookup,
        supervisor: Supervisor,
        alerts: Announcer | None = None,
        backoff: Backoff | None = None,
        node: str = "station",
    ) -> None:
        self._primary = None if primary is None else VoiceBot(*primary, VoiceStatus.PRIMARY)
        self._node = node
        self._followers = [VoiceBot(voice, bot) for voice, bot in followers]
        self._token = token
        self._supervisor = supervisor
        self._alerts = alerts
        self._backoff = backoff or Backoff()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def all(self) -> list[VoiceBot]:
        """Every voice, the primary first."""
        return ([self._primary] if self._primary is not None else []) + self._followers

    @property
    def followers(self) -> list[VoiceBot]:
        """The voices this object runs."""
        return list(self._followers)

    def start(self) -> None:
        """Start every follower (log in, connect, keep its rooms). Idempotent."""
        if self._tasks:
            return
        for entry in self._followers:
            name = f"voice:{entry.voice.name}"
            self._tasks.append(self._supervisor.spawn(name, functools.partial(self._run, entry)))

    async def ended(self) -> None:
        """Return once every follower's task has ended: each voice is off (its token is
        missing or refused) or closed, and none will broadcast again until restarted.

        Returns at once before :meth:`start`, or when there are no followers. A
        voice that retries its login (Discord unreachable) has not ended. Waiting
        does not cancel anything.
        """
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks)

    async def close(self) -> None:
        """Close every follower (its rooms hear five silence frames and it leaves). Idempotent.

        The followers close together, each while its task still reads its
        gateway: discord.py's leave waits for Discord's confirmation on that
        gateway (up to ``connect_timeout`` per room, 20 s by default), which a
        cancelled task never reads. Their tasks are cancelled afterwards.
        """
        await asyncio.gather(*(self._close_bot(entry) for entry in self._followers))
        await cancel_all(self._tasks)
        for entry in self._followers:
            entry.status = VoiceStatus.STOPPED

    @staticmethod
    async def _close_bot(entry: VoiceBot) -> None:
        if not entry.bot.is_closed():
            with contextlib.suppress(Exception):
                await entry.bot.close()

    # -- admin actions (the commands' RoomControls) --------------------------------

    def join(self, guild_id: int) -> None:
        """Every voice with a room in ``guild_id`` rejoins it (also after a refusal)."""
        for entry in self.all:
            entry.bot.join(guild_id)

    async def leave(self, guild_id: int) -> None:
        """Every voice with a room in ``guild_id`` leaves it until :meth:`join`."""
        for entry in self.all:
            await entry.bot.leave(guild_id)

    # -- reports ---------------------------------------------------------------

    def rooms(self) -> list[RoomLine]:
        """Every room of every voice, the primary's first, in configuration order."""
        return [
            RoomLine(
                voice=entry.voice.name,
                guild=guild_id,
                room=room.broadcast,
                state=str(room.state),
                joins=room.joins,
                last_close_code=room.last_close_code,
            )
            for entry in self.all
            for guild_id, room in entry.bot.rooms.items()
        ]

    def diagnostics(self) -> list[str]:
        """One line per voice and one per room, for the owner's ``diag``."""
        lines: list[str] = []
        for entry in self.all:
            rooms = len(entry.bot.rooms)
            lines.append(f"voice {entry.voice.describe()}: {entry.status}, {rooms} room(s)")
        for line in self.rooms():
            lines.append(
                f"  {line.voice} in guild {line.guild} room {line.room}: {line.state},"
                f" {line.joins} join(s), last close code {line.last_close_code}"
            )
        return lines

    # -- running a follower ----------------------------------------------------------

    async def _run(self, entry: VoiceBot) -> None:
        voice = entry.voice
        if entry.bot.is_closed():
            # A bot closed by discord.py (after a gateway refusal) cannot start again.
            entry.status = VoiceStatus.STOPPED
            return
        try:
            token = self._token(voice.token_env)
        except ConfigError as exc:
            entry.status = VoiceStatus.NO_TOKEN
            self._tell(entry, f"{exc}. Its rooms stay silent until the {self._node} restarts.")
            return
        failures = 0
        while not entry.bot.is_closed():
            entry.status = VoiceStatus.STARTING
            try:
                await entry.bot.login(token)
            except discord.LoginFailure:
                entry.status = VoiceStatus.REFUSED
                self._tell(
                    entry,
                    f"Discord refused the token in {voice.token_env}; its rooms stay silent"
                    " (copy the token again from the Developer Portal, then restart).",
                )
                await entry.bot.close()
                return
            except (aiohttp.ClientError, discord.HTTPException, OSError) as exc:
                entry.status = VoiceStatus.RETRYING
                delay = self._backoff.delay(failures)
                failures += 1
                self._tell(entry, f"cannot log in ({exc}); trying again.")
                logger.warning(
                    "voice %s: login failed (%s); again in %.1f s", voice.name, exc, delay
                )
                await asyncio.sleep(delay)
                continue
            break
        entry.status = VoiceStatus.CONNECTED
        entry.problem = ""
        logger.info("voice %s logged in as %s", voice.name, entry.bot.user)
        # discord.py reconnects the gateway by itself; it returns when the bot closes.
        try:
            await entry.bot.connect(reconnect=True)
        except discord.LoginFailure:
            entry.status = VoiceStatus.REFUSED
            self._tell(entry, f"the gateway refused the token in {voice.token_env}.")
        except Exception as exc:
            entry.status = VoiceStatus.STOPPED
            self._tell(entry, f"its connection to Discord ended ({exc}).")
            raise  # the supervisor logs it with its traceback
        finally:
            if entry.status is VoiceStatus.CONNECTED:
                entry.status = VoiceStatus.STOPPED

    def _tell(self, entry: VoiceBot, problem: str) -> None:
        # Retries repeat the same problem; the admins hear of it once per change.
        if entry.problem == problem:
            return
        entry.problem = problem
        message = f"Voice **{entry.voice.name}**: {problem}"
        logger.error("%s", message)
        if self._alerts is not None:
            self._alerts.alert("voice", message, admins=True)
