"""Stations on the local Discord: N independent programmes, each in R rooms, in one process.

A *station* is an independent programme: its own source tree (a
:class:`~radio.audio.sequence.TrackSequence` decoding files with FFmpeg,
under the same Fallback and Infallible root as :class:`radio.station.Station`),
its own :class:`~radio.bot.audio.SimulcastFeed` (one Opus encode per frame) and
its own :class:`~radio.bot.client.RadioBot`. All the bots of a run share one
:class:`~radio.bot.sendloop.SendLoop` (one sender thread for the process)
unless a what-if asks for one per station. A station in R rooms is one bot in
R guilds reading one feed (simulcast). The emulator runs in a child process
and records arrivals only, so this process's CPU time (with its FFmpeg
children) is what the stations cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import discord.opus

from bench.onair_cpu import (
    PlayerCpu,
    ReadStamp,
    by_role,
    process_cpu,
    snapshot,
    spent,
    split_cpu,
    sum_players,
    thread_cpu,
)
from bench.onair_emulator import EmulatorProcess, Guild
from bench.onair_stats import Arrival, IntervalSummary, summarize
from radio.audio.operators import Sine
from radio.audio.root import Infallible
from radio.audio.sequence import TrackSequence
from radio.audio.source import Source
from radio.audio.switch import Fallback
from radio.audio.track import Track
from radio.audio.tracklist import TrackList
from radio.bot.audio import SimulcastFeed, music_encoder
from radio.bot.client import RadioBot, RoomState
from radio.bot.config import DiscordConfig
from radio.bot.sendloop import REALTIME_PRIORITY, SendLoop
from radio.clock import SystemClock
from radio.grid.holder import Holder
from radio.sandbox import point_discord_at

logger = logging.getLogger(__name__)

SourceKind = Literal["files", "sine"]
ON_AIR_TIMEOUT = 180.0  # seconds for every bot to join: a deadlock guard, not a measure


@dataclass(frozen=True, slots=True)
class RunResult:
    """One configuration's figures."""

    stations: int
    rooms: int  # rooms per station
    seconds: float  # the measured window (wall time = audio time)
    own_cpu: float  # seconds of CPU of the bot process
    ffmpeg_cpu: float  # seconds of CPU of its children (FFmpeg decoders, ffprobe)
    emulator_cpu: float  # seconds of CPU of the emulator (the listener), not the station's
    intervals: IntervalSummary  # at the listener
    sent: IntervalSummary  # between the player threads' reads, in the bot process
    machine: IntervalSummary  # a bare 20 ms sleeper in its own process, same window
    machine_rt: IntervalSummary | None  # the same at real-time priority (None if refused)
    sender_realtime: int | None  # the SendLoop thread's SCHED_FIFO priority, None if normal
    gc_passes: list[tuple[int, float]]  # the process's garbage collections in the window
    threads: dict[str, float]  # CPU seconds by thread role (see bench.onair_cpu)
    players: PlayerCpu
    pulled: int  # station frames pulled, all stations
    encoded: int  # Opus encodes, all stations

    @property
    def station_cpu(self) -> float:
        """CPU seconds of the stations: the bot process and its FFmpeg children."""
        return self.own_cpu + self.ffmpeg_cpu


class GcPauses:
    """The garbage collector's passes in this process while installed: (generation, seconds).

    A full collection holds the GIL for its whole length; a sender thread that
    wakes during one waits for it, whatever its priority.
    """

    def __init__(self) -> None:
        self.passes: list[tuple[int, float]] = []
        self._started = 0.0

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.passes.append((info["generation"], time.perf_counter() - self._started))


class StampedFeed(SimulcastFeed):
    """A SimulcastFeed that notes when the sender thread reads (just before it sends)
    and the thread's CPU clock around the read.

    The intervals between the sender's reads are its own jitter, before the
    network and the listener's process add theirs; the CPU clock splits the
    sender thread's work into ours (in the read) and discord.py's (between reads).
    """

    def __init__(self, station: Source, encoder: discord.opus.Encoder, batch: int = 1) -> None:
        super().__init__(station, encoder, batch=batch)
        self.reads: dict[int, list[ReadStamp]] = defaultdict(list)

    def next_packet(self) -> bytes | None:
        # The bot's one sender thread per station reads here (radio.bot.sender).
        at, before = time.monotonic(), time.thread_time()
        got = super().next_packet()
        self.reads[threading.get_ident()].append(ReadStamp(at, before, time.thread_time()))
        return got

    def _window(self, start: float, end: float) -> dict[int, list[ReadStamp]]:
        return {
            ident: [r for r in list(stamps) if start <= r.at <= end]
            for ident, stamps in list(self.reads.items())
        }

    def sends(self, start: float, end: float, stream: int) -> list[Arrival]:
        """The reads between ``start`` and ``end`` as arrivals of stream ``stream``."""
        stamps = sorted(
            (stamp for stamps in self._window(start, end).values() for stamp in stamps),
            key=lambda stamp: stamp.at,
        )
        return [Arrival(stream, n, stamp.at) for n, stamp in enumerate(stamps)]

    def window(self, start: float, end: float) -> dict[int, list[ReadStamp]]:
        """The reads between ``start`` and ``end``, by thread."""
        return self._window(start, end)


