"""The one sender per station: its schedule on a stepped clock, its fan-out to rooms."""

from __future__ import annotations

import itertools

import pytest

from radio.audio.operators import Sine
from radio.bot.audio import OPUS_SILENCE, SimulcastFeed
from radio.bot.sender import (
    MAX_LATE_FRAMES,
    MIN_GAP_S,
    PERIOD_S,
    STOP_SILENCE_FRAMES,
    Broadcaster,
    SendSchedule,
)

from .doubles import CountingEncoder

START = 100.0


def at(frames: float) -> float:
    """The instant ``frames`` periods after START (the schedule's own arithmetic)."""
    return START + frames * PERIOD_S


# -- the schedule --------------------------------------------------------------


def test_deadlines_are_absolute_a_late_send_does_not_shift_the_next() -> None:
    schedule = SendSchedule(START)
    assert schedule.wait(START) == 0.0
    assert schedule.take(START) == 0
    assert schedule.wait(START) == pytest.approx(PERIOD_S)
    # Frame 1 goes out 5 ms late; frame 2 is still due at its own deadline.
    assert schedule.take(at(1) + 0.005) == 0
    assert schedule.wait(at(1) + 0.005) == pytest.approx(0.015)
    assert schedule.send_at() == pytest.approx(at(2))
    assert (schedule.sent, schedule.skipped, schedule.late) == (2, 0, 0)


def test_wait_is_never_negative() -> None:
    schedule = SendSchedule(START)
    schedule.take(START)
    assert schedule.wait(at(3)) == 0.0
    assert schedule.wait(START - 1.0) == pytest.approx(1.0 + PERIOD_S)


def test_a_late_sender_catches_up_no_faster_than_the_minimum_gap() -> None:
    schedule = SendSchedule(START)
    schedule.take(START)
    # Frame 1 goes out 3 periods late (within the bound): sent, counted late.
    now = at(4)
    assert schedule.take(now) == 0
    sends = [now]
    while schedule.next < 12:
        now = schedule.send_at()
        assert schedule.take(now) == 0
        sends.append(now)
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    # Never closer than the minimum gap, never a burst; back on the grid at the end.
    assert min(gaps) == pytest.approx(MIN_GAP_S)
    assert all(gap >= MIN_GAP_S - 1e-9 for gap in gaps)
    assert sends[-1] == pytest.approx(at(11))
    assert gaps[-1] == pytest.approx(PERIOD_S)
    assert schedule.skipped == 0
    # Each send gains 8 ms (20 - 12): frames 1 to 7 go out 3.0, 2.6, ... 0.6 periods
    # late (more than half a period: counted late), frame 8 0.2, frame 9 on time.
    assert [round((t - at(n + 1)) / PERIOD_S, 6) for n, t in enumerate(sends)][:9] == [
        3.0,
        2.6,
        2.2,
        1.8,
        1.4,
        1.0,
        0.6,
        0.2,
        0.0,
    ]
    assert schedule.late == 7


def test_far_behind_it_skips_to_the_newest_due_frame() -> None:
    schedule = SendSchedule(START)
    schedule.take(START)
    # Frame 1 was due at 1 period; at 8.5 periods it is 7.5 late (more than 5):
    # frames 1 to 7 are dropped and frame 8, the newest due, is sent now.
    assert schedule.take(at(8.5)) == 7
    assert schedule.next == 9
    assert (schedule.sent, schedule.skipped) == (2, 7)
    # The minimum gap still holds after the skip.
    assert schedule.send_at() == pytest.approx(at(8.5) + MIN_GAP_S)


def test_exactly_the_bound_late_is_sent_not_skipped() -> None:
    schedule = SendSchedule(START)
    schedule.take(START)
    assert schedule.take(at(1 + MAX_LATE_FRAMES)) == 0
    assert schedule.next == 2


def test_sending_early_is_refused() -> None:
    schedule = SendSchedule(START)
    schedule.take(START)
    with pytest.raises(ValueError, match="before its time"):
        schedule.take(at(0.5))


@pytest.mark.parametrize(
    ("period", "min_gap", "max_late"), [(0.0, 0.0, 5), (0.02, 0.03, 5), (0.02, 0.01, 0)]
)
def test_bad_settings_are_refused(period: float, min_gap: float, max_late: int) -> None:
    with pytest.raises(ValueError):
        SendSchedule(START, period=period, min_gap=min_gap, max_late=max_late)


# -- the fan-out ---------------------------------------------------------------


