"""A relay node: the station's mount, read from Icecast, on this node's own Discord rooms.

::

    Icecast mount ──HTTP GET──► MountReader ──► JitterBuffer ──► RelayFeed ──► Broadcaster ──► rooms
    (or an Icecast relay)       (Ogg demux,     (bursts in,     (a packet or   (one sender  (of
                                 reconnects)     bounded delay)   Opus silence)  thread, 20   every
                                                                                 ms grid)     voice)
    chain titles (OpusTags) or the station's /api/nowplaying ──► Announcer ──► presence, posts

No audio is decoded or encoded: the station's own Opus packets go out as
they came. The rooms, the rejoins after a kick or a voice server's failure,
the speaking flag and the pacing are the station's own
(:class:`~radio.bot.client.RadioBot`, :class:`~radio.bot.sender.Broadcaster`):
a relay node is a station whose feed is a mount. Several relay nodes may read
one mount; Icecast's own relays carry it between machines.

A node may speak through several bot accounts (its voices,
:mod:`radio.relay.voices`): the node owns the one broadcaster and send loop,
every voice's rooms hang on it, and each voice logs in, joins and is reported
on its own. A voice whose token is missing or refused is logged once (and
told to the admins' rooms when the first voice can post); the others play
on. When no voice is left, :meth:`RelayNode.run` stops with a ConfigError
saying why.

When the mount goes away the rooms hear Opus silence, the admins are told
once, and the reader tries again every half second; when it returns the
buffer fills to its target and the programme plays again, paced (a burst of
catching up never reaches the listeners). Time is passed in: ``clock`` for
wall time (rate limits, the admins' messages) and ``monotonic`` for the sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from radio.audio.track import Track
from radio.bot.announcements import Announcer, Rooms
from radio.bot.client import Backoff, RadioBot
from radio.bot.config import DiscordConfig
from radio.bot.sender import Broadcaster
from radio.bot.sendloop import REALTIME_PRIORITY, SendLoop
from radio.bot.voices import TokenLookup
from radio.clock import Clock
from radio.errors import ConfigError
from radio.events import Event, TrackStarted
from radio.outputs.titles import StreamTitle
from radio.relay.config import RelayFile
from radio.relay.feed import RelayFeed
from radio.relay.jitter import JitterBuffer
from radio.relay.mount import RETRY_S, MountChange, MountReader
from radio.relay.nowplaying import NowPlayingPoller
from radio.relay.voices import relay_voices, why_all_off
from radio.tasks import Supervisor, cancel_all

logger = logging.getLogger(__name__)

CEILING_EXTRA_FRAMES: Final = 60  # 1.2 s above the target before the oldest packets go
# As the station does (radio/app): a 1 ms GIL switch interval keeps the sender thread's
# packets on time when the event loop is busy reading the mount.
SWITCH_INTERVAL_S: Final = 0.001


@dataclass(frozen=True)
class RelayOptions:
    """Tunables of a relay node (defaults are the production values)."""

    connect_timeout: float = 20.0
    poll_interval: float = 0.25
    backoff: Backoff = field(default_factory=Backoff)
    realtime_sender: bool = True
    retry: float = RETRY_S  # between attempts on a mount that is away
    bot_options: dict[str, Any] = field(default_factory=dict)  # passed to discord.Client


def relay_rooms(config: DiscordConfig) -> Rooms:
    """Where the relay's first voice says what plays and what is wrong, from its
    ``discord:`` section (the topic or status of every voice's rooms)."""
    guilds = config.guilds
    broadcast = tuple(room for voice in config.voice_plan() for room in voice.rooms.values())
    return Rooms(
        announcements=tuple(g.announcements for g in guilds if g.announcements is not None),
        stages=broadcast,
        voices=broadcast,
        programmers=tuple(g.programmers for g in guilds if g.programmers is not None),
        admins=tuple(room for g in guilds if (room := g.admin_room) is not None),
    )


class RelayNode:
    """One relay node (see the module docstring). Make it inside the running event loop."""

    def __init__(
        self,
        config: RelayFile,
        *,
        clock: Clock,
        monotonic: Callable[[], float],
        options: RelayOptions | None = None,
    ) -> None:
        options = options or RelayOptions()
        self.config = config
        self.clock = clock
        self._monotonic = monotonic
        self._loop = asyncio.get_running_loop()
        source = config.relay
        target = source.buffer_frames
        self.buffer = JitterBuffer(target=target, ceiling=target + CEILING_EXTRA_FRAMES)
        self.feed = RelayFeed(self.buffer, on_title=self._title_from_sender)
        self.reader = MountReader(
            source.source,
            self.buffer,
            titles_from_stream=source.titles_url is None,
            on_change=self._mount_changed,
            retry=options.retry,
        )
        self.poller = (
            NowPlayingPoller(source.titles_url, self._announce)
            if source.titles_url is not None
            else None
        )
        self.announcer = Announcer(
            relay_rooms(config.discord),
            station=source.name,
            now_playing=config.discord.now_playing,
            notify=self._wake_announcements,
        )
        self.supervisor = Supervisor(delay=options.backoff.delay, monotonic=monotonic)
        # The one pacing of every voice's rooms: the node's, not a voice's.
        first = f":{config.discord.guilds[0].id}"
        self.broadcaster = Broadcaster(self.feed, name=f"relay-sender{first}")
        self.send_loop = SendLoop(
            monotonic,
            name=f"relay-sender{first}",
            realtime=REALTIME_PRIORITY if options.realtime_sender else None,
        )
        self._presences: list[Callable[[Event], None]] = []
        self._token: TokenLookup | None = None
        self.voices = relay_voices(
            config.voice_plan(),
            config.discord,
            self.feed,
            station=source.name,
            clock=clock,
            announcer=self.announcer,
            broadcaster=self.broadcaster,
            send_loop=self.send_loop,
            supervisor=self.supervisor,
            backoff=options.backoff,
            token=self._voice_token,
            subscribe=self._presences.append,
            connect_timeout=options.connect_timeout,
            poll_interval=options.poll_interval,
            monotonic=monotonic,
            bot_options=options.bot_options,
        )
        # The first voice: it posts the announcer's messages.
        self.bot: RadioBot[RelayFeed] = self.voices.all[0].bot
        self._tasks: list[asyncio.Task[None]] = []
        self._titles = 0
        self._away_since: tuple[datetime, float] | None = None
        self._closed = False

    # -- titles and the mount's state ---------------------------------------------

    def _title_from_sender(self, title: StreamTitle) -> None:
        # The sender thread: hand the title to the loop and return at once.
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
            self._loop.call_soon_threadsafe(self._announce, title)

    def _announce(self, title: StreamTitle) -> None:
        self._titles += 1
        logger.info(
            "now playing: %s", f"{title.artist} - {title.title}" if title.artist else title.title
        )
        track = Track(self.config.relay.source, title.title, artist=title.artist)
        event = TrackStarted(self._titles, track)
        self.announcer.handle(event)
        for presence in self._presences:  # the other voices' "Listening to"
            presence(event)

    def _wake_announcements(self) -> None:
        # The announcer is made before the bot; the first titles come long after.
        bot = getattr(self, "bot", None)
        if bot is not None:
            bot.wake_announcements()

    def _voice_token(self, variable: str) -> str:
        if self._token is None:
            raise ConfigError(f"{variable}: no token given to the relay node")
        return self._token(variable)

    def _mount_changed(self, change: MountChange) -> None:
        if not change.up:
            if self._away_since is None:
                self._away_since = (self.clock.now(), self._monotonic())
                self.announcer.alert(
                    "outputs",
                    f"The relay's source {change.url} is away ({change.reason}): the rooms hear"
                    " silence until it returns.",
                    admins=True,
                )
            return
        if self._away_since is not None:
            since, began = self._away_since
            self._away_since = None
            seconds = max(0.0, self._monotonic() - began)
            self.announcer.alert(
                "outputs",
                f"The relay's source {change.url} is back (away since"
                f" {since:%Y-%m-%d %H:%M:%S %Z}, {seconds:.0f} s).",
                admins=True,
            )

    # -- running ----------------------------------------------------------------------

    async def run(
        self,
        token: TokenLookup,
        stop: asyncio.Event,
        *,
        before_start: Callable[[RadioBot[Any]], None] | None = None,
    ) -> None:
        """Read the mount and broadcast until ``stop`` is set; close everything then.

        ``token`` gives the token in the variable a voice names (raises
        ConfigError when it is missing: that voice stays off, logged once).
        ``before_start`` is called with each voice's bot before it logs in
        (tests point them at the local Discord). Raises ConfigError, after
        closing, when no voice is left on the air (every token missing or
        refused), saying why for each.
        """
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL_S))
        self._token = token
        waits: list[asyncio.Task[Any]] = []
        try:
            if before_start is not None:
                for entry in self.voices.all:
                    before_start(entry.bot)
            spawn = self.supervisor.spawn
            self._tasks.append(spawn("mount", self.reader.run))
            if self.poller is not None:
                self._tasks.append(spawn("now-playing", self.poller.run))
            # The pacing runs from the start, whichever voice logs in first (or none):
            # the buffer moves on in real time while no room listens.
            self.send_loop.add(self.broadcaster)
            self.send_loop.start()
            self.voices.start()
            ended = self._loop.create_task(self.voices.ended(), name="voices-ended")
            stopping = self._loop.create_task(stop.wait(), name="stop")
            waits = [ended, stopping]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if ended.done() and not stop.is_set():
                raise ConfigError(why_all_off(self.voices))
        finally:
            await cancel_all(waits)
            await self.close()
            sys.setswitchinterval(switch_interval)

    def diagnostics(self) -> list[str]:
        """One line per part: the mount, the buffer, the sender, then each voice and room."""
        mount = self.reader.stats()
        jitter = self.buffer.stats()
        sent = self.broadcaster.stats()
        return [
            f"mount {self.reader.url}: {'up' if mount.up else 'away'}, {mount.connections}"
            f" connections, {mount.failures} failures, {mount.packets} packets,"
            f" {mount.garbled_bytes} garbled bytes, {mount.dropped_packets} packets refused",
            f"buffer: {jitter.depth} packets waiting (target {self.buffer.target}),"
            f" {jitter.played} played, {jitter.silent} silent frames, {jitter.underruns}"
            f" underruns, {jitter.dropped} dropped as too deep",
            f"sender: {sent.frames} frames, {sent.packets} packets to {sent.rooms} rooms,"
            f" {sent.late} late, {sent.skipped} skipped",
            *self.voices.diagnostics(),
        ]

    async def close(self) -> None:
        """Stop reading, hush the rooms (five silence frames each), log every voice out,
        stop the pacing. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await cancel_all(self._tasks)
        for line in self.diagnostics():
            logger.info("%s", line)
        await self.voices.close()  # each voice hushes and leaves its own rooms
        self.send_loop.remove(self.broadcaster)
        self.send_loop.stop()
        self.broadcaster.stop()
        self.feed.close()
