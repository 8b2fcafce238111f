"""Ogg/Opus from an Icecast mount, back into the station's packets: a streaming demuxer.

A mount is a chain of logical streams (radio/outputs/icecast.py begins a new
one per title): each is ``OpusHead``, ``OpusTags`` (TITLE, ARTIST), then the
audio packets. :class:`OggOpusDemuxer` takes the bytes as they arrive, in
chunks of any size, and hands out a :class:`ChainStarted` (with the chain's
comments) before each chain's first packet, then the packets themselves,
unchanged. One demuxer reads one connection: a new connection starts a new
demuxer, so that a page torn by a dropped connection never joins the next.

Bad input costs bounded work and is never passed on: bytes that are not a
valid page (no capture pattern, a CRC that does not match) are skipped up to
the next capture pattern and counted; a packet continued from a page that was
lost is dropped; a chain that is not Opus is ignored (counted once); an audio
packet that is not one 20 ms frame (the station's, and what Discord takes) is
dropped and counted. At most one page (64 KiB) is held while waiting for its
end, and one packet of at most :data:`MAX_PACKET_BYTES`.

Resuming: :attr:`OggOpusDemuxer.position` is the chain serial and granule
position of the last audio page handed out. A demuxer made with
``after=position`` skips the audio pages it has already given (Icecast
replays its burst, a few seconds of the stream, to every new connection).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

from radio.outputs.oggopus import (
    CAPTURE,
    MAX_PAGE_BYTES,
    OggPage,
    packet_samples,
    read_opus_head,
    read_opus_tags,
    read_page,
)

logger = logging.getLogger(__name__)

FRAME_SAMPLES: Final = 960  # 20 ms at 48 kHz: the only packet duration relayed
MAX_PACKET_BYTES: Final = 16 * 1024  # far above any 20 ms Opus packet (at most 1,275 bytes/frame)
MAX_STREAMS: Final = 4  # logical streams followed at once (a chain has one at a time)


@dataclass(frozen=True, slots=True)
class ChainStarted:
    """A new logical stream begins; its packets follow.

    ``tags`` are its comments, keys in upper case.
    """

    serial: int
    tags: dict[str, str]

    @property
    def title(self) -> str:
        """The TITLE comment, or the empty string."""
        return self.tags.get("TITLE", "")

    @property
    def artist(self) -> str:
        """The ARTIST comment, or the empty string."""
        return self.tags.get("ARTIST", "")


Item = ChainStarted | bytes


@dataclass
class DemuxStats:
    """What a demuxer has read and refused."""

    pages: int = 0
    packets: int = 0  # audio packets handed out
    chains: int = 0  # ChainStarted handed out
    garbled_bytes: int = 0  # skipped while looking for a valid page
    dropped_packets: int = 0  # not 20 ms, too long, or missing their start
    replayed_pages: int = 0  # audio pages skipped because they were given before
    other_streams: int = 0  # logical streams that are not Opus


@dataclass
class _Stream:
    serial: int
    state: str = "head"  # head, tags, audio, ignored
    partial: bytearray | None = None  # a packet that continues on the next page
    broken: bool = False  # the packet in progress lost its start: drop it


@dataclass
class OggOpusDemuxer:
    """Bytes of an Ogg/Opus mount in, :data:`Item` s out (see the module docstring).

    Not thread-safe: one reader feeds it.
    """

    after: tuple[int, int] | None = None
    stats: DemuxStats = field(default_factory=DemuxStats)
    position: tuple[int, int] | None = None
    _buffer: bytearray = field(default_factory=bytearray)
    _streams: dict[int, _Stream] = field(default_factory=dict)
    _told_other: bool = False
    _told_frames: bool = False

    def feed(self, data: bytes) -> list[Item]:
        """Take the next bytes of the stream; return what they complete, in order. Never raises."""
        self._buffer += data
        items: list[Item] = []
        offset = 0
        buffer = self._buffer
        while True:
            start = buffer.find(CAPTURE, offset)
            if start < 0:
                # Keep a tail that may be the beginning of a capture pattern.
                keep = max(offset, len(buffer) - (len(CAPTURE) - 1))
                self.stats.garbled_bytes += keep - offset
                offset = keep
                break
            self.stats.garbled_bytes += start - offset
            offset = start
            try:
                read = read_page(buffer, offset)
            except ValueError:
                offset += 1  # not a page after all: look for the next capture pattern
                self.stats.garbled_bytes += 1
                continue
            if read is None:
                if len(buffer) - offset > MAX_PAGE_BYTES:  # cannot happen for a valid header
                    offset += 1
                    self.stats.garbled_bytes += 1
                    continue
                break
            page, offset = read
            self.stats.pages += 1
            self._page(page, items)
        del buffer[:offset]
        return items

    def _page(self, page: OggPage, items: list[Item]) -> None:
        stream = self._streams.get(page.serial)
        if page.bos:
            stream = _Stream(page.serial)
            self._streams[page.serial] = stream
            while len(self._streams) > MAX_STREAMS:
                del self._streams[next(iter(self._streams))]
        if stream is None:
            return  # joined in the middle of a stream whose headers we never saw
        if page.eos:
            del self._streams[page.serial]
        if stream.state == "audio" and self._replayed(page):
            self.stats.replayed_pages += 1
            stream.partial, stream.broken = None, False
            return
        pieces = list(page.segments)
        if page.continued:
            if stream.partial is None:
                stream.broken = True
        elif stream.partial is not None:
            stream.partial = None  # the page that should have ended it was lost
            self.stats.dropped_packets += 1
        last = len(pieces) - 1
        for index, piece in enumerate(pieces):
            first_piece = index == 0 and page.continued
            if first_piece and stream.partial is not None:
                stream.partial += piece
                packet: bytes | None = bytes(stream.partial)
            elif first_piece:
                packet = None  # its start was lost with an earlier page
            else:
                stream.broken = False
                packet = piece
            if index == last and page.open_end:
                if packet is None or stream.broken or len(packet) > MAX_PACKET_BYTES:
                    stream.partial, stream.broken = None, True
                else:
                    stream.partial = bytearray(packet)
                continue
            stream.partial = None
            if packet is None or stream.broken:
                stream.broken = False
                self.stats.dropped_packets += 1
                continue
            self._packet(stream, packet, items)
        if stream.state == "audio" and page.granule >= 0 and not page.open_end:
            self.position = (page.serial, page.granule)

    def _replayed(self, page: OggPage) -> bool:
        after = self.after
        return after is not None and page.serial == after[0] and 0 <= page.granule <= after[1]

    def _packet(self, stream: _Stream, packet: bytes, items: list[Item]) -> None:
        if stream.state == "head":
            try:
                read_opus_head(packet)
            except ValueError:
                stream.state = "ignored"
                self.stats.other_streams += 1
                if not self._told_other:
                    self._told_other = True
                    logger.warning("the mount carries a stream that is not Opus: ignored")
                return
            stream.state = "tags"
        elif stream.state == "tags":
            try:
                tags = read_opus_tags(packet)
            except ValueError:
                tags = {}
            stream.state = "audio"
            self.stats.chains += 1
            items.append(ChainStarted(stream.serial, tags))
        elif stream.state == "audio":
            try:
                samples = packet_samples(packet)
            except ValueError:
                samples = 0
            if samples != FRAME_SAMPLES or len(packet) > MAX_PACKET_BYTES:
                self.stats.dropped_packets += 1
                if not self._told_frames:
                    self._told_frames = True
                    logger.warning(
                        "the mount carries Opus packets of %d samples: only 20 ms packets"
                        " (%d samples, the station's own) are relayed",
                        samples,
                        FRAME_SAMPLES,
                    )
                return
            self.stats.packets += 1
            items.append(packet)
