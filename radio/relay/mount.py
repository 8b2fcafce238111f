"""Reading the station's Ogg/Opus mount from Icecast, for as long as the relay runs.

:class:`MountReader` holds one streaming HTTP GET on the mount (Icecast
itself, or an Icecast relay server carrying the same mount) and puts every
packet the :class:`~radio.relay.demux.OggOpusDemuxer` finds into the relay's
:class:`~radio.relay.jitter.JitterBuffer`, with the chain's title on the
chain's first packet (when titles come from the stream).

When the mount goes away (Icecast restarted, the station's source gone, a
404 while the station reconnects, a connection that stalls for
``read_timeout`` seconds) the reader says so once (one log line and one
:class:`MountChange`) and tries again every ``retry`` seconds, without
backoff: a refused connection costs next to nothing, and the listeners are
hearing silence until it succeeds. A new connection starts a new demuxer (a
page torn by the old one never reaches the buffer) that skips the audio
pages already relayed (Icecast's burst replays the last seconds).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import aiohttp

from radio import __version__
from radio.outputs.titles import StreamTitle
from radio.relay.demux import ChainStarted, OggOpusDemuxer
from radio.relay.jitter import JitterBuffer

logger = logging.getLogger(__name__)

RETRY_S: Final = 0.5  # between attempts while the mount is away: audio back soon after it is
READ_TIMEOUT_S: Final = 5.0  # a mount silent this long is taken as gone (pages come every 0.2 s)
CONNECT_TIMEOUT_S: Final = 5.0
CHUNK_BYTES: Final = 16 * 1024
OGG_TYPES: Final = frozenset({"application/ogg", "audio/ogg", "audio/opus", "audio/x-ogg"})


@dataclass(frozen=True, slots=True)
class MountChange:
    """The mount came (``up``) or went (``reason`` says why)."""

    url: str
    up: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MountStats:
    """Counters of a reader since it was made."""

    connections: int  # successful connections (HTTP 200, Ogg)
    failures: int  # failed attempts and lost connections
    bytes: int
    packets: int  # audio packets put into the buffer
    chains: int  # chained streams begun (titles)
    garbled_bytes: int  # bytes that were not valid pages
    dropped_packets: int  # refused by the demuxer (not 20 ms, torn)
    up: bool


class MountReader:
    """The relay's source: one mount, read until cancelled (see the module docstring).

    ``titles_from_stream`` puts each chain's TITLE and ARTIST on its first
    packet (False when the titles come from the station's JSON API instead).
    ``on_change`` is called on the event loop at each change of state and must
    not raise (a failure is logged).
    """

    def __init__(
        self,
        url: str,
        buffer: JitterBuffer,
        *,
        titles_from_stream: bool = True,
        on_change: Callable[[MountChange], None] = lambda change: None,
        retry: float = RETRY_S,
        read_timeout: float = READ_TIMEOUT_S,
        connect_timeout: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.buffer = buffer
        self.titles_from_stream = titles_from_stream
        self._on_change = on_change
        self.retry = retry
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=connect_timeout,
            sock_connect=connect_timeout,
            sock_read=read_timeout,
        )
        self._up: bool | None = None  # None: not tried yet
        self._connections = 0
        self._failures = 0
        self._bytes = 0
        self._packets = 0
        self._chains = 0
        self._garbled = 0
        self._dropped = 0
        self._position: tuple[int, int] | None = None
        self._title: StreamTitle | None = None  # for the next packet put

    def stats(self) -> MountStats:
        """A snapshot of the counters."""
        return MountStats(
            connections=self._connections,
            failures=self._failures,
            bytes=self._bytes,
            packets=self._packets,
            chains=self._chains,
            garbled_bytes=self._garbled,
            dropped_packets=self._dropped,
            up=bool(self._up),
        )

    async def run(self) -> None:
        """Read the mount until cancelled, reconnecting every ``retry`` s while it is away."""
        headers = {"User-Agent": f"radio-relay/{__version__}", "Icy-MetaData": "0"}
        async with aiohttp.ClientSession(timeout=self._timeout, headers=headers) as session:
            while True:
                reason = await self._read_once(session)
                self._failures += 1
                self._change(False, reason)
                await asyncio.sleep(self.retry)

    async def _read_once(self, session: aiohttp.ClientSession) -> str:
        """One connection, read to its end; return why it ended."""
        try:
            async with session.get(self.url, allow_redirects=True) as response:
                if response.status != 200:
                    return f"HTTP {response.status} {response.reason or ''}".strip()
                if response.content_type not in OGG_TYPES:
                    return f"not an Ogg stream (Content-Type {response.content_type})"
                demuxer = OggOpusDemuxer(after=self._position)
                connected = False
                async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                    if not connected:
                        connected = True
                        self._connections += 1
                        self._change(True, "")
                    self._take(demuxer, chunk)
                return "the mount ended the stream"
        except TimeoutError:
            return "no data for too long"
        except aiohttp.ClientError as exc:
            return str(exc) or type(exc).__name__
        except OSError as exc:
            return str(exc)

    def _take(self, demuxer: OggOpusDemuxer, chunk: bytes) -> None:
        self._bytes += len(chunk)
        before = demuxer.stats.garbled_bytes, demuxer.stats.dropped_packets
        for item in demuxer.feed(chunk):
            if isinstance(item, ChainStarted):
                self._chains += 1
                if self.titles_from_stream and (item.title or item.artist):
                    self._title = StreamTitle(item.title, item.artist)
                continue
            self.buffer.put(item, self._title)
            self._title = None
            self._packets += 1
        self._garbled += demuxer.stats.garbled_bytes - before[0]
        self._dropped += demuxer.stats.dropped_packets - before[1]
        if demuxer.position is not None:
            self._position = demuxer.position

    def _change(self, up: bool, reason: str) -> None:
        if self._up is up:
            logger.debug("mount %s still %s: %s", self.url, "up" if up else "away", reason)
            return
        self._up = up
        if up:
            logger.info("reading the mount %s", self.url)
        else:
            logger.warning(
                "the mount %s is away (%s): silence until it returns, trying every %.1f s",
                self.url,
                reason,
                self.retry,
            )
        try:
            self._on_change(MountChange(self.url, up, reason))
        except Exception:
            logger.exception("reporting the mount's change of state failed")
