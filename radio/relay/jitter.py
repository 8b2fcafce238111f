"""The relay's jitter buffer: packets arrive in bursts, leave one per 20 ms frame.

Icecast hands a relay whole Ogg pages (the station writes one every 200 ms,
10 packets) and, on every new connection, a burst of the last few seconds;
the network adds its own jitter. The sender takes one packet per frame on its
20 ms grid (:class:`~radio.bot.sender.Broadcaster`), so however the packets
arrive they leave paced: bursts in never become bursts out.

The rule, in frames (no clock here: the sender's calls are the clock):

* **Filling**: at start and after the buffer ran dry, nothing is played (the
  relay sends Opus silence) until ``target`` packets are waiting; then it plays.
* **Playing**: one packet per :meth:`JitterBuffer.take`. When none is left, an
  underrun is counted and the buffer is filling again.
* **Too deep**: when more than ``ceiling`` packets wait (a connection's burst,
  or a station clock slightly faster than the relay's), the oldest are dropped
  down to ``target``, so the delay stays bounded.

A packet may carry the title of the chain it begins; the title is handed out
with the packet when it is played, or with the first packet kept when the
packets before it are dropped, so that the title changes when the listeners
hear the new track. Thread-safe: the mount reader puts, the sender thread takes.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Final

from radio.outputs.titles import StreamTitle

TARGET_FRAMES: Final = 15  # 300 ms: above one Ogg page of the station (200 ms) plus jitter
CEILING_FRAMES: Final = 75  # 1.5 s: past this the oldest go (a burst, clock drift)


@dataclass(frozen=True, slots=True)
class JitterStats:
    """Counters of a buffer since it was made."""

    received: int  # packets put
    played: int  # packets taken
    silent: int  # takes that found nothing to play (filling)
    underruns: int  # times the buffer ran dry while playing
    dropped: int  # packets dropped because the buffer was too deep
    depth: int  # packets waiting now
    playing: bool


class JitterBuffer:
    """Packets in from the mount, one out per frame (see the module docstring).

    Raises ValueError when ``target`` is less than 1 or ``ceiling`` less than ``target``.
    """

    def __init__(self, *, target: int = TARGET_FRAMES, ceiling: int = CEILING_FRAMES) -> None:
        if target < 1:
            raise ValueError("the target depth must be at least one packet")
        if ceiling < target:
            raise ValueError("the ceiling must be at least the target depth")
        self.target = target
        self.ceiling = ceiling
        self._packets: deque[tuple[bytes, StreamTitle | None]] = deque()
        self._lock = threading.Lock()
        self._playing = False
        self._received = 0
        self._played = 0
        self._silent = 0
        self._underruns = 0
        self._dropped = 0

    def put(self, packet: bytes, title: StreamTitle | None = None) -> None:
        """Queue ``packet`` (with the title it begins, if any); drop the oldest when too deep."""
        with self._lock:
            self._packets.append((packet, title))
            self._received += 1
            if len(self._packets) > self.ceiling:
                carried: StreamTitle | None = None
                while len(self._packets) > self.target:
                    _, dropped_title = self._packets.popleft()
                    carried = dropped_title or carried
                    self._dropped += 1
                if carried is not None and self._packets[0][1] is None:
                    self._packets[0] = (self._packets[0][0], carried)

    def take(self) -> tuple[bytes | None, StreamTitle | None]:
        """The packet for this frame and the title it begins; ``(None, None)`` while filling."""
        with self._lock:
            if not self._playing:
                if len(self._packets) < self.target:
                    self._silent += 1
                    return None, None
                self._playing = True
            if not self._packets:
                self._playing = False
                self._underruns += 1
                self._silent += 1
                return None, None
            self._played += 1
            return self._packets.popleft()

    def stats(self) -> JitterStats:
        """A snapshot of the counters."""
        with self._lock:
            return JitterStats(
                received=self._received,
                played=self._played,
                silent=self._silent,
                underruns=self._underruns,
                dropped=self._dropped,
                depth=len(self._packets),
                playing=self._playing,
            )
