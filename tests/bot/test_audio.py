"""The station's feed: one station pull and one Opus encode per packet, skips without encoding.

Fan-out to rooms (every room gets the same packet, a late or reconnecting room
rejoins at the live edge) is the sender's job: see tests/bot/test_sender.py.
"""

from __future__ import annotations

import threading

import discord.opus
import numpy as np
import pytest

from radio.audio.frames import FRAME_BYTES, SAMPLE_RATE, SAMPLES_PER_FRAME, SILENCE
from radio.audio.source import Endless
from radio.bot.audio import SimulcastFeed

from .doubles import CountingEncoder


class ToneSource(Endless):
    """Our test double for the Source protocol: a continuous sine, frames numbered by reads."""

    def __init__(self, hz: float = 440.0) -> None:
        self.hz = hz
        self.reads = 0
        self.closed = False

    def frame(self, index: int) -> bytes:
        t = (np.arange(SAMPLES_PER_FRAME) + index * SAMPLES_PER_FRAME) / SAMPLE_RATE
        mono = (np.sin(2 * np.pi * self.hz * t) * 12_000).astype("<i2")
        return np.repeat(mono, 2).tobytes()

    def read(self) -> bytes:
        data = self.frame(self.reads)
        self.reads += 1
        return data

    def close(self) -> None:
        self.closed = True


class BrokenSource(ToneSource):
    """Breaks the contract on some frames: raises, or returns a short frame."""

    def read(self) -> bytes:
        index = self.reads
        self.reads += 1
        if index == 2:
            raise RuntimeError("decoder exploded")
        if index == 4:
            return b"\x00" * 100
        return self.frame(index)


def reference_packets(frames: list[int]) -> list[bytes]:
    """What a fresh encoder makes of these station frames (libopus is deterministic)."""
    encoder = discord.opus.Encoder()
    tone = ToneSource()
    return [encoder.encode(tone.frame(i), SAMPLES_PER_FRAME) for i in frames]


def test_each_packet_is_one_pull_and_one_encode_of_the_next_frame() -> None:
    station = ToneSource()
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder)
    packets = [feed.next_packet() for _ in range(150)]
    assert packets == reference_packets(list(range(150)))
    assert (station.reads, encoder.calls, feed.position) == (150, 150, 150)
    stats = feed.stats()
    assert (stats.pulled, stats.encoded, stats.station_faults) == (150, 150, 0)


def test_skip_pulls_the_station_without_encoding_and_the_next_packet_is_the_live_frame() -> None:
    station = ToneSource()
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder)
    first = feed.next_packet()
    assert feed.skip(8) == 8
    assert (station.reads, encoder.calls, feed.position) == (9, 1, 9)
    assert feed.skip(0) == 0
    after = feed.next_packet()
    # Frame 9 (not frame 1): the programme moved on while nothing was encoded.
    # The encoder never saw frames 1-8, so the reference encodes frames 0 and 9 back to back.
    assert [first, after] == reference_packets([0, 9])
    stats = feed.stats()
    assert (stats.pulled, stats.encoded) == (10, 2)


def test_station_faults_become_silence_and_are_counted_once_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    station = BrokenSource()
    feed = SimulcastFeed(station, CountingEncoder())
    packets = [feed.next_packet() for _ in range(6)]
    assert all(packets)
    silence = discord.opus.Encoder()
    tone = ToneSource()
    # Encoding is stateful, so build the reference with the same input sequence.
    expected = [
        silence.encode(SILENCE if i in (2, 4) else tone.frame(i), SAMPLES_PER_FRAME)
        for i in range(6)
    ]
    assert packets == expected
    assert feed.position == 6
    assert feed.stats().station_faults == 2
    assert "station read failed (1 times)" in caplog.text
    assert f"station returned 100 bytes instead of {FRAME_BYTES} (1 times)" in caplog.text


def test_a_fault_while_skipping_is_counted_and_the_programme_still_moves_on() -> None:
    station = BrokenSource()
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder)
    assert feed.skip(6) == 6
    assert (feed.position, encoder.calls, feed.stats().station_faults) == (6, 0, 2)


