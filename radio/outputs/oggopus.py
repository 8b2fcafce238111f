"""Ogg/Opus streams written from the station's own Opus packets (RFC 7845 over RFC 3533).

The station encodes every 20 ms frame once; a recording (or a mount) needs
those same packets in an Ogg container, not a second encode. A stream is::

    page 0   BOS   OpusHead (the ID header)          granule 0
    page 1         OpusTags (vendor and comments)    granule 0
    page 2…        audio packets, about 1 s a page   granule = samples so far, pre-skip included
    last page EOS  the last audio packets

Every packet ends on the page it starts on (no page ever continues a packet),
so each page is a self-contained second of audio: a writer killed at any
moment leaves a stream that plays up to its last whole page, and
:func:`seal` turns such a stream into a finished one (torn tail cut off, EOS
set on the last good page).

Pre-skip: libopus reports a lookahead (``OPUS_GET_LOOKAHEAD``) of 2.5 ms plus
its 4 ms delay compensation for every application except restricted-lowdelay:
120 + 192 = 312 samples at 48 kHz, whether a frame is coded as CELT or not.
discord.py's encoder uses the "audio" application, so 312 is the number of
decoded samples to drop before the first real one (tests/outputs check both
the lookahead libopus reports and where a decoded onset lands).
"""

from __future__ import annotations

import io
import logging
import os
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO, Final

from radio.errors import OutputError

logger = logging.getLogger(__name__)

OPUS_PRE_SKIP: Final = 312  # libopus's lookahead at 48 kHz (application "audio"), see above
OPUS_RATE: Final = 48_000  # Ogg/Opus granule positions always count 48 kHz samples
PAGE_SAMPLES: Final = OPUS_RATE  # close a page once it holds this much audio: 1 s
FSYNC_EVERY_PAGES: Final = 5  # about 5 s of audio between fsyncs, see OggOpusWriter
VENDOR: Final = "radio"

_CAPTURE: Final = b"OggS"
_HEADER: Final = struct.Struct("<4sBBqIIIB")  # capture, version, type, granule, serial, seq, crc, n
_CRC_OFFSET: Final = 22
_CONTINUED: Final = 0x01
_BOS: Final = 0x02
_EOS: Final = 0x04
_MAX_SEGMENTS: Final = 255
_MAX_PACKET: Final = 255 * _MAX_SEGMENTS - 1  # the most one page's lacing can describe


# Ogg's CRC-32 (RFC 3533: polynomial 0x04c11db7, unreflected, init 0, no final
# xor) computed with zlib's CRC-32, which is the same polynomial reflected, with
# init and final xor 0xffffffff. Reflecting every input byte and the result turns
# one into the other; CRC is affine in its initial value, so XOR-ing zlib's CRC
# of as many zero bytes cancels zlib's init and final xor. Both steps run in C:
# about 30 us for a second of 128 kb/s audio, against 2 ms for a table loop in
# Python (the Icecast output writes a page every 200 ms, see BENCHMARKS.md).
_REFLECT_BYTE: Final = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))


def ogg_crc(data: bytes | bytearray) -> int:
    """Return Ogg's CRC-32 of ``data`` (RFC 3533: poly 0x04c11db7, unreflected, init 0)."""
    reflected = zlib.crc32(bytes(data).translate(_REFLECT_BYTE)) ^ zlib.crc32(bytes(len(data)))
    return int(f"{reflected:032b}"[::-1], 2)


def _page(header_type: int, granule: int, serial: int, seq: int, packets: list[bytes]) -> bytes:
    # One page holding whole packets; its CRC covers the page with the CRC field zeroed.
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255)
        lacing.append(len(packet) % 255)
    page = bytearray(_HEADER.pack(_CAPTURE, 0, header_type, granule, serial, seq, 0, len(lacing)))
    page += lacing
    for packet in packets:
        page += packet
    struct.pack_into("<I", page, _CRC_OFFSET, ogg_crc(page))
    return bytes(page)


def _segments(packet: bytes) -> int:
    return len(packet) // 255 + 1


