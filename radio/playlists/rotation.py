"""Rotation: which track plays next in a show (a :class:`~radio.audio.track.TimedTrackProvider`).

A :class:`Deck` hands out one playlist's tracks in its ``order``:

* ``shuffle``: every track once, in a random order, before any repeats (and the
  first track of a new round is not the last of the previous one); when the
  separation rules hold back every track left in a round, a new round begins
  early rather than a rule being broken;
* ``random``: an independent uniform pick each time;
* ``sequential``: the playlist's order, looping.

A :class:`Rotation` picks a playlist by weight, then the first track of that deck
that respects the playlist's separation rules (same artist / same title not within
N minutes, from the play history). When that playlist has no such track, the
other playlists are tried by weight; only when none has one is the rule relaxed
(the least recently heard candidate plays; a warning is logged the first time
for each playlist, later ones at debug: ``radio check`` says which rules the
library cannot keep, W406).
After every ``every`` music tracks a jingle plays; at the first track change at or
after each top of the hour a station ID plays.

When picks are judged (a :class:`~radio.audio.track.TimedTrackProvider`): the
engine opens each next track right after the current one's first frame and
calls :meth:`Rotation.next_track_in` with the seconds until the pick is expected
to start. The top-of-hour ID and the separation rules are judged at that
instant. So the ID still lands at the first track boundary at or after the
hour, exactly.

What the rules are judged against: the play history, plus what the rotation
knows that the history may not hold yet (on air the history is written on a
worker thread, so the current track's start can reach it after the next pick is
judged). :meth:`Rotation.started` (the station calls it when a track of this
rotation's sequence starts, requests included, before the engine asks for the
next pick) reports a real start; and every pick this rotation hands out counts
as a play at its predicted start until it is reported, released, or
:meth:`Rotation.failed`. A start counts the same whether it comes from the
history or from a report.

A skip makes the pick start earlier than predicted. Two guards keep the rules
honest then:

* separation: a candidate that keeps the rules even if it started at once
  (judged at the time of the call) is preferred, from the playlist the weights
  drew, else from the others; only when no playlist has one is a candidate
  allowed at the predicted start taken (counted in ``at_risk``: a skip before
  then would bend its rule by at most the skipped remainder);
* station ID: the rotation looks up in the history when the ID it handed out
  really started. If a skip brought it forward by more than ``ID_GRACE`` before
  its hour, that hour's ID plays again at the first track change at or after the
  hour (counted in ``early_ids``); within ``ID_GRACE`` it counts for the hour.
  An ID that never started (it failed to open, or the engine let it go) is
  tried once more, one pick later.

When the lead is unknown (None: the current track is a stream) and for
:meth:`Rotation.next_track`, the pick is judged at ``now + lookahead``. Jingles
are counted in tracks, so they do not depend on when picks are judged.

Opening early means the engine often holds a pick that never plays (the show
ends, a request takes its place): :meth:`Rotation.release` (a TrackSequence's
``released``) gives such a pick back to its deck and restores the jingle count or
the hour's ID.

Plays reach the history either from the station (``record=False``: when a track
really starts) or from the rotation itself at the predicted start
(``record=True``, offline simulations: then the rotation cannot tell that a pick
started early).
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
from radio.store.history import PlayHistory, key

logger = logging.getLogger(__name__)

#: A rotation that starts this close after a top of the hour still plays that hour's ID;
#: an ID that a skip brings forward to this close before its hour counts for that hour.
ID_GRACE = timedelta(minutes=5)
#: Starts kept in memory besides the history (only the latest few may be missing
#: from it: the deferred writes of the last tracks).
RECENT_STARTS = 32


@dataclass(slots=True)
class _Start:
    """A start the history may not hold yet: a pick at its predicted start
    (``reported`` False) or a start the station reported."""

    location: str
    artist: str  # history.key of the artist
    title: str  # history.key of the title
    at: datetime
    reported: bool


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
        self._preview: list[Track] = []  # the next round, once early_round was asked

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

    def early_round(self) -> list[Track]:
        """For ``shuffle``: the tracks already played in this round, in the next
        round's order; taking one ends this round early (the rest of it went
        against the separation rules: better a new round than a broken rule).
        Empty for the other orders (their candidates are every track already)."""
        if self.model.order != "shuffle" or not self.tracks:
            return []
        if not self._preview:
            self._preview = list(self.tracks)
            self._rng.shuffle(self._preview)
        return [t for t in self._preview if t not in self._round]

    def take(self, track: Track) -> None:
        """Mark ``track`` (one of :meth:`candidates` or :meth:`early_round`) as played."""
        self._last = track
        if self.model.order == "sequential":
            self._position = self.tracks.index(track) + 1
        elif self.model.order == "shuffle":
            if not self._round:
                self._new_round()
            if track in self._round:
                self._round.remove(track)
            else:  # from early_round: the next round begins with it
                self._round = [t for t in self._preview or self.tracks if t != track]
                self._preview = []

    def give_back(self, track: Track) -> None:
        """Undo :meth:`take` for a ``track`` that never played: it is this deck's
        next pick again (``random`` has nothing to undo). Unknown tracks are ignored."""
        if track not in self.tracks:
            return
        if self.model.order == "sequential":
            self._position = self.tracks.index(track)
        elif self.model.order == "shuffle" and track not in self._round:
            self._round.insert(0, track)

    def _new_round(self) -> None:
        if self._preview:
            self._round, self._preview = self._preview, []
        else:
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
class _IdPick:
    """A station ID handed out for ``hour``, asked for at ``asked`` (its earliest start)."""

    location: str
    deck: str
    hour: datetime
    asked: datetime
    second_try: bool = False
    looked: bool = False  # looked for in the history once, not found


@dataclass(frozen=True)
class Jingles:
    """Play one track of ``deck`` after every ``every`` music tracks."""

    deck: Deck
    every: int


class Rotation:
    """The music of one show (or of the fallback): a TimedTrackProvider.

    ``clock`` tells the time of each pick; ``history`` (optional) supplies plays
    for the separation rules and the ID check, and receives the picks when
    ``record`` is set; ``rng`` makes every choice (seed it for reproducible
    tests); ``tz`` is the station's zone, for the top of the hour; ``lookahead``
    is when a pick is expected to start when the caller does not say;
    ``starts_at`` is the slot's start (a rotation built ahead of its show judges
    its picks no earlier than that).

    Counters: ``relaxed`` picks broke a separation rule (no candidate respected
    it); ``at_risk`` picks keep their rules only if they start when predicted;
    ``early_ids`` station IDs started more than ``ID_GRACE`` before their hour
    (a skip) and were played again.
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
        self.at_risk = 0  # picks allowed at their predicted start only
        self.early_ids = 0  # IDs a skip brought forward by more than ID_GRACE
        self._relaxed_decks: set[str] = set()  # decks whose relaxed pick was logged
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
        self._id_pick: _IdPick | None = None
        self._id_again: datetime | None = None  # an hour whose ID is being tried again
        # Starts the history may not hold yet. Its own lock, never held while the
        # history is read: the station reports starts from the player thread.
        self._recent: list[_Start] = []
        self._recent_lock = threading.Lock()

    def next_track(self) -> Track | None:
        """The next track, expected to start ``lookahead`` from now (the untimed entry).

        A due station ID, a due jingle, or music; None when the rotation is empty.
        """
        return self.next_track_in(None)

    def next_track_in(self, seconds: float | None) -> Track | None:
        """The next track, expected to start ``seconds`` from now (None: unknown,
        taken as ``lookahead``). IDs and separation rules are judged at that
        instant (see the module docstring for skips). None when empty."""
        now = self._clock.now()
        ahead = self._lookahead if seconds is None else timedelta(seconds=max(0.0, seconds))
        start, earliest = now + ahead, now
        if self._starts_at is not None:
            # built ahead of its slot: nothing of it plays before the boundary
            start = max(start, self._starts_at)
            earliest = max(earliest, self._starts_at)
        with self._lock:
            return self._next(start, earliest)

    def started(self, track: Track, at: datetime) -> None:
        """``track`` really started at ``at`` (aware): a pick of this rotation, or
        anything else heard in its place (a request). Judged from now on like a
        play in the history, whether or not the history holds it yet. Quick, no
        I/O (the station calls it from the player thread)."""
        with self._recent_lock:
            pick = self._unreported(track.location)
            if pick is not None:
                pick.at, pick.reported = at, True
            else:
                self._recent.append(
                    _Start(track.location, key(track.artist), key(track.title), at, True)
                )
            del self._recent[:-RECENT_STARTS]

    def failed(self, track: Track) -> None:
        """``track``, a pick of this rotation, could not be played (a bad file): it
        no longer counts as a play at its predicted start. Quick, no I/O."""
        with self._recent_lock:
            pick = self._unreported(track.location)
            if pick is not None:
                self._recent.remove(pick)

    def _unreported(self, location: str) -> _Start | None:
        """The latest pick of ``location`` not reported yet (call with the lock)."""
        return next(
            (s for s in reversed(self._recent) if s.location == location and not s.reported),
            None,
        )

    def release(self, track: Track, started: bool) -> None:
        """The engine let go of ``track``, this rotation's latest pick (a
        TrackSequence's ``released``). When it never started it goes back to its
        deck, to be that deck's next pick (a sequential playlist does not lose an
        episode at each show change), and the jingle count or the hour's ID is
        restored. A track that started is left alone: it is in the history.
        Takes the decks' lock (held by a pick for a few SQLite queries)."""
        if started:
            return
        self.failed(track)  # it never played: no longer counted at its predicted start
        kind = track.tags.get("kind")
        with self._lock:
            deck = self._deck(track.tags.get("playlist", ""))
            if deck is None:
                return
            deck.give_back(track)
            if kind == "music" and self._since_jingle > 0:
                self._since_jingle -= 1
            elif kind == "jingle" and self._jingles is not None:
                self._since_jingle = self._jingles.every
            elif kind == "id" and (pick := self._id_pick) and pick.location == track.location:
                self._id_done_for = pick.hour - timedelta(hours=1)
                self._id_pick = None

    def _deck(self, deck_id: str) -> Deck | None:
        decks = [p.deck for p in self.parts]
        if self._jingles is not None:
            decks.append(self._jingles.deck)
        if self._station_id is not None:
            decks.append(self._station_id)
        return next((d for d in decks if d.id == deck_id), None)

    def _next(self, start: datetime, earliest: datetime) -> Track | None:
        self._check_id_start()
        if self._station_id is not None and _hour(start, self._tz) > self._id_done_for:
            hour = self._id_done_for = _hour(start, self._tz)
            deck = self._station_id
            track = deck.candidates()[0]
            again, self._id_again = self._id_again == hour, None
            self._id_pick = _IdPick(track.location, deck.id, hour, earliest, second_try=again)
            return self._play(deck, track, start, "id")
        if (
            self._jingles is not None
            and len(self._jingles.deck)
            and self._since_jingle >= self._jingles.every
        ):
            self._since_jingle = 0
            deck = self._jingles.deck
            return self._play(deck, deck.candidates()[0], start, "jingle")
        if not self.parts:
            return None
        choice = self._pick_music(start, earliest)
        if choice is None:
            return None
        deck, track = choice
        self._since_jingle += 1
        return self._play(deck, track, start, "music")

    def _check_id_start(self) -> None:
        """Is the hour of the last ID handed out really served? The engine asks for
        the next pick after the current track's start was reported
        (:meth:`started`), so by now the ID has started, unless it never will (it
        failed to open, or the engine let it go unplayed). Without reports the
        start is read from the history, which may hold it only one pick later.
        An ID that started more than ``ID_GRACE`` before its hour (a skip) is due
        again; one that never started is tried once more (not forever: every ID
        might be unplayable)."""
        pick = self._id_pick
        if pick is None or self._history is None:
            return
        with self._recent_lock:
            started = next(
                (
                    s.at
                    for s in self._recent
                    if s.reported and s.location == pick.location and s.at >= pick.asked
                ),
                None,
            )
        if started is None:
            started = next(
                (
                    play.played_at
                    for play in self._history.since(pick.asked)
                    if play.location == pick.location and play.playlist == pick.deck
                ),
                None,
            )
        if started is None and not pick.looked:
            # Not yet, maybe: without a report, the start reaches the history
            # (written on another thread) after the successor is picked. Look
            # again at the next pick.
            self._id_pick = replace(pick, looked=True)
            return
        self._id_pick = None
        if started is None:
            if pick.second_try:
                return
            what = "never started"
        elif pick.hour - started > ID_GRACE:
            self.early_ids += 1
            what = f"started at {started.isoformat()} (a skip)"
        else:
            return
        self._id_done_for = pick.hour - timedelta(hours=1)
        self._id_again = pick.hour
        logger.info(
            "%s: the station ID for %s %s; it is due again",
            self.show_id or "rotation",
            pick.hour.isoformat(),
            what,
        )

    def _pick_music(self, start: datetime, earliest: datetime) -> tuple[Deck, Track] | None:
        first = self._rng.choices(self.parts, weights=[p.weight for p in self.parts])[0]
        others = [p for p in self.parts if p is not first]
        # The other playlists, in a weighted random order, for when the first is blocked.
        others.sort(key=lambda p: self._rng.random() ** (1.0 / p.weight), reverse=True)
        order = [(part, part.deck.candidates()) for part in [first, *others]]
        # Prefer a track whose rules hold even if it starts at once (the current
        # track skipped), from any playlist: allowed at ``earliest``, it is allowed
        # at ``start`` too. Then one allowed only if it starts when predicted.
        for instant in (earliest, start) if start > earliest else (start,):
            for part, candidates in order:
                for track in candidates:
                    if self._allowed(part.deck, track, instant):
                        if instant != earliest:
                            self.at_risk += 1
                        return part.deck, track
        # A shuffle round whose leftovers are all held back: a new round may begin
        # early (the rule kept, a track heard again sooner than a full round).
        early = [(part, part.deck.early_round()) for part in [first, *others]]
        for instant in (earliest, start) if start > earliest else (start,):
            for part, candidates in early:
                for track in candidates:
                    if self._allowed(part.deck, track, instant):
                        if instant != earliest:
                            self.at_risk += 1
                        return part.deck, track
        candidates = first.deck.candidates()
        if not candidates:
            return None
        track = min(candidates, key=lambda t: self._last_heard(first.deck, t))
        self.relaxed += 1
        # `radio check` reports a rule the library cannot keep (W406): on air it is
        # said once per playlist and show, not at every track.
        warned = first.deck.id in self._relaxed_decks
        self._relaxed_decks.add(first.deck.id)
        logger.log(
            logging.DEBUG if warned else logging.WARNING,
            "%s: no track respects the separation rules of %s at %s; playing %s anyway%s",
            self.show_id or "rotation",
            first.deck.id,
            start.isoformat(),
            track.display,
            "" if warned else " (said once: further picks like it are counted, see radio check)",
        )
        return first.deck, track

    def _allowed(self, deck: Deck, track: Track, now: datetime) -> bool:
        if self._history is None:
            return True
        rules = deck.model.separation
        if rules.artist is not None and track.artist:
            last = self._last_played(artist=track.artist)
            if last is not None and now - last < rules.artist:
                return False
        if rules.title is not None:
            last = self._last_played(title=track.title)
            if last is not None and now - last < rules.title:
                return False
        return True

    def _last_played(
        self, *, artist: str | None = None, title: str | None = None
    ) -> datetime | None:
        """The latest start of ``artist`` (or ``title``): in the history, or known
        here first (a reported start, or a pick at its predicted start)."""
        assert self._history is not None
        last = self._history.last_played(artist=artist, title=title)
        wanted = key(artist if artist is not None else title or "")
        with self._recent_lock:
            times = [
                s.at
                for s in self._recent
                if (s.artist if artist is not None else s.title) == wanted
            ]
        if last is not None:
            times.append(last)
        return max(times, default=None)

    def _last_heard(self, deck: Deck, track: Track) -> datetime:
        if self._history is None:
            return datetime.min.replace(tzinfo=self._clock.now().tzinfo)
        times = [
            self._last_played(artist=track.artist) if track.artist else None,
            self._last_played(title=track.title),
        ]
        known = [t for t in times if t is not None]
        return max(known) if known else datetime.min.replace(tzinfo=self._clock.now().tzinfo)

    def _play(self, deck: Deck, track: Track, now: datetime, kind: str) -> Track:
        deck.take(track)
        if self._history is not None and self._record:
            self._history.record(track, now, playlist=deck.id, show=self.show_id)
        elif self._history is not None:
            # counted at its predicted start until it is reported (or let go of)
            with self._recent_lock:
                self._recent.append(
                    _Start(track.location, key(track.artist), key(track.title), now, False)
                )
                del self._recent[:-RECENT_STARTS]
        tags = {**track.tags, "playlist": deck.id, "kind": kind}
        if self.show_id:
            tags["show"] = self.show_id
        if self.show_title:
            tags["show_title"] = self.show_title
        return replace(track, tags=tags)


def _hour(instant: datetime, tz: tzinfo) -> datetime:
    # The top of the hour on the station's clock (not UTC's: some zones are +05:30).
    return instant.astimezone(tz).replace(minute=0, second=0, microsecond=0)
