"""Voice faults through the whole application: the real StationApp on the local Discord.

One station run of sequential tones (440 Hz 2 s, 550 Hz 2.5 s, 660 Hz 2 s) meets,
in turn, a voice WebSocket closed with 4006, one closed with 4015, a silenced
UDP path, a dropped gateway, and last a 4014 close. After each of the first
four the listener must hear audio again, every RTP sequence after the resume,
and the programme at its grid-correct point: each heard packet is matched to
the station frame it carries, and the first frame heard after an outage is the
one due at that moment on the sender's frame grid (the station kept pulling
frames while the room was gone), not the one after the last frame heard.
Tones are compared with the tracks the station reported (TrackStarted frames)
and with the timeline the files' durations predict. A 4014 close is not
rejoined and gives one message in the admins' room.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import wait
from support.station_app import on_air, station_app

from radio.app import StationApp
from radio.bot.client import RoomState
from radio.bot.config import DiscordConfig
from radio.bot.sender import MAX_LATE_FRAMES
from radio.clock import SystemClock
from radio.events import Event, TrackStarted
from radio.sandbox import Emulator
from radio.sandbox.analysis import missing_sequences
from radio.sandbox.record import PacketRecord

from .conftest import FALLBACK_TONES, make_station, packet_tone

pytestmark = pytest.mark.e2e

TONES = tuple(hz for *_, hz, _ in FALLBACK_TONES)  # 440, 550, 660: the fallback's order
LENGTHS = tuple(round(seconds * 50) for *_, seconds in FALLBACK_TONES)  # frames: 100, 125, 100
EDGE = 2  # frames either side of a track change: the encoder's look-ahead mixes two tones
FRESH = 2  # packets at a connection's start that may decode as a mixture
AFTER = 140  # packets of a stretch matched to frames (a loaded sender may skip ahead later)
SETTLE = 10  # packets of one tone heard after a change: the change is past the EDGE
# How far behind the frame due at its arrival a stretch's first packet may carry: the
# sender sends at most MAX_LATE_FRAMES late before it skips ahead, but on a busy
# machine the thread can be held up between its decision and the send, and the
# listener's stamp taken late. The tones decide the match (a track change among
# the packets pins the offset; the same change recurs only every 325 frames), so
# the window is generous: one second.
LATE_WINDOW = 50


until = functools.partial(wait.until, timeout=30.0)


# the fallback tone a packet carries: 0.0 for silence, None for a mixture
tone_of = functools.partial(packet_tone, tones=TONES)


@dataclass
class Segment:
    """Packets heard back to back: one SSRC, consecutive sequences, no silence."""

    packets: list[PacketRecord]
    tones: list[float | None]
    fits: list[int] | None = None  # station frames its first packet may carry, once matched


def segments(packets: list[PacketRecord], due: Callable[[float], int]) -> list[Segment]:
    """Split the record where the connection changed, a sequence is missing, silence
    was sent (the five silence frames of a detach carry no station frame), or the
    frames due by two packets' arrivals (``due``, the sender's frame grid) differ by
    more than the sender's lateness allows for consecutive frames: after a
    reconnect discord.py keeps its SSRC and sequence, and only the frame grid
    shows the frames pulled while no room was connected (a packet held up on its
    way splits a stretch too: :func:`matched` joins it back)."""
    out: list[Segment] = []
    current: Segment | None = None
    previous: PacketRecord | None = None
    for packet in packets:
        tone = tone_of(packet)
        joined = (
            previous is not None
            and current is not None
            and packet.ssrc == previous.ssrc
            and (packet.sequence - previous.sequence) % 65536 == 1
            and due(packet.arrival) - due(previous.arrival) <= 1 + MAX_LATE_FRAMES + 2
        )
        previous = packet
        if tone == 0.0:
            current = None
            continue
        if not joined or current is None:
            current = Segment([], [])
            out.append(current)
        current.packets.append(packet)
        current.tones.append(tone)
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

    def on_air(self, frame: int) -> float:
        """The tone of the track the station reported on air at ``frame``."""
        return [hz for start, hz in list(self.started) if start <= frame][-1]

    def mismatches(
        self, segment: Segment, first: int, *, tolerant: bool = False
    ) -> list[int] | None:
        """The packets of ``segment`` away from a change whose tone is not the one the
        station reported for frame ``first`` + their index; None when no change falls
        among them (then any offset within a track would do) unless ``tolerant``. The
        first packets of a connection may decode as a mixture (a fresh decoder): they
        are not compared."""
        wrong: list[int] = []
        seen: set[float] = set()
        opening = True  # still in the packets a connection's start may spoil
        for index, tone in enumerate(segment.tones):
            expected = self.tone_at(first + index)
            # a fresh decoder's mixture (FRESH packets), or frames DAVE refused while
            # the connection's keys were being set up: not compared
            opening = opening and (tone is None or index < FRESH)
            if expected is None or (tone is None and opening):
                continue
            seen.add(expected)
            if tone != expected:
                wrong.append(index)
        return wrong if len(seen) > 1 or tolerant else None

    def matches(self, segment: Segment, first: int) -> bool:
        """True when every packet of ``segment`` away from a change carries the tone the
        station reported for frame ``first`` + its index, and a change is among them."""
        return self.mismatches(segment, first) == []


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
    emulator: Emulator

    def heard(self) -> list[PacketRecord]:
        return self.emulator.record.audio_packets(channel_id=self.emulator.world.voice_channel.id)


def changed(onair: OnAir, mark: int) -> bool:
    """True once the packets heard from index ``mark`` on hold a track change and
    SETTLE packets of one tone after it."""
    tones = [t for t in map(tone_of, onair.heard()[mark:]) if t is not None and t != 0.0]
    return len(tones) > SETTLE and len(set(tones[-SETTLE:])) == 1 and tones[0] != tones[-1]


def matched(parts: list[Segment], programme: Programme, due: Callable[[float], int]) -> None:
    """Match each stretch to the frames it carried (its ``fits``), and join back a
    stretch split by a late packet, not by a gap in the frames.

    A stretch's first packet carries a frame within the sender's lateness bound of
    the frame due when it arrived (never sent before it is due, at most
    MAX_LATE_FRAMES after, then the sender skips ahead; 2 more for the trip):
    the fits are the offsets there at which every tone is the one the station
    reported. A stretch that continues its predecessor's connection and
    frames (its tones are those of the frames after the predecessor's last) is
    the same stretch, delayed on the way (a sender thread held up between its
    skip decision and its send).
    """
    index = 0
    while index < len(parts):
        part = parts[index]
        previous = parts[index - 1] if index else None
        if (
            previous is not None
            and previous.fits
            and part.packets[0].ssrc == previous.packets[-1].ssrc
            and (part.packets[0].sequence - previous.packets[-1].sequence) % 65536 == 1
            and not programme.mismatches(
                part, previous.fits[0] + len(previous.packets), tolerant=True
            )
        ):
            previous.packets.extend(part.packets)
            previous.tones.extend(part.tones)
            del parts[index]
            continue
        first = due(part.packets[0].arrival)  # frames 0 .. first-1 are due
        head = Segment(part.packets[:AFTER], part.tones[:AFTER])
        window = range(first - LATE_WINDOW, first + 1)
        part.fits = [f for f in window if programme.matches(head, f)]
        index += 1


@pytest.fixture
async def onair(tmp_path: Path) -> AsyncIterator[OnAir]:
    station = make_station(tmp_path / "station", show_start=None)
    async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emulator:
        world = emulator.world
        config = DiscordConfig.model_validate(
            # Only the admins' room: no now-playing posts, so its one message is the alert.
            {"guilds": [{"id": world.guild.id, "broadcast": world.voice_channel.id,
                         "admins": world.text_channel.id}]}
        )  # fmt: skip
        app = station_app(station.root, station.data, config)
        programme = Programme(station.freq_of)
        app.events.subscribe(programme.on_event)
        async with on_air(app, emulator, timeout=30.0):
            yield OnAir(app, programme, emulator)


async def test_voice_faults_resume_at_the_grid_correct_point(onair: OnAir) -> None:
    app, programme, emulator = onair.app, onair.programme, onair.emulator
    world = emulator.world
    room = app.bot.rooms[world.guild.id]
    broadcaster = app.bot.broadcaster
    await until(lambda: len(onair.heard()) >= AFTER)

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
    # Per fault: the last packet heard before it and the last one heard once it was over.
    bounds: dict[str, tuple[PacketRecord, PacketRecord]] = {}
    for name, inject in faults:
        last_before = onair.heard()[-1]
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
        bounds[name] = (last_before, onair.heard()[-1])
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

    parts = segments(packets, broadcaster.due)
    matched(parts, programme, broadcaster.due)

    def holding(packet: PacketRecord) -> tuple[int, Segment]:
        [(index, part)] = [
            (i, p) for i, p in enumerate(parts) if any(q is packet for q in p.packets)
        ]
        return index, part

    for name, (last_before, last_after) in bounds.items():
        (b, before), (a, after) = holding(last_before), holding(last_after)
        assert before.fits and after.fits, (name, before.fits, after.fits, after.tones)
        # Every packet from the resume to the change heard after it arrived: no
        # sequence lost, none split off, one tone per frame as reported.
        start = packets.index(after.packets[0]) if b != a else packets.index(last_before) + 1
        back = packets[start : packets.index(last_after) + 1]
        assert missing_sequences(back) == [], name
        assert all(any(p is q for q in after.packets) for p in back), name
        # Audio came back with the track the station reported for that frame (the
        # match), which is the one the files' timeline predicts for it.
        offset = next(i for i, p in enumerate(after.packets) if p is back[0])
        k = next(
            i
            for i in range(offset, len(after.tones))
            if after.tones[i] is not None and programme.tone_at(after.fits[0] + i) is not None
        )
        frame = after.fits[0] + k
        predicted = predicted_starts(first_frame, first_tone, frame)[-1][1]
        assert after.tones[k] == programme.on_air(frame) == predicted, name
        if name == "gateway dropped":
            # discord.py resumes the gateway without touching voice: no gap at all.
            assert b == a, name
            continue
        # An outage: the programme kept time, so the first frame heard after it is
        # the one due then, not the one after the last frame heard before it.
        assert a > b, name
        last_heard = before.fits[0] + len(before.packets) - 1
        assert after.fits[0] > last_heard + 1, (name, after.fits, last_heard)
        if name == "udp silenced":
            # Same connection: the frames not heard are the sequences lost.
            lost = (after.packets[0].sequence - before.packets[-1].sequence) % 65536 - 1
            assert lost >= 25
            assert after.fits[0] - before.fits[0] - len(before.packets) in range(
                lost - 2 * EDGE, lost + 2 * EDGE + 1
            ), (lost, before.fits, after.fits)