def sender_cpu(feeds: Sequence[StampedFeed], start: float, end: float) -> PlayerCpu:
    """Sender threads' CPU between their first and last read in the window, split at the reads.

    A shared send loop reads every feed on one thread: the reads of all feeds
    are merged per thread, so that the time between two reads is the loop's
    own (sends, waits) and not another station's pull and encode.
    """
    merged: dict[int, list[ReadStamp]] = defaultdict(list)
    for feed in feeds:
        for ident, stamps in feed.window(start, end).items():
            merged[ident] += stamps
    return sum_players(
        [split_cpu(sorted(stamps, key=lambda s: s.cpu_before)) for stamps in merged.values()]
    )


@dataclass(frozen=True, slots=True)
class Encoding:
    """Opus settings of a run: the station's (:func:`radio.bot.audio.music_encoder`:
    128 kb/s, CELT, no FEC, libopus complexity 10) unless a what-if asks otherwise."""

    complexity: int | None = None  # None: libopus's default, 10
    fec: bool = False  # True: discord.py's defaults (FEC at 15 % loss: hybrid SILK+CELT)
    batch: int = 1  # frames pulled and encoded per wake-up (SimulcastFeed's batch)

    def describe(self) -> str:
        complexity = 10 if self.complexity is None else self.complexity
        mode = "discord.py's defaults: FEC on, hybrid" if self.fec else "music, FEC off: CELT"
        batch = f", {self.batch} frames encoded per wake-up" if self.batch > 1 else ""
        return f"128 kb/s, {mode}, complexity {complexity}{batch}"


def encoder(encoding: Encoding = Encoding()) -> discord.opus.Encoder:
    """The Opus encoder with ``encoding``'s settings.

    discord.py has no setter for the complexity; the what-if reaches its ctypes
    handle, which a bench may do to measure a fix and the station must not.
    """
    made = discord.opus.Encoder() if encoding.fec else music_encoder()
    if encoding.complexity is not None:
        discord.opus._lib.opus_encoder_ctl(made._state, OPUS_SET_COMPLEXITY, encoding.complexity)
    return made


OPUS_SET_COMPLEXITY = 4010  # from opus_defines.h


class Station:
    """One programme: its source tree and its shared feed."""

    def __init__(
        self,
        kind: SourceKind,
        tracks: Sequence[Track],
        index: int,
        encoding: Encoding = Encoding(),
    ) -> None:
        self.sequence: TrackSequence | None = None
        program: Source
        if kind == "sine":
            program = Sine(300.0 + 50.0 * index, level_dbfs=-12.0)
        else:
            # Each station starts at a different track so that track changes
            # (new FFmpeg processes) do not all happen at the same instant.
            shift = index % len(tracks)
            order = [*tracks[shift:], *tracks[:shift]]
            self.sequence = TrackSequence(TrackList(order, loop=True), name=f"station-{index}")
            program = self.sequence
        self.root = Infallible(Fallback([Holder(), program], transition=0.05))
        self.feed = StampedFeed(self.root, encoder(encoding), encoding.batch)

    def close(self) -> None:
        self.feed.close()
        self.root.source.close()


def bot_for(
    station: Station, guilds: Sequence[Guild], send_loop: SendLoop | None = None
) -> RadioBot:
    """A RadioBot broadcasting ``station`` in the voice room of every guild given.

    ``send_loop`` is shared by the bots of a run; None gives the bot its own.
    """
    config = DiscordConfig.model_validate(
        {"guilds": [{"id": g.id, "broadcast": g.voice} for g in guilds]}
    )
    return RadioBot(
        config,
        station.feed,
        clock=SystemClock(),
        guild_ready_timeout=0.05,
        send_loop=send_loop,
    )


