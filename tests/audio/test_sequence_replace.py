"""Replacing the prepared next track: TrackSequence.replace_next / release_next.

A listener's request arrives while the rotation's next pick is already open: the
sequence opens the request instead, the pick is handed back (never started, so
never announced), and the boundary stays sample-exact. Offline, frames pulled as
fast as FFmpeg decodes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from radio.audio.frames import SAMPLES_PER_FRAME
from radio.audio.pcm import decode_file
from radio.audio.sequence import SKIP_FADE_SAMPLES, TrackSequence
from radio.audio.track import Track
from radio.events import Event, TrackEnded

from .conftest import pcm, pull, started

F = SAMPLES_PER_FRAME


class FrontFirst:
    """A timed TrackProvider: tracks pushed to ``front`` first (requests), then the
    tracks handed back, then ``rest`` in order (a rotation)."""

    def __init__(self, rest: list[Track]) -> None:
        self.front: list[Track] = []
        self.returned: list[Track] = []
        self.rest = list(rest)
        self.asked = 0
        self._lock = threading.Lock()

    def next_track(self) -> Track | None:
        return self.next_track_in(0.0)

    def next_track_in(self, seconds: float | None) -> Track | None:
        with self._lock:
            self.asked += 1
            for source in (self.front, self.returned, self.rest):
                if source:
                    return source.pop(0)
            return None

    def give_back(self, track: Track, started: bool) -> None:
        if not started:
            with self._lock:
                self.returned.append(track)


def is_request(track: Track) -> bool:
    return track.title.startswith("req")


def test_a_request_replaces_the_prepared_pick_sample_exactly(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    # lengths that are not whole frames: the request starts inside a's last frame
    a = make_tone("a", 440.0, 1.0 + 123 / 48_000)
    b = make_tone("b", 550.0, 0.5 + 7 / 48_000)
    req = make_tone("req", 990.0, 0.6 + 301 / 48_000, suffix=".flac")
    provider = FrontFirst([a, b])
    released: list[tuple[str, bool]] = []

    def on_released(track: Track, was_started: bool) -> None:
        released.append((track.title, was_started))
        provider.give_back(track, was_started)

    seq = TrackSequence(provider, events=events.append, name="s", released=on_released)
    try:
        head = pull(seq, 10)
        assert seq.current == a and seq.preloaded == b  # opened early (a timed provider)
        provider.front.append(req)
        seq.replace_next(keep=is_request)
        assert seq.wait_buffered(10)
        assert seq.preloaded == req
        assert released == [("b", False)]
        expected = np.concatenate([decode_file(t.location) for t in (a, req, b)])
        frames = -(-len(expected) // F) + 2
        out = pcm(head + pull(seq, frames - 10))
    finally:
        seq.close()
    assert np.array_equal(out[: len(expected)], expected)
    assert not out[len(expected) :].any()
    a_end = len(decode_file(a.location))
    req_end = a_end + len(decode_file(req.location))
    assert started(events) == [("a", 0), ("req", a_end // F), ("b", req_end // F)]
    assert [e.track.title for e in events if isinstance(e, TrackEnded)] == ["a", "req", "b"]
    assert seq.underruns == 0


def test_a_replacement_that_finds_nothing_keeps_the_prepared_track(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 0.5)
    b = make_tone("b", 550.0, 0.5)
    provider = FrontFirst([a, b])
    released: list[tuple[Track, bool]] = []
    seq = TrackSequence(
        provider, events=events.append, released=lambda t, s: released.append((t, s))
    )
    try:
        pull(seq, 5)
        asked = provider.asked
        seq.replace_next(keep=is_request)  # the request was cancelled meanwhile: nothing
        assert seq.wait_buffered(10)
        assert provider.asked == asked + 1
        assert seq.preloaded == b and released == []
        out = pcm(pull(seq, 55))
    finally:
        seq.close()
    assert [title for title, _ in started(events)] == ["a", "b"]
    expected = np.concatenate([decode_file(t.location) for t in (a, b)])[5 * F :]
    assert np.array_equal(out[: len(expected)], expected)
    assert not out[len(expected) :].any()


def test_two_requests_play_in_order_and_a_kept_request_is_not_replaced(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 0.6)
    b = make_tone("b", 550.0, 0.4)
    r1 = make_tone("req1", 990.0, 0.3)
    r2 = make_tone("req2", 1100.0, 0.3)
    provider = FrontFirst([a, b])
    seq = TrackSequence(provider, events=events.append, released=provider.give_back)
    try:
        pull(seq, 3)
        provider.front.append(r1)
        seq.replace_next(keep=is_request)
        assert seq.wait_buffered(10)
        asked = provider.asked
        provider.front.append(r2)
        seq.replace_next(keep=is_request)  # r1 is a request: it keeps its place
        assert seq.wait_buffered(10)
        assert provider.asked == asked and seq.preloaded == r1
        pull(seq, 100)
    finally:
        seq.close()
    assert [title for title, _ in started(events)] == ["a", "req1", "req2", "b"]


def test_a_skip_after_a_request_reaches_it_on_the_next_frame(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 3.0)
    b = make_tone("b", 550.0, 1.0)
    req = make_tone("req", 990.0, 1.0)
    provider = FrontFirst([a, b])
    seq = TrackSequence(provider, events=events.append, released=provider.give_back)
    try:
        pull(seq, 60)
        provider.front.append(req)
        seq.replace_next(keep=is_request)
        assert seq.wait_buffered(10)
        seq.skip()
        frame = pcm(seq.read())  # no waiting: the request is already buffered
        rest = pcm(pull(seq, 49))
    finally:
        seq.close()
    decoded = decode_file(req.location)
    assert np.array_equal(frame[SKIP_FADE_SAMPLES:], decoded[SKIP_FADE_SAMPLES:F])
    assert np.array_equal(rest, decoded[F : 50 * F])
    assert started(events) == [("a", 0), ("req", 60)]
    ended = [(e.track.title, e.skipped) for e in events if isinstance(e, TrackEnded)]
    assert ended == [("a", True), ("req", False)]


def test_release_next_lets_a_request_go_and_close_reports_what_was_open(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 2.0)
    b = make_tone("b", 550.0, 1.0)
    req = make_tone("req", 990.0, 1.0)
    provider = FrontFirst([a, b])
    released: list[tuple[str, bool]] = []
    seq = TrackSequence(
        provider, events=events.append, released=lambda t, s: released.append((t.title, s))
    )
    pull(seq, 5)
    provider.front.append(req)
    seq.replace_next(keep=is_request)
    assert seq.wait_buffered(10)
    assert released == [("b", False)]
    seq.release_next(keep=lambda track: not is_request(track))
    assert released == [("b", False), ("req", False)]
    assert seq.preloaded is None
    seq.release_next(keep=lambda track: not is_request(track))  # nothing prepared: no-op
    assert seq.wait_buffered(10)
    assert seq.preloaded is None  # it prepares again in its own time (50 frames in)
    seq.close()
    # the track on air when the sequence is closed was started: its owner ends it
    assert released == [("b", False), ("req", False), ("a", True)]
    assert [title for title, _ in started(events)] == ["a"]


def test_a_replacement_that_is_not_wanted_goes_back_and_the_order_holds(
    make_tone: Callable[..., Track], events: list[Event]
) -> None:
    a = make_tone("a", 440.0, 0.5)
    b = make_tone("b", 550.0, 0.3)
    c = make_tone("c", 660.0, 0.3)
    provider = FrontFirst([a, b, c])
    released: list[tuple[str, bool]] = []

    def on_released(track: Track, was_started: bool) -> None:
        released.append((track.title, was_started))
        provider.give_back(track, was_started)

    seq = TrackSequence(provider, events=events.append, released=on_released)
    try:
        pull(seq, 5)
        assert seq.preloaded == b
        seq.replace_next(keep=is_request)  # the request was cancelled: the pick is c
        assert seq.wait_buffered(10)
        assert seq.preloaded == b  # c is not a request: b stays, c goes back
        assert released == [("c", False)]
        pull(seq, 60)
    finally:
        seq.close()
    assert [title for title, _ in started(events)] == ["a", "b", "c"]
