"""The Icecast output against a real ``icecast2``: the feed's own packets, titles, outages.

The station is a tone (440 Hz, then 660 Hz from a "track change"), pulled and
encoded by the real SimulcastFeed on a 20 ms grid by a pump thread standing in
for the sender. Listeners are our own raw HTTP reader (whose Ogg bytes we demux
with our own page parser) and the real FFmpeg reading the mount's URL.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from radio.audio.frames import SAMPLE_RATE, SAMPLES_PER_FRAME
from radio.audio.source import Endless
from radio.audio.track import Track
from radio.bot.audio import SimulcastFeed
from radio.events import TrackStarted
from radio.outputs.icecast import IcecastChange, IcecastOutput, StreamTitle
from radio.outputs.icecast_client import IcecastMount, SourceInfo
from radio.outputs.oggopus import OPUS_PRE_SKIP

from .conftest import dominant_hz
from .icecast_server import (
    SOURCE_PASSWORD,
    Chain,
    IcecastServer,
    RawListener,
    demux,
    wait_for,
)

MOUNT = "/radio.opus"
PCM_OUT = ("-f", "s16le", "-ac", "2", "-ar", "48000", "pipe:")
A_HZ = 440.0
B_HZ = 660.0


class Tones(Endless):
    """The station: a phase-continuous sine at ``hz`` (changed by the pump at a track change)."""

    def __init__(self) -> None:
        self.hz = A_HZ
        self.phase = 0.0

    def read(self) -> bytes:
        n = np.arange(SAMPLES_PER_FRAME)
        step = 2 * np.pi * self.hz / SAMPLE_RATE
        mono = (np.sin(self.phase + step * n) * 12_000).astype("<i2")
        self.phase = (self.phase + step * SAMPLES_PER_FRAME) % (2 * np.pi)
        return np.repeat(mono, 2).tobytes()

    def close(self) -> None:
        pass


class Pump:
    """The sender's stand-in: one packet every 20 ms on an absolute grid, on its own thread.

    :meth:`change_track` makes the next frame the first of track B: the title
    event is given to the output just before that frame is pulled, as the
    station raises TrackStarted during the read of the track's first frame.
    """

    def __init__(self, feed: SimulcastFeed, station: Tones, output: IcecastOutput) -> None:
        self.feed = feed
        self.station = station
        self.output = output
        self.pulled = 0
        self.switched_at: int | None = None
        self._switch = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def change_track(self) -> None:
        self._switch.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            if self._switch.is_set() and self.switched_at is None:
                track = Track("b.flac", "B tone", artist="Station")
                self.output.on_event(TrackStarted(self.pulled, track))
                self.station.hz = B_HZ
                self.switched_at = self.pulled
            assert self.feed.next_packet() is not None
            self.pulled += 1
            due += 0.02
            time.sleep(max(0.0, due - time.monotonic()))


@pytest.fixture
def icecast(tmp_path: Path) -> Iterator[IcecastServer]:
    server = IcecastServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Rig:
    """A feed, its recorded packets, the output on the mount and its reported changes."""

    def __init__(self, port: int, *, password: str = SOURCE_PASSWORD) -> None:
        self.changes: list[IcecastChange] = []
        self.output = IcecastOutput(
            IcecastMount("127.0.0.1", port, MOUNT),
            password,
            monotonic=time.monotonic,
            info=SourceInfo(name="Test radio", description="tones for the tests"),
            on_change=self.changes.append,
            backoff_base=0.1,
            backoff_cap=0.5,
            connect_timeout=5.0,
            send_timeout=5.0,
        )
        self.station = Tones()
        self.feed = SimulcastFeed(self.station)
        self.packets: list[bytes] = []  # every packet the feed encoded, in order
        self.feed.taps.add(self.packets.append)
        self.feed.taps.add(self.output.packet, every_frame=True)
        self.pump = Pump(self.feed, self.station, self.output)

    def start(self, title: StreamTitle) -> None:
        self.output.title(title)
        self.output.start()
        self.pump.start()

    def close(self) -> None:
        self.pump.stop()
        assert self.output.close()


def reads_opus_tags(icecast: IcecastServer) -> bool:
    """Whether this Icecast shows an Opus stream's TITLE in its status (2.5 does).

    Icecast 2.4's Opus handler never reads OpusTags (and it refuses URL metadata
    updates for Ogg mounts): its listeners get the title from the chained
    stream's comment header, which the tests read themselves.
    """
    version = str(icecast.status()["icestats"].get("server_id", ""))
    return not version.startswith("Icecast 2.4")


def audio_packets(chains: list[Chain]) -> list[bytes]:
    return [packet for chain in chains for packet in chain.packets]


def index_in(packets: list[bytes], received: list[bytes]) -> int:
    """Where ``received`` sits in ``packets`` as one contiguous, byte-identical run."""
    assert received, "nothing received"
    starts = [i for i, packet in enumerate(packets) if packet == received[0]]
    for start in starts:
        if packets[start : start + len(received)] == received:
            return start
    raise AssertionError("the mount's packets are not a contiguous run of the feed's packets")


def test_the_mount_carries_the_feeds_own_packets_and_the_title_follows_the_track(
    icecast: IcecastServer,
) -> None:
    rig = Rig(icecast.port)
    rig.start(StreamTitle("A tone", "Station"))
    listener: RawListener | None = None
    ffmpeg: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: icecast.mount(MOUNT) is not None, what="the mount on Icecast")
        assert rig.changes == [IcecastChange(f"http://127.0.0.1:{icecast.port}{MOUNT}", up=True)]
        status = icecast.mount(MOUNT)
        assert status is not None
        assert status["server_name"] == "Test radio"
        assert status["server_description"] == "tones for the tests"
        listener = RawListener(icecast.port, MOUNT)
        url = f"http://127.0.0.1:{icecast.port}{MOUNT}"
        ffmpeg = subprocess.Popen(
            [*("ffmpeg", "-nostdin", "-v", "error", "-i", url, "-t", "6"), *PCM_OUT],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        wait_for(
            lambda: len(audio_packets(demux(listener.received()))) >= 100,
            what="two seconds of audio at the listener",
        )
        rig.pump.change_track()
        wait_for(
            lambda: (
                rig.pump.switched_at is not None and rig.pump.pulled >= rig.pump.switched_at + 200
            ),
            what="four seconds of track B",
        )
        if reads_opus_tags(icecast):
            wait_for(
                lambda: (icecast.mount(MOUNT) or {}).get("title") == "B tone",
                what="Icecast's title to follow the track",
            )
        decoded, errors = ffmpeg.communicate(timeout=60)
        assert ffmpeg.returncode == 0 and errors == b"", errors.decode()
    finally:
        rig.close()
        if listener is not None:
            listener.close()
        if ffmpeg is not None and ffmpeg.poll() is None:
            ffmpeg.kill()
            ffmpeg.wait()

    # Our listener: the feed's own packets, byte for byte, in chained streams.
    capture = listener.received()
    chains = demux(capture)
    received = audio_packets(chains)
    start = index_in(rig.packets, received)
    assert len(received) >= 300
    switched = rig.pump.switched_at
    assert switched is not None
    assert [(c.tags.get("TITLE"), c.tags.get("ARTIST")) for c in chains] == [
        ("A tone", "Station"),
        ("B tone", "Station"),
    ]
    first, second = chains
    assert first.eos and second.bos and first.serial != second.serial
    # The title changes exactly where the track does: B's chain starts with its first frame.
    assert start + len(first.packets) == switched
    assert second.packets[0] == rig.packets[switched]
    # Granule positions restart with the chain and count its samples (pages of 200 ms).
    assert second.pre_skip == 0 and first.pre_skip == OPUS_PRE_SKIP
    assert second.granules[:3] == [10 * 960, 20 * 960, 30 * 960]
    # FFmpeg plays across the chains sample for sample: no hole where the title changed.
    # (Through a pipe, as from the network: given a file, FFmpeg 5.1 seeks to its end
    # for a duration and warns that it "failed to create or replace stream".)
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", "pipe:", "-f", "s16le", "-ac", "2", "pipe:"],
        input=capture,
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert result.stderr == b""
    samples = np.frombuffer(result.stdout, "<i2").reshape(-1, 2)[:, 0].astype(float)
    assert len(samples) == len(received) * 960 - OPUS_PRE_SKIP
    boundary = len(first.packets) * 960 - OPUS_PRE_SKIP
    assert dominant_hz(samples[boundary - 9600 : boundary - 480]) == pytest.approx(A_HZ, abs=6)
    assert dominant_hz(samples[boundary + 960 : boundary + 10560]) == pytest.approx(B_HZ, abs=6)
    # FFmpeg reading the URL hears the station's tones: A, then B, nothing else.
    heard = np.frombuffer(decoded, "<i2").reshape(-1, 2)[:, 0].astype(float)
    assert len(heard) == 6 * SAMPLE_RATE
    window = 4800
    tones = [
        round(dominant_hz(heard[i : i + window])) for i in range(0, len(heard) - window + 1, window)
    ]
    changes = [i for i in range(1, len(tones)) if tones[i] != tones[i - 1]]
    assert tones[0] == pytest.approx(A_HZ, abs=10) and tones[-1] == pytest.approx(B_HZ, abs=10)
    assert len(changes) <= 2 and all(c - changes[0] <= 1 for c in changes)  # one transition


def test_icecast_killed_and_restarted_the_output_comes_back_and_the_feed_never_waits(
    icecast: IcecastServer,
) -> None:
    rig = Rig(icecast.port)
    rig.start(StreamTitle("A tone", "Station"))
    listener: RawListener | None = None
    try:
        wait_for(lambda: rig.output.stats().sent >= 50, what="a second of audio sent")
        icecast.kill()
        wait_for(lambda: len(rig.changes) == 2, what="the output to report the outage")
        down = rig.changes[1]
        assert not down.up and ("closed the connection" in down.reason or "broke" in down.reason)
        # Icecast is gone: the output tries again (with backoff) while the feed plays on.
        wait_for(lambda: rig.output.stats().failures >= 3, what="reconnection attempts")
        assert len(rig.changes) == 2  # one message for the outage, not one per attempt
        pulled = rig.pump.pulled
        wait_for(lambda: rig.pump.pulled >= pulled + 50, what="the feed going on")
        icecast.start()
        wait_for(lambda: len(rig.changes) == 3, what="the output to come back")
        assert rig.changes[2].up
        wait_for(lambda: icecast.mount(MOUNT) is not None, what="the mount on the new Icecast")
        listener = RawListener(icecast.port, MOUNT)
        wait_for(
            lambda: len(audio_packets(demux(listener.received()))) >= 100,
            what="two seconds of audio at a listener of the new Icecast",
        )
    finally:
        rig.close()
        if listener is not None:
            listener.close()
    received = audio_packets(demux(listener.received()))
    index_in(rig.packets, received)
    stats = rig.output.stats()
    assert stats.connections == 2
    # Every packet the feed made reached the output's tap, and each was taken or counted.
    assert len(rig.packets) == rig.pump.pulled
    assert stats.received + stats.dropped == rig.pump.pulled
    assert stats.discarded > 0  # the packets of the outage were dropped, not sent late


def test_a_refused_password_is_reported_once_and_tried_again(icecast: IcecastServer) -> None:
    rig = Rig(icecast.port, password="not-the-password")
    rig.output.start()
    try:
        wait_for(lambda: rig.output.stats().failures >= 3, what="several refused logins")
    finally:
        assert rig.output.close()
    assert len(rig.changes) == 1
    assert not rig.changes[0].up
    assert "401" in rig.changes[0].reason
    assert "not-the-password" not in rig.changes[0].reason
    assert icecast.mount(MOUNT) is None


def test_the_feed_never_waits_for_an_output_that_does_not_drain() -> None:
    output = IcecastOutput(
        IcecastMount("127.0.0.1", 9, MOUNT), "x", monotonic=time.monotonic, capacity=10
    )  # never started: nothing takes packets out of its queue
    for _ in range(100):
        output.packet(b"\xfc\x00")
    stats = output.stats()
    assert (stats.received, stats.dropped) == (10, 90)
