"""Voice faults through the whole application: the real StationApp on the local Discord.

One station run of sequential tones (440 Hz 2 s, 550 Hz 2.5 s, 660 Hz 2 s) meets,
in turn, a voice WebSocket closed with 4006, one closed with 4015, a silenced
UDP path, a dropped gateway, and last a 4014 close. After each of the first
four the listener must hear audio again, every RTP sequence after the resume,
and the programme at its grid-correct point: the station kept pulling frames
while the room was gone, so the first frame heard after an outage is past
the last one heard before it by at least the frames pulled meanwhile, not the
one after it. A 4014 close is not rejoined and gives one message in the
admins' room.

Which station frame each heard packet carries is known exactly, not inferred
from when it arrived: a tap on the station's feed keeps every packet the
station encoded with its frame, and each packet the listener opened is found
among them by its bytes (the tones carry two faint partials that make every
frame of a play encode differently; a file played again repeats its packets
only 325 frames later, and the packets are found in order). The heard
packets' tones are then compared with the tracks the station reported
(TrackStarted frames) and with the timeline the files' durations predict.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from support import wait
from support.station_app import on_air, station_app

from radio.app import StationApp
from radio.audio import synth
from radio.audio.frames import SAMPLE_RATE
from radio.bot.audio import OPUS_SILENCE, SimulcastFeed
from radio.bot.client import RoomState
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.events import Event, TrackStarted
from radio.sandbox import Emulator
from radio.sandbox.analysis import missing_sequences
from radio.sandbox.record import PacketRecord

from .conftest import FALLBACK_TONES, make_station, packet_tone

pytestmark = pytest.mark.e2e

TONES = tuple(hz for *_, hz, _ in FALLBACK_TONES)  # 440, 550, 660: the fallback's order
LENGTHS = tuple(round(seconds * 50) for *_, seconds in FALLBACK_TONES)  # frames: 100, 125, 100
PARTIALS = (97.31, 3141.5926)  # Hz, each 30 dB under the tone: no frame repeats in a play
EDGE = 2  # frames either side of a track change: the encoder's look-ahead mixes two tones
FRESH = 2  # packets after a gap that may decode as a mixture (the decoder's state)
AFTER = 140  # packets heard before the first fault
SETTLE = 10  # packets of one tone heard after a change: the change is past the EDGE


until = functools.partial(wait.until, timeout=30.0)


# the fallback tone a packet carries: 0.0 for silence, None for a mixture
tone_of = functools.partial(packet_tone, tones=TONES)


def write_marked_tones(station_root: Path) -> None:
    """Write the fallback's files again, each tone with two faint partials whose
    periods share nothing with a 20 ms frame: every frame of a file differs, so
    does every packet the station encodes from it."""
    for folder, stem, title, artist, hz, seconds in FALLBACK_TONES:
        t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        tone = synth.amplitude(-18.0) * np.sin(2 * np.pi * hz * t)
        faint = sum(synth.amplitude(-48.0) * np.sin(2 * np.pi * f * t) for f in PARTIALS)
        path = station_root / "media" / folder / f"{stem}.flac"
        synth.write_samples(path, tone + faint, title=title, artist=artist)


@dataclass
class Encoded:
    """Every packet the station's feed encoded, with the station frame it carries
    (a feed tap: called on the sender thread, right after the frame's pull)."""

    feed: SimulcastFeed
    frames: list[int] = field(default_factory=list)
    packets: list[bytes] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def tap(self, packet: bytes) -> None:
        with self._lock:
            self.frames.append(self.feed.position - 1)
            self.packets.append(packet)

    def frames_of(self, heard: list[PacketRecord]) -> list[int | None]:
        """The station frame each heard packet carries: None for silence and for
        packets the listener could not open. Each packet is the next one, in the
        order encoded, with its bytes; raises AssertionError for a packet the
        station never encoded."""
        with self._lock:
            packets = list(self.packets)
            frames = list(self.frames)
        where: dict[bytes, list[int]] = {}
        for index, packet in enumerate(packets):
            where.setdefault(packet, []).append(index)
        out: list[int | None] = []
        last = -1
        for heard_packet in heard:
            opus = heard_packet.opus
            if opus is None or opus == OPUS_SILENCE:
                out.append(None)
                continue
            later = [i for i in where.get(opus, []) if i > last]
            assert later, f"sequence {heard_packet.sequence}: a packet the station did not encode"
            last = later[0]
            out.append(frames[last])
        return out


class Programme:
    """What the station reported: the frame each track started at, and its tone."""

    def __init__(self, freq_of: dict[str, float]) -> None:
        self._freq_of = freq_of
        self.started: list[tuple[int, float]] = []

    def on_event(self, event: Event) -> None:
        if isinstance(event, TrackStarted):  # on the event bus's thread; append is atomic
            self.started.append((event.frame, self._freq_of[event.track.location]))

    def tone_at(self, frame: int) -> float | None:
        """The reported track's tone at ``frame``; None within EDGE of a change."""
        starts = list(self.started)
        if any(abs(frame - start) <= EDGE for start, _ in starts[1:]):
            return None
        tones = [hz for start, hz in starts if start <= frame]
        return tones[-1] if tones else None


def predicted_starts(first: int, first_tone: float, until_frame: int) -> list[tuple[int, float]]:
    """Track starts the files' durations predict from the first track on, in order."""
    index = TONES.index(first_tone)
    out: list[tuple[int, float]] = []
    frame = first
    while frame <= until_frame:
        out.append((frame, TONES[index]))
        frame += LENGTHS[index]
        index = (index + 1) % len(TONES)
    return out


@dataclass
class OnAir:
    app: StationApp
    programme: Programme
    encoded: Encoded
    emulator: Emulator

    def heard(self) -> list[PacketRecord]:
        return self.emulator.record.audio_packets(channel_id=self.emulator.world.voice_channel.id)


def changed(onair: OnAir, mark: int) -> bool:
    """True once the packets heard from index ``mark`` on hold a track change and
    SETTLE packets of one tone after it."""
    tones = [t for t in map(tone_of, onair.heard()[mark:]) if t is not None and t != 0.0]
    return len(tones) > SETTLE and len(set(tones[-SETTLE:])) == 1 and tones[0] != tones[-1]


@pytest.fixture
async def onair(tmp_path: Path) -> AsyncIterator[OnAir]:
    station = make_station(tmp_path / "station", show_start=None)
    write_marked_tones(station.root)
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emulator:
        world = emulator.world
        config = DiscordConfig.model_validate(
            # Only the admins' room: no now-playing posts, so its one message is the alert.
            {"guilds": [{"id": world.guild.id, "broadcast": world.voice_channel.id,
                         "admins": world.text_channel.id}]}
        )  # fmt: skip
        # However long the first join takes here, the programme waits for it.
        app = station_app(station.root, station.data, config, first_room_hold=600.0)
        programme = Programme(station.freq_of)
        app.events.subscribe(programme.on_event)
        encoded = Encoded(app.feed)
        app.feed.taps.add(encoded.tap)  # before the first frame is pulled
        async with on_air(app, emulator, timeout=30.0):
            yield OnAir(app, programme, encoded, emulator)


async def test_voice_faults_resume_at_the_grid_correct_point(onair: OnAir) -> None:
    app, programme, emulator = onair.app, onair.programme, onair.emulator
    world = emulator.world
    room = app.bot.rooms[world.guild.id]
    broadcaster = app.bot.broadcaster
    await until(lambda: len(onair.heard()) >= AFTER)
    # The programme waited for the room: nothing was pulled before it was on air,
    # and the first frame of the first track went to the listener.
    assert broadcaster.stats().idle == 0
    assert programme.started[0][0] == 0

    async def silence_udp() -> None:
        emulator.listener.answering = False
        sent = broadcaster.stats().frames
        # The bot keeps sending to a path that hears nothing: 25 frames are lost.
        await until(lambda: broadcaster.stats().frames >= sent + 25)
        emulator.listener.answering = True

    faults: list[tuple[str, Callable[[], object]]] = [
        ("close 4006", lambda: emulator.voice.close(None, 4006)),
        ("close 4015", lambda: emulator.voice.close(None, 4015)),
        ("udp silenced", silence_udp),
        ("gateway dropped", lambda: emulator.gateway.close_sockets(4000)),
    ]
    # Per fault: the index of the last packet heard before it and of the last one
    # heard once it was over, and the frames pulled with no room connected meanwhile.
    bounds: dict[str, tuple[int, int, int]] = {}
    for name, inject in faults:
        last_before = len(onair.heard()) - 1
        idle = broadcaster.stats().idle
        result = inject()
        if asyncio.iscoroutine(result):
            await result
        if name.startswith("close"):
            # The room is gone: frames are pulled with no room connected.
            await until(lambda: broadcaster.stats().idle > idle)  # noqa: B023
        mark = len(onair.heard())
        await until(functools.partial(changed, onair, mark), timeout=40)
        await until(lambda: room.state is RoomState.ON_AIR)
        bounds[name] = (last_before, len(onair.heard()) - 1, broadcaster.stats().idle - idle)
    assert room.state is RoomState.ON_AIR
    assert not world.messages_in(world.text_channel.id)  # nothing was worth an admin's time

    # 4014: out until an admin says join, and the admins' room is told once.
    joins = room.joins
    await emulator.voice.close(None, 4014)
    await until(lambda: room.state is RoomState.REFUSED)
    await until(lambda: bool(world.messages_in(world.text_channel.id)))
    idle = broadcaster.stats().idle
    # However long we look (while 25 more frames are pulled with no room), it stays out.
    await until(lambda: broadcaster.stats().idle >= idle + 25)
    assert room.state is RoomState.REFUSED
    assert room.last_close_code == 4014
    assert room.joins == joins
    [alert] = world.messages_in(world.text_channel.id)
    assert alert.content.startswith(f"Left <#{world.voice_channel.id}> (voice close code 4014: ")

    packets = onair.heard()
    assert emulator.record.auth_failures == 0
    # What the station reported is the timeline its files predict: tracks back to
    # back, 100, 125 and 100 frames long, in the playlist's order.
    started = list(programme.started)
    first_frame, first_tone = started[0]
    assert started == predicted_starts(first_frame, first_tone, started[-1][0])
    assert len(started) >= 8, started

    # Every packet heard is one the station encoded, heard in the order encoded.
    frames = onair.encoded.frames_of(packets)
    carried = [(i, f) for i, f in enumerate(frames) if f is not None]
    assert len(carried) >= AFTER
    # The first packet heard carries the station's first frame (nothing pulled
    # before the room was on air, and DAVE lets a room's first frames through).
    assert carried[0] == (0, 0), carried[:3]
    assert all(a[1] < b[1] for a, b in itertools.pairwise(carried)), "frames heard out of order"
    # Each carries the tone of the track the station reported on air at its frame
    # (the first FRESH packets after a gap may decode as a mixture), which is the
    # one the files' timeline predicts.
    gap_before = {b[0] for a, b in itertools.pairwise(carried) if b[1] - a[1] > 1}
    fresh = {i for g in gap_before for i, _ in carried if g <= i < g + FRESH}
    wrong = []
    for index, frame in carried:
        expected = programme.tone_at(frame)
        tone = tone_of(packets[index])
        if expected is None or (tone is None and index in fresh) or index < FRESH:
            continue
        if tone != expected:
            wrong.append((index, frame, tone, expected))
        elif frame >= first_frame:
            assert predicted_starts(first_frame, first_tone, frame)[-1][1] == expected
    assert not wrong, wrong[:10]

    for name, (last_before, last_after, idle_frames) in bounds.items():
        window = packets[last_before : last_after + 1]
        # where the listener's stream broke: a new connection (SSRC) or lost sequences
        breaks = [
            k
            for k in range(1, len(window))
            if window[k].ssrc != window[k - 1].ssrc
            or (window[k].sequence - window[k - 1].sequence) % 65536 != 1
        ]
        if name == "gateway dropped":
            # discord.py resumes the gateway without touching voice: no gap at all.
            assert breaks == [], (name, breaks)
            continue
        assert breaks, name
        # After the last break the audio stayed: every sequence to the end, and
        # more than SETTLE station frames.
        assert (
            sum(f is not None for f in frames[last_before + breaks[-1] : last_after + 1]) > SETTLE
        )
        # The programme kept time: the frames between the last one heard before
        # the fault and the last one heard after it that were never heard number
        # at least the frames pulled with no room connected (a close), or the
        # packets sent to a path that heard nothing (the silenced UDP path); the
        # first frame heard after an outage is not the one after the last heard.
        mapped = [(i, f) for i, f in carried if i <= last_after]
        ib, fb = next((i, f) for i, f in reversed(mapped) if i <= last_before)
        ia, fa = mapped[-1]
        unheard = fa - fb - 1 - sum(1 for i, _ in mapped if ib < i < ia)
        if name == "udp silenced":
            # Same connection: only sequences are missing, 25 or more.
            assert all(window[k].ssrc == window[0].ssrc for k in breaks), name
            lost = len(missing_sequences(window))
            assert lost >= 25, name
            assert unheard >= lost, (name, unheard, lost)
        else:
            assert idle_frames > 0, name
            assert unheard >= idle_frames, (name, unheard, idle_frames)