class RecordingLink:
    """Stands in for discord.py's VoiceClient: records what the sender does to a room."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.connected = True
        self.ws = object()  # a new object on each reconnect, like discord.py's voice WebSocket
        self.packets: list[bytes] = []
        self.flags: list[tuple[bool, int]] = []  # (speaking, packets sent before it)
        self.broken = False

    def is_connected(self) -> bool:
        return self.connected

    def session(self) -> object:
        return self.ws

    def send(self, packet: bytes) -> None:
        if self.broken:
            raise OSError("network unreachable")
        self.packets.append(packet)

    def speak(self, speaking: bool) -> None:
        self.flags.append((speaking, len(self.packets)))


def rig(
    rooms: int,
) -> tuple[Sine, CountingEncoder, SimulcastFeed, Broadcaster, list[RecordingLink]]:
    station = Sine(440.0, level_dbfs=-12.0)
    encoder = CountingEncoder()
    feed = SimulcastFeed(station, encoder)
    sender = Broadcaster(feed)
    links = [RecordingLink(f"room{r}") for r in range(rooms)]
    for link in links:
        assert sender.attach(link, link)
    return station, encoder, feed, sender, links


def run_frames(sender: Broadcaster, first: int, count: int) -> None:
    for n in range(first, first + count):
        assert sender.step(at(n)) == pytest.approx(PERIOD_S)


@pytest.mark.parametrize("rooms", [1, 4])
def test_each_frame_is_encoded_once_and_sent_to_every_room(rooms: int) -> None:
    _, encoder, feed, sender, links = rig(rooms)
    run_frames(sender, 0, 50)
    assert encoder.calls == 50
    assert feed.position == 50
    reference = links[0].packets
    assert len(reference) == 50 and len(set(reference)) > 1
    assert all(link.packets == reference for link in links)
    # Told "speaking" once, before the first packet.
    assert all(link.flags == [(True, 0)] for link in links)
    stats = sender.stats()
    assert (stats.frames, stats.packets, stats.idle, stats.rooms) == (50, 50 * rooms, 0, rooms)


def test_a_step_before_the_deadline_sends_nothing() -> None:
    _, encoder, _, sender, links = rig(2)
    run_frames(sender, 0, 1)
    assert sender.step(at(0.5)) == pytest.approx(PERIOD_S / 2)
    assert encoder.calls == 1 and len(links[0].packets) == 1


def test_a_disconnected_room_is_skipped_and_speaks_again_after_reconnecting() -> None:
    _, encoder, _, sender, (a, b) = rig(2)
    run_frames(sender, 0, 10)
    b.connected = False
    run_frames(sender, 10, 10)
    b.connected, b.ws = True, object()  # discord.py reconnected: a new voice WebSocket
    run_frames(sender, 20, 10)
    assert encoder.calls == 30
    assert len(a.packets) == 30 and len(b.packets) == 20
    assert b.packets[10:] == a.packets[20:]  # back at the live edge, not replaying
    assert b.flags == [(True, 0), (True, 10)]
    assert a.flags == [(True, 0)]


def test_with_no_room_connected_the_station_keeps_time_without_encoding() -> None:
    station, encoder, feed, sender, (a,) = rig(1)
    a.connected = False
    run_frames(sender, 0, 25)
    assert feed.position == 25 and encoder.calls == 0
    assert sender.stats().idle == 25 and a.packets == []
    a.connected = True
    run_frames(sender, 25, 5)
    assert feed.position == 30 and encoder.calls == 5
    # The station was pulled for every frame: its next sample is frame 30's.
    fresh = Sine(440.0, level_dbfs=-12.0)
    for _ in range(30):
        fresh.read()
    assert station.read() == fresh.read()


def test_far_behind_the_sender_pulls_the_missed_frames_but_sends_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, encoder, feed, sender, (a,) = rig(1)
    run_frames(sender, 0, 1)
    sender.step(at(9.5))  # frame 1 is 8.5 periods late: frames 1 to 8 skipped
    assert feed.position == 10
    assert encoder.calls == 2
    assert len(a.packets) == 2
    assert sender.stats().skipped == 8
    sender.step(at(20))  # frame 10 is 10 periods late: frames 10 to 19 skipped
    assert feed.position == 21 and encoder.calls == 3
    assert sender.stats().skipped == 18
    # Told once, not at every skip.
    assert sum("frames late" in r.getMessage() for r in caplog.records) == 1


def test_detach_sends_five_silence_frames_and_stops_speaking() -> None:
    _, _, _, sender, (a, b) = rig(2)
    run_frames(sender, 0, 3)
    b.connected = False
    sender.detach(a)
    sender.detach(b)
    sender.detach(a)  # idempotent
    assert a.packets[3:] == [OPUS_SILENCE] * STOP_SILENCE_FRAMES
    assert a.flags[-1] == (False, 3 + STOP_SILENCE_FRAMES)
    assert len(b.packets) == 3 and b.flags == [(True, 0)]  # nothing to a closed connection
    assert not sender.is_attached(a)
    run_frames(sender, 3, 2)
    assert len(a.packets) == 3 + STOP_SILENCE_FRAMES
    assert sender.attach(a, a)  # it can come back


def test_a_closed_feed_ends_sending_with_silence() -> None:
    _, _, feed, sender, (a,) = rig(1)
    run_frames(sender, 0, 4)
    feed.close()
    assert sender.step(at(4)) == 0.0
    assert sender.ended
    assert a.packets[4:] == [OPUS_SILENCE] * STOP_SILENCE_FRAMES
    sender.step(at(5))
    assert len(a.packets) == 4 + STOP_SILENCE_FRAMES


def test_a_closed_feed_ends_sending_also_with_no_room_connected() -> None:
    _, _, feed, sender, (a,) = rig(1)
    a.connected = False
    run_frames(sender, 0, 3)
    feed.close()
    assert sender.step(at(3)) == 0.0
    assert sender.ended and a.packets == []


def test_a_failing_room_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    _, _, _, sender, (a, b) = rig(2)
    a.broken = True
    run_frames(sender, 0, 5)
    assert len(b.packets) == 5 and a.packets == []
    assert sender.stats().packets == 5
    assert sum("sending to room0 failed" in r.getMessage() for r in caplog.records) == 1


def test_stop_detaches_every_room_with_silence() -> None:
    _, _, _, sender, (a, b) = rig(2)
    run_frames(sender, 0, 2)
    sender.stop()
    sender.stop()  # idempotent
    for link in (a, b):
        assert link.packets[2:] == [OPUS_SILENCE] * STOP_SILENCE_FRAMES
        assert link.flags[-1] == (False, 2 + STOP_SILENCE_FRAMES)
    assert sender.stats().rooms == 0


def held(hold: float) -> tuple[SimulcastFeed, Broadcaster, RecordingLink]:
    """A broadcaster with a ``hold``, its one room attached but not yet connected."""
    feed = SimulcastFeed(Sine(440.0, level_dbfs=-12.0), CountingEncoder())
    sender = Broadcaster(feed, hold=hold)
    link = RecordingLink("room")
    link.connected = False
    assert sender.attach(link, link)
    return feed, sender, link


def test_a_hold_pulls_nothing_until_the_first_room_is_connected() -> None:
    feed, sender, link = held(10.0)
    for n in range(100):  # two seconds of a send loop's passes, the room joining
        sender.begin(at(n))
        assert sender.step(at(n)) == pytest.approx(PERIOD_S)
    assert not sender.begun
    assert feed.position == 0 and sender.stats().idle == 0
    link.connected = True
    sender.begin(at(100))
    assert sender.begun
    run_frames(sender, 100, 5)
    # The programme's first frame went to the room: frame 0 due at the first pass
    # that found the room connected.
    assert feed.position == 5 and len(link.packets) == 5
    assert sender.due(at(100)) == 1


def test_a_hold_ends_after_its_seconds_without_a_room() -> None:
    feed, sender, link = held(1.0)
    for n in range(50):
        sender.begin(at(n))
        sender.step(at(n))
    assert not sender.begun and feed.position == 0
    sender.begin(at(50))  # one second after the first start offered
    assert sender.begun
    run_frames(sender, 50, 3)
    # The programme keeps time with no room: pulled, not sent.
    assert feed.position == 3 and sender.stats().idle == 3 and link.packets == []


def test_begin_sets_frame_zero_due_instant() -> None:
    _, encoder, _, sender, (a,) = rig(1)
    assert not sender.begun
    sender.begin(at(1))
    assert sender.begun
    assert sender.step(at(0.25)) == pytest.approx(0.75 * PERIOD_S)
    assert a.packets == []
    assert sender.step(at(1)) == pytest.approx(PERIOD_S)
    sender.begin(at(10))  # no-op once begun
    assert sender.step(at(2)) == pytest.approx(PERIOD_S)
    assert encoder.calls == 2
