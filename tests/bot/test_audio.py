"""Simulcast: one station pull and one Opus encode per frame, whatever the number of rooms."""

from __future__ import annotations

import threading

import discord.opus
import numpy as np
import pytest

from radio.audio.frames import FRAME_BYTES, SAMPLE_RATE, SAMPLES_PER_FRAME, SILENCE
from radio.bot.audio import Pacer, SimulcastFeed


class ToneSource:
    """Our test double for the Source protocol: a continuous sine, frames numbered by reads."""

    def __init__(self, hz: float = 440.0) -> None:
        self.hz = hz
        self.reads = 0

    @property
    def ready(self) -> bool:
        return True

    @property
    def remaining(self) -> int | None:
        return None

    def frame(self, index: int) -> bytes:
        t = (np.arange(SAMPLES_PER_FRAME) + index * SAMPLES_PER_FRAME) / SAMPLE_RATE
        mono = (np.sin(2 * np.pi * self.hz * t) * 12_000).astype("<i2")
        return np.repeat(mono, 2).tobytes()

    def read(self) -> bytes:
        data = self.frame(self.reads)
        self.reads += 1
        return data

    def close(self) -> None:
        pass


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


class CountingEncoder(discord.opus.Encoder):
    """The real libopus encoder, counting its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def encode(self, pcm: bytes, frame_size: int) -> bytes:
        self.calls += 1
        return super().encode(pcm, frame_size)


def reference_packets(source: ToneSource, count: int) -> list[bytes]:
    """What a single room with its own fresh encoder would send (libopus is deterministic)."""
    encoder = discord.opus.Encoder()
    return [encoder.encode(source.frame(i), SAMPLES_PER_FRAME) for i in range(count)]


@pytest.mark.parametrize("rooms", [1, 3, 10])
def test_n_rooms_m_frames_one_pull_and_one_encode_per_frame(rooms: int) -> None:
    frames = 150
    station = ToneSource()
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder)
    readers = [feed.reader(f"room{r}") for r in range(rooms)]
    received: list[list[bytes]] = [[] for _ in readers]
    for _ in range(frames):
        for r, reader in enumerate(readers):
            received[r].append(reader.read())
    assert station.reads == frames
    assert encoder.calls == frames
    expected = reference_packets(ToneSource(), frames)
    for packets in received:
        assert packets == expected
    assert [reader.stats().sent for reader in readers] == [frames] * rooms
    assert [reader.stats().skipped for reader in readers] == [0] * rooms
    stats = feed.stats()
    assert (stats.pulled, stats.encoded, stats.readers) == (frames, frames, rooms)


def test_reader_is_an_opus_source_that_does_not_close_the_station() -> None:
    feed = SimulcastFeed(ToneSource(), CountingEncoder())
    a, b = feed.reader("a"), feed.reader("b")
    assert a.is_opus()
    a.cleanup()
    a.cleanup()  # idempotent
    assert feed.stats().readers == 1
    assert len(b.read()) > 0


def test_a_reader_behind_within_the_ring_gets_every_frame() -> None:
    station = ToneSource()
    feed = SimulcastFeed(station, CountingEncoder(), capacity=8)
    fast, slow = feed.reader("fast"), feed.reader("slow")
    for _ in range(8):
        fast.read()
    got = [slow.read() for _ in range(10)]
    assert got == reference_packets(ToneSource(), 10)
    assert slow.stats().skipped == 0
    assert station.reads == 10


def test_a_lagging_reader_skips_to_live_and_never_stalls_the_others() -> None:
    station = ToneSource()
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder, capacity=8)
    fast, slow = feed.reader("fast"), feed.reader("slow")
    for _ in range(20):
        fast.read()
    expected = reference_packets(ToneSource(), 22)
    # 20 frames behind with an 8-packet ring: it rejoins at the newest frame (19).
    assert slow.read() == expected[19]
    assert slow.stats().skipped == 19
    assert slow.stats().last_index == 19
    assert slow.read() == expected[20]  # and from then on it leads
    assert fast.read() == expected[20]
    assert fast.read() == expected[21]
    assert (station.reads, encoder.calls) == (21 + 1, 21 + 1)


def test_a_new_room_joins_at_the_live_edge() -> None:
    station = ToneSource()
    feed = SimulcastFeed(station, CountingEncoder())
    first = feed.reader("first")
    for _ in range(5):
        first.read()
    late = feed.reader("late")
    late.read()
    assert late.stats().last_index == 5
    assert station.reads == 6


def test_station_faults_become_silence_and_the_rooms_keep_playing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    station = BrokenSource()
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder)
    reader = feed.reader("room")
    packets = [reader.read() for _ in range(6)]
    assert all(packets)
    silence = discord.opus.Encoder()
    tone = ToneSource()
    # Encoding is stateful, so build the reference with the same input sequence.
    expected = [
        silence.encode(SILENCE if i in (2, 4) else tone.frame(i), SAMPLES_PER_FRAME)
        for i in range(6)
    ]
    assert packets == expected
    assert feed.stats().station_faults == 2
    assert "station read failed (1 times)" in caplog.text
    assert f"station returned 100 bytes instead of {FRAME_BYTES} (1 times)" in caplog.text


def test_closed_feed_ends_the_player() -> None:
    feed = SimulcastFeed(ToneSource(), CountingEncoder())
    reader = feed.reader("room")
    assert reader.read()
    feed.close()
    assert reader.read() == b""


def test_what_a_room_receives_decodes_to_the_station_tone() -> None:
    feed = SimulcastFeed(ToneSource(hz=440.0))
    rooms = [feed.reader("a"), feed.reader("b")]
    decoder = discord.opus.Decoder()
    pcm = bytearray()
    for _ in range(50):
        for room in rooms:
            packet = room.read()
            if room is rooms[1]:
                pcm += decoder.decode(packet, fec=False)
    samples = np.frombuffer(bytes(pcm), dtype="<i2").reshape(-1, 2)[:, 0].astype(float)
    assert len(samples) == 50 * SAMPLES_PER_FRAME
    spectrum = np.abs(np.fft.rfft(samples[SAMPLE_RATE // 10 :]))
    peak_hz = np.fft.rfftfreq(len(samples) - SAMPLE_RATE // 10, 1 / SAMPLE_RATE)[spectrum.argmax()]
    assert abs(peak_hz - 440.0) <= 1.25  # the FFT bin is 1.11 Hz wide


def test_rooms_on_threads_get_increasing_frames_with_one_encode_each() -> None:
    station = ToneSource()
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder, capacity=1000)
    readers = [feed.reader(f"room{r}") for r in range(4)]
    seen: list[list[int]] = [[] for _ in readers]
    start = threading.Barrier(len(readers))

    def play(r: int) -> None:
        start.wait()
        for _ in range(300):
            readers[r].read()
            index = readers[r].stats().last_index
            assert index is not None
            seen[r].append(index)

    threads = [threading.Thread(target=play, args=(r,)) for r in range(len(readers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The ring is large enough that nobody skips: each room got frames 0..299 in order,
    # and the station was pulled (and encoded) exactly as far as the leader went.
    for indices in seen:
        assert indices == list(range(300))
    assert station.reads == encoder.calls == 300


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacer_keeps_the_station_at_real_time_when_no_room_reads() -> None:
    station = ToneSource()
    feed = SimulcastFeed(station, CountingEncoder())
    clock = FakeMonotonic()
    pacer = Pacer(feed, clock, slack=10)
    room = feed.reader("room")
    # A room playing in real time: the pacer never has to pull.
    for _ in range(100):
        clock.now += 0.02
        room.read()
        assert pacer.tick() == 0
    assert station.reads == 100
    # The room drops for 3 s: the pacer keeps the programme moving, 10 frames behind.
    clock.now += 3.0
    assert pacer.tick() == 150 - 10
    assert station.reads == 240
    clock.now += 0.02
    assert pacer.tick() == 1
    # When the room is back it rejoins live; the frames in between were not sent to it.
    room.read()
    assert room.stats().last_index == 240  # the newest frame pulled
    assert room.stats().skipped == 240 - 100
    assert pacer.pulled == 141
