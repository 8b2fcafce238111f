"""The emulator's voice UDP port: IP discovery, then listening like a person in the room.

Discord's IP discovery: the client sends 74 bytes (type 1, length 70, SSRC, 64
zero bytes for the address, 2 for the port); the server answers type 2 with the
client's address as seen from the server, NUL-terminated from byte 8, and its
port big-endian in the last two bytes. Every other datagram is an RTP packet,
opened with the sender's session key, decoded with libopus (through
``discord.opus.Decoder``) and appended to the :class:`ListenerRecord`.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from discord.opus import Decoder, OpusError

from radio.sandbox.record import ListenerRecord, PacketRecord
from radio.sandbox.rtp import PacketError, header_fields, is_rtp, open_packet

logger = logging.getLogger(__name__)

DISCOVERY_LENGTH = 74
# How often the reader thread looks up from the socket to see if it must stop.
_POLL_SECONDS = 0.1


@dataclass
class Sender:
    """What the listener knows about one SSRC: its key and where it is."""

    ssrc: int
    secret_key: bytes
    channel_id: int | None
    suppressed: bool


class SenderDirectory(Protocol):
    """Looks up the sender of an SSRC (the voice WebSocket sessions know them)."""

    def sender(self, ssrc: int) -> Sender | None:
        """Return the sender with ``ssrc``, or None if no session announced it."""
        ...


def discovery_reply(request: bytes, address: tuple[str, int]) -> bytes:
    """Return the 74-byte IP discovery answer to ``request`` for a client at ``address``."""
    (ssrc,) = struct.unpack_from(">I", request, 4)
    reply = bytearray(DISCOVERY_LENGTH)
    struct.pack_into(">HHI", reply, 0, 2, 70, ssrc)
    host = address[0].encode("ascii")
    reply[8 : 8 + len(host)] = host
    struct.pack_into(">H", reply, DISCOVERY_LENGTH - 2, address[1])
    return bytes(reply)


class VoiceListener:
    """The UDP endpoint, read by its own thread. ``decode=False`` records arrivals only.

    A thread, not the event loop, reads the socket: arrival times are taken as
    each datagram is received, so a busy event loop (the bot under test often
    shares it) neither delays nor bunches them, and Opus decoding stays off
    the loop.
    """

    def __init__(
        self,
        senders: SenderDirectory,
        record: ListenerRecord,
        monotonic: Callable[[], float],
        *,
        decode: bool = True,
    ) -> None:
        self._senders = senders
        self.record = record
        self._monotonic = monotonic
        self.decode = decode
        self.answering = True  # fault injection: False = stop answering (and hearing) UDP
        self._decoders: dict[int, Decoder] = {}
        self._addresses: dict[int, tuple[str, int]] = {}  # SSRC -> client's UDP address
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self, host: str) -> int:
        """Bind an ephemeral UDP port on ``host``, start reading; return the port."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((host, 0))
        sock.settimeout(_POLL_SECONDS)
        self._sock = sock
        self._stop.clear()
        self._thread = threading.Thread(target=self._read, name="sandbox-voice-udp", daemon=True)
        self._thread.start()
        return self.port

    @property
    def port(self) -> int:
        """The UDP port the listener is bound to."""
        if self._sock is None:
            raise RuntimeError("voice listener is not bound")
        return int(self._sock.getsockname()[1])

    def close(self) -> None:
        """Stop the reader thread and release the socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _read(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stop.is_set():
            try:
                data, addr = sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                if not self._stop.is_set():
                    logger.exception("voice UDP socket failed; the listener stops hearing")
                return
            try:
                self.datagram_received(data, addr, self._monotonic())
            except Exception:
                # One bad datagram must not deafen the listener for the rest of the run.
                logger.exception("could not handle a %d-byte datagram from %s", len(data), addr)

    def datagram_received(
        self, data: bytes, addr: tuple[str | int, int], arrival: float | None = None
    ) -> None:
        """Handle one datagram that arrived at ``arrival`` (default: now)."""
        if arrival is None:
            arrival = self._monotonic()
        if not self.answering:
            return
        if len(data) == DISCOVERY_LENGTH and data[0:2] == b"\x00\x01":
            (ssrc,) = struct.unpack_from(">I", data, 4)
            client = (str(addr[0]), int(addr[1]))
            self._addresses[int(ssrc)] = client
            if self._sock is not None:
                self._sock.sendto(discovery_reply(data, client), client)
            return
        if not is_rtp(data):
            logger.debug("ignoring a %d-byte datagram from %s that is not RTP", len(data), addr)
            return
        self._hear(data, arrival)

    def nudge(self, ssrc: int) -> bool:
        """Send an empty RTCP receiver report to the client address that used ``ssrc``.

        A real voice server keeps sending datagrams to its clients (others' audio,
        RTCP). discord.py's socket reader blocks in ``select()`` for up to 30 s on
        the socket it had before a reconnect; one datagram to the old socket wakes
        it so it reads the new one. Returns whether an address was known.
        """
        address = self._addresses.get(ssrc)
        if address is None or self._sock is None:
            return False
        self._sock.sendto(struct.pack(">BBHI", 0x80, 201, 1, ssrc), address)
        return True

    def _hear(self, data: bytes, arrival: float) -> None:
        sequence, timestamp, ssrc = header_fields(data)
        sender = self._senders.sender(ssrc)
        if sender is None:
            self.record.unknown_ssrc += 1
            return
        pcm: bytes | None = None
        decrypted = True
        try:
            packet = open_packet(data, sender.secret_key)
        except PacketError:
            decrypted = False
            self.record.auth_failures += 1
            if self.record.auth_failures == 1:
                logger.warning("voice packet from SSRC %d does not verify: wrong key?", ssrc)
        else:
            if self.decode:
                pcm = self._decode(ssrc, packet.payload)
        self.record.append(
            PacketRecord(
                arrival=arrival,
                sequence=sequence,
                timestamp=timestamp,
                ssrc=ssrc,
                channel_id=sender.channel_id,
                suppressed=sender.suppressed,
                size=len(data),
                decrypted=decrypted,
                pcm=pcm,
            )
        )

    def _decode(self, ssrc: int, opus: bytes) -> bytes | None:
        decoder = self._decoders.get(ssrc)
        if decoder is None:
            decoder = self._decoders[ssrc] = Decoder()  # type: ignore[no-untyped-call]
        try:
            return decoder.decode(opus, fec=False)
        except OpusError:
            self.record.decode_failures += 1
            logger.warning("Opus frame from SSRC %d does not decode", ssrc)
            return None
