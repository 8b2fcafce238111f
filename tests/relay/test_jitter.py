"""The jitter buffer and the relay's feed: frame by frame, exact counts."""

from __future__ import annotations

import itertools

import pytest

from radio.bot.audio import OPUS_SILENCE
from radio.bot.sender import Broadcaster
from radio.outputs.icecast import StreamTitle
from radio.relay.feed import RelayFeed
from radio.relay.jitter import JitterBuffer


def p(n: int) -> bytes:
    return b"\xfc" + n.to_bytes(4, "big")


def test_nothing_plays_until_the_target_depth_then_one_packet_a_frame() -> None:
    buffer = JitterBuffer(target=3, ceiling=10)
    buffer.put(p(0))
    buffer.put(p(1))
    assert buffer.take() == (None, None)
    buffer.put(p(2))
    assert [buffer.take()[0] for _ in range(3)] == [p(0), p(1), p(2)]
    stats = buffer.stats()
    assert (stats.played, stats.silent, stats.underruns, stats.playing) == (3, 1, 0, True)


def test_running_dry_is_an_underrun_and_fills_again_to_the_target() -> None:
    buffer = JitterBuffer(target=2, ceiling=10)
    for n in range(2):
        buffer.put(p(n))
    assert [buffer.take()[0] for _ in range(3)] == [p(0), p(1), None]
    buffer.put(p(2))
    assert buffer.take() == (None, None)  # one is not the target: still filling
    buffer.put(p(3))
    assert buffer.take()[0] == p(2)
    stats = buffer.stats()
    assert (stats.underruns, stats.silent) == (1, 2)


def test_a_burst_past_the_ceiling_keeps_the_newest_target_packets_and_their_title() -> None:
    buffer = JitterBuffer(target=3, ceiling=5)
    buffer.put(p(0), StreamTitle("Old"))
    buffer.put(p(1), StreamTitle("New"))
    for n in range(2, 6):
        buffer.put(p(n))  # the sixth packet passes the ceiling: down to three
    assert buffer.stats().depth == 3 and buffer.stats().dropped == 3
    assert buffer.take() == (p(3), StreamTitle("New"))
    assert [buffer.take() for _ in range(2)] == [(p(4), None), (p(5), None)]


def test_bad_depths_are_refused() -> None:
    with pytest.raises(ValueError):
        JitterBuffer(target=0)
    with pytest.raises(ValueError):
        JitterBuffer(target=5, ceiling=4)


def test_the_feed_sends_silence_while_filling_and_titles_with_their_first_packet() -> None:
    titles: list[StreamTitle] = []
    buffer = JitterBuffer(target=2, ceiling=10)
    feed = RelayFeed(buffer, on_title=titles.append)
    assert feed.next_packet() == OPUS_SILENCE
    buffer.put(p(0), StreamTitle("A", "B"))
    buffer.put(p(1))
    assert feed.prepare() is False
    assert feed.next_packet() == p(0) and titles == [StreamTitle("A", "B")]
    assert feed.next_packet() == p(1) and len(titles) == 1
    feed.close()
    assert feed.next_packet() is None and feed.skip(3) == 0


def test_skipping_moves_the_buffer_on_in_real_time() -> None:
    buffer = JitterBuffer(target=1, ceiling=10)
    feed = RelayFeed(buffer)
    for n in range(4):
        buffer.put(p(n))
    assert feed.skip(3) == 3
    assert feed.next_packet() == p(3)


def test_a_failing_title_callback_does_not_stop_the_feed() -> None:
    def broken(title: StreamTitle) -> None:
        raise RuntimeError("nobody listens")

    buffer = JitterBuffer(target=1, ceiling=10)
    feed = RelayFeed(buffer, on_title=broken)
    buffer.put(p(0), StreamTitle("A"))
    assert feed.next_packet() == p(0)


class Room:
    """A link that records what it was sent (the broadcaster's side of a voice room)."""

    name = "room"

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def is_connected(self) -> bool:
        return True

    def session(self) -> object:
        return self

    def send(self, packet: bytes) -> None:
        self.sent.append(packet)

    def speak(self, speaking: bool) -> None:
        pass


def test_a_burst_into_the_buffer_leaves_the_broadcaster_one_packet_per_frame() -> None:
    buffer = JitterBuffer(target=2, ceiling=50)
    broadcaster = Broadcaster(RelayFeed(buffer))
    room = Room()
    broadcaster.attach("room", room)
    now = 100.0
    broadcaster.step(now)  # frame 0: nothing buffered yet, silence
    assert room.sent == [OPUS_SILENCE]
    for n in range(20):  # then a page's burst at once
        buffer.put(p(n))
    sent_at: list[float] = []
    while len(room.sent) < 21:
        before = len(room.sent)
        wait = broadcaster.step(now)
        if len(room.sent) > before:
            sent_at.append(now)
        now += wait
    assert room.sent == [OPUS_SILENCE, *[p(n) for n in range(20)]]
    assert [round(b - a, 6) for a, b in itertools.pairwise(sent_at)] == [0.02] * 19
