"""The station tree: what goes on air, composed from the grid, the playlists and the engine.

::

    Infallible                      never silent by accident, counts frames
    └── Takeover                    live cuts in at once (fade under), radio.live.takeover
        ├── live                    LiveSource: an encoder or a relay, grace, blank strip
        └── Duck                    talk-over: lowered while a presenter speaks on the stage
            └── Fallback (first ready child)
                ├── programme       the show on air, or the fallback playlist
                └── fallback        the fallback playlist again, should a show fail
                                    (on standby, from a deck of its own)

The duck (:attr:`Station.duck`, radio.audio.duck) sits under the takeover, over
everything the programme plays (tracks, jingles, IDs, requests: they go on
under the presenter), and not over the live branch: an encoder's audio is the
presenter's own mix, voice and all, and lowering it because someone speaks on
the stage would bury that voice. It follows the root's frame counter, so its
envelope moves on while the live branch has the air.

When the live source has taken the air (its fade complete) the track it
interrupted is cut where it stands, unheard (:meth:`Station.skip` with
``cut``), so the programme comes back on a fresh track, requests first.

The programme switches shows at the grid's boundaries (hard or soft starts, see
radio.grid.programme). Plays are written to the play history when a track
really starts (TrackStarted), for the separation rules and the play log; the
sequence's rotation hears of that start at once (:meth:`Rotation.started`),
before the sequence asks it for the next pick, since the history may be written
later on another thread.

Requests play at the next track boundary (Liquidsoap's track-sensitive
fallback, the way AzuraCast and LibreTime schedule them): each sequence of the
tree takes its next track from a :class:`_RequestsFirst` provider that serves
the request queue first (only to the sequence that is heard, the *taker*), then
the show's rotation. A request queued while the taker's next rotation pick is
already open replaces it (:meth:`Station.offer_requests`): the displaced pick
was never started, so it is not in the history; it goes back to its deck
(:meth:`Rotation.release`) and is picked again, judged anew, after the requests. The
request's decoder is opened as soon as it is queued, so the boundary is gapless
or crossfaded like any other, and a skip reaches it at once. A sequence that no
longer has the air hands its prepared request back; it goes first to the next
taker.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta

from radio.audio.blank import DEFAULT_BLANK_SECONDS
from radio.audio.duck import Duck, DuckRules
from radio.audio.loudness import LoudnessLevels
from radio.audio.root import Infallible
from radio.audio.sequence import DEFAULT_PRELOAD_SECONDS, TrackSequence
from radio.audio.source import Source
from radio.audio.switch import Fallback
from radio.audio.track import TimedTrackProvider, Track, TrackProvider
from radio.clock import Clock
from radio.errors import ConfigError
from radio.events import Event, EventSink, TrackEnded, TrackFailed, TrackStarted
from radio.grid.check import CheckResult
from radio.grid.crossfade import CrossfadeModel, Crossfades
from radio.grid.grid import Grid, Occurrence
from radio.grid.programme import Programme
from radio.live.source import LiveRules, LiveSource
from radio.live.takeover import Takeover
from radio.playlists.model import PlaylistModel
from radio.playlists.rotation import Deck, Jingles, Part, Rotation
from radio.store.history import PlayHistory

logger = logging.getLogger(__name__)

ATTACH_TIMEOUT = 5.0  # seconds; a guard: attach() follows the sequence's constructor
REQUEST_KIND = "request"  # the ``kind`` tag of a request's track (rotation: music, jingle, id)


def is_request(track: Track) -> bool:
    """True for a track that came from the request queue."""
    return track.tags.get("kind") == REQUEST_KIND


def _not_request(track: Track) -> bool:
    return not is_request(track)


def _always(track: Track) -> bool:
    return True


class Station:
    """One station's source tree, built from a checked configuration.

    ``clock`` gives the instant of the frame about to be produced (the system clock
    on air, a FrameClock offline); ``history`` receives every play; ``events``
    receives every station event; ``rng`` drives every random choice; ``duck``
    sets the talk-over's depth and timing (:attr:`duck` is keyed from above).
    Requests come from the provider given to :meth:`set_requests`.
    Raises ConfigError when ``setup`` has errors.
    """

    def __init__(
        self,
        setup: CheckResult,
        *,
        clock: Clock,
        rng: random.Random | None = None,
        history: PlayHistory | None = None,
        events: EventSink | None = None,
        loudness: LoudnessLevels | None = None,
        lead: timedelta = timedelta(seconds=20),
        fade: float = 0.05,
        live: LiveRules | None = None,
        duck: DuckRules | None = None,
    ) -> None:
        grid = _usable(setup)
        self._clock = clock
        self._rng = rng or random.Random()
        self._history = history
        self._sink = events
        self._loudness = loudness
        self._blank_limit = _blank_limit(setup)
        self._crossfade = _station_crossfade(setup)
        self._lock = threading.Lock()
        self._decks = self._make_decks(setup)
        self._grid = grid
        self._requests: TrackProvider | None = None
        self._returned: list[Track] = []  # requests a sequence handed back: they go first
        self._wanted: Callable[[Track], bool] = _always  # requests still to play (release_requests)
        self._closing = False
        self._opening: TrackSequence | None = None  # a hard start's new slot, while it changes
        self._playing: TrackSequence | None = None  # the station sequence that started last
        self.programme = Programme(
            grid,
            self._build,
            now=clock.now,
            position=self._position,
            events=self._emit,
            lead=lead,
            fade=fade,
            on_change=self._slot_changed,
        )
        # The standby draws from a deck of its own: the track it holds ready is
        # not taken from the programme's (a show, or the fallback playlist when
        # no show is on, playing the same playlist in its order).
        self.fallback = self._sequence(None, standby=True)
        self._switch = Fallback([self.programme, self.fallback], transition=fade)
        self.live = LiveSource(live, events=self._emit, position=self._position)
        self.duck = Duck(self._switch, duck, position=self._position)
        self.takeover = Takeover(
            self.live, self.duck, fade=self.live.rules.fade, taken=self._live_took_the_air
        )
        self.root = Infallible(self.takeover, events=self._emit)

    def reload(self, setup: CheckResult) -> None:
        """Put a new checked configuration on air. Raises ConfigError when it has errors."""
        grid = _usable(setup)
        decks = self._make_decks(setup)
        with self._lock:
            self._decks = decks
            self._grid = grid
            self._blank_limit = _blank_limit(setup)  # for the sequences built from now on
            self._crossfade = _station_crossfade(setup)
        self.programme.set_grid(grid)

    @property
    def grid(self) -> Grid:
        return self._grid

    @property
    def decks(self) -> Mapping[str, Deck]:
        """The playlists' decks; a reload keeps the decks of unchanged playlists."""
        with self._lock:
            return dict(self._decks)

    def on_air_sequence(self) -> TrackSequence | None:
        """The sequence whose track is on air (requests included): the one that
        started the latest track."""
        with self._lock:
            return self._playing

    def skip(self, *, cut: bool = False) -> bool:
        """Cut the track on air short (quick crossfade into what comes next: a
        waiting request, already open, plays at once; ``cut``: no crossfade, for
        when the live branch has the air and the programme must come back on a
        fresh track).

        Returns False when no track is on air (nothing to skip), or while the live
        branch holds the air (``cut`` aside). Between two
        tracks (the last ended exactly at the end of a frame) the one that starts
        next is cut.
        """
        if not cut and self.takeover.live_on_air:
            return False  # the programme is not heard: its next track must start whole
        sequence = self.on_air_sequence()
        return sequence is not None and sequence.skip(cut=cut)

    # -- requests -------------------------------------------------------------

    def set_requests(self, provider: TrackProvider | None) -> None:
        """Take requests from ``provider`` (its ``next_track()`` hands out the next
        request, None when there is none); None: no requests. Offers them at once."""
        with self._lock:
            self._requests = provider
        if provider is not None:
            self.offer_requests()

    def offer_requests(self) -> None:
        """Requests are waiting: the taker (the sequence heard) opens the first one
        now as its next track, in place of a prepared rotation pick; when nothing
        plays, it plays as soon as it is buffered. Cheap; any thread."""
        taker = self._taker()
        with self._lock:
            opening = self._opening
        if taker is not None:
            taker.replace_next(keep=_always if taker is opening else is_request)

    def release_requests(self, wanted: Callable[[Track], bool]) -> None:
        """Requests the station has opened but not started that are no longer
        ``wanted`` (cancelled, removed or moved while up next) are let go of and
        dropped; the next request, or the rotation, is opened in their place.

        ``wanted`` must be cheap (it may run on the player thread) and is kept: a
        request let go of later (its preparation still in flight) is judged by it.
        A request that has already started plays on. Any thread.
        """
        with self._lock:
            self._wanted = wanted
            self._returned = [track for track in self._returned if wanted(track)]
            playing = self._playing
        taker = self._taker()

        def keep(track: Track) -> bool:
            return not is_request(track) or wanted(track)

        for sequence in {taker, playing} - {None}:
            if sequence is not None:
                sequence.release_next(keep=keep)

    def close(self) -> None:
        """Stop every decoder. Requests that were open stay taken (the queue puts
        them back at its head on the next start)."""
        with self._lock:
            self._closing = True
        self.root.source.close()

    # -- internals ------------------------------------------------------------

    def _live_took_the_air(self) -> None:
        # On the player thread, once the programme is no longer heard: the track it
        # was playing is over for the listeners, the next one starts from its top.
        self.skip(cut=True)

    def _position(self) -> int:
        return self.root.position if hasattr(self, "root") else 0

    def _taker(self) -> TrackSequence | None:
        """The sequence that plays requests: the station's fallback while it is heard,
        else the programme's slot on air (the new show's from its boundary)."""
        # Not the fallback switch's ``selected``: that would take the switch's lock,
        # which the player thread holds while it waits for the programme's.
        with self._lock:
            playing = self._playing
        if playing is not None and playing is getattr(self, "fallback", None):
            return playing
        source = self.programme.on_air_source()
        return source if isinstance(source, TrackSequence) else None

    def _request_for(self, sequence: TrackSequence) -> Track | None:
        """The next request, when ``sequence`` is the taker (called by its helper
        thread: it may wait for the programme's lock, never while holding ours)."""
        with self._lock:
            requests = self._requests
            if requests is None or self._closing:
                return None
        if self._taker() is not sequence:
            return None
        with self._lock:
            if self._returned:
                return self._returned.pop(0)
        track = requests.next_track()
        if track is None:
            return None
        return replace(track, tags={**track.tags, "kind": REQUEST_KIND})

    def _released(self, track: Track, started: bool) -> None:
        """A sequence let go of ``track`` without playing it to its end."""
        with self._lock:
            if self._closing:
                return
        if started:
            # cut by a show's hard start (or its max wait): it ended, skipped
            self._emit(TrackEnded(frame=self._position(), track=track, skipped=True))
        elif is_request(track):
            with self._lock:
                wanted = self._wanted
            if wanted(track):  # else withdrawn (release_requests): dropped
                with self._lock:
                    self._returned.append(track)
            self.offer_requests()

    def _slot_changed(self, old: Source | None, new: Source, soft: bool) -> None:
        # A slot that loses the air hands back the request it has open: the new slot
        # plays it next. After a soft start (the old slot plays its track out) it is
        # the show's first track; a hard start's show opens with its own first track
        # (about to play: replacing it would race the switch), then the request.
        opening = new if not soft and isinstance(new, TrackSequence) else None
        with self._lock:
            self._opening = opening
        try:
            if isinstance(old, TrackSequence):
                old.release_next(keep=_not_request)
        finally:
            with self._lock:
                self._opening = None

    def _emit(self, event: Event) -> None:
        if isinstance(event, TrackStarted) and self._history is not None:
            tags = event.track.tags
            try:
                self._history.record(
                    event.track,
                    self._clock.now(),
                    playlist=tags.get("playlist", ""),
                    show=tags.get("show", ""),
                )
            except Exception:
                logger.exception("cannot record %s in the play history", event.track.display)
        if self._sink is not None:
            self._sink(event)

    def _make_decks(self, setup: CheckResult) -> dict[str, Deck]:
        playlists: Mapping[str, PlaylistModel] = {
            pid: loaded.model for pid, loaded in setup.files.playlists.items()
        }
        tracks: Mapping[str, list[Track]] = setup.tracks
        old: dict[str, Deck] = getattr(self, "_decks", {})
        decks: dict[str, Deck] = {}
        for pid, model in playlists.items():
            same = old.get(pid)
            if (
                same is not None
                and same.model == model
                and same.tracks == tuple(tracks.get(pid, []))
            ):
                decks[pid] = same  # unchanged: keep its shuffle round across the reload
            else:
                decks[pid] = Deck(pid, model, tracks.get(pid, []), self._rng)
        return decks

    def _build(self, occurrence: Occurrence | None) -> TrackSequence:
        return self._sequence(occurrence)

    def _sequence(self, occurrence: Occurrence | None, *, standby: bool = False) -> TrackSequence:
        """The sequence of ``occurrence`` (None: the fallback playlist). A ``standby``
        sequence plays the fallback playlist from a deck of its own."""
        with self._lock:
            grid, decks, crossfade = self._grid, self._decks, self._crossfade
        if standby and grid.fallback in decks:
            shared = decks[grid.fallback]
            own = Deck(shared.id, shared.model, shared.tracks, self._rng)
            decks = {**decks, grid.fallback: own}
        show = grid.shows[occurrence.index] if occurrence is not None else None
        # playlist > show > station, per track change (radio.grid.crossfade)
        fades = Crossfades(
            station=crossfade,
            show=show.crossfade if show is not None else None,
            playlists={pid: deck.model.crossfade for pid, deck in decks.items()},
        )
        if show is None:
            parts = [Part(decks[grid.fallback], 1.0)]
            jingles = None
        else:
            parts = [
                Part(decks[e.playlist], e.weight or decks[e.playlist].model.weight)
                for e in show.rotation
                if e.playlist in decks
            ]
            jingles = (
                Jingles(decks[show.jingles.playlist], show.jingles.every)
                if show.jingles is not None and show.jingles.playlist in decks
                else None
            )
        station_id = grid.station_id_for(show)
        built: list[TrackSequence] = []

        def emit(event: Event) -> None:
            # The rotation hears of each start first (the sequence asks for the next
            # pick only after this returns; the history is written later, off the
            # player thread), and of its picks that failed to open.
            if isinstance(event, TrackStarted):
                rotation.started(event.track, self._clock.now())
            elif isinstance(event, TrackFailed) and not is_request(event.track):
                rotation.failed(event.track)
            # Remember which sequence is heard, so that a skip cuts the right one;
            # the one that had the air hands back the request it had open.
            if isinstance(event, TrackStarted) and built:
                with self._lock:
                    before, self._playing = self._playing, built[0]
                if before is not None and before is not built[0]:
                    before.release_next(keep=_not_request)
            self._emit(event)

        rotation = Rotation(
            parts,
            clock=self._clock,
            rng=self._rng,
            history=self._history,
            jingles=jingles,
            station_id=decks.get(station_id) if station_id else None,
            show_id=show.id if show else "",
            show_title=show.name if show else grid.fallback_name,
            tz=grid.tz,
            lock=_DECK_LOCK,
            record=False,
            lookahead=timedelta(seconds=DEFAULT_PRELOAD_SECONDS),
            starts_at=occurrence.start if occurrence is not None else None,
        )
        provider = _RequestsFirst(rotation, requests=self._request_for, released=self._released)
        sequence = TrackSequence(
            provider,
            crossfade=fades.longest,
            transition=fades.seconds,
            loudness=self._loudness,
            events=emit,
            name=show.id if show else f"fallback:{grid.fallback}",
            position=self._position,
            open_early=isinstance(rotation, TimedTrackProvider),
            released=provider.released,
            blank_limit=self._blank_limit,
        )
        provider.attach(sequence)
        built.append(sequence)
        return sequence