def packet_samples(packet: bytes) -> int:
    """Return the duration of an Opus packet in 48 kHz samples, read from its TOC (RFC 6716 3.1).

    Raises ValueError for an empty packet or a malformed frame count.
    """
    if not packet:
        raise ValueError("an Opus packet is at least one byte")
    config = packet[0] >> 3
    if config < 12:  # SILK-only: 10, 20, 40, 60 ms
        frame = (480, 960, 1920, 2880)[config & 3]
    elif config < 16:  # hybrid: 10, 20 ms
        frame = (480, 960)[config & 1]
    else:  # CELT-only: 2.5, 5, 10, 20 ms
        frame = (120, 240, 480, 960)[config & 3]
    code = packet[0] & 3
    if code == 0:
        count = 1
    elif code in (1, 2):
        count = 2
    else:
        if len(packet) < 2 or not packet[1] & 0x3F:
            raise ValueError("an Opus code-3 packet without a frame count")
        count = packet[1] & 0x3F
    samples = frame * count
    if samples > 5760:  # RFC 6716: a packet holds at most 120 ms
        raise ValueError(f"an Opus packet of {samples} samples (more than 120 ms)")
    return samples


def opus_head(channels: int, pre_skip: int, input_rate: int = OPUS_RATE) -> bytes:
    """The ID header packet (RFC 7845 5.1), channel mapping family 0 (mono or stereo).

    Raises ValueError for a channel count other than 1 or 2 or a pre-skip outside 0–65535.
    """
    if channels not in (1, 2):
        raise ValueError("mapping family 0 carries 1 or 2 channels")
    if not 0 <= pre_skip <= 0xFFFF:
        raise ValueError("pre-skip is a 16-bit count of samples")
    return struct.pack("<8sBBHIhB", b"OpusHead", 1, channels, pre_skip, input_rate, 0, 0)


def opus_tags(vendor: str, tags: Mapping[str, str]) -> bytes:
    """The comment header packet (RFC 7845 5.2): vendor, then ``KEY=value`` comments in order.

    Raises ValueError for a key that is empty or holds ``=`` or a character
    outside printable ASCII (the Vorbis comment rule).
    """
    out = bytearray(b"OpusTags")
    raw_vendor = vendor.encode()
    out += struct.pack("<I", len(raw_vendor)) + raw_vendor
    out += struct.pack("<I", len(tags))
    for key, value in tags.items():
        if not key or "=" in key or not all(0x20 <= ord(c) <= 0x7D for c in key):
            raise ValueError(f"invalid comment field name {key!r}")
        comment = f"{key}={value}".encode()
        out += struct.pack("<I", len(comment)) + comment
    return bytes(out)


