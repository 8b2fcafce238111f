"""The MP3 mount against a real ``icecast2``: the station's tone, titles, outages, FFmpeg's deaths.

The station is a tone (440 Hz, then 660 Hz from a "track change"), pulled and
encoded by the real SimulcastFeed on a 20 ms grid by a pump thread standing in
for the sender; the output decodes the packets with libopus and encodes them
with the real FFmpeg. The judges are independent of our code: the real FFmpeg
decoding what a listener of the mount received, Icecast's own status JSON,
and the ICY metadata Icecast puts in a listener's stream.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from radio.app.outputs import StationOutputs
from radio.audio.frames import SAMPLE_RATE
from radio.audio.track import Track
from radio.bot.announcements import Alert, Announcer, Rooms
from radio.bot.audio import SimulcastFeed
from radio.config.outputs import IcecastOutputModel, Mp3MountModel
from radio.errors import ConfigError, OutputError
from radio.events import Event, EventBus, TrackStarted
from radio.outputs.icecast import IcecastChange, StreamTitle
from radio.outputs.icecast_client import IcecastMount, SourceInfo
from radio.outputs.icecast_metadata import update_title
from radio.outputs.mp3 import Mp3Output
from radio.outputs.mp3frames import frame_header
from radio.outputs.opus_decoder import OpusPcmDecoder

from .icecast_server import SOURCE_PASSWORD, IcecastServer, RawListener, wait_for
from .test_icecast import A_HZ, B_HZ, Tones

MOUNT = "/radio.mp3"
PCM_OUT = ("-f", "s16le", "-ac", "2", "-ar", "48000", "pipe:")
BYTES_PER_SECOND = 16_000  # 128 kb/s
ADMINS = 42


class Pump:
    """The sender's stand-in: one packet every 20 ms on an absolute grid, on its own thread.

    :meth:`change_track` makes the next frame the first of track B, its event
    given just before that frame is pulled (as the station raises TrackStarted
    during the read of a track's first frame).
    """

    def __init__(self, feed: SimulcastFeed, station: Tones, on_event: Callable[[Event], None]):
        self.feed = feed
        self.station = station
        self.on_event = on_event
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
                self.on_event(
                    TrackStarted(self.pulled, Track("b.flac", "B tone", artist="Station"))
                )
                self.station.hz = B_HZ
                self.switched_at = self.pulled
            assert self.feed.next_packet() is not None
            self.pulled += 1
            due += 0.02
            time.sleep(max(0.0, due - time.monotonic()))


class Rig:
    """A feed pumped in real time into an MP3 output, and the changes it reported."""

    def __init__(self, port: int, *, ffmpeg: str = "ffmpeg", password: str = SOURCE_PASSWORD):
        self.changes: list[IcecastChange] = []
        self.output = Mp3Output(
            IcecastMount("127.0.0.1", port, MOUNT),
            password,
            decoder=OpusPcmDecoder,
            monotonic=time.monotonic,
            info=SourceInfo(name="Test radio", description="tones for the tests"),
            on_change=self.changes.append,
            backoff_base=0.1,
            backoff_cap=0.5,
            connect_timeout=5.0,
            send_timeout=5.0,
            ffmpeg=ffmpeg,
        )
        self.station = Tones()
        self.feed = SimulcastFeed(self.station)
        self.tapped = 0  # packets the feed handed its taps
        self.feed.taps.add(self._count)
        self.feed.taps.add(self.output.packet, every_frame=True)
        self.pump = Pump(self.feed, self.station, self.output.on_event)

    def _count(self, packet: bytes) -> None:
        self.tapped += 1

    def start(self, title: StreamTitle) -> None:
        self.output.title(title)
        self.output.start()
        self.pump.start()

    def close(self) -> None:
        self.pump.stop()
        assert self.output.close()


@pytest.fixture
def icecast(tmp_path: Path) -> Iterator[IcecastServer]:
    server = IcecastServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class IcyListener:
    """A listener that asks for ICY metadata: the mount's bytes as they come, on a thread."""

    def __init__(self, port: int, mount: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        request = f"GET {mount} HTTP/1.0\r\nHost: 127.0.0.1\r\nIcy-MetaData: 1\r\n\r\n"
        self.sock.sendall(request.encode())
        self.raw = bytearray()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                with self.lock:
                    self.raw += chunk
        except OSError:
            return

    def parsed(self) -> tuple[bytes, list[tuple[int, str]]]:
        """The audio bytes, and each title sent with the number of audio bytes before it."""
        with self.lock:
            raw = bytes(self.raw)
        head, found, body = raw.partition(b"\r\n\r\n")
        if not found:
            return b"", []
        metaint = int(re.search(rb"(?i)icy-metaint:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
        audio = bytearray()
        titles: list[tuple[int, str]] = []
        position = 0
        while len(body) - position > metaint:
            audio += body[position : position + metaint]
            position += metaint
            length = body[position] * 16
            position += 1
            if position + length > len(body):
                break
            meta = body[position : position + length]
            position += length
            match = re.search(rb"StreamTitle='(.*?)';", meta)
            if match:
                titles.append((len(audio), match.group(1).decode("latin-1")))
        audio += body[position : position + metaint] if len(body) - position <= metaint else b""
        return bytes(audio), titles

    def audio_bytes(self) -> int:
        return len(self.parsed()[0])

    def close(self) -> None:
        self.sock.close()
        self.thread.join(10)


def decode_mp3(data: bytes) -> np.ndarray:
    """The left channel of ``data`` as the real FFmpeg decodes it (48 kHz)."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "mp3", "-i", "pipe:", *PCM_OUT],
        input=data,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return np.frombuffer(result.stdout, "<i2").reshape(-1, 2)[:, 0].astype(float)


def peak_hz(signal: np.ndarray) -> float:
    """The strongest frequency of ``signal``, to a fraction of a hertz (zero-padded FFT)."""
    size = 8 * len(signal)
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal)), size))
    peak = int(np.argmax(spectrum))
    a, b, c = spectrum[peak - 1], spectrum[peak], spectrum[peak + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c)  # the parabola through the three bins
    return float((peak + shift) * SAMPLE_RATE / size)


def nearest_tone(signal: np.ndarray) -> float:
    return min((A_HZ, B_HZ), key=lambda hz: abs(hz - peak_hz(signal)))


def first_frame(data: bytes) -> int:
    """Where the first of two consecutive MP3 frames starts (a listener joins mid-frame)."""
    for offset in range(len(data) - 4):
        header = frame_header(data, offset)
        if header is not None and frame_header(data, offset + header.length) is not None:
            return offset
    raise AssertionError("no MP3 frame in the capture")


def test_the_mp3_mount_plays_the_stations_tone_and_its_title_follows_the_track(
    icecast: IcecastServer,
) -> None:
    rig = Rig(icecast.port)
    rig.start(StreamTitle("A tone", "Station"))
    listener: IcyListener | None = None
    ffmpeg: subprocess.Popen[bytes] | None = None
    try:
        wait_for(
            lambda: (icecast.mount(MOUNT) or {}).get("title") == "Station - A tone",
            what="the mount with its first title on Icecast",
        )
        assert rig.changes == [IcecastChange(f"http://127.0.0.1:{icecast.port}{MOUNT}", up=True)]
        status = icecast.mount(MOUNT)
        assert status is not None
        assert status["server_type"] == "audio/mpeg"
        assert status["server_name"] == "Test radio"
        assert status["server_description"] == "tones for the tests"
        listener = IcyListener(icecast.port, MOUNT)
        url = f"http://127.0.0.1:{icecast.port}{MOUNT}"
        ffmpeg = subprocess.Popen(
            [*("ffmpeg", "-nostdin", "-v", "error", "-i", url, "-t", "6"), *PCM_OUT],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        icy = listener
        wait_for(
            lambda: (icecast.mount(MOUNT) or {}).get("listeners") == 2,
            what="FFmpeg and our listener on the mount",
        )
        joined = icy.audio_bytes()
        wait_for(
            lambda: icy.audio_bytes() >= max(joined + 2 * BYTES_PER_SECOND, 3 * BYTES_PER_SECOND),
            what="three seconds of audio at the listener, two since FFmpeg came",
        )
        rig.pump.change_track()
        wait_for(
            lambda: (icecast.mount(MOUNT) or {}).get("title") == "Station - B tone",
            what="Icecast's title to follow the track",
        )
        wait_for(
            lambda: (
                rig.pump.switched_at is not None and rig.pump.pulled >= rig.pump.switched_at + 200
            ),
            what="four seconds of track B",
        )
        wait_for(
            lambda: len(icy.parsed()[1]) >= 2 and icy.audio_bytes() >= 10 * BYTES_PER_SECOND,
            what="the second title and enough of track B at the listener",
        )
        decoded, errors = ffmpeg.communicate(timeout=60)
        assert ffmpeg.returncode == 0, errors.decode()
    finally:
        rig.close()
        if listener is not None:
            listener.close()
        if ffmpeg is not None and ffmpeg.poll() is None:
            ffmpeg.kill()
            ffmpeg.wait()

    # FFmpeg reading the URL hears the station's tones: A, then B, nothing else.
    heard = np.frombuffer(decoded, "<i2").reshape(-1, 2)[:, 0].astype(float)
    assert len(heard) == 6 * SAMPLE_RATE
    window = 4800
    tones = [nearest_tone(heard[i : i + window]) for i in range(0, len(heard) - window + 1, window)]
    changes = [i for i in range(1, len(tones)) if tones[i] != tones[i - 1]]
    assert tones[0] == A_HZ and tones[-1] == B_HZ
    assert len(changes) == 1  # one transition
    # ... each within a few hertz: a second of each, away from the transition.
    change = changes[0] * window
    assert change >= SAMPLE_RATE + window  # FFmpeg heard 2 s of A at least before the change
    before = heard[change - SAMPLE_RATE - window : change - window]
    assert peak_hz(before) == pytest.approx(A_HZ, abs=2)
    after = heard[change + window : change + window + SAMPLE_RATE]
    assert peak_hz(after) == pytest.approx(B_HZ, abs=2)

    # The ICY listener: the titles in order, the second where track B begins.
    audio, titles = listener.parsed()
    assert [title for _, title in titles] == ["Station - A tone", "Station - B tone"]
    start = first_frame(audio)
    samples = decode_mp3(audio[start:])
    assert peak_hz(samples[SAMPLE_RATE : 2 * SAMPLE_RATE]) == pytest.approx(A_HZ, abs=2)
    assert peak_hz(samples[-SAMPLE_RATE:]) == pytest.approx(B_HZ, abs=2)
    blocks = [
        nearest_tone(samples[i : i + window]) for i in range(0, len(samples) - window, window)
    ]
    b_start = blocks.index(B_HZ) * window  # to within a window (0.1 s)
    # Every frame is 384 bytes (128 kb/s, 48 kHz: no padding) and 1,152 samples.
    title_at = (titles[1][0] - start) // 384 * 1152
    # Icecast puts a title in the stream at its next metadata interval (16,000 bytes:
    # one second here) after it took it, which was right after the frame B began in.
    assert -0.5 * SAMPLE_RATE <= title_at - b_start <= 1.6 * SAMPLE_RATE

    stats = rig.output.stats()
    assert (stats.connections, stats.failures) == (1, 0)
    assert (stats.encoder_starts, stats.encoder_failures, stats.decode_errors) == (1, 0, 0)
    assert (stats.titles, stats.title_failures) == (2, 0)
    # Every packet the feed made reached the output's tap, and each was taken or counted.
    assert rig.tapped == rig.pump.pulled == stats.received + stats.dropped
    assert stats.encoded == stats.received  # all of them decoded and encoded: none lost
    assert stats.frames >= stats.encoded * 960 // 1152


def test_icecast_killed_and_restarted_the_mount_comes_back_and_the_feed_never_waits(
    icecast: IcecastServer,
) -> None:
    rig = Rig(icecast.port)
    rig.start(StreamTitle("A tone", "Station"))
    listener: RawListener | None = None
    try:
        wait_for(lambda: rig.output.stats().frames >= 50, what="a second of MP3 sent")
        first_ffmpeg = rig.output.stats().encoder_pid
        icecast.kill()
        wait_for(lambda: len(rig.changes) == 2, what="the output to report the outage")
        down = rig.changes[1]
        assert not down.up and ("closed the connection" in down.reason or "broke" in down.reason)
        # Icecast is gone: the output tries again (with backoff) while the feed plays on.
        wait_for(lambda: rig.output.stats().failures >= 3, what="reconnection attempts")
        assert len(rig.changes) == 2  # one message for the outage, not one per attempt
        assert rig.output.stats().encoder_pid is None  # no FFmpeg while the mount is down
        pulled = rig.pump.pulled
        wait_for(lambda: rig.pump.pulled >= pulled + 50, what="the feed going on")
        icecast.start()
        wait_for(lambda: len(rig.changes) == 3, what="the output to come back")
        assert rig.changes[2].up
        wait_for(
            lambda: (icecast.mount(MOUNT) or {}).get("title") == "Station - A tone",
            what="the mount and its title on the new Icecast",
        )
        listener = RawListener(icecast.port, MOUNT)
        raw = listener
        wait_for(
            lambda: len(raw.received()) >= 3 * BYTES_PER_SECOND,
            what="three seconds of audio at a listener of the new Icecast",
        )
    finally:
        rig.close()
        if listener is not None:
            listener.close()
    data = listener.received()
    samples = decode_mp3(data[first_frame(data) :])
    assert peak_hz(samples[-2 * SAMPLE_RATE :]) == pytest.approx(A_HZ, abs=2)
    stats = rig.output.stats()
    assert stats.connections == 2
    assert stats.encoder_starts == 2 and stats.encoder_failures == 0  # one FFmpeg per connection
    assert first_ffmpeg is not None and not Path(f"/proc/{first_ffmpeg}").exists()  # reaped
    assert rig.tapped == rig.pump.pulled == stats.received + stats.dropped
    assert stats.discarded > 0  # the packets of the outage were dropped, not sent late


def test_ffmpeg_killed_is_restarted_with_backoff_and_the_mount_plays_on(
    icecast: IcecastServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="radio.outputs.mp3")
    rig = Rig(icecast.port)
    rig.start(StreamTitle("A tone", "Station"))
    listener: RawListener | None = None
    try:
        wait_for(lambda: rig.output.stats().frames >= 50, what="a second of MP3 sent")
        pid = rig.output.stats().encoder_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_for(
            lambda: rig.output.stats().encoder_starts == 2, what="a new FFmpeg after the backoff"
        )
        stats = rig.output.stats()
        assert stats.encoder_failures == 1 and stats.encoder_pid not in (None, pid)
        assert not Path(f"/proc/{pid}").exists()  # reaped, not a zombie
        frames = stats.frames
        wait_for(
            lambda: rig.output.stats().frames >= frames + 100, what="frames from the new FFmpeg"
        )
        listener = RawListener(icecast.port, MOUNT)
        raw = listener
        wait_for(lambda: len(raw.received()) >= 3 * BYTES_PER_SECOND, what="audio at a listener")
    finally:
        rig.close()
        if listener is not None:
            listener.close()
    data = listener.received()
    samples = decode_mp3(data[first_frame(data) :])
    assert peak_hz(samples[-2 * SAMPLE_RATE :]) == pytest.approx(A_HZ, abs=2)
    stats = rig.output.stats()
    assert (stats.connections, stats.failures, stats.encoder_failures) == (1, 0, 1)
    assert len(rig.changes) == 1  # the mount never went down: nothing for the admins
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].exc_info is None  # logged once, no traceback
    message = warnings[0].getMessage()
    assert "exit status -9" in message and "a new FFmpeg in 0.1 s (1 failure(s))" in message


def test_an_ffmpeg_that_cannot_start_is_retried_with_backoff_never_a_traceback(
    icecast: IcecastServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="radio.outputs.mp3")
    rig = Rig(icecast.port, ffmpeg="/nonexistent/ffmpeg")
    rig.start(StreamTitle("A tone", "Station"))
    try:
        wait_for(lambda: rig.output.stats().encoder_failures >= 5, what="five failed starts")
    finally:
        rig.close()
    stats = rig.output.stats()
    assert stats.up and stats.encoder_starts == 0 and stats.frames == 0
    assert stats.discarded > 0  # nothing to encode them: not decoded, not stored up
    assert rig.tapped == rig.pump.pulled == stats.received + stats.dropped
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert all(r.exc_info is None for r in caplog.records)
    delays = [re.search(r"a new FFmpeg in ([\d.]+) s", m).group(1) for m in warnings]  # type: ignore[union-attr]
    assert delays[:5] == ["0.1", "0.2", "0.4", "0.5", "0.5"]  # doubling, capped
    assert all("cannot start FFmpeg" in m for m in warnings)


def test_the_feed_never_waits_for_an_output_that_does_not_drain(
    caplog: pytest.LogCaptureFixture,
) -> None:
    output = Mp3Output(
        IcecastMount("127.0.0.1", 9, MOUNT),
        "x",
        decoder=OpusPcmDecoder,
        monotonic=time.monotonic,
        capacity=10,
    )  # never started: nothing takes packets out of its queue
    with caplog.at_level(logging.WARNING, logger="radio.outputs.mp3"):
        for _ in range(100):
            output.packet(b"\xfc\x00")
    stats = output.stats()
    assert (stats.received, stats.dropped) == (10, 90)
    assert [r.getMessage() for r in caplog.records] == [
        "mp3 http://127.0.0.1:9/radio.mp3: the output is behind, 1 packet(s) dropped"
    ]


def test_a_title_for_a_mount_without_a_source_or_with_a_wrong_password_is_refused(
    icecast: IcecastServer,
) -> None:
    mount = IcecastMount("127.0.0.1", icecast.port, MOUNT)
    with pytest.raises(OutputError, match="refused the title"):
        update_title(mount, SOURCE_PASSWORD, "nobody streams here", timeout=5)
    with pytest.raises(OutputError, match="401"):
        update_title(mount, "not-the-password", "x", timeout=5)


_asked = [datetime(2100, 1, 1, tzinfo=UTC)]


class FixedClock:
    """The wall clock the application reads (for its messages' times)."""

    def now(self) -> datetime:
        return datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _alerts(announcer: Announcer) -> list[str]:
    _asked[0] = _asked[0].replace(year=_asked[0].year + 1)
    return [
        a.content
        for a in announcer.due(_asked[0])
        if isinstance(a, Alert) and a.channel_id == ADMINS
    ]


def test_the_application_adds_the_mp3_mount_of_an_entry(icecast: IcecastServer) -> None:
    url = f"http://127.0.0.1:{icecast.port}/radio.opus"

    def secrets(name: str) -> str:
        if name == "RADIO_ICECAST_PASSWORD":
            return SOURCE_PASSWORD
        raise ConfigError(f"{name}: missing or empty (read from the environment)")

    models = [
        IcecastOutputModel(url=url, name="Test radio", mp3=Mp3MountModel(mount=MOUNT, bitrate=64)),
        IcecastOutputModel(
            url=url.replace("radio.opus", "b.opus"),
            mp3=Mp3MountModel(mount="/b.mp3", password_env="NOPE"),
        ),
    ]
    feed = SimulcastFeed(Tones())
    events = EventBus()
    announcer = Announcer(Rooms(admins=(ADMINS,)), station="Test FM")
    outputs = StationOutputs(
        models,
        taps=feed.taps,
        events=events,
        announcer=announcer,
        clock=FixedClock(),
        monotonic=time.monotonic,
        secret=secrets,
    )
    assert [str(o.mount) for o in outputs.outputs] == [url, url.replace("radio", "b")]
    assert [str(o.mount) for o in outputs.mp3] == [f"http://127.0.0.1:{icecast.port}{MOUNT}"]
    told = _alerts(announcer)
    assert len(told) == 1 and "/b.mp3 is off" in told[0] and "NOPE" in told[0]
    events(TrackStarted(0, Track("a.flac", "First song", artist="Someone")))
    outputs.start()
    listener: RawListener | None = None
    try:
        due = time.monotonic()
        for _ in range(100):  # two seconds in real time
            feed.next_packet()
            due += 0.02
            time.sleep(max(0.0, due - time.monotonic()))
        wait_for(
            lambda: (icecast.mount(MOUNT) or {}).get("title") == "Someone - First song",
            what="the MP3 mount and its title",
        )
        listener = RawListener(icecast.port, MOUNT)
        raw = listener
        while len(raw.received()) < 2000:
            feed.next_packet()
            due += 0.02
            time.sleep(max(0.0, due - time.monotonic()))
        lines = outputs.diagnostics()
        assert any(line.startswith(f"icecast {outputs.mp3[0].mount} (MP3): up,") for line in lines)
    finally:
        if listener is not None:
            listener.close()
        asyncio.run(outputs.close())
    data = listener.received()
    header = frame_header(data, first_frame(data))
    assert header is not None and (header.bitrate_kbps, header.sample_rate) == (64, 48_000)
    assert not feed.taps.every_frame and len(feed.taps) == 0
    assert outputs.mp3[0].stats().encoder_pid is None
