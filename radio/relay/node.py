"""A relay node: the station's mount, read from Icecast, on this node's own Discord rooms.

::

    Icecast mount ──HTTP GET──► MountReader ──► JitterBuffer ──► RelayFeed ──► Broadcaster ──► rooms
    (or an Icecast relay)       (Ogg demux,     (bursts in,     (a packet or   (one sender
                                 reconnects)     bounded delay)   Opus silence)  thread, 20 ms grid)
    chain titles (OpusTags) or the station's /api/nowplaying ──► Announcer ──► presence, posts

No audio is decoded or encoded: the station's own Opus packets go out as
they came. The rooms, the rejoins after a kick or a voice server's failure,
the speaking flag and the pacing are the station's own
(:class:`~radio.bot.client.RadioBot`, :class:`~radio.bot.sender.Broadcaster`):
a relay node is a station whose feed is a mount. Several relay nodes may read
one mount; Icecast's own relays carry it between machines.

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
from radio.clock import Clock
from radio.events import TrackStarted
from radio.outputs.icecast import StreamTitle
from radio.relay.config import RelayFile
from radio.relay.feed import RelayFeed
from radio.relay.jitter import JitterBuffer
from radio.relay.mount import RETRY_S, MountChange, MountReader
from radio.relay.nowplaying import NowPlayingPoller
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
    """Where the relay's bot says what plays and what is wrong, from its ``discord:`` section."""
    guilds = config.guilds
    return Rooms(
        announcements=tuple(g.announcements for g in guilds if g.announcements is not None),
        stages=tuple(g.broadcast for g in guilds),
        voices=tuple(g.broadcast for g in guilds),
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
        self.bot: RadioBot[RelayFeed] = RadioBot(
            config.discord,
            self.feed,
            clock=clock,
            announcer=self.announcer,
            backoff=options.backoff,
            connect_timeout=options.connect_timeout,
            poll_interval=options.poll_interval,
            sync_commands=False,
            monotonic=monotonic,
            realtime=options.realtime_sender,
            supervisor=self.supervisor,
            **options.bot_options,
        )
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
        self.announcer.handle(TrackStarted(self._titles, track))

    def _wake_announcements(self) -> None:
        # The announcer is made before the bot; the first titles come long after.
        bot = getattr(self, "bot", None)
        if bot is not None:
            bot.wake_announcements()

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
        token: str,
        stop: asyncio.Event,
        *,
        before_start: Callable[[RadioBot[RelayFeed]], None] | None = None,
    ) -> None:
        """Read the mount and broadcast until ``stop`` is set; close everything then.

        ``before_start`` is called with the bot before it logs in (tests point
        it at the local Discord). Raises what ``bot.start`` raises
        (discord.LoginFailure for a refused token, ...), after closing.
        """
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL_S))
        bot_task: asyncio.Task[None] | None = None
        try:
            if before_start is not None:
                before_start(self.bot)
            spawn = self.supervisor.spawn
            self._tasks.append(spawn("mount", self.reader.run))
            if self.poller is not None:
                self._tasks.append(spawn("now-playing", self.poller.run))
            bot_task = self._loop.create_task(self.bot.start(token), name="bot")
            stopping = self._loop.create_task(stop.wait(), name="stop")
            done, _ = await asyncio.wait({bot_task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if bot_task in done:
                bot_task.result()  # raises why the bot stopped
                logger.warning("the bot stopped by itself")
        finally:
            await self.close()
            sys.setswitchinterval(switch_interval)
            if bot_task is not None and not bot_task.done():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(bot_task, 10)

    def diagnostics(self) -> list[str]:
        """One line per part: the mount, the buffer, the sender."""
        mount = self.reader.stats()
        jitter = self.buffer.stats()
        sent = self.bot.broadcaster.stats()
        return [
            f"mount {self.reader.url}: {'up' if mount.up else 'away'}, {mount.connections}"
            f" connections, {mount.failures} failures, {mount.packets} packets,"
            f" {mount.garbled_bytes} garbled bytes, {mount.dropped_packets} packets refused",
            f"buffer: {jitter.depth} packets waiting (target {self.buffer.target}),"
            f" {jitter.played} played, {jitter.silent} silent frames, {jitter.underruns}"
            f" underruns, {jitter.dropped} dropped as too deep",
            f"sender: {sent.frames} frames, {sent.packets} packets to {sent.rooms} rooms,"
            f" {sent.late} late, {sent.skipped} skipped",
        ]

    async def close(self) -> None:
        """Stop reading, hush the rooms, log out. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await cancel_all(self._tasks)
        for line in self.diagnostics():
            logger.info("%s", line)
        await self.bot.close()
        self.feed.close()