class OggOpusWriter:
    """Writes one Ogg/Opus logical stream to ``file``, packet by packet.

    The ID and comment headers are written (and flushed) by the constructor.
    :meth:`write` takes the station's packets; a page is closed once it holds
    ``page_samples`` of audio (1 s: 50 packets of 20 ms) or one more packet would
    pass the 255 lacing values a page can hold, and is written when the next
    packet arrives (or at :meth:`close`), so that the last page can always
    carry the EOS flag. A writer killed at any moment therefore loses at most
    about one second, plus whatever the operating system had not yet stored.

    Durability: the file is flushed after every page (so a killed process
    loses nothing the writer finished), but ``os.fsync`` runs only every
    ``fsync_every`` pages (default 5, about 5 s of audio) and at :meth:`close`:
    an fsync can stall for tens of milliseconds on a busy disk, and a power
    cut, the only thing it guards against, costs at most those few seconds.
    ``fsync_every=None`` never syncs (for pipes and sockets); files without a
    descriptor (``io.BytesIO``) are never synced.

    The writer never closes ``file``; its owner does. Not thread-safe: one
    thread writes. Write failures (``OSError``) become
    :class:`~radio.errors.OutputError`, after which the writer is broken and
    every call raises OutputError again; the bytes already in the file are a
    stream :func:`seal` can finish. Raises ValueError for a serial outside
    32 bits, a bad channel count, pre-skip, tag or page size.
    """

    def __init__(
        self,
        file: BinaryIO,
        *,
        serial: int,
        channels: int = 2,
        pre_skip: int = OPUS_PRE_SKIP,
        tags: Mapping[str, str] | None = None,
        vendor: str = VENDOR,
        page_samples: int = PAGE_SAMPLES,
        fsync_every: int | None = FSYNC_EVERY_PAGES,
    ) -> None:
        if not 0 <= serial <= 0xFFFF_FFFF:
            raise ValueError("an Ogg serial number is 32 bits")
        if page_samples < 1:
            raise ValueError("page_samples must be positive")
        if fsync_every is not None and fsync_every < 1:
            raise ValueError("fsync_every must be positive (or None)")
        head = opus_head(channels, pre_skip)
        comments = opus_tags(vendor, tags or {})
        if len(comments) > _MAX_PACKET:
            raise ValueError("the comment header does not fit on one page")
        self._file = file
        self._serial = serial
        self._page_samples = page_samples
        self._fsync_every = fsync_every
        self._seq = 0
        self._granule = 0  # samples in every packet accepted so far (pre-skip included)
        self._packets = 0
        self._pending: list[bytes] = []  # packets of the page being filled
        self._pending_segments = 0
        self._pending_samples = 0
        self._unsynced = 0  # pages written since the last fsync
        self._closed = False
        self._broken = False
        # RFC 7845: the ID header alone on the first (BOS) page, the comment
        # header on its own page(s), both with granule position 0.
        self._emit(_page(_BOS, 0, serial, 0, [head]))
        self._emit(_page(0, 0, serial, 1, [comments]))
        self._flush(sync=fsync_every is not None)

    @property
    def packets(self) -> int:
        """Audio packets accepted so far."""
        return self._packets

    @property
    def granule_position(self) -> int:
        """48 kHz samples in every packet accepted so far, pre-skip included."""
        return self._granule

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._closed

    def write(self, packet: bytes) -> None:
        """Add one Opus packet (its duration is read from its TOC: 960 samples for 20 ms).

        May write the previous page first. Raises ValueError for an empty or
        malformed packet, one longer than a page can hold, or a closed
        writer; OutputError when the file cannot be written.
        """
        if self._closed:
            raise ValueError("write to a closed OggOpusWriter")
        if self._broken:
            raise OutputError("the Ogg/Opus stream broke on an earlier write")
        samples = packet_samples(packet)
        if len(packet) > _MAX_PACKET:
            raise ValueError(f"an Opus packet of {len(packet)} bytes does not fit on one page")
        segments = _segments(packet)
        if self._pending and (
            self._pending_samples >= self._page_samples
            or self._pending_segments + segments > _MAX_SEGMENTS
        ):
            self._write_page(0)
        self._pending.append(packet)
        self._pending_segments += segments
        self._pending_samples += samples
        self._granule += samples
        self._packets += 1

    def close(self) -> None:
        """Write the last page with the EOS flag, flush and fsync. Idempotent.

        A stream with no audio ends with an empty EOS page. Raises OutputError
        when the file cannot be written (the writer is closed all the same).
        """
        if self._closed:
            return
        self._closed = True
        if self._broken:
            raise OutputError("the Ogg/Opus stream broke on an earlier write")
        if self._pending:
            self._write_page(_EOS)
        else:
            self._emit(_page(_EOS, self._granule, self._serial, self._seq, []))
        self._flush(sync=self._fsync_every is not None)

    def _write_page(self, flags: int) -> None:
        self._emit(_page(flags, self._granule, self._serial, self._seq, self._pending))
        self._pending = []
        self._pending_segments = 0
        self._pending_samples = 0
        self._unsynced += 1
        if flags & _EOS:
            return  # close() flushes and syncs
        self._flush(sync=self._fsync_every is not None and self._unsynced >= self._fsync_every)

    def _emit(self, page: bytes) -> None:
        self._seq += 1
        try:
            self._file.write(page)
        except OSError as exc:
            self._broken = True
            raise OutputError(f"cannot write the Ogg/Opus stream: {exc}") from exc

    def _flush(self, *, sync: bool) -> None:
        try:
            self._file.flush()
            if sync:
                self._unsynced = 0
                try:
                    fd = self._file.fileno()
                except (io.UnsupportedOperation, AttributeError):
                    return  # an in-memory stream: nothing to sync
                os.fsync(fd)
        except OSError as exc:
            self._broken = True
            raise OutputError(f"cannot write the Ogg/Opus stream: {exc}") from exc


@dataclass(frozen=True, slots=True)
class SealReport:
    """What :func:`seal` found and did to a stream."""

    pages: int  # pages kept, headers included
    granule_position: int  # of the last page kept: samples decoded = this - pre-skip
    dropped_bytes: int  # torn or invalid bytes cut from the end
    changed: bool  # False when the stream was already finished


@dataclass(frozen=True, slots=True)
class _PageInfo:
    offset: int
    length: int
    flags: int
    granule: int


