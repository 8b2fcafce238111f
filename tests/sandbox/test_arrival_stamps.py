"""The listener stamps arrivals with the kernel's receive time, not when its thread read them."""

from __future__ import annotations

import secrets
import socket
import struct
import sys
import time

import pytest

from radio.sandbox.record import ListenerRecord
from radio.sandbox.rtp import seal_packet
from radio.sandbox.voice_udp import VoiceListener, kernel_stamp

from .test_listener import SSRC, Directory, Ticks

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_TIMESTAMPNS is Linux's"
)

# Between the two sends, and between the second send and the reader's reads.
GAP_S = 0.030


class Datagrams:
    """A plain UDP socket sending sealed RTP packets of SSRC to the listener."""

    def __init__(self, port: int, key: bytes) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.port = port
        self.key = key
        self.sent = 0

    def send(self) -> None:
        packet = seal_packet(self.sent, 960 * self.sent, SSRC, b"\xf8\xff\xfe", self.key, self.sent)
        self.sock.sendto(packet, ("127.0.0.1", self.port))
        self.sent += 1

    def close(self) -> None:
        self.sock.close()


def stamped_before_read(listener: VoiceListener, datagrams: Datagrams) -> bool:
    """Send one packet, read it a little later: was its arrival before the read began?"""
    datagrams.send()
    time.sleep(0.005)
    reading = time.monotonic()
    listener.receive_one()
    return listener.record.packets[-1].arrival < reading


@linux_only
def test_arrivals_are_the_send_instants_not_the_late_reads() -> None:
    key = secrets.token_bytes(32)
    record = ListenerRecord()
    listener = VoiceListener(Directory(key), record, time.monotonic, decode=False)
    datagrams = Datagrams(listener.bind("127.0.0.1"), key)
    try:
        assert listener.kernel_stamps
        # Linux turns receive stamping on for the whole machine a moment after
        # the first socket asks (a deferred work item); until then a datagram
        # is stamped when read. Wait for a stamp that precedes its read.
        assert any(stamped_before_read(listener, datagrams) for _ in range(200))
        record.clear()

        datagrams.send()
        after_first = time.monotonic()
        time.sleep(GAP_S)
        before_second = time.monotonic()
        datagrams.send()
        time.sleep(GAP_S)  # the reader is late: both packets wait in the socket
        reading = time.monotonic()
        listener.receive_one()
        listener.receive_one()
    finally:
        datagrams.close()
        listener.close()

    first, second = record.packets
    assert (first.sequence, second.sequence) == (datagrams.sent - 2, datagrams.sent - 1)
    assert record.kernel_stamped == 2
    # Both stamps precede the reads, and their interval is the send gap: a
    # reader's stamps would be read back to back, microseconds apart.
    assert first.arrival < second.arrival < reading
    send_gap = before_second - after_first
    assert second.arrival - first.arrival > send_gap / 2


def test_without_kernel_stamps_the_reader_stamps() -> None:
    key = secrets.token_bytes(32)
    record = ListenerRecord()
    clock = Ticks()
    listener = VoiceListener(Directory(key), record, clock, decode=False, kernel_stamps=False)
    datagrams = Datagrams(listener.bind("127.0.0.1"), key)
    try:
        assert not listener.kernel_stamps
        datagrams.send()
        datagrams.send()
        listener.receive_one()
        listener.receive_one()
    finally:
        datagrams.close()
        listener.close()

    assert record.kernel_stamped == 0
    assert [round(p.arrival, 3) for p in record.packets] == [100.02, 100.04]


def test_kernel_stamp_reads_the_timespec_of_so_timestampns() -> None:
    timespec = struct.pack("@ll", 1_700_000_000, 123_456_789)

    assert kernel_stamp([(socket.SOL_SOCKET, 35, timespec)]) == 1_700_000_000_123_456_789
    assert kernel_stamp([(socket.SOL_SOCKET, 29, timespec)]) is None  # SO_TIMESTAMP: µs
    assert kernel_stamp([(socket.IPPROTO_IP, 35, timespec)]) is None
    assert kernel_stamp([]) is None


def test_a_stamp_is_converted_by_its_age_on_the_wall_clock() -> None:
    # A datagram the kernel stamped 250 ms before the wall clock's reading
    # arrived 250 ms before the monotonic reading between the wall readings.
    walls = iter([10_000_000_000, 10_000_000_010])
    key = secrets.token_bytes(32)
    record = ListenerRecord()
    listener = VoiceListener(
        Directory(key), record, lambda: 500.0, decode=False, wall_ns=lambda: next(walls)
    )
    assert listener._monotonic_of(9_750_000_005) == pytest.approx(499.75)
