"""The emulator's voice UDP port: IP discovery, then listening like a person in the room.

Discord's IP discovery: the client sends 74 bytes (type 1, length 70, SSRC, 64
zero bytes for the address, 2 for the port); the server answers type 2 with the
client's address as seen from the server, NUL-terminated from byte 8, and its
port big-endian in the last two bytes. Every other datagram is an RTP packet,
opened with the sender's session key, decoded with libopus (through
``discord.opus.Decoder``) and appended to the :class:`ListenerRecord`.

Arrival stamps: on Linux the socket asks the kernel to stamp each datagram as
it is received (``SO_TIMESTAMPNS``), and the reader converts that stamp to the
record's monotonic clock. A listener on another machine hears packets when the
network delivers them; a stamp taken by a Python thread would instead say when
that thread got the CPU and the GIL, and a late reader would record a burst the
network never made. Elsewhere, or when the kernel gives no stamp, the reader
stamps the datagram itself.
"""

from __future__ import annotations

import logging
import socket
import struct
import sys
import threading
import time
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
_DATAGRAM_BYTES = 2048
# Linux's SO_TIMESTAMPNS (the socket module does not name it): a struct timespec
# of CLOCK_REALTIME as control data of every datagram. 35 on every architecture
# the project runs on (x86, ARM, RISC-V); alpha, MIPS, PA-RISC and SPARC differ,
# and there the option is simply refused or gives no stamp (the reader's stamp).
_SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@ll")  # tv_sec, tv_nsec as C longs
_NS = 1_000_000_000
# Converting a stamp: wall, monotonic, wall readings closer than this are taken at once.
_SANDWICH_NS = 20_000
_SANDWICH_TRIES = 5
_ANCILLARY_BYTES = socket.CMSG_SPACE(_TIMESPEC.size) if hasattr(socket, "CMSG_SPACE") else 0