def _walk(file: BinaryIO, size: int) -> list[_PageInfo]:
    # Page structure only (no CRC): stop at the first page that is torn, out of
    # sequence, of another stream, or continues a packet (this writer never does).
    pages: list[_PageInfo] = []
    offset = 0
    serial = None
    granule = 0
    while offset + _HEADER.size <= size:
        file.seek(offset)
        header = file.read(_HEADER.size)
        if len(header) < _HEADER.size:
            break
        capture, version, flags, page_granule, page_serial, seq, _, count = _HEADER.unpack(header)
        first = not pages
        if (
            capture != _CAPTURE
            or version != 0
            or flags & ~(_CONTINUED | _BOS | _EOS)
            or flags & _CONTINUED
            or bool(flags & _BOS) != first
            or seq != len(pages)
            or (serial is not None and page_serial != serial)
            or page_granule < granule
        ):
            break
        lacing = file.read(count)
        if len(lacing) < count or (count and lacing[-1] == 255):
            break
        length = _HEADER.size + count + sum(lacing)
        if offset + length > size:
            break  # torn: the body was not all written
        serial = page_serial
        granule = page_granule
        pages.append(_PageInfo(offset, length, flags, page_granule))
        offset += length
        if flags & _EOS:
            break  # anything after the end of the stream is not part of it
    return pages


def _read_page(file: BinaryIO, page: _PageInfo) -> bytes:
    file.seek(page.offset)
    return file.read(page.length)


def _crc_ok(data: bytes) -> bool:
    zeroed = bytearray(data)
    stored = struct.unpack_from("<I", zeroed, _CRC_OFFSET)[0]
    struct.pack_into("<I", zeroed, _CRC_OFFSET, 0)
    return bool(ogg_crc(zeroed) == stored)


def seal(file: BinaryIO, *, verify_last: int = 32) -> SealReport | None:
    """Finish an Ogg/Opus stream whose writer died: keep its valid pages, end it with EOS.

    ``file`` is open for reading and writing (``r+b``) and seekable. Pages are
    walked from the start; the stream ends at the first torn, garbled or
    out-of-sequence page, and the CRCs of the two header pages and of the last
    ``verify_last`` pages (a page a second: well past the writer's fsync
    interval, the only window a crash can garble) are checked, the stream
    ending before the first page that fails. Everything after is cut off; the
    last page kept gets the EOS flag (its CRC recomputed), or an empty EOS page
    follows the headers of a stream with no audio. The file is then flushed and
    fsynced. Checking every CRC would cost a minute for a two-hour file in
    plain Python; pages before the tail were written whole and synced.

    Returns None, leaving the file untouched, when its Opus headers are not
    intact (nothing in it can be played). Raises OSError when the file cannot
    be read or written.
    """
    size = file.seek(0, os.SEEK_END)
    pages = _walk(file, size)
    if len(pages) < 2:
        return None
    head, tags = (_read_page(file, page) for page in pages[:2])
    if not (
        _crc_ok(head)
        and _crc_ok(tags)
        and head[_HEADER.size + head[26] :].startswith(b"OpusHead")
        and tags[_HEADER.size + tags[26] :].startswith(b"OpusTags")
    ):
        return None
    keep = len(pages)
    for index in range(max(2, len(pages) - verify_last), len(pages)):
        if not _crc_ok(_read_page(file, pages[index])):
            keep = index
            break
    pages = pages[:keep]
    last = pages[-1]
    end = last.offset + last.length
    dropped = size - end
    changed = dropped > 0
    if not last.flags & _EOS:
        changed = True
        if len(pages) == 2:
            # Headers only: the writer died before its first audio page.
            serial = struct.unpack_from("<I", tags, 14)[0]
            eos = _page(_EOS, 0, serial, 2, [])
            file.seek(end)
            file.write(eos)
            pages.append(_PageInfo(end, len(eos), _EOS, 0))
            end += len(eos)
        else:
            page = bytearray(_read_page(file, last))
            page[5] |= _EOS
            struct.pack_into("<I", page, _CRC_OFFSET, 0)
            struct.pack_into("<I", page, _CRC_OFFSET, ogg_crc(page))
            file.seek(last.offset)
            file.write(page)
    if changed:
        file.truncate(end)
        file.flush()
        os.fsync(file.fileno())
    return SealReport(
        pages=len(pages),
        granule_position=pages[-1].granule,
        dropped_bytes=dropped,
        changed=changed,
    )


# -- reading (a relay node's demuxer, radio/relay/demux.py) ------------------------

CAPTURE: Final = _CAPTURE
PAGE_HEADER_BYTES: Final = _HEADER.size  # 27: the fixed part, before the lacing values
FLAG_CONTINUED: Final = _CONTINUED
FLAG_BOS: Final = _BOS
FLAG_EOS: Final = _EOS
MAX_PAGE_BYTES: Final = _HEADER.size + _MAX_SEGMENTS + _MAX_SEGMENTS * 255  # 65,307