def test_a_closed_feed_gives_no_packets_pulls_nothing_and_leaves_the_station_open() -> None:
    station = ToneSource()
    feed = SimulcastFeed(station, CountingEncoder())
    assert feed.next_packet()
    feed.close()
    feed.close()  # idempotent
    assert feed.next_packet() is None
    assert feed.skip(5) == 0
    assert (station.reads, feed.position) == (1, 1)
    assert not station.closed  # the feed does not own the station


def test_the_packets_decode_to_the_station_tone() -> None:
    feed = SimulcastFeed(ToneSource(hz=440.0))
    decoder = discord.opus.Decoder()
    pcm = bytearray()
    for _ in range(50):
        packet = feed.next_packet()
        assert packet is not None
        pcm += decoder.decode(packet, fec=False)
    samples = np.frombuffer(bytes(pcm), dtype="<i2").reshape(-1, 2)[:, 0].astype(float)
    assert len(samples) == 50 * SAMPLES_PER_FRAME
    spectrum = np.abs(np.fft.rfft(samples[SAMPLE_RATE // 10 :]))
    peak_hz = np.fft.rfftfreq(len(samples) - SAMPLE_RATE // 10, 1 / SAMPLE_RATE)[spectrum.argmax()]
    assert abs(peak_hz - 440.0) <= 1.25  # the FFT bin is 1.11 Hz wide


def test_callers_on_several_threads_each_get_a_frame_of_their_own() -> None:
    station = ToneSource()
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder)
    start = threading.Barrier(4)
    got: list[list[bytes]] = [[] for _ in range(4)]

    def pull(t: int) -> None:
        start.wait()
        for n in range(100):
            packet = feed.next_packet() if n % 2 == 0 else None
            if packet is not None:
                got[t].append(packet)
            else:
                feed.skip(1)

    threads = [threading.Thread(target=pull, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One lock: no frame pulled twice or lost, every encode produced one packet.
    assert station.reads == feed.position == 400
    assert encoder.calls == sum(len(g) for g in got) == 200


def test_a_batch_encodes_frames_together_and_hands_them_out_one_by_one() -> None:
    station = ToneSource()
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder, batch=2)
    first = feed.next_packet()
    assert (station.reads, encoder.calls, feed.position) == (2, 2, 2)
    second = feed.next_packet()
    assert (station.reads, encoder.calls) == (2, 2)  # handed out, not encoded again
    rest = [feed.next_packet() for _ in range(8)]
    assert [first, second, *rest] == reference_packets(list(range(10)))
    assert (station.reads, encoder.calls) == (10, 10)


def test_skipping_drops_the_packets_encoded_ahead_first() -> None:
    station = ToneSource()
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder, batch=3)
    first = feed.next_packet()  # frames 0, 1, 2 encoded
    assert feed.skip(3) == 3  # frames 1 and 2 dropped, frame 3 pulled
    assert (station.reads, encoder.calls, feed.position) == (4, 3, 4)
    after = feed.next_packet()  # frames 4, 5, 6 encoded: frame 4 handed out
    assert (station.reads, encoder.calls) == (7, 6)
    # The encoder saw frames 0, 1, 2 then 4: the reference does the same.
    assert [first, after] == [reference_packets([0, 1, 2, 4])[i] for i in (0, 3)]
    feed.close()
    assert feed.next_packet() is None  # nothing ahead survives the close


def test_a_batch_below_one_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="batch"):
        SimulcastFeed(ToneSource(), CountingEncoder(), batch=0)


def test_prepare_encodes_the_next_frame_once_and_next_packet_hands_it_out() -> None:
    station = ToneSource()
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder)
    assert feed.prepare()
    assert not feed.prepare()  # one frame ahead at most
    assert (station.reads, encoder.calls, feed.position) == (1, 1, 1)
    packets = [feed.next_packet(), feed.next_packet()]
    assert packets == reference_packets([0, 1])
    assert feed.prepare()
    feed.close()
    assert not feed.prepare() and feed.next_packet() is None
