"""Requests play at the next track boundary, opened ahead (the station, offline).

The real station tree over a tiny station folder of FFmpeg tones, the real SQLite
request queue and the request player; frames pulled as fast as FFmpeg decodes,
each once the tree's buffers hold it. Assertions are sample positions, orders and
states, never times.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from radio.app.requests import NotifyingQueue, RequestPlayer
from radio.audio import synth
from radio.audio.buffering import wait_buffered
from radio.audio.frames import SAMPLES_PER_FRAME
from radio.audio.pcm import Int16Array, decode_file, to_int16
from radio.audio.track import Track
from radio.events import Event, TrackEnded, TrackStarted
from radio.grid.check import check_station
from radio.grid.frameclock import FrameClock
from radio.station import Station, is_request
from radio.store.db import Database
from radio.store.history import PlayHistory

F = SAMPLES_PER_FRAME
FADE_IN = 2_400  # the station's fallback switch fades in from silence over 50 ms
START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday: the all-day show is on
WEEK = """\
shows:
  - id: allday
    days: [mon, tue, wed, thu, fri, sat, sun]
    start: "00:00"
    end: "24:00"
    rotation:
      - playlist: music
"""
# (stem, Hz, seconds): lengths that are not whole frames, so boundaries fall inside frames
MUSIC = (("a", 440.0, 1.5 + 123 / 48_000), ("b", 550.0, 1.0 + 7 / 48_000), ("c", 660.0, 1.0))
REQUESTS = (("r1", 990.0, 0.8 + 301 / 48_000), ("r2", 1_100.0, 0.6))


class OnAir:
    """A station on air offline: the tree, its events, its history and its requests."""

    def __init__(self, root: Path, *, queued: tuple[str, ...] = ()) -> None:
        self.root = root
        setup = check_station(root, START)
        assert setup.ok, setup.errors
        self.events: list[Event] = []
        self.db = Database(":memory:")
        self.history = PlayHistory(self.db)
        holder: list[Station] = []
        clock = FrameClock(START, lambda: holder[0].root.position if holder else 0)
        self.queue = NotifyingQueue(self.db, quota=10, cooldown=timedelta(0))
        for stem in queued:  # waiting before the station starts (as after a restart)
            self.request(stem)
        self.station = Station(
            setup, clock=clock, rng=random.Random(1), history=self.history, events=self._event
        )
        holder.append(self.station)
        self.player = RequestPlayer(self.queue, self.station, clock=clock)
        self.out: list[bytes] = []

    def _event(self, event: Event) -> None:
        self.events.append(event)
        self.player.on_event(event)

    def request(self, stem: str) -> int:
        path = self.root / "requests" / f"{stem}.flac"
        track = Track(location=str(path), title=stem, artist="Req Band")
        return self.queue.add(7, "alice", track, START).id

    def pull(self, frames: int) -> Int16Array:
        got = []
        for _ in range(frames):
            assert wait_buffered(self.station.root, 30)
            got.append(self.station.root.read())
        self.out += got
        return to_int16(b"".join(got))

    def started(self) -> list[tuple[str, int]]:
        return [(e.track.title, e.frame) for e in self.events if isinstance(e, TrackStarted)]

    def heard(self) -> Int16Array:
        return to_int16(b"".join(self.out))

    def close(self) -> None:
        self.player.close()
        self.station.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "schedules").mkdir()
    (tmp_path / "playlists").mkdir()
    (tmp_path / "station.yaml").write_text("timezone: UTC\nfallback: filler\n")
    (tmp_path / "schedules/week.yaml").write_text(WEEK)
    (tmp_path / "playlists/music.yaml").write_text("sources: [media/music]\norder: sequential\n")
    (tmp_path / "playlists/filler.yaml").write_text("sources: [media/filler]\n")
    for stem, freq, seconds in MUSIC:
        synth.tone(tmp_path / f"media/music/{stem}.flac", freq, seconds, title=stem)
    synth.tone(tmp_path / "media/filler/f.flac", 300.0, 1.0, title="f")
    for stem, freq, seconds in REQUESTS:
        synth.tone(tmp_path / f"requests/{stem}.flac", freq, seconds, title=stem)
    return tmp_path


@pytest.fixture
def on_air(folder: Path) -> Iterator[OnAir]:
    station = OnAir(folder)
    yield station
    station.close()


def samples(root: Path, folder: str, stem: str) -> Int16Array:
    return decode_file(str(root / folder / f"{stem}.flac"))


def test_a_request_plays_where_the_current_track_ends_then_the_rotation(on_air: OnAir) -> None:
    root = on_air.root
    a, b, c = (samples(root, "media/music", s) for s in "abc")
    r1 = samples(root, "requests", "r1")
    on_air.pull(20)
    sequence = on_air.station.on_air_sequence()
    assert sequence is not None and sequence.preloaded is not None
    assert sequence.preloaded.title == "b"  # the rotation's next pick is already open
    number = on_air.request("r1")  # the queue offers it to the station at once
    on_air.pull(1)
    assert sequence.preloaded is not None and sequence.preloaded.title == "r1"
    # taken by the station (up next): still listed first by the queue, not playing
    assert on_air.queue.get(number).state == "taken"
    assert [r.id for r in on_air.queue.pending()] == [number]
    assert on_air.queue.playing() is None
    total = len(a) + len(r1) + len(b) + len(c)
    on_air.pull(-(-total // F) - 21)
    heard = on_air.heard()
    # sample-exact: the request starts on the sample after a's last one, b follows it
    # (after the station's 50 ms fade-in from silence at its very start)
    assert np.array_equal(heard[FADE_IN:total], np.concatenate([a, r1, b, c])[FADE_IN:])
    assert on_air.started()[:4] == [
        ("a", 0),
        ("r1", len(a) // F),
        ("b", (len(a) + len(r1)) // F),
        ("c", (len(a) + len(r1) + len(b)) // F),
    ]
    # the displaced pick reached the history only when it really played, after r1
    plays = on_air.history.since(START)
    assert [p.title for p in plays][:4] == ["a", "r1", "b", "c"]
    assert on_air.queue.get(number).state == "played"
    assert on_air.station.root.dead_air_frames == 0


def test_two_requests_play_in_order_and_a_skip_reaches_the_first_at_once(on_air: OnAir) -> None:
    r1 = samples(on_air.root, "requests", "r1")
    on_air.pull(10)
    first = on_air.request("r1")
    second = on_air.request("r2")
    on_air.pull(5)
    assert on_air.station.skip()  # a DJ: the request is already open
    skip_frame = on_air.station.root.position
    frame = on_air.pull(1)
    assert np.array_equal(frame[480:], r1[480:F])  # 10 ms of fade, then the request
    playing = on_air.queue.playing()
    assert playing is not None and playing.id == first
    assert [r.id for r in on_air.queue.pending()] == [second]
    on_air.pull(150)
    titles = [title for title, _ in on_air.started()]
    assert titles[:5] == ["a", "r1", "r2", "b", "c"]
    assert ("r1", skip_frame) in on_air.started()
    ended = [(e.track.title, e.skipped) for e in on_air.events if isinstance(e, TrackEnded)]
    assert ended[:3] == [("a", True), ("r1", False), ("r2", False)]
    assert [on_air.queue.get(n).state for n in (first, second)] == ["played", "played"]


def test_with_nothing_on_air_a_request_plays_as_soon_as_it_is_buffered(on_air: OnAir) -> None:
    for path in (on_air.root / "media").rglob("*.flac"):
        path.unlink()  # every show and fallback track is gone: dead air
    on_air.pull(30)
    assert on_air.station.root.dead_air
    assert on_air.started() == []
    number = on_air.request("r2")
    at = on_air.station.root.position
    first = on_air.pull(3)
    assert on_air.started() == [("r2", at)]
    r2 = samples(on_air.root, "requests", "r2")
    assert np.array_equal(first[FADE_IN:], r2[FADE_IN : 3 * F])  # out of silence: 50 ms fade
    on_air.pull(40)
    assert on_air.queue.get(number).state == "played"
    assert [is_request(e.track) for e in on_air.events if isinstance(e, TrackStarted)] == [True]


def test_requests_waiting_at_the_start_play_first_in_order(folder: Path) -> None:
    on_air = OnAir(folder, queued=("r2", "r1"))
    try:
        on_air.pull(150)
    finally:
        on_air.close()
    r2, r1 = (samples(folder, "requests", s) for s in ("r2", "r1"))
    a = samples(folder, "media/music", "a")
    assert [title for title, _ in on_air.started()][:3] == ["r2", "r1", "a"]
    heard = on_air.heard()
    total = len(r2) + len(r1) + len(a)
    assert np.array_equal(heard[FADE_IN:total], np.concatenate([r2, r1, a])[FADE_IN:])


def test_a_soft_start_hands_the_open_request_to_the_new_show(folder: Path) -> None:
    on_air = OnAir(show_folder(folder, "soft"))
    try:
        on_air.pull(160)  # the filler: f at frames 0, 75, 150
        number = on_air.request("r1")  # opened by the fallback slot, the taker
        on_air.pull(1)
        assert [r.id for r in on_air.queue.pending()] == [number]
        on_air.pull(200)  # the soft boundary is at frame 200, inside the third f
    finally:
        on_air.close()
    f = len(samples(folder, "media/filler", "f"))
    r1 = len(samples(folder, "requests", "r1"))
    # The third f plays out (a soft start); the fallback slot handed r1 back at the
    # boundary and the show opened with it, then its own tracks.
    assert on_air.started()[:6] == [
        ("f", 0),
        ("f", f // F),
        ("f", 2 * f // F),
        ("r1", 3 * f // F),
        ("s1", (3 * f + r1) // F),
        ("s2", (3 * f + r1) // F + 50),
    ]
    ended = [(e.track.title, e.skipped) for e in on_air.events if isinstance(e, TrackEnded)]
    assert ended[:4] == [("f", False), ("f", False), ("f", False), ("r1", False)]
    assert on_air.queue.get(number).state == "played"


def test_a_hard_start_plays_the_open_request_after_the_shows_first_track(folder: Path) -> None:
    on_air = OnAir(show_folder(folder, "hard"))
    try:
        on_air.pull(160)
        number = on_air.request("r1")
        on_air.pull(200)  # the hard boundary is at frame 200, inside the third f
    finally:
        on_air.close()
    r1 = len(samples(folder, "requests", "r1"))
    assert on_air.started()[:6] == [
        ("f", 0),
        ("f", 75),
        ("f", 150),
        ("s1", 200),
        ("r1", 250),  # s1 is 50 frames long
        ("s2", (250 * F + r1) // F),
    ]
    ended = [(e.track.title, e.skipped) for e in on_air.events if isinstance(e, TrackEnded)]
    assert ended[:3] == [("f", False), ("f", False), ("f", True)]  # cut by the show
    assert on_air.queue.get(number).state == "played"


def test_a_hard_start_cuts_a_request_like_any_track_and_it_counts_as_played(
    folder: Path,
) -> None:
    on_air = OnAir(show_folder(folder, "hard"))
    try:
        on_air.pull(80)
        number = on_air.request("long")  # plays from frame 150; the show cuts in at 200
        on_air.pull(200)
    finally:
        on_air.close()
    assert on_air.started()[:5] == [("f", 0), ("f", 75), ("long", 150), ("s1", 200), ("s2", 250)]
    ended = [(e.track.title, e.skipped) for e in on_air.events if isinstance(e, TrackEnded)]
    assert ended[:3] == [("f", False), ("f", False), ("long", True)]
    assert on_air.queue.get(number).state == "played"
    assert on_air.queue.playing() is None and on_air.queue.pending() == []


def show_folder(folder: Path, mode: str) -> Path:
    """The folder with a one-off show (``mode`` start) at START + 4 s, frame 200,
    of two 1 s tones; the filler before it is a 1.5 s tone (75 frames)."""
    synth.tone(folder / "media/filler/f.flac", 300.0, 1.5, title="f")
    (folder / "playlists/show.yaml").write_text("sources: [media/show]\norder: sequential\n")
    synth.tone(folder / "media/show/s1.flac", 770.0, 1.0, title="s1")
    synth.tone(folder / "media/show/s2.flac", 880.0, 1.0, title="s2")
    synth.tone(folder / "requests/long.flac", 1_300.0, 3.0, title="long")
    (folder / "schedules/week.yaml").write_text(
        "shows:\n  - id: show\n    rrule: FREQ=DAILY;COUNT=1\n"
        '    dtstart: "2026-11-23T12:00:04"\n    duration: 1h\n'
        f"    start_mode: {mode}\n    rotation: [{{playlist: show}}]\n"
    )
    return folder


# -- skips at the station (not requests, but the same tree) ---------------------------


def _whole_frames(folder: Path) -> None:
    """Replace the music with tracks of whole frames: a and b end on frame boundaries."""
    for path in (folder / "media/music").glob("*.flac"):
        path.unlink()
    for stem, freq, seconds in (("a", 440.0, 0.4), ("b", 550.0, 0.4), ("c", 660.0, 1.0)):
        synth.tone(folder / f"media/music/{stem}.flac", freq, seconds, title=stem)


def test_a_skip_between_two_tracks_ending_on_frame_boundaries_cuts_the_one_starting(
    folder: Path,
) -> None:
    _whole_frames(folder)
    on_air = OnAir(folder)
    try:
        b, c = (samples(folder, "media/music", s) for s in "bc")
        on_air.pull(20)  # a: frames 0-19, ending with frame 19's last sample
        sequence = on_air.station.on_air_sequence()
        assert sequence is not None and sequence.current is None  # between a and b
        assert on_air.station.skip()  # b starts on the next frame: it is the one cut
        first_of_b = on_air.pull(1)  # frame 20: c is opened at the check before 21
        into_c = on_air.pull(1)  # frame 21: the skip
        on_air.pull(5)
    finally:
        on_air.close()
    assert np.array_equal(first_of_b, b[:F])
    assert np.array_equal(into_c[480:], c[480:F])  # 10 ms of fade, then c as decoded
    assert on_air.started()[:3] == [("a", 0), ("b", 20), ("c", 21)]
    ended = [
        (e.track.title, e.frame, e.skipped) for e in on_air.events if isinstance(e, TrackEnded)
    ]
    assert ended[:2] == [("a", 19, False), ("b", 21, True)]
    assert on_air.station.root.dead_air_frames == 0


def test_a_skip_one_frame_into_a_track_is_the_next_frame_on_the_station(on_air: OnAir) -> None:
    b, c = (samples(on_air.root, "media/music", s) for s in "bc")
    on_air.pull(10)
    assert on_air.station.skip()  # into b, open since a's first frames
    at = on_air.station.root.position
    on_air.pull(1)  # b's first frame; the check before the next one opens c
    assert on_air.station.skip()  # a second press, one frame into b
    into_c = on_air.pull(1)
    assert np.array_equal(into_c[480:], c[480:F])
    assert on_air.started()[:3] == [("a", 0), ("b", at), ("c", at + 1)]
    ended = [
        (e.track.title, e.frame, e.skipped) for e in on_air.events if isinstance(e, TrackEnded)
    ]
    assert ended[:2] == [("a", at, True), ("b", at + 1, True)]
    assert on_air.station.root.dead_air_frames == 0
    assert len(b) > 10 * F  # b had far more to play: the skip, not its end, moved on