@dataclass(frozen=True, slots=True)
class OggPage:
    """One Ogg page read back: its header fields and its packets' pieces.

    ``segments`` are the page's packets cut at its lacing: each but possibly
    the last is whole; the last continues on the next page when ``open_end``.
    """

    flags: int
    granule: int
    serial: int
    seq: int
    segments: tuple[bytes, ...]
    open_end: bool  # the last lacing value is 255: its packet goes on in the next page

    @property
    def continued(self) -> bool:
        """The first piece continues a packet begun on an earlier page."""
        return bool(self.flags & _CONTINUED)

    @property
    def bos(self) -> bool:
        """The first page of a logical stream."""
        return bool(self.flags & _BOS)

    @property
    def eos(self) -> bool:
        """The last page of a logical stream."""
        return bool(self.flags & _EOS)


def read_page(data: bytes | bytearray, offset: int = 0) -> tuple[OggPage, int] | None:
    """Read the page that starts at ``offset`` of ``data``; return it and where it ends.

    Returns None when ``data`` ends before the page does (wait for more).
    Raises ValueError when no valid page starts there: no capture pattern, an
    unknown version or flag, or a CRC that does not match (RFC 3533).
    """
    if len(data) - offset < _HEADER.size:
        if data[offset : offset + 4] != _CAPTURE[: len(data) - offset]:
            raise ValueError("no Ogg capture pattern")
        return None
    capture, version, flags, granule, serial, seq, crc, count = _HEADER.unpack_from(data, offset)
    if capture != _CAPTURE:
        raise ValueError("no Ogg capture pattern")
    if version != 0 or flags & ~(_CONTINUED | _BOS | _EOS):
        raise ValueError(f"an Ogg page of version {version} with flags {flags:#x}")
    lacing_end = offset + _HEADER.size + count
    if len(data) < lacing_end:
        return None
    lacing = data[offset + _HEADER.size : lacing_end]
    end = lacing_end + sum(lacing)
    if len(data) < end:
        return None
    page = bytearray(data[offset:end])
    struct.pack_into("<I", page, _CRC_OFFSET, 0)
    if ogg_crc(page) != crc:
        raise ValueError("an Ogg page whose CRC does not match")
    segments: list[bytes] = []
    position = lacing_end
    start = position
    for value in lacing:
        position += value
        if value < 255:
            segments.append(bytes(data[start:position]))
            start = position
    open_end = bool(count) and lacing[-1] == 255
    if open_end:
        segments.append(bytes(data[start:position]))
    return OggPage(flags, granule, serial, seq, tuple(segments), open_end), end


def read_opus_head(packet: bytes) -> tuple[int, int]:
    """The channel count and pre-skip of an ID header packet (RFC 7845 5.1).

    Raises ValueError when ``packet`` is not an OpusHead of version 1.
    """
    if len(packet) < 19 or not packet.startswith(b"OpusHead"):
        raise ValueError("not an Opus ID header")
    version, channels, pre_skip = struct.unpack_from("<BBH", packet, 8)
    if version >> 4 != 0 or channels < 1:
        raise ValueError(f"an Opus ID header of version {version} with {channels} channels")
    return channels, pre_skip


def read_opus_tags(packet: bytes, *, max_value: int = 1000) -> dict[str, str]:
    """The comments of a comment header packet (RFC 7845 5.2), keys in upper case.

    Values are decoded as UTF-8 (bad bytes replaced) and cut to ``max_value``
    characters; a key given twice keeps its first value. Raises ValueError
    when ``packet`` is not an OpusTags or its lengths run past its end.
    """
    if not packet.startswith(b"OpusTags"):
        raise ValueError("not an Opus comment header")
    try:
        (vendor,) = struct.unpack_from("<I", packet, 8)
        position = 12 + vendor
        (count,) = struct.unpack_from("<I", packet, position)
        position += 4
        tags: dict[str, str] = {}
        for _ in range(count):
            (length,) = struct.unpack_from("<I", packet, position)
            position += 4
            if position + length > len(packet):
                raise ValueError("an Opus comment runs past the header's end")
            key, sep, value = (
                packet[position : position + length].decode("utf-8", "replace").partition("=")
            )
            position += length
            if sep and key:
                tags.setdefault(key.upper(), value[:max_value])
    except struct.error as exc:
        raise ValueError(f"a truncated Opus comment header: {exc}") from None
    return tags