class _RequestsFirst:
    """The provider of one station sequence: requests (``requests(sequence)``: the
    station's answer, None unless the sequence is the taker), then the rotation.

    Timed (it passes the lead on when the rotation is timed); the sequence opens
    early only when the rotation is timed, so an untimed rotation keeps judging its
    picks about ``preload`` seconds before they start.
    """

    def __init__(
        self,
        rotation: Rotation,
        *,
        requests: Callable[[TrackSequence], Track | None],
        released: Callable[[Track, bool], None],
    ) -> None:
        self._rotation = rotation
        self._requests = requests
        self._on_released = released
        self._sequence: TrackSequence | None = None
        self._attached = threading.Event()

    def attach(self, sequence: TrackSequence) -> None:
        """Say which sequence this provider feeds (its first preparation waits for it)."""
        self._sequence = sequence
        self._attached.set()

    def next_track(self) -> Track | None:
        return self.next_track_in(0.0)

    def next_track_in(self, seconds: float | None) -> Track | None:
        # The sequence starts preparing its first track inside its constructor,
        # before attach(): wait the few microseconds until it is known.
        self._attached.wait(ATTACH_TIMEOUT)
        sequence = self._sequence
        if sequence is not None:
            request = self._requests(sequence)
            if request is not None:
                return request
        rotation: TrackProvider = self._rotation
        if isinstance(rotation, TimedTrackProvider):
            return rotation.next_track_in(seconds)
        return rotation.next_track()

    def released(self, track: Track, started: bool) -> None:
        """The sequence let go of ``track``: a rotation pick that never started goes
        back to its deck (the deck's next pick again, judged anew then: a request
        displaces it without losing a sequential playlist's place, a jingle or the
        hour's ID); requests and cut tracks are the station's business."""
        if not is_request(track):
            self._rotation.release(track, started)
        self._on_released(track, started)


# One lock for every rotation: decks are shared between the shows of a station.
_DECK_LOCK = threading.Lock()


def _blank_limit(setup: CheckResult) -> float:
    """station.yaml's ``blank_limit`` (its default without a station file)."""
    station = setup.files.station
    return station.blank_limit if station is not None else DEFAULT_BLANK_SECONDS


def _station_crossfade(setup: CheckResult) -> CrossfadeModel | None:
    """station.yaml's ``crossfade`` (None: the defaults, gapless)."""
    station = setup.files.station
    return station.crossfade if station is not None else None


def _usable(setup: CheckResult) -> Grid:
    if setup.grid is None or setup.errors:
        first = setup.errors[0] if setup.errors else "no station file"
        raise ConfigError(f"the station configuration has errors, first: {first}")
    return setup.grid


__all__ = ["REQUEST_KIND", "Station", "is_request"]
