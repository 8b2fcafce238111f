"""Instant skips: a skip never waits on opening a file, and never leaves silence.

Latency is counted in frames, offline: ``skip()`` then plain ``read()`` calls that
do not wait for any preparation (the ``pull`` helper's ``wait_buffered`` would
wait for a track being opened and hide the latency this file measures).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from radio.audio import curves
from radio.audio.frames import SAMPLES_PER_FRAME
from radio.audio.pcm import Int16Array, decode_file, from_float, to_float
from radio.audio.sequence import SKIP_FADE_SAMPLES, TrackSequence
from radio.audio.track import Track
from radio.audio.tracklist import TrackList
from radio.events import Event, TrackEnded, TrackStarted

from .conftest import pcm, pull, started

F = SAMPLES_PER_FRAME
FADE = SKIP_FADE_SAMPLES
K = 12  # frames into the first track before a skip: any count works
LOUD = 1000  # a -20 dBFS tone peaks at 3,277; a silent or near-silent frame stays far below


def read_when_ready(seq: TrackSequence, frames: int) -> bytes:
    """Read ``frames`` frames, each once the sequence says its buffers hold it.

    Unlike ``pull`` this never waits for a track being prepared: while a skip waits
    for the next track, the sequence is ready with the skipped track's audio.
    """
    out = []
    for _ in range(frames):
        deadline = time.monotonic() + 10.0  # a guard against a hang, not a measurement
        while not seq.ready:
            assert time.monotonic() < deadline, "sequence never became ready"
            time.sleep(0.001)
        out.append(seq.read())
    return b"".join(out)


def loud_frames(samples: Int16Array) -> list[bool]:
    """For each whole frame: does it carry audible signal (peak above LOUD)?"""
    frames = samples[: len(samples) // F * F].reshape(-1, F, 2)
    return [bool(np.abs(frame).max() > LOUD) for frame in frames]


def skip_frame(outgoing: Int16Array, incoming: Int16Array) -> Int16Array:
    """The frame a skip makes: FADE samples of equal-power crossfade, then ``incoming``."""
    gain_out, gain_in = curves.equal_power(0, FADE, FADE)
    mixed = from_float(
        to_float(outgoing[:FADE].tobytes()) * gain_out
        + to_float(incoming[:FADE].tobytes()) * gain_in
    )
    return np.concatenate([pcm(mixed), incoming[FADE:F]])


class Plain:
    """A provider that is not timed: the engine opens its tracks in the preload window."""

    def __init__(self, tracks: list[Track]) -> None:
        self._list = TrackList(tracks)

    def next_track(self) -> Track | None:
        return self._list.next_track()


class GatedPlain:
    """An untimed provider whose picks after the first ``free`` wait for ``gate``
    (so a test decides when a preparation ends, without timing anything)."""

    def __init__(self, tracks: list[Track], free: int) -> None:
        self._list = TrackList(tracks)
        self._free = free
        self.gate = threading.Event()
        self.leads: list[float | None] = []

    def next_track(self) -> Track | None:
        return self._pick(None)

    def _pick(self, seconds: float | None) -> Track | None:
        self.leads.append(seconds)
        if len(self.leads) > self._free and not self.gate.wait(10.0):
            return None
        return self._list.next_track()


class Gated(GatedPlain):
    """The same, timed: it records each pick's lead."""

    def next_track_in(self, seconds: float | None) -> Track | None:
        return self._pick(seconds)


def test_a_skip_early_in_a_long_track_is_heard_on_the_next_frame(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 30.0)
    b = make_tone("b", 880.0, 2.0)
    da, db = decode_file(a.location), decode_file(b.location)
    seq = TrackSequence(TrackList([a, b]), events=events.append)
    k = K + 10
    before = pcm(pull(seq, k))
    assert seq.wait_buffered(10.0)
    # 29 s left, far outside the 10 s preload window: b is open because the
    # provider is timed, so the skip below has nothing to wait for
    remaining = seq.remaining
    assert remaining is not None and remaining > 1_000
    assert seq.preloaded == b
    seq.skip()
    first = pcm(seq.read())  # no waiting at all between the skip and this read
    rest = pcm(pull(seq, 5))
    seq.close()
    assert np.array_equal(before, da[: k * F])
    # the very next frame holds the whole skip: fade out a, b in, then b as decoded
    assert np.array_equal(first, skip_frame(da[k * F :], db))
    assert np.array_equal(rest, db[F : 6 * F])
    assert all(loud_frames(np.concatenate([before, first, rest])))
    assert seq.underruns == 0
    assert started(events) == [("a", 0), ("b", k)]
    assert [e for e in events if isinstance(e, TrackEnded)] == [
        TrackEnded(frame=k, track=a, skipped=True)
    ]


