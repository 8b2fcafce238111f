"""What-if: one sender thread for every room of every station, instead of one per room.

discord.py gives each voice connection an ``AudioPlayer`` thread that wakes
every 20 ms to read one packet and send it. This what-if measures the
alternative the on-air figures point to: a single thread that, every 20 ms,
reads each room's :class:`~radio.bot.audio.StationAudio` (so each station is
pulled and encoded once, back to back with the others while the caches are
warm) and hands the packet to discord.py's public
``VoiceClient.send_audio_packet(packet, encode=False)``, which adds the RTP
header and the encryption and sends it.

Bench only: :class:`MuxBot` overrides RadioBot's private ``_play`` so that its
keepers attach rooms to the :class:`Mux` rather than start a player. The
station code is untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict
from typing import Any

import discord
from discord.enums import SpeakingState

from bench.onair_cpu import PlayerCpu, ReadStamp, split_cpu
from bench.onair_stats import Arrival
from radio.audio.frames import FRAME_MS
from radio.bot.audio import SimulcastFeed, StationAudio
from radio.bot.client import RadioBot

logger = logging.getLogger(__name__)


class Mux:
    """The single sender thread. :meth:`attach` rooms, :meth:`start`, :meth:`stop`."""

    def __init__(self) -> None:
        self._rooms: dict[int, tuple[discord.VoiceClient, StationAudio]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Named like discord.py's players so that its CPU is counted as theirs.
        self._thread = threading.Thread(target=self._run, name="audio-player:mux", daemon=True)
        self.sends: dict[int, list[float]] = defaultdict(list)  # room → send instants
        self.reads: list[ReadStamp] = []  # every read, in order (one thread)

    def attach(self, vc: discord.VoiceClient, feed: SimulcastFeed, name: str) -> None:
        """Serve ``vc`` from ``feed`` (idempotent per connection). Call on the event loop."""
        with self._lock:
            if id(vc) in self._rooms:
                return
            self._rooms[id(vc)] = (vc, feed.reader(name))
        asyncio.get_running_loop().create_task(vc.ws.speak(SpeakingState.voice))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def arrivals(self, start: float, end: float) -> list[Arrival]:
        """The sends between ``start`` and ``end``, one stream per room."""
        return [
            Arrival(room, n, at)
            for room, stamps in list(self.sends.items())
            for n, at in enumerate(list(stamps))
            if start <= at <= end
        ]

    def player_cpu(self, start: float, end: float) -> PlayerCpu:
        """The sender thread's CPU in the window, split at the reads."""
        return split_cpu([r for r in list(self.reads) if start <= r.at <= end])

    def _run(self) -> None:
        origin = time.perf_counter()
        ticks = 0
        while not self._stop.is_set():
            with self._lock:
                rooms = list(self._rooms.items())
            for key, (vc, reader) in rooms:
                if not vc.is_connected():
                    continue
                at, before = time.monotonic(), time.thread_time()
                packet = reader.read()
                self.reads.append(ReadStamp(at, before, time.thread_time()))
                if not packet:
                    continue
                with contextlib.suppress(OSError, discord.ClientException):
                    vc.send_audio_packet(packet, encode=False)
                    self.sends[key].append(time.monotonic())
            ticks += 1
            time.sleep(max(0.0, origin + ticks * FRAME_MS / 1000 - time.perf_counter()))


class MuxBot(RadioBot):
    """A RadioBot whose rooms are served by a shared :class:`Mux`."""

    def __init__(self, *args: Any, mux: Mux, **options: Any) -> None:
        super().__init__(*args, **options)
        self._mux = mux

    def _play(self, vc: discord.VoiceClient, channel: discord.abc.Connectable) -> None:
        self._mux.attach(vc, self.feed, f"{channel}")
