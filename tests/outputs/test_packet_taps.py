"""The feed's packet taps: every subscriber gets every packet, a broken one harms none,
and a subscriber that needs every frame makes the feed encode the frames it would skip."""

from __future__ import annotations

import numpy as np

from radio.audio.frames import SAMPLE_RATE, SAMPLES_PER_FRAME
from radio.audio.source import Endless
from radio.bot.audio import SimulcastFeed


class Tone(Endless):
    def __init__(self) -> None:
        self.reads = 0

    def read(self) -> bytes:
        t = (np.arange(SAMPLES_PER_FRAME) + self.reads * SAMPLES_PER_FRAME) / SAMPLE_RATE
        self.reads += 1
        return np.repeat((np.sin(2 * np.pi * 440 * t) * 9000).astype("<i2"), 2).tobytes()

    def close(self) -> None:
        pass


def test_every_subscriber_gets_every_packet_in_order_and_a_failing_one_harms_none() -> None:
    feed = SimulcastFeed(Tone())
    first: list[bytes] = []
    second: list[bytes] = []

    def broken(packet: bytes) -> None:
        raise RuntimeError("a tap that breaks")

    feed.taps.add(first.append)
    feed.taps.add(broken)
    feed.taps.add(second.append)
    sent = [feed.next_packet() for _ in range(5)]
    assert first == second == sent
    assert feed.taps.failures == 5


def test_unsubscribing_stops_the_packets() -> None:
    feed = SimulcastFeed(Tone())
    got: list[bytes] = []
    remove = feed.taps.add(got.append)
    feed.next_packet()
    remove()
    remove()  # idempotent
    feed.next_packet()
    assert len(got) == 1 and len(feed.taps) == 0


def test_skipped_frames_are_encoded_only_for_a_subscriber_that_needs_every_frame() -> None:
    feed = SimulcastFeed(Tone())
    recording: list[bytes] = []
    feed.taps.add(recording.append)
    assert feed.skip(3) == 3
    assert recording == [] and feed.stats().encoded == 0  # nobody needs them: pulled only
    mount: list[bytes] = []
    remove = feed.taps.add(mount.append, every_frame=True)
    assert feed.skip(4) == 4
    assert feed.stats().encoded == 4 and len(mount) == 4 and len(recording) == 4
    packet = feed.next_packet()
    assert mount[-1] == packet and feed.position == 8
    remove()
    assert not feed.taps.every_frame
    feed.skip(2)
    assert len(mount) == 5 and feed.stats().encoded == 5