async def run(
    stations: int,
    rooms: int,
    seconds: float,
    *,
    kind: SourceKind,
    tracks: Sequence[Track],
    encoding: Encoding = Encoding(),
    shared_loop: bool = True,
    ahead: bool = False,
    realtime_listener: bool = False,
    realtime_sender: bool = False,
    warmup: float = 3.0,
) -> RunResult:
    """Put ``stations`` stations on air in ``rooms`` rooms each; measure ``seconds``.

    With ``shared_loop`` every bot's sender runs on one :class:`SendLoop`;
    otherwise each bot has its own thread; ``ahead`` is the shared loop's
    option (send all, then encode all). ``realtime_listener`` runs the
    emulator at real-time priority (see :meth:`EmulatorProcess.start`);
    ``realtime_sender`` lets the shared loop's thread ask for SCHED_FIFO (the
    default on air; off here unless asked, to compare). Two bare sleepers, at
    normal and at real-time priority, run during the window. Raises
    RuntimeError when a bot fails to get on air.
    """
    send_loop = (
        SendLoop(
            time.monotonic,
            name="radio-sender",
            ahead=ahead,
            realtime=REALTIME_PRIORITY if realtime_sender else None,
        )
        if shared_loop
        else None
    )
    # The emulator keeps 50 packets per --keep-seconds, counted over all senders.
    emulator = await EmulatorProcess.start(
        guilds=stations * rooms,
        keep_seconds=(seconds + warmup + 30) * stations * rooms,
        realtime=realtime_listener,
    )
    made: list[Station] = []
    bots: list[RadioBot] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        for index in range(stations):
            station = Station(kind, tracks, index, encoding)
            made.append(station)
            bot = bot_for(station, emulator.guilds[index * rooms : (index + 1) * rooms], send_loop)
            point_discord_at(bot, emulator.addresses)
            bots.append(bot)
            tasks.append(asyncio.create_task(bot.start(emulator.token)))
        await _all_on_air(bots, tasks)
        await asyncio.sleep(warmup)
        await emulator.clear()
        probe = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.onair_probe", str(seconds), stdout=asyncio.subprocess.PIPE
        )
        probe_rt = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bench.onair_probe", str(seconds), "--realtime"),
            stdout=asyncio.subprocess.PIPE,
        )
        outsiders = frozenset({emulator.pid, probe.pid, probe_rt.pid})
        before = snapshot(exclude=outsiders)
        emulator_before = process_cpu(emulator.pid) or 0.0
        feed_before = [s.feed.stats() for s in made]
        threads_before = thread_cpu()
        started = time.monotonic()
        with GcPauses() as collections:
            await asyncio.sleep(seconds)
        ended = time.monotonic()
        threads_after = thread_cpu()
        after = snapshot(exclude=outsiders)
        emulator_after = process_cpu(emulator.pid) or 0.0
        feed_after = [s.feed.stats() for s in made]
        arrivals = await emulator.arrivals()
        machine_out, _ = await probe.communicate()
        machine = IntervalSummary(**json.loads(machine_out))
        machine_rt_out, _ = await probe_rt.communicate()
        machine_rt = IntervalSummary(**json.loads(machine_rt_out)) if machine_rt_out else None
        sender_realtime = send_loop.realtime if send_loop is not None else None
    finally:
        await asyncio.gather(*(bot.close() for bot in bots), return_exceptions=True)
        if send_loop is not None:
            send_loop.stop()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
        for station in made:
            station.close()
        await emulator.stop()
    own, children = spent(before, after)
    return RunResult(
        stations=stations,
        rooms=rooms,
        seconds=ended - started,
        own_cpu=own,
        ffmpeg_cpu=children,
        emulator_cpu=emulator_after - emulator_before,
        intervals=summarize(arrivals),
        sent=summarize([a for k, s in enumerate(made) for a in s.feed.sends(started, ended, k)]),
        machine=machine,
        machine_rt=machine_rt,
        sender_realtime=sender_realtime,
        gc_passes=collections.passes,
        threads=by_role(threads_before, threads_after),
        players=sender_cpu([s.feed for s in made], started, ended),
        pulled=sum(a.pulled - b.pulled for a, b in zip(feed_after, feed_before, strict=True)),
        encoded=sum(a.encoded - b.encoded for a, b in zip(feed_after, feed_before, strict=True)),
    )


async def _all_on_air(bots: Sequence[RadioBot], tasks: Sequence[asyncio.Task[None]]) -> None:
    async with asyncio.timeout(ON_AIR_TIMEOUT):
        while not all(
            room.state is RoomState.ON_AIR for bot in bots for room in bot.rooms.values()
        ):
            for task in tasks:
                if task.done():
                    task.result()  # raises what stopped the bot
                    raise RuntimeError("a bot stopped before it was on air")
            await asyncio.sleep(0.1)
