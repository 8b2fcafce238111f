"""Rotation: which track plays next in a show (a :class:`~radio.audio.track.TrackProvider`).

A :class:`Deck` hands out one playlist's tracks in its ``order``:

* ``shuffle``: every track once, in a random order, before any repeats (and the
  first track of a new round is not the last of the previous one);
* ``random``: an independent uniform pick each time;
* ``sequential``: the playlist's order, looping.

A :class:`Rotation` picks a playlist by weight, then the first track of that deck
that respects the playlist's separation rules (same artist / same title not within
N minutes, from the play history). When that playlist has no such track, the
other playlists are tried by weight; only when none has one is the rule relaxed
(the least recently heard candidate plays, and a warning is logged).
After every ``every`` music tracks a jingle plays; at the first track change at or
after each top of the hour a station ID plays.

Picks are recorded in the history at the instant of the pick: the engine asks
for the next track a few seconds before it starts, which is the precision the
separation rules need.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo

from radio.audio.track import Track
from radio.clock import Clock
from radio.playlists.model import PlaylistModel
from radio.store.history import PlayHistory

logger = logging.getLogger(__name__)

#: A rotation that starts this close after a top of the hour still plays that hour's ID.
ID_GRACE = timedelta(minutes=5)


class Deck:
    """One playlist's tracks, handed out in the playlist's order."""

    def __init__(
        self, playlist_id: str, model: PlaylistModel, tracks: Sequence[Track], rng: random.Random
    ) -> None:
        self.id = playlist_id
        self.model = model
        self.tracks = tuple(tracks)
        self._rng = rng
        self._round: list[Track] = []
        self._position = 0
        self._last: Track | None = None

    def __len__(self) -> int:
        return len(self.tracks)

    def candidates(self) -> list[Track]:
        """The tracks that may play next, best first (the first is the deck's own pick)."""
        if not self.tracks:
            return []
        order = self.model.order
        if order == "sequential":
            n = self._position % len(self.tracks)
            return list(self.tracks[n:] + self.tracks[:n])
        if order == "random":
            shuffled = list(self.tracks)
            self._rng.shuffle(shuffled)
            return shuffled
        if not self._round:
            self._new_round()
        return list(self._round)

    def take(self, track: Track) -> None:
        """Mark ``track`` (one of :meth:`candidates`) as played."""
        self._last = track
        if self.model.order == "sequential":
            self._position = self.tracks.index(track) + 1
        elif self.model.order == "shuffle":
            if not self._round:
                self._new_round()
            self._round.remove(track)

    def _new_round(self) -> None:
        self._round = list(self.tracks)
        self._rng.shuffle(self._round)
        if len(self._round) > 1 and self._round[0] == self._last:
            # Do not repeat the last track of the previous round straight away.
            self._round.append(self._round.pop(0))


@dataclass(frozen=True)
class Part:
    """One deck of a rotation with its weight."""

    deck: Deck
    weight: float


@dataclass(frozen=True)
class Jingles:
    """Play one track of ``deck`` after every ``every`` music tracks."""

    deck: Deck
    every: int


class Rotation:
    """The music of one show (or of the fallback): a TrackProvider.

    ``clock`` tells the time of each pick; ``history`` (optional) supplies and
    receives plays for the separation rules; ``rng`` makes every choice (seed it
    for reproducible tests); ``tz`` is the station's zone, for the top of the hour.
    """

    def __init__(
        self,
        parts: Sequence[Part],
        *,
        clock: Clock,
        rng: random.Random,
        history: PlayHistory | None = None,
        jingles: Jingles | None = None,
        station_id: Deck | None = None,
        show_id: str = "",
        show_title: str = "",
        tz: tzinfo = UTC,
        lock: threading.Lock | None = None,
        record: bool = True,
        lookahead: timedelta = timedelta(0),
        starts_at: datetime | None = None,
    ) -> None:
        self.parts = [p for p in parts if len(p.deck) > 0]
        self.show_id = show_id
        self.show_title = show_title
        self.relaxed = 0  # how many picks had to break a separation rule
        self._clock = clock
        self._rng = rng
        self._history = history
        self._jingles = jingles
        self._station_id = station_id if station_id is not None and len(station_id) else None
        self._since_jingle = 0
        self._tz = tz
        # Decks may be shared by the rotations of several shows, whose sequences
        # ask for tracks from their own threads: one lock per station.
        self._lock = lock or threading.Lock()
        self._record = record
        self._lookahead = lookahead
        self._starts_at = starts_at
        start = max(clock.now(), starts_at) if starts_at is not None else clock.now()
        hour = _hour(start, tz)
        self._id_done_for = hour if start - hour > ID_GRACE else hour - timedelta(hours=1)

    def next_track(self) -> Track | None:
        """The next track: a due station ID, a due jingle, or music. None when empty."""
        expected = self._clock.now() + self._lookahead
        if self._starts_at is not None and expected < self._starts_at:
            expected = self._starts_at  # built ahead of its slot: it starts at the boundary
        with self._lock:
            return self._next(expected)

    def _next(self, now: datetime) -> Track | None:
        if self._station_id is not None and _hour(now, self._tz) > self._id_done_for:
            self._id_done_for = _hour(now, self._tz)
            return self._play(self._station_id, self._station_id.candidates()[0], now, "id")
        if (
            self._jingles is not None
            and len(self._jingles.deck)
            and self._since_jingle >= self._jingles.every
        ):
            self._since_jingle = 0
            deck = self._jingles.deck
            return self._play(deck, deck.candidates()[0], now, "jingle")
        if not self.parts:
            return None
        choice = self._pick_music(now)
        if choice is None:
            return None
        deck, track = choice
        self._since_jingle += 1
        return self._play(deck, track, now, "music")

    def _pick_music(self, now: datetime) -> tuple[Deck, Track] | None:
        first = self._rng.choices(self.parts, weights=[p.weight for p in self.parts])[0]
        others = [p for p in self.parts if p is not first]
        # The other playlists, in a weighted random order, for when the first is blocked.
        others.sort(key=lambda p: self._rng.random() ** (1.0 / p.weight), reverse=True)
        for part in [first, *others]:
            for track in part.deck.candidates():
                if self._allowed(part.deck, track, now):
                    return part.deck, track
        candidates = first.deck.candidates()
        if not candidates:
            return None
        track = min(candidates, key=lambda t: self._last_heard(first.deck, t))
        self.relaxed += 1
        logger.warning(
            "%s: no track respects the separation rules of %s at %s; playing %s anyway",
            self.show_id or "rotation",
            first.deck.id,
            now.isoformat(),
            track.display,
        )
        return first.deck, track

    def _allowed(self, deck: Deck, track: Track, now: datetime) -> bool:
        if self._history is None:
            return True
        rules = deck.model.separation
        if rules.artist is not None and track.artist:
            last = self._history.last_played(artist=track.artist)
            if last is not None and now - last < rules.artist:
                return False
        if rules.title is not None:
            last = self._history.last_played(title=track.title)
            if last is not None and now - last < rules.title:
                return False
        return True

    def _last_heard(self, deck: Deck, track: Track) -> datetime:
        if self._history is None:
            return datetime.min.replace(tzinfo=self._clock.now().tzinfo)
        times = [
            self._history.last_played(artist=track.artist) if track.artist else None,
            self._history.last_played(title=track.title),
        ]
        known = [t for t in times if t is not None]
        return max(known) if known else datetime.min.replace(tzinfo=self._clock.now().tzinfo)

    def _play(self, deck: Deck, track: Track, now: datetime, kind: str) -> Track:
        deck.take(track)
        if self._history is not None and self._record:
            self._history.record(track, now, playlist=deck.id, show=self.show_id)
        tags = {**track.tags, "playlist": deck.id, "kind": kind}
        if self.show_id:
            tags["show"] = self.show_id
        if self.show_title:
            tags["show_title"] = self.show_title
        return replace(track, tags=tags)


def _hour(instant: datetime, tz: tzinfo) -> datetime:
    # The top of the hour on the station's clock (not UTC's: some zones are +05:30).
    return instant.astimezone(tz).replace(minute=0, second=0, microsecond=0)
