"""The Icecast output: the station's own Opus packets on an Ogg/Opus mount, not re-encoded.

::

    SimulcastFeed ──packet()──► bounded queue ──worker thread──► OggOpusWriter ──► IcecastSource
    (sender thread: never waits)   (full: dropped, counted)      (pages of 200 ms)   (HTTP PUT)
    station events ──title()──────┘ (in order with the packets)

The sender thread only puts each packet in a queue; a worker thread of the
output's own wraps the packets in Ogg pages and writes them to Icecast, so a
dead, slow or restarting Icecast costs nothing on Discord.

Pages and latency: a page is closed once it holds ``page_ms`` of audio (200
ms: 10 packets) and sent when the next packet is written. The worker wakes
once per page to drain the queue (not once per packet: on a 50 Hz grid a
wake-up costs far more CPU than the packets it handles, see BENCHMARKS.md), so
a packet reaches Icecast at most about two pages (400 ms) after the station
encoded it; listeners add their own buffer. Longer pages would save a few
bytes of page header (27 + one lacing byte per packet segment: under 1 % of a
128 kb/s stream at 200 ms) and CPU, at the price of latency.

Stream title: Icecast reads TITLE and ARTIST from the Opus comment header of
the stream (``OpusTags``). A new title is therefore a new chained logical
stream (RFC 3533 section 4, "chaining"): the running one ends with an EOS
page, a new one begins with a new serial number, its own OpusHead and OpusTags
(the new title), then the packets; granule positions restart at 0. Icecast
2.4 takes the new headers as the stream's headers for every new listener and
sends them to the listeners already there; FFmpeg and browsers play across.
The first chain of each connection declares libopus's 312-sample pre-skip
(its decoder starts there); later chains declare none, because their packets
continue the same encoder's stream: a decoder that keeps its state across a
chain (FFmpeg) then plays on sample for sample, with no hole at the title
change (tests/outputs/test_icecast.py checks both).

Failures: the output reconnects with exponential backoff (``backoff_base`` s,
doubling, at most ``backoff_cap`` s), logs one line per change of state, and
calls ``on_change`` with an :class:`IcecastChange` (the application turns it
into one message to the admins). While the mount is down the packets that
arrive are discarded (counted as ``discarded``: the listeners of a mount that
is down hear nothing anyway) but the latest title is kept for the next
connection.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from radio.outputs.icecast_client import IcecastMount, IcecastSource, SourceInfo
from radio.outputs.mount_worker import IcecastChange, MountWorker, Stop
from radio.outputs.oggopus import OPUS_PRE_SKIP, OPUS_RATE, OggOpusWriter
from radio.outputs.titles import StreamTitle, stream_title

logger = logging.getLogger(__name__)

QUEUE_PACKETS: Final = 250  # 5 s of packets: a network hiccup, not an outage
PAGE_MS: Final = 200  # audio per Ogg page: Icecast's (and its listeners') added latency
BACKOFF_BASE_S: Final = 1.0
BACKOFF_CAP_S: Final = 30.0
MAX_TAG: Final = 1000  # characters of a title or artist put in the comment header


@dataclass(frozen=True, slots=True)
class IcecastStats:
    """Counters of an output since it started."""

    received: int  # packets taken from the feed into the queue
    dropped: int  # packets the feed offered while the queue was full
    discarded: int  # packets that arrived while the mount was down
    sent: int  # packets written to Icecast (in pages)
    chains: int  # logical streams begun (one per connection and per title change)
    connections: int  # successful logins
    failures: int  # failed logins and broken connections
    up: bool


_Item = bytes | StreamTitle | Stop


class IcecastOutput(MountWorker):
    """Publishes the station's packets to one Icecast mount (see the module docstring).

    :meth:`packet` is the feed's tap (the sender thread; never waits);
    :meth:`title` may be called from any thread. :meth:`start` starts the
    worker thread; :meth:`close` ends the stream (an EOS page) and stops it.
    ``monotonic`` is the clock the backoff waits are measured with.
    """

    def __init__(
        self,
        mount: IcecastMount,
        password: str,
        *,
        monotonic: Callable[[], float],
        info: SourceInfo | None = None,
        on_change: Callable[[IcecastChange], None] | None = None,
        capacity: int = QUEUE_PACKETS,
        page_ms: int = PAGE_MS,
        backoff_base: float = BACKOFF_BASE_S,
        backoff_cap: float = BACKOFF_CAP_S,
        connect_timeout: float = 10.0,
        send_timeout: float = 10.0,
    ) -> None:
        if capacity < 1 or page_ms < 20 or backoff_base <= 0 or backoff_cap < backoff_base:
            raise ValueError("invalid queue, page or backoff settings")
        super().__init__(
            "icecast",
            logger,
            mount,
            password,
            info or SourceInfo(),
            on_change=on_change,
            backoff=(backoff_base, backoff_cap),
            timeouts=(connect_timeout, send_timeout),
            capacity=capacity,
            interval=page_ms / 1000,
        )
        self._monotonic = monotonic
        self._page_samples = page_ms * OPUS_RATE // 1000
        self._title: StreamTitle | None = None  # the worker's latest title
        self._serial = 0  # of the worker's current chain
        self._discarded = 0
        self._sent = 0
        self._chains = 0

    # --- the producers' side -------------------------------------------------

    # --- life ------------------------------------------------------------------

    def stats(self) -> IcecastStats:
        """A snapshot of the counters."""
        with self._lock:
            return IcecastStats(
                received=self._received,
                dropped=self._dropped,
                discarded=self._discarded,
                sent=self._sent,
                chains=self._chains,
                connections=self._connections,
                failures=self._failures,
                up=self._up,
            )

    # --- the worker --------------------------------------------------------------

    def _stream(self, source: IcecastSource) -> None:
        """Send the queue's packets in chained Ogg streams until a stop; raises OutputError.

        A chain begins at the first packet after the connection or a title
        change (so titles that follow each other with no audio between make no
        empty chains), and ends at the next title change or the stop.
        """
        buffer = io.BytesIO()
        writer: OggOpusWriter | None = None
        pre_skip = OPUS_PRE_SKIP  # the connection's first chain only, see the module docstring
        flushed = 0  # packets of this chain already sent in pages
        while True:
            item = self._next()
            if item is None:
                source.poll()  # the queue is drained: what did Icecast say meanwhile?
                continue
            if isinstance(item, bytes):
                if writer is None:
                    writer = self._chain(source, buffer, pre_skip)
                    pre_skip = 0
                    flushed = 0
                accepted = writer.packets
                writer.write(item)
                if buffer.tell():
                    # A page closed: it holds every packet before this one.
                    self._flush(source, buffer, accepted - flushed)
                    flushed = accepted
                continue
            if isinstance(item, StreamTitle):
                if item == self._title:
                    continue
                self._title = item
            if writer is not None:
                writer.close()  # EOS: this chain ends with the packets it holds
                self._flush(source, buffer, writer.packets - flushed)
                writer = None
            if isinstance(item, Stop):
                return

    def _chain(self, source: IcecastSource, buffer: io.BytesIO, pre_skip: int) -> OggOpusWriter:
        # A new logical stream with the current title; its headers are sent at once.
        serial = secrets.randbits(32)
        while serial == self._serial:  # a chain's serial differs from the one before
            serial = secrets.randbits(32)
        self._serial = serial
        tags = {}
        if self._title is not None:
            if self._title.title:
                tags["TITLE"] = self._title.title[:MAX_TAG]
            if self._title.artist:
                tags["ARTIST"] = self._title.artist[:MAX_TAG]
        writer = OggOpusWriter(
            buffer,
            serial=serial,
            pre_skip=pre_skip,
            tags=tags,
            page_samples=self._page_samples,
            fsync_every=None,
        )
        with self._lock:
            self._chains += 1
        self._flush(source, buffer, 0)
        return writer

    def _flush(self, source: IcecastSource, buffer: io.BytesIO, packets: int) -> None:
        data = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if data:
            source.send(data)
        with self._lock:
            self._sent += packets

    def _next(self) -> _Item | None:
        """The next queued item; None once the queue is drained, after a pause.

        The worker wakes once per page (``page_ms``), not per packet: a wake-up
        costs far more CPU than the few packets it then handles (BENCHMARKS.md).
        """
        try:
            return self._items.popleft()
        except IndexError:
            self._wake.wait(self._interval)
            return None

    def _wait(self, delay: float) -> bool:
        """Wait ``delay`` s, discarding packets but keeping the latest title; True if stopped."""
        end = self._monotonic() + delay
        while True:
            item = self._next()
            if item is None:
                if self._monotonic() >= end:
                    return False
                continue
            if isinstance(item, Stop):
                return True
            if isinstance(item, StreamTitle):
                self._title = item
                continue
            with self._lock:
                self._discarded += 1


__all__ = [
    "IcecastChange",
    "IcecastOutput",
    "IcecastStats",
    "StreamTitle",
    "stream_title",
]
