"""The station tree: what goes on air, composed from the grid, the playlists and the engine.

::

    Infallible                      never silent by accident, counts frames
    └── Fallback (first ready child)
        ├── requests                a Holder: empty until the request queue fills it
        ├── programme               the show on air, or the fallback playlist
        └── fallback                the fallback playlist again, should a show fail

The programme switches shows at the grid's boundaries (hard or soft starts, see
radio.grid.programme). Plays are written to the play history when a track
really starts (TrackStarted), for the separation rules and the play log.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping
from datetime import timedelta

from radio.audio.loudness import LoudnessLevels
from radio.audio.root import Infallible
from radio.audio.sequence import DEFAULT_PRELOAD_SECONDS, TrackSequence
from radio.audio.switch import Fallback
from radio.audio.track import Track
from radio.clock import Clock
from radio.errors import ConfigError
from radio.events import Event, EventSink, TrackStarted
from radio.grid.check import CheckResult
from radio.grid.grid import Grid, Occurrence
from radio.grid.holder import Holder
from radio.grid.programme import Programme
from radio.playlists.model import PlaylistModel
from radio.playlists.rotation import Deck, Jingles, Part, Rotation
from radio.store.history import PlayHistory

logger = logging.getLogger(__name__)


class Station:
    """One station's source tree, built from a checked configuration.

    ``clock`` gives the instant of the frame about to be produced (the system clock
    on air, a FrameClock offline); ``history`` receives every play; ``events``
    receives every station event; ``rng`` drives every random choice.
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
    ) -> None:
        grid = _usable(setup)
        self._clock = clock
        self._rng = rng or random.Random()
        self._history = history
        self._sink = events
        self._loudness = loudness
        self._lock = threading.Lock()
        self._decks = self._make_decks(setup)
        self._grid = grid
        self.requests = Holder()
        self.programme = Programme(
            grid,
            self._build,
            now=clock.now,
            position=self._position,
            events=self._emit,
            lead=lead,
            fade=fade,
        )
        self._playing: TrackSequence | None = None  # the station sequence that started last
        self.fallback = self._sequence(None)
        self._switch = Fallback([self.requests, self.programme, self.fallback], transition=fade)
        self.root = Infallible(self._switch, events=self._emit)

    def reload(self, setup: CheckResult) -> None:
        """Put a new checked configuration on air. Raises ConfigError when it has errors."""
        grid = _usable(setup)
        decks = self._make_decks(setup)
        with self._lock:
            self._decks = decks
            self._grid = grid
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
        """The sequence whose track is on air: the requests' occupant when requests play,
        else the programme's (or fallback's) sequence that started the latest track."""
        if self._switch.selected == 0:
            occupant = self.requests.occupant
            return occupant if isinstance(occupant, TrackSequence) else None
        return self.programme_sequence()

    def programme_sequence(self) -> TrackSequence | None:
        """The programme's (or fallback's) sequence that started the latest track: what
        plays again, from where it stopped, when the requests give the air back."""
        with self._lock:
            return self._playing

    def skip(self) -> bool:
        """Cut the track on air short (quick crossfade into what comes next).

        Returns False when no track is on air (nothing to skip).
        """
        sequence = self.on_air_sequence()
        if sequence is None or sequence.current is None:
            return False
        sequence.skip()
        return True

    def emit(self, event: Event) -> None:
        """Publish an event of a source the application seats in the tree (the
        requests): a started track is written to the play history like any other."""
        self._emit(event)

    def close(self) -> None:
        """Stop every decoder."""
        self.root.source.close()

    # -- internals ------------------------------------------------------------

    def _position(self) -> int:
        return self.root.position if hasattr(self, "root") else 0

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

    def _sequence(self, occurrence: Occurrence | None) -> TrackSequence:
        with self._lock:
            grid, decks = self._grid, self._decks
        show = grid.shows[occurrence.index] if occurrence is not None else None
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
            # Remember which sequence is heard, so that a skip cuts the right one.
            if isinstance(event, TrackStarted) and built:
                with self._lock:
                    self._playing = built[0]
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
        sequence = TrackSequence(
            rotation,
            loudness=self._loudness,
            events=emit,
            name=show.id if show else f"fallback:{grid.fallback}",
            position=self._position,
        )
        built.append(sequence)
        return sequence


# One lock for every rotation: decks are shared between the shows of a station.
_DECK_LOCK = threading.Lock()


def _usable(setup: CheckResult) -> Grid:
    if setup.grid is None or setup.errors:
        first = setup.errors[0] if setup.errors else "no station file"
        raise ConfigError(f"the station configuration has errors, first: {first}")
    return setup.grid


__all__ = ["Station"]
