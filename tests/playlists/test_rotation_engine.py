"""A real Rotation in a real TrackSequence over FFmpeg-decoded tones, on a frame clock.

The rotation is timed, so the sequence opens each next track right after the
current one's first frame, long before its end: the top-of-hour ID is picked
before the hour, for the instant it will start, and a skip is heard on the very
next frame. Like the station, ``OnAir`` reports each start to the rotation at
once and writes the play history later (here HISTORY_DELAY frames later; on air
a worker thread does). Frames are pulled as fast as FFmpeg decodes.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from radio.audio import synth
from radio.audio.frames import FRAME_BYTES, SAMPLES_PER_FRAME
from radio.audio.pcm import decode_file, to_int16
from radio.audio.sequence import SKIP_FADE_SAMPLES, TrackSequence
from radio.audio.track import Track
from radio.events import Event, TrackEnded, TrackStarted
from radio.grid.frameclock import FrameClock
from radio.playlists.model import PlaylistModel
from radio.playlists.rotation import Deck, Part, Rotation
from radio.store.db import Database
from radio.store.history import PlayHistory

TOP = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
TRACK_SECONDS = 12.0  # longer than the 10 s preload window: opened early, not by it
TRACK_FRAMES = 600
F = SAMPLES_PER_FRAME
HISTORY_DELAY = 5  # frames between a start and its row in the history


class OnAir:
    """A rotation, its sequence and a frame clock, recording plays like the station."""

    def __init__(
        self,
        folder: Path,
        start: datetime,
        *,
        seconds: float = TRACK_SECONDS,
        artists: int = 4,
        order: str = "shuffle",
        separation: str = "30s",
        id_seconds: float = 2.0,
    ) -> None:
        rng = random.Random(4)
        self.frames = 0
        self.clock = FrameClock(start, lambda: self.frames)
        self.history = PlayHistory(Database(":memory:"))
        self.events: list[Event] = []
        self._writes: list[tuple[int, Track, datetime]] = []  # (due frame, track, start)
        music = [
            self._tone(folder, f"m{i}", 300.0 + 40.0 * i, seconds, f"artist {i % artists}")
            for i in range(6)
        ]
        ids = [self._tone(folder, "id", 1800.0, id_seconds, "station")]
        model = PlaylistModel.model_validate(
            {"sources": ["x"], "order": order, "separation": {"artist": separation}}
        )
        id_model = PlaylistModel.model_validate({"sources": ["x"], "order": "sequential"})
        self.rotation = Rotation(
            [Part(Deck("music", model, music, rng), 1.0)],
            clock=self.clock,
            rng=rng,
            history=self.history,
            station_id=Deck("ids", id_model, ids, rng),
            record=False,
        )
        self.sequence = TrackSequence(self.rotation, events=self._event)

    @staticmethod
    def _tone(folder: Path, name: str, freq: float, seconds: float, artist: str) -> Track:
        path = synth.tone(folder / f"{name}.flac", freq, seconds, level_dbfs=-20.0)
        # the playlist library's tracks carry their duration: opened without ffprobe
        return Track(str(path), name, artist, duration=seconds)

    def _event(self, event: Event) -> None:
        if isinstance(event, TrackStarted):
            self.rotation.started(event.track, self.clock.now())
            self._writes.append((self.frames + HISTORY_DELAY, event.track, self.clock.now()))
        self.events.append(event)

    def read(self, wait: bool = True) -> bytes:
        if wait:
            assert self.sequence.wait_buffered(10.0), "the sequence never became ready"
        frame = self.sequence.read()
        assert len(frame) == FRAME_BYTES
        self.frames += 1
        while self._writes and self._writes[0][0] <= self.frames:
            _, track, at = self._writes.pop(0)
            self.history.record(track, at, playlist=track.tags["playlist"])
        return frame

    def started(self) -> list[tuple[int, Track]]:
        return [(e.frame, e.track) for e in self.events if isinstance(e, TrackStarted)]


@pytest.mark.parametrize("seconds_before", [30.0, 36.0], ids=["mid-track", "on-a-boundary"])
def test_the_id_opens_before_the_hour_and_lands_at_the_first_change_at_or_after_it(
    tmp_path: Path, seconds_before: float
) -> None:
    start = TOP - timedelta(seconds=seconds_before)
    on_air = OnAir(tmp_path, start)
    hour_frame = on_air.clock.frame_of(TOP)
    id_open_at = None
    try:
        for _ in range(hour_frame + TRACK_FRAMES + 100):
            on_air.read()
            preloaded = on_air.sequence.preloaded
            if id_open_at is None and preloaded is not None and preloaded.title == "id":
                id_open_at = on_air.frames
    finally:
        on_air.sequence.close()
    starts = on_air.started()
    changes = [frame for frame, _ in starts]
    # music back to back from the start: a change every 600 frames
    assert changes[:4] == [0, 600, 1200, 1800]
    first_change_after = min(frame for frame in changes if frame >= hour_frame)
    ids = [frame for frame, track in starts if track.tags["kind"] == "id"]
    assert ids == [first_change_after]
    assert [track.tags["kind"] for _, track in starts].count("id") == 1
    # picked right after the first frame of the track before it, long before the hour
    previous = max(frame for frame in changes if frame < first_change_after)
    assert id_open_at is not None
    assert previous + 1 <= id_open_at <= previous + 2
    assert id_open_at < hour_frame
    assert on_air.sequence.underruns == 0
    assert (on_air.rotation.early_ids, on_air.rotation.relaxed) == (0, 0)


def test_a_skip_is_heard_on_the_next_frame_with_a_real_rotation(tmp_path: Path) -> None:
    on_air = OnAir(tmp_path, TOP + timedelta(minutes=10))
    k = 10
    try:
        for _ in range(k):
            on_air.read()
        assert on_air.sequence.wait_buffered(10.0)
        following = on_air.sequence.preloaded  # opened on the first frame
        assert following is not None
        current = on_air.sequence.current
        assert current is not None
        on_air.sequence.skip()
        skip_frame = to_int16(on_air.read(wait=False))  # no waiting of any kind
        after = to_int16(b"".join(on_air.read() for _ in range(5)))
    finally:
        on_air.sequence.close()
    assert on_air.started() == [(0, current), (k, following)]
    ended = [e for e in on_air.events if isinstance(e, TrackEnded)]
    assert ended == [TrackEnded(frame=k, track=current, skipped=True)]
    # the skip frame: a 10 ms fade, then the next track from its 481st sample on
    incoming = decode_file(following.location)
    assert np.array_equal(skip_frame[SKIP_FADE_SAMPLES:], incoming[SKIP_FADE_SAMPLES:F])
    assert np.abs(skip_frame[:SKIP_FADE_SAMPLES]).max() > 1000  # the fade is not silence
    assert np.array_equal(after, incoming[F : 6 * F])
    assert on_air.sequence.underruns == 0


def test_tracks_shorter_than_the_preload_window_keep_separation_and_the_id_with_skips(
    tmp_path: Path,
) -> None:
    # 20-frame tracks, 5 artists, none within 1 s (50 frames): each successor is
    # picked on its track's first frame, 5 frames before the history holds it.
    # Every fourth track is skipped on its second frame.
    start = TOP - timedelta(seconds=3)  # the hour is frame 150
    on_air = OnAir(
        tmp_path, start, seconds=0.4, artists=5, order="random", separation="1s", id_seconds=0.3
    )
    try:
        count = 0
        for _ in range(600):
            before = len(on_air.started())
            on_air.read()
            if len(on_air.started()) > before:
                count += 1
                since = on_air.frames
            elif count % 4 == 0 and on_air.frames == since + 1:
                on_air.sequence.skip()
    finally:
        on_air.sequence.close()
    starts = on_air.started()
    assert len(starts) > 30
    music = [(frame, track) for frame, track in starts if track.tags["kind"] == "music"]
    last: dict[str, int] = {}
    for frame, track in music:
        if track.artist in last:
            assert frame - last[track.artist] >= 50, (frame, track.artist, last)
        last[track.artist] = frame
    assert (on_air.rotation.relaxed, on_air.rotation.at_risk) == (0, 0)
    skipped = [e for e in on_air.events if isinstance(e, TrackEnded) and e.skipped]
    assert len(skipped) >= 5
    ids = [frame for frame, track in starts if track.tags["kind"] == "id"]
    hour_frame = on_air.clock.frame_of(TOP)
    assert ids == [min(frame for frame, _ in starts if frame >= hour_frame)]
    assert on_air.sequence.underruns == 0