def test_a_timed_provider_is_told_when_each_pick_starts(make_tone: Callable[..., Track]) -> None:
    a = make_tone("a", 440.0, 30.0)
    b = make_tone("b", 880.0, 30.0)
    c = make_tone("c", 660.0, 2.0)
    provider = Gated([a, b, c], free=3)
    seq = TrackSequence(provider)
    pull(seq, K + 2)
    assert seq.wait_buffered(10.0)
    seq.skip()  # into b, open already
    pull(seq, 1)
    seq.skip()  # before any check after b's first frame: the skip asks for c, now
    assert seq.wait_buffered(10.0)
    seq.close()
    # a: nothing plays yet; b: opened after a's first frame (by pull's check before
    # the second), starts in a's remaining 30 s less one frame; c: asked by the
    # skip, starts now
    assert provider.leads == [0.0, (30 * 48_000 - F) / 48_000, 0.0]


def test_a_skip_right_after_a_track_start_keeps_it_playing_until_the_next_is_buffered(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 30.0)
    b = make_tone("b", 880.0, 30.0)
    c = make_tone("c", 660.0, 2.0)
    db, dc = decode_file(b.location), decode_file(c.location)
    provider = Gated([a, b, c], free=2)  # c's pick waits until the gate opens
    seq = TrackSequence(provider, events=events.append)
    k = K + 2
    pull(seq, k)
    assert seq.wait_buffered(10.0)
    seq.skip()
    into_b = pcm(seq.read())  # frame k: b starts
    seq.skip()  # one frame into b: c's pick was asked for, but waits for the gate
    waiting = pcm(read_when_ready(seq, 20))
    assert seq.current == b and seq.preloaded is None
    provider.gate.set()
    assert seq.wait_buffered(10.0)  # c's preparation and first frame, not time
    into_c = pcm(seq.read())
    seq.close()
    # the skipped track played on, sample for sample, while c was being opened
    assert np.array_equal(waiting, db[F : 21 * F])
    assert np.array_equal(into_c, skip_frame(db[21 * F :], dc))
    assert all(loud_frames(np.concatenate([into_b, waiting, into_c])))
    assert seq.underruns == 0
    assert started(events) == [("a", 0), ("b", k), ("c", k + 21)]


