"""Skip and request latency, from the command to the first packet of the new tone.

One RadioBot with the real commands cog (:class:`radio.bot.commands.RadioCommands`)
is on air against an in-process emulator whose listener decodes (one stream,
cheap). Bob (a DJ) runs ``/skip``; Alice (a listener) runs ``/request``. The
latency is the listener's arrival instant of the first packet in which the
new track's tone is at -6 dB of its level or louder, minus the instant the
command was injected (both on ``time.monotonic``: the listener stamps arrivals
on its own thread as datagrams are received).

The station tree is the one :class:`radio.station.Station` builds, with plain
track lists for the grid: ``Infallible(Fallback([requests, rotation]))``, the
requests a TrackSequence over the real SQLite :class:`RequestQueue`. Two parts
that the final integration will provide are stood in for here, and said so in
the report: the DJ's skip skips the sequence the Fallback has selected, and
(in the "woken" runs) a queued request wakes the request sequence at once;
without that wake the idle request sequence asks the queue again by itself
after 50 of its ticks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bench.onair_stats import Change, first_change
from radio.audio.decoder import FFmpegDecoder, probe
from radio.audio.root import Infallible
from radio.audio.sequence import TrackSequence
from radio.audio.switch import Fallback
from radio.audio.synth import amplitude
from radio.audio.track import Track
from radio.audio.tracklist import TrackList
from radio.bot.audio import SimulcastFeed
from radio.bot.catalogue import Catalogue
from radio.bot.client import RadioBot, RoomState
from radio.bot.commands import RadioCommands, Services
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.sandbox import Emulator, point_discord_at
from radio.store.db import Database
from radio.store.requests import Request, RequestQueue

LEVEL_DBFS = -12.0
SETTLE_SECONDS = 1.2  # after a command: time for the change to reach the listener


@dataclass(frozen=True, slots=True)
class Sample:
    """One command and what the listener heard."""

    command: str  # "skip" or "request"
    condition: str  # skip: "next buffered" / "next not opened"; request: "woken" / "polled"
    change: Change | None  # None: no new tone within SETTLE_SECONDS
    expected: float  # the tone that should come next


def open_times(track: Track, runs: int) -> list[float]:
    """Milliseconds to open ``track`` as TrackSequence does: probe, start FFmpeg,
    wait for the first buffered frame. Blocks: run it off the event loop."""
    times: list[float] = []
    for _ in range(runs):
        start = time.monotonic()
        decoder = FFmpegDecoder(track.location, info=probe(track.location))
        decoder.wait_buffered(10.0)
        times.append(1000.0 * (time.monotonic() - start))
        decoder.close()
    return times


class WakingQueue(RequestQueue):
    """The request queue, waking the request sequence when a request is queued.

    ``wake`` is set after construction (the sequence needs the queue first);
    None leaves the sequence to find the request by its own polling.
    """

    wake: Callable[[], None] | None = None

    def add(self, user_id: int, user_name: str, track: Track, now: datetime) -> Request:
        request = super().add(user_id, user_name, track, now)
        if self.wake is not None:
            self.wake()
        return request


class SkipSelected:
    """The DJ's skip: skip the track of whichever sequence the Fallback plays."""

    def __init__(self, switch: Fallback) -> None:
        self._switch = switch

    def skip(self) -> bool:
        selected = self._switch.selected
        if selected is None:
            return False
        child = self._switch.children[selected]
        if not isinstance(child, TrackSequence) or child.current is None:
            return False
        child.skip()
        return True

    def next_up(self) -> Track | None:
        return None


async def measure(
    workdir: Path,
    rotation: Sequence[tuple[Track, float]],
    requests: Sequence[tuple[Track, float]],
    *,
    skips: int,
) -> list[Sample]:
    """Run ``skips`` skips and one request per request track (half woken, half polled).

    ``rotation`` and ``requests`` pair each track with its tone frequency.
    Rotation tracks must be longer than the sequence's 10 s preload so that
    early skips find the next track not yet opened.
    """
    freq_of = {track.location: hz for track, hz in [*rotation, *requests]}
    rotation_hz = [hz for _, hz in rotation]
    level = amplitude(LEVEL_DBFS)
    clock = SystemClock()
    samples: list[Sample] = []
    async with Emulator(clock=clock, monotonic=time.monotonic) as emulator:
        world = emulator.world
        role = {r.name: r.id for r in world.guild.roles.values()}
        text = world.text_channel.id
        voice = world.voice_channel.id
        config = DiscordConfig.model_validate(
            {
                "guilds": [
                    {
                        "id": world.guild.id,
                        "broadcast": voice,
                        "announcements": text,
                        "programmers": text,
                        "roles": {"dj": [role["dj"]], "admin": [role["admin"]]},
                    }
                ]
            }
        )
        database = Database(workdir / "radio.sqlite3")
        queue = WakingQueue(database, quota=len(requests) + 1, cooldown=timedelta(0))
        on_rotation = TrackSequence(TrackList([t for t, _ in rotation], loop=True), name="rot")
        on_request = TrackSequence(queue, name="requests")
        switch = Fallback([on_request, on_rotation], transition=0.05)
        root = Infallible(switch)
        feed = SimulcastFeed(root)
        bot = RadioBot(config, feed, clock=clock, guild_ready_timeout=0.05)
        services = Services(
            config=config,
            queue=queue,
            catalogue=Catalogue([t for t, _ in requests]),
            controls=SkipSelected(switch),
            rooms=bot,
            clock=clock,
            slot_now=lambda: None,
        )
        await bot.add_cog(RadioCommands(services))
        point_discord_at(bot, emulator.addresses)
        task = asyncio.create_task(bot.start(world.token))

        def heard() -> list[tuple[float, bytes]]:
            return [
                (p.arrival, p.pcm)
                for p in list(emulator.record.packets)
                if p.pcm is not None and p.channel_id == voice
            ]

        try:
            async with asyncio.timeout(30):
                while bot.rooms[world.guild.id].state is not RoomState.ON_AIR:
                    if task.done():
                        task.result()
                    await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            for n in range(skips):
                # Alternate: soon after a track starts (its successor is opened
                # only 10 s before its end) and a few seconds later (buffered).
                await asyncio.sleep(0.6 if n % 2 == 0 else 3.2)
                playing = on_rotation.current
                old = freq_of[playing.location] if playing is not None else 0.0
                buffered = on_rotation.preloaded is not None
                expected = rotation_hz[(rotation_hz.index(old) + 1) % len(rotation_hz)]
                since = time.monotonic()
                await emulator.inject_interaction("bob", "skip")
                await asyncio.sleep(SETTLE_SECONDS)
                change = first_change(heard(), since, old, rotation_hz, level)
                condition = "next buffered" if buffered else "next not opened"
                samples.append(Sample("skip", condition, change, expected))
            for n, (track, hz) in enumerate(requests):
                woken = n % 2 == 0
                queue.wake = on_request.wake if woken else None
                playing = on_rotation.current
                old = freq_of[playing.location] if playing is not None else 0.0
                since = time.monotonic()
                await emulator.inject_interaction(
                    "alice", "request", [{"name": "query", "value": track.title}]
                )
                await asyncio.sleep(SETTLE_SECONDS + 0.8)
                change = first_change(heard(), since, old, [old, hz], level)
                samples.append(Sample("request", "woken" if woken else "polled", change, hz))
                # let the request play out before the next one
                await asyncio.sleep((track.duration or 2.0) + 0.5)
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
            feed.close()
            root.source.close()
            database.close()
    return samples
