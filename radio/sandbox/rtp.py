"""RTP packets of Discord voice and their ``aead_xchacha20_poly1305_rtpsize`` sealing.

Layout of a sealed packet: the RTP header in clear (12 bytes, plus the 4-byte
extension header when the X bit is set), the AEAD ciphertext (whose plaintext
starts with the extension body, if any, then the Opus payload) with its 16-byte
tag, then a 4-byte big-endian nonce counter. The nonce is that counter
zero-padded to 24 bytes; the additional data is the clear header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

from radio.errors import VoiceError

MODE = "aead_xchacha20_poly1305_rtpsize"
RTP_HEADER = 12
NONCE_SUFFIX = 4
TAG = 16
OPUS_PAYLOAD_TYPE = 0x78


class PacketError(VoiceError):
    """A UDP datagram is not a sealed Discord RTP packet, or does not open with the key."""


@dataclass(frozen=True)
class RtpPacket:
    """An opened RTP packet."""

    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes  # the Opus frame


def is_rtp(datagram: bytes) -> bool:
    """Return whether ``datagram`` looks like an RTP voice packet (version 2, Opus type)."""
    return (
        len(datagram) >= RTP_HEADER + TAG + NONCE_SUFFIX
        and datagram[0] >> 6 == 2
        and datagram[1] & 0x7F == OPUS_PAYLOAD_TYPE
    )


def header_fields(datagram: bytes) -> tuple[int, int, int]:
    """Return (sequence, timestamp, ssrc) from the clear RTP header."""
    sequence, timestamp, ssrc = struct.unpack_from(">HII", datagram, 2)
    return int(sequence), int(timestamp), int(ssrc)


def _clear_length(datagram: bytes) -> tuple[int, int]:
    """Return (length of the clear header, length of the encrypted extension body)."""
    csrc_count = datagram[0] & 0x0F
    clear = RTP_HEADER + 4 * csrc_count
    if datagram[0] & 0x10:
        (words,) = struct.unpack_from(">H", datagram, clear + 2)
        return clear + 4, 4 * int(words)
    return clear, 0


def open_packet(datagram: bytes | bytearray, key: bytes) -> RtpPacket:
    """Decrypt ``datagram`` with ``key``; raise :class:`PacketError` if it does not verify."""
    datagram = bytes(datagram)
    if not is_rtp(datagram):
        raise PacketError(f"not an RTP voice packet ({len(datagram)} bytes)")
    clear, extension_body = _clear_length(datagram)
    header = datagram[:clear]
    nonce = datagram[-NONCE_SUFFIX:] + bytes(24 - NONCE_SUFFIX)
    try:
        plain = crypto_aead_xchacha20poly1305_ietf_decrypt(
            datagram[clear:-NONCE_SUFFIX], header, nonce, key
        )
    except CryptoError as exc:
        raise PacketError("packet does not verify with the session key") from exc
    sequence, timestamp, ssrc = header_fields(datagram)
    return RtpPacket(sequence, timestamp, ssrc, bytes(plain[extension_body:]))


def seal_packet(
    sequence: int, timestamp: int, ssrc: int, opus: bytes, key: bytes, counter: int
) -> bytes:
    """Build a sealed packet the way Discord clients do (used by tests and benchmarks)."""
    header = bytearray(RTP_HEADER)
    header[0] = 0x80
    header[1] = OPUS_PAYLOAD_TYPE
    struct.pack_into(">HII", header, 2, sequence, timestamp, ssrc)
    suffix = struct.pack(">I", counter)
    sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
        opus, bytes(header), suffix + bytes(24 - NONCE_SUFFIX), key
    )
    return bytes(header) + sealed + suffix
