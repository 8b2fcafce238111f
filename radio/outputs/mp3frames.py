"""MPEG-1 Layer III frames in a byte stream: the MP3 encoder's output cut into whole frames.

FFmpeg's MP3 muxer, told to write no ID3v2 tag and no Xing header
(``-id3v2_version 0 -write_xing 0``), writes nothing but frames, one after the
other. A pipe hands them over in reads of any size; :class:`Mp3Frames` puts
them back together, so that the output sends Icecast whole frames (a new
connection starts on a frame boundary) and knows how much audio it has sent:
every MPEG-1 Layer III frame is 1,152 samples, 24 ms at 48 kHz.

A frame's length follows from its 4-byte header: ``144 * bitrate / rate`` bytes,
plus one when the padding bit is set (384 bytes at 128 kb/s and 48 kHz, where
no padding is ever needed). Only what the station makes is recognised (MPEG-1,
Layer III, 44.1/48/32 kHz, a bitrate from the table, not "free format"); bytes
that are not a frame are skipped up to the next header and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SAMPLES_PER_FRAME: Final = 1152  # MPEG-1 Layer III
HEADER_BYTES: Final = 4
# Bitrate index 1..14 of MPEG-1 Layer III, in kb/s (0 is "free format", 15 is invalid).
BITRATES_KBPS: Final = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
SAMPLE_RATES: Final = (44_100, 48_000, 32_000)  # index 0..2 of MPEG-1 (3 is reserved)


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """What an MPEG-1 Layer III frame header says."""

    bitrate_kbps: int
    sample_rate: int
    padding: bool

    @property
    def length(self) -> int:
        """The frame's length in bytes, its header included."""
        return 144_000 * self.bitrate_kbps // self.sample_rate + int(self.padding)


def frame_header(data: bytes | bytearray, offset: int = 0) -> FrameHeader | None:
    """The MPEG-1 Layer III header at ``offset``, or None when the 4 bytes there are not one."""
    if len(data) - offset < HEADER_BYTES:
        return None
    b0, b1, b2 = data[offset], data[offset + 1], data[offset + 2]
    # 11 bits of sync, version 11 (MPEG-1), layer 01 (III); the CRC bit is free.
    if b0 != 0xFF or b1 & 0xFE != 0xFA:
        return None
    bitrate_index = b2 >> 4
    rate_index = (b2 >> 2) & 0x03
    if bitrate_index in (0, 15) or rate_index == 3:
        return None
    return FrameHeader(BITRATES_KBPS[bitrate_index], SAMPLE_RATES[rate_index], bool(b2 & 0x02))


class Mp3Frames:
    """Cuts MP3 bytes, read in pieces of any size, into whole frames.

    :meth:`feed` returns the frames completed by the bytes given (a frame's
    tail stays until its next read); :attr:`skipped` counts the bytes that
    were not part of a frame.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.skipped = 0
        self.frames = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return the whole frames now complete, in order."""
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        position = 0
        end = len(buffer)
        while end - position >= HEADER_BYTES:
            header = frame_header(buffer, position)
            if header is None:
                following = buffer.find(b"\xff", position + 1)
                following = end if following < 0 else following
                self.skipped += following - position
                position = following
                continue
            length = header.length
            if end - position < length:
                break
            frames.append(bytes(buffer[position : position + length]))
            position += length
        del buffer[:position]
        self.frames += len(frames)
        return frames

    @property
    def buffered(self) -> int:
        """Bytes held back: the start of a frame whose end has not been read yet."""
        return len(self._buffer)


__all__ = ["SAMPLES_PER_FRAME", "FrameHeader", "Mp3Frames", "frame_header"]