def test_repeated_skips_in_a_row_each_move_on_one_track_without_silence(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    tracks = [make_tone(f"t{i}", 300.0 + 110.0 * i, 30.0) for i in range(5)]
    decoded = [decode_file(t.location) for t in tracks]
    seq = TrackSequence(TrackList(tracks), events=events.append)
    k = K + 2
    out = [pcm(pull(seq, k))]
    for i in range(1, 5):
        seq.skip()
        assert seq.wait_buffered(10.0)  # what the skip opened (t1 was open before it)
        out.append(pcm(seq.read()))
        if i > 1:  # t{i-1} played one frame: t{i} came in on the read after the skip
            assert np.array_equal(out[-1], skip_frame(decoded[i - 1][F:], decoded[i]))
    out.append(pcm(pull(seq, 3)))
    seq.close()
    assert all(loud_frames(np.concatenate(out)))
    assert seq.underruns == 0
    assert started(events) == [("t0", 0), ("t1", k), ("t2", k + 1), ("t3", k + 2), ("t4", k + 3)]
    ended = [(e.track.title, e.frame, e.skipped) for e in events if isinstance(e, TrackEnded)]
    assert ended == [("t0", k, True), ("t1", k + 1, True), ("t2", k + 2, True), ("t3", k + 3, True)]


def test_an_untimed_provider_keeps_the_preload_window_and_a_skip_never_leaves_silence(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 30.0)
    b = make_tone("b", 880.0, 2.0)
    da, db = decode_file(a.location), decode_file(b.location)
    provider = GatedPlain([a, b], free=1)
    seq = TrackSequence(provider, events=events.append)
    k = K + 10
    pull(seq, k)
    assert seq.preloaded is None and provider.leads == [None]  # no pick outside the 10 s
    seq.skip()  # asks for b now; its pick waits for the gate
    waiting = pcm(read_when_ready(seq, 20))
    assert seq.current == a and len(provider.leads) == 2
    provider.gate.set()
    assert seq.wait_buffered(10.0)
    into_b = pcm(seq.read())
    seq.close()
    assert np.array_equal(waiting, da[k * F : (k + 20) * F])
    assert np.array_equal(into_b, skip_frame(da[(k + 20) * F :], db))
    assert all(loud_frames(np.concatenate([waiting, into_b])))
    assert seq.underruns == 0
    assert started(events) == [("a", 0), ("b", k + 20)]


def test_a_skip_with_nothing_next_fades_out(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 30.0)
    seq = TrackSequence(TrackList([a]), events=events.append)
    pull(seq, K + 2)
    assert seq.skip()  # asks the provider again, at once
    assert seq.wait_buffered(10.0)  # it answered: nothing
    out = pcm(seq.read())
    assert seq.current is None
    assert not seq.skip()  # idle: nothing to skip
    seq.close()
    assert np.abs(out[:FADE]).max() > LOUD
    assert not out[FADE:].any()
    ended = [e for e in events if isinstance(e, TrackEnded)]
    assert ended == [TrackEnded(frame=K + 2, track=a, skipped=True)]


def test_a_skip_with_a_crossfade_starts_the_crossfade_on_the_next_frame(
    make_tone: Callable[..., Track],
) -> None:
    a = make_tone("a", 440.0, 30.0)
    b = make_tone("b", 880.0, 5.0)
    da, db = decode_file(a.location), decode_file(b.location)
    seq = TrackSequence(TrackList([a, b]), crossfade=2.0)
    k = K + 10
    pull(seq, k)
    assert seq.wait_buffered(10.0)
    seq.skip()
    first = seq.read()
    out = pcm(first + pull(seq, 109))
    seq.close()
    length = 2 * 48_000  # 100 frames
    gain_out, gain_in = curves.equal_power(0, length, length)
    expected = from_float(
        to_float(da[k * F : k * F + length].tobytes()) * gain_out
        + to_float(db[:length].tobytes()) * gain_in
    )
    # the same float32 curve, evaluated frame by frame on air: within one LSB
    assert np.abs(out[:length].astype(int) - pcm(expected).astype(int)).max() <= 1
    assert np.array_equal(out[length:], db[length : length + 10 * F])


def test_a_skip_pending_when_its_track_ends_does_not_skip_the_next_one(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 0.3)  # 15 frames: b is asked for at once, and waits
    b = make_tone("b", 880.0, 1.0)
    da, db = decode_file(a.location), decode_file(b.location)
    provider = GatedPlain([a, b], free=1)
    seq = TrackSequence(provider, events=events.append)
    head = pcm(read_when_ready(seq, 5))
    seq.skip()  # b is not open: a plays on, and ends by itself
    rest = pcm(read_when_ready(seq, 10))
    deadline = time.monotonic() + 10.0  # a guard, not a measurement
    # a has ended once FFmpeg's output has: remaining is exactly 0 then, or the
    # last read already let a go (current None) if it saw the end first.
    while seq.current is not None and seq.remaining != 0:
        assert time.monotonic() < deadline, "a never ended"
        time.sleep(0.001)
    gap = seq.read()  # b's pick still waits: nothing to play (an idle frame)
    assert seq.current is None and not any(gap)
    provider.gate.set()
    assert seq.wait_buffered(10.0)
    after = pcm(pull(seq, 10))
    current = seq.current
    seq.close()
    assert np.array_equal(np.concatenate([head, rest]), da)  # a to its last sample
    ended = [(e.track.title, e.skipped) for e in events if isinstance(e, TrackEnded)]
    assert ended[0] == ("a", False)
    # b from its first sample, whole: the skip was for a
    assert np.array_equal(after, db[: 10 * F])
    assert current == b


class Watching:
    """A timed TrackList that notes, at each pick, how many TrackStarted events the
    sequence had delivered by then, and signals each pick (``asked``)."""

    def __init__(self, tracks: list[Track], events: list[Event]) -> None:
        self._list = TrackList(tracks)
        self._events = events
        self.seen: list[int] = []  # TrackStarted delivered before each pick
        self.asked = threading.Semaphore(0)

    def next_track(self) -> Track | None:
        return self.next_track_in(None)

    def next_track_in(self, seconds: float | None) -> Track | None:
        self.seen.append(sum(isinstance(e, TrackStarted) for e in self._events))
        self.asked.release()
        return self._list.next_track()


def test_each_next_track_is_asked_for_after_the_current_ones_first_frame_and_start_event(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    tracks = [make_tone(f"t{i}", 300.0 + 110.0 * i, 3.0) for i in range(4)]
    provider = Watching(tracks, events)
    seq = TrackSequence(provider, events=events.append)
    assert provider.asked.acquire(timeout=10.0)  # the first track, asked at once
    seq.wait_buffered(10.0)
    for i in range(3):
        seq.read()  # t{i} starts
        seq.ready  # noqa: B018 - a parent's check before the next frame asks for t{i+1}
        assert provider.asked.acquire(timeout=10.0), "the next track was not asked for"
        assert seq.wait_buffered(10.0)
        assert seq.preloaded == tracks[i + 1]
        seq.skip()  # one frame into t{i}: t{i+1} is buffered, so the next read is the skip
    seq.read()  # t3 starts: the provider is asked again (it has nothing left)
    seq.ready  # noqa: B018 - the check that asks
    assert provider.asked.acquire(timeout=10.0)
    seq.close()
    # each pick came after every earlier track's TrackStarted had been delivered
    assert provider.seen == [0, 1, 2, 3, 4]
    assert started(events) == [("t0", 0), ("t1", 1), ("t2", 2), ("t3", 3)]
    ended = [(e.track.title, e.frame, e.skipped) for e in events if isinstance(e, TrackEnded)]
    assert ended == [("t0", 1, True), ("t1", 2, True), ("t2", 3, True)]


def test_a_skip_one_frame_into_a_track_is_the_next_read_once_the_next_track_is_buffered(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 30.0)
    b = make_tone("b", 880.0, 30.0)
    c = make_tone("c", 660.0, 2.0)
    da, db, dc = (decode_file(t.location) for t in (a, b, c))
    seq = TrackSequence(TrackList([a, b, c]), events=events.append)
    before = pcm(pull(seq, K))
    seq.skip()  # b was open since a's first frame
    into_b = pcm(seq.read())  # frame K: b's first frame
    assert seq.wait_buffered(10.0)  # c, asked for right after that frame: no skip asked
    assert seq.preloaded == c
    seq.skip()  # a DJ's second press, one frame into b
    into_c = pcm(seq.read())  # no waiting of any kind: frame K + 1 is the skip
    rest = pcm(pull(seq, 3))
    seq.close()
    assert np.array_equal(before, da[: K * F])
    assert np.array_equal(into_b, skip_frame(da[K * F :], db))
    assert np.array_equal(into_c, skip_frame(db[F:], dc))
    assert np.array_equal(rest, dc[F : 4 * F])
    assert all(loud_frames(np.concatenate([before, into_b, into_c, rest])))
    assert seq.underruns == 0
    assert started(events) == [("a", 0), ("b", K), ("c", K + 1)]


def test_a_skip_between_two_tracks_that_end_on_a_frame_boundary_cuts_the_one_starting(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    # 0.2 s = 9,600 samples = exactly 10 frames each: a ends with frame 9's last sample
    a = make_tone("a", 440.0, 0.2)
    b = make_tone("b", 880.0, 0.2)
    c = make_tone("c", 660.0, 1.0)
    da, db, dc = (decode_file(t.location) for t in (a, b, c))
    assert len(da) == len(db) == 10 * F
    seq = TrackSequence(TrackList([a, b, c]), events=events.append)
    head = pcm(pull(seq, 10))
    # a has ended, b starts on the next read: it is the track a skip now cuts
    assert seq.current is None and seq.preloaded == b
    assert seq.skip()
    b_first = pcm(pull(seq, 1))  # frame 10: b's first frame (c is asked for after it)
    assert seq.wait_buffered(10.0)
    into_c = pcm(seq.read())  # frame 11: the skip
    rest = pcm(pull(seq, 3))
    seq.close()
    assert np.array_equal(head, da)
    assert np.array_equal(b_first, db[:F])
    assert np.array_equal(into_c, skip_frame(db[F:], dc))
    assert np.array_equal(rest, dc[F : 4 * F])
    assert seq.underruns == 0
    assert not seq.skip()  # closed: nothing to skip
    assert started(events) == [("a", 0), ("b", 10), ("c", 11)]
    ended = [(e.track.title, e.frame, e.skipped) for e in events if isinstance(e, TrackEnded)]
    assert ended == [("a", 9, False), ("b", 11, True)]


def test_a_hold_asked_between_two_tracks_cancels_a_skip_meant_for_the_next_one(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 0.2)  # exactly 10 frames
    b = make_tone("b", 880.0, 0.2)
    db = decode_file(b.location)
    seq = TrackSequence(TrackList([a, b]), events=events.append)
    pull(seq, 10)
    assert seq.current is None and seq.preloaded == b
    assert seq.skip()  # for b, which would start on the next read
    seq.hold_after_track()  # a soft start: the sequence stops here instead
    assert seq.holding
    silent = seq.read()
    seq.resume()  # later, the sequence is on air again: b plays whole, not skipped
    after = pcm(pull(seq, 10))
    seq.close()
    assert not any(silent)
    assert np.array_equal(after, db)
    ended = [(e.track.title, e.skipped) for e in events if isinstance(e, TrackEnded)]
    assert ended == [("a", False), ("b", False)]