def enable_kernel_stamps(sock: socket.socket) -> bool:
    """Ask the kernel to stamp every datagram ``sock`` receives; True if it agreed.

    Linux only (``SO_TIMESTAMPNS``); False elsewhere or when refused.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def kernel_stamp(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The kernel's receive time (ns of CLOCK_REALTIME) in ``recvmsg`` control data, or None."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return int(seconds) * _NS + int(nanoseconds)
    return None


@dataclass
class Sender:
    """What the listener knows about one SSRC: its key and where it is."""

    ssrc: int
    secret_key: bytes
    channel_id: int | None
    suppressed: bool
    user_id: int | None = None  # DAVE keys are per sending user


class FrameGate(Protocol):
    """Opens end-to-end encrypted (DAVE) frames as the room's listening members do."""

    def open_frame(
        self, channel_id: int | None, sender: int | None, sequence: int, payload: bytes
    ) -> tuple[bytes | None, str]:
        """Return the Opus recovered (None if it could not be) and how it was recovered."""
        ...


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

    A thread, not the event loop, reads the socket, so a busy event loop (the
    bot under test often shares it) does not hold datagrams back, and Opus
    decoding stays off the loop. Each datagram's arrival is the kernel's
    receive stamp when ``kernel_stamps`` and the platform allow it (see the
    module's docstring), converted to ``monotonic`` by its age on ``wall_ns``
    (the clock the kernel stamps with, CLOCK_REALTIME in nanoseconds); else the
    reader's own ``monotonic()`` reading. ``record.kernel_stamped`` counts the
    packets stamped by the kernel.
    """

    def __init__(
        self,
        senders: SenderDirectory,
        record: ListenerRecord,
        monotonic: Callable[[], float],
        *,
        decode: bool = True,
        kernel_stamps: bool = True,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._senders = senders
        self.record = record
        self._monotonic = monotonic
        self._wall_ns = wall_ns
        self._want_kernel_stamps = kernel_stamps
        self.kernel_stamps = False  # True once the socket is bound with them
        self.decode = decode
        self.answering = True  # fault injection: False = stop answering (and hearing) UDP
        self.e2ee: FrameGate | None = None  # set by the emulator: DAVE rooms' members
        self._decoders: dict[int, Decoder] = {}
        self._addresses: dict[int, tuple[str, int]] = {}  # SSRC -> client's UDP address
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self, host: str) -> int:
        """Bind an ephemeral UDP port on ``host``, start reading; return the port."""
        port = self.bind(host)
        self._stop.clear()
        self._thread = threading.Thread(target=self._read, name="sandbox-voice-udp", daemon=True)
        self._thread.start()
        return port

    def bind(self, host: str) -> int:
        """Bind an ephemeral UDP port on ``host`` without reading it; return the port.

        :meth:`start` does this, then reads on a thread; a test may instead
        read with :meth:`receive_one`.
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.kernel_stamps = self._want_kernel_stamps and enable_kernel_stamps(sock)
        sock.bind((host, 0))
        sock.settimeout(_POLL_SECONDS)
        self._sock = sock
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
                self.receive_one()
            except TimeoutError:
                continue
            except OSError:
                if not self._stop.is_set():
                    logger.exception("voice UDP socket failed; the listener stops hearing")
                return

    def receive_one(self) -> None:
        """Wait for one datagram (at most the poll interval), stamp it and handle it.

        Raises TimeoutError when none came, OSError when the socket fails or is
        not bound. A datagram that cannot be handled is logged, not raised.
        """
        sock = self._sock
        if sock is None:
            raise OSError("voice listener is not bound")
        stamp: int | None = None
        if self.kernel_stamps:
            data, ancillary, _flags, addr = sock.recvmsg(_DATAGRAM_BYTES, _ANCILLARY_BYTES)
            stamp = kernel_stamp(ancillary)
        else:
            data, addr = sock.recvfrom(_DATAGRAM_BYTES)
        if stamp is None:
            arrival = self._monotonic()
        else:
            arrival = self._monotonic_of(stamp)
            self.record.kernel_stamped += 1
        try:
            self.datagram_received(data, addr, arrival)
        except Exception:
            # One bad datagram must not deafen the listener for the rest of the run.
            logger.exception("could not handle a %d-byte datagram from %s", len(data), addr)

    def _monotonic_of(self, stamp_ns: int) -> float:
        # The stamp's age on the wall clock, taken off a monotonic reading made
        # between two wall readings (their mean is the wall time of that
        # reading, to half their spread; a spread wider than a preemption-free
        # one is tried again, the tightest of a few is kept). Both
        # clocks run at the same rate, so only the age matters: a wall clock
        # that was set meanwhile shifts it; a negative age (set back) counts as 0.
        best: tuple[int, float, int] | None = None  # (spread, monotonic, wall)
        for _ in range(_SANDWICH_TRIES):
            before = self._wall_ns()
            now = self._monotonic()
            after = self._wall_ns()
            if best is None or after - before < best[0]:
                best = (after - before, now, (before + after) // 2)
            if after - before <= _SANDWICH_NS:
                break
        assert best is not None
        _spread, now, wall = best
        return now - max(0, wall - stamp_ns) / _NS

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

    def send_to(self, ssrc: int, datagram: bytes) -> bool:
        """Send ``datagram`` from the voice port to the client address that used
        ``ssrc`` (other members' voice: radio.sandbox.speakers). Returns whether an
        address was known and the socket took it."""
        address = self._addresses.get(ssrc)
        if address is None or self._sock is None or not self.answering:
            return False
        try:
            self._sock.sendto(datagram, address)
        except OSError:
            return False
        return True

    def _hear(self, data: bytes, arrival: float) -> None:
        sequence, timestamp, ssrc = header_fields(data)
        sender = self._senders.sender(ssrc)
        if sender is None:
            self.record.unknown_ssrc += 1
            return
        pcm: bytes | None = None
        opus: bytes | None = None
        decrypted = True
        e2ee = "none"
        try:
            packet = open_packet(data, sender.secret_key)
        except PacketError:
            decrypted = False
            self.record.auth_failures += 1
            if self.record.auth_failures == 1:
                logger.warning("voice packet from SSRC %d does not verify: wrong key?", ssrc)
        else:
            opus = packet.payload
            if self.e2ee is not None:
                opus, e2ee = self.e2ee.open_frame(
                    sender.channel_id, sender.user_id, sequence, packet.payload
                )
            if self.decode and opus is not None:
                pcm = self._decode(ssrc, opus)
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
                e2ee=e2ee,
                opus=opus,
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
