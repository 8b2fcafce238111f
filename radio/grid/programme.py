"""The programme source: the show the grid says, switched at the grid's boundaries.

At each frame (``ready``/``wait_buffered``/``read``) the programme compares the
current instant with the next boundary, which costs one comparison; the
APScheduler runner calls :meth:`Programme.poll` at the same instants, so live and
offline rendering go through the same code.

* ``lead`` before a boundary, the next slot's source is built (its first track
  opens and buffers ahead, off the player thread).
* At a **hard** boundary the new slot is selected at that very frame, with a short
  fade (``fade`` seconds, equal power) from the old one: the new show's first
  sample is in the first frame at or after its instant.
* At a **soft** boundary the old slot finishes its current track (up to the new
  show's ``max_wait``, then fades), and the new show starts on the next frame.

Slots with no show play the fallback (``build(None)``); leaving a show for the
fallback is a hard change. A reload (:meth:`set_grid`) takes effect at the next
frame: if the slot on air changed, that is a boundary now.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from radio.audio.frames import FRAMES_PER_SECOND
from radio.audio.source import Source
from radio.audio.switch import Switch
from radio.events import EventSink, ShowStarted
from radio.grid.grid import Grid, Occurrence
from radio.grid.holder import Holder
from radio.grid.timeline import Segment, boundaries

logger = logging.getLogger(__name__)

SlotKey = tuple[str, datetime] | None
Builder = Callable[[Occurrence | None], Source]

HORIZON = timedelta(days=8)
REFRESH_BEFORE = timedelta(days=2)  # maintain() re-expands when less than this is left


def slot_key(occurrence: Occurrence | None) -> SlotKey:
    """Identity of a slot: the show and the start of its occurrence (None: fallback)."""
    return None if occurrence is None else (occurrence.show_id, occurrence.start)


class Programme:
    """A fallible Source that follows ``grid`` (see the module docstring).

    ``build(occurrence)`` makes the source of a slot (``None``: the fallback);
    ``now()`` is the instant of the frame about to be read (the wall clock on air,
    start + frames × 20 ms offline); ``position()`` is the station frame position
    (for events); ``on_change(old, new, soft)`` is called at each slot change,
    under the programme's lock, with the source that had the air (None at the
    start), the one that takes it, and whether that waits for the end of the old
    one's track (a soft start): the station moves the requests the old one had
    prepared.
    """

    def __init__(
        self,
        grid: Grid,
        build: Builder,
        *,
        now: Callable[[], datetime],
        position: Callable[[], int] | None = None,
        events: EventSink | None = None,
        lead: timedelta = timedelta(seconds=20),
        fade: float = 0.05,
        on_change: Callable[[Source | None, Source, bool], None] | None = None,
    ) -> None:
        self._grid = grid
        self._on_change = on_change
        self._build = build
        self._now = now
        self._seats = (Holder(), Holder())
        self._switch = Switch(list(self._seats), selected=None, transition=fade)
        self._position = position or (lambda: self._switch.position)
        self._events = events
        self._lead = lead
        self._fade_frames = max(1, round(fade * FRAMES_PER_SECOND)) + 2
        self._lock = threading.RLock()
        self._segments: list[Segment] = []
        self._key: SlotKey = None
        self._started = False
        self._occurrence: Occurrence | None = None
        self._seat = 0  # seat of the slot on air (or going on air)
        self._prepared: tuple[SlotKey, int] | None = None
        self._retire: tuple[int, int] | None = None  # (seat, frames left before closing)
        self._announce: tuple[Occurrence | None, int] | None = None
        self._closed = False
        self._soft_waiting = False
        self.switches = 0  # slot changes so far (tests, monitoring)

    # -- control --------------------------------------------------------------

    @property
    def grid(self) -> Grid:
        with self._lock:
            return self._grid

    def set_grid(self, grid: Grid) -> None:
        """Put a new grid on air (after a reload); the slot is re-evaluated at once.

        The expansion is done here, in the caller's thread, not on the player thread.
        """
        now = self._now()
        fresh = boundaries(grid, now, now + HORIZON)
        with self._lock:
            self._grid = grid
            self._segments = fresh
            self._drop_prepared()

    def maintain(self) -> None:
        """Refresh the expanded horizon when it runs short, then :meth:`poll`.

        Called by the scheduler's jobs (off the player thread) so that the player
        thread never expands the grid itself, except if nothing else ever did.
        """
        now = self._now()
        with self._lock:
            short = not self._segments or self._segments[-1].end - now < REFRESH_BEFORE
            grid = self._grid
        if short:
            fresh = boundaries(grid, now, now + HORIZON)
            with self._lock:
                if self._grid is grid:
                    self._segments = fresh
        self.poll()

    @property
    def on_air(self) -> Occurrence | None:
        """The occurrence on air (None: the fallback)."""
        with self._lock:
            return self._occurrence

    def on_air_source(self) -> Source | None:
        """The source of the slot on air: the new slot's from the instant of its
        boundary, even while a soft start waits for the old slot's track to end."""
        with self._lock:
            return self._seats[self._seat].occupant if self._started else None

    @property
    def next_boundary(self) -> datetime | None:
        """The next instant at which the slot changes, if within the horizon."""
        with self._lock:
            self._ensure_segments(self._now())
            return self._segments[0].end if self._segments else None

    def poll(self) -> None:
        """Compare now with the next boundary; prepare or switch when due. Cheap."""
        with self._lock:
            if self._closed:
                return
            now = self._now()
            segment = self._current_segment(now)
            key = slot_key(segment.occurrence)
            if key != self._key or not self._started:
                self._change(segment.occurrence, key)
            elif segment.end - now <= self._lead:
                self._prepare_next(segment.end)

    # -- Source ---------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Ready when the slot on air (or the one a pending switch goes to) can play."""
        self.poll()
        with self._lock:
            # A switch is applied when the switch is read, so a parent must read us
            # as soon as the incoming slot can play, even if the outgoing one cannot.
            return self._seats[self._seat].ready or self._switch.ready

    @property
    def remaining(self) -> int | None:
        return self._switch.remaining

    def wait_buffered(self, timeout: float | None = None) -> bool:
        """Offline pulling: poll (which may open the next slot), then wait for buffers."""
        self.poll()
        return self._switch.wait_buffered(timeout)

    def read(self) -> bytes:
        self.poll()
        with self._lock:
            position = self._position()
            data = self._switch.read()
            self._after_read(position)
        return data

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._prepared = None
        for seat in self._seats:
            seat.close()

    # -- internals ------------------------------------------------------------

    def _ensure_segments(self, now: datetime) -> None:
        while self._segments and self._segments[0].end <= now:
            self._segments.pop(0)
        if not self._segments or self._segments[0].start > now:
            self._segments = boundaries(self._grid, now, now + HORIZON)

    def _current_segment(self, now: datetime) -> Segment:
        self._ensure_segments(now)
        return self._segments[0]

    def _idle_seat(self) -> int:
        # The seat not heard now. During a pending (soft) switch the seat heard is
        # still the old one, so the idle seat is the pending one, which may be replaced.
        selected = self._switch.selected
        return 1 - (self._seat if selected is None else selected)

    def _prepare_next(self, boundary: datetime) -> None:
        following = next((s for s in self._segments if s.start >= boundary), None)
        if following is None:
            return
        key = slot_key(following.occurrence)
        if key == self._key or (self._prepared is not None and self._prepared[0] == key):
            return
        if self._soft_waiting and self._switch.pending:
            return  # a soft start is still waiting: its seat is taken
        idle = self._idle_seat()
        if self._retire is not None and self._retire[0] == idle:
            return  # the previous slot is still fading out of that seat
        self._drop_prepared()
        self._replace(idle, self._build(following.occurrence))
        self._prepared = (key, idle)
        logger.debug("prepared %s for %s", key, boundary.isoformat())

    def _drop_prepared(self) -> None:
        if self._prepared is not None:
            _, seat = self._prepared
            self._prepared = None
            if seat != self._switch.selected:
                self._replace(seat, None)

    def _replace(self, seat: int, source: Source | None) -> None:
        old = self._seats[seat].seat(source)
        if old is not None:
            old.close()

    def _change(self, occurrence: Occurrence | None, key: SlotKey) -> None:
        first = not self._started
        self._started = True
        idle = self._idle_seat() if not first else self._seat
        if self._prepared is not None and self._prepared[0] == key:
            idle = self._prepared[1]
            self._prepared = None
        else:
            self._drop_prepared()
            if self._retire is not None and self._retire[0] == idle:
                self._replace(idle, None)  # cut a fade-out short: a new slot needs the seat
                self._retire = None
            self._replace(idle, self._build(occurrence))
        heard = self._switch.selected if not first else None  # before select(): still the old
        old_source = self._seats[heard].occupant if heard is not None else None
        show = None if occurrence is None else self._grid.shows[occurrence.index]
        soft = show is not None and show.start_mode == "soft" and not first
        if soft:
            assert show is not None
            self._switch.select(idle, after_track=True, max_wait=show.max_wait.total_seconds())
        else:
            self._switch.select(idle, fade=0.0 if first else None)
        self._seat = idle
        self._soft_waiting = soft
        self._key = key
        self._occurrence = occurrence
        self.switches += 1
        self._announce = (occurrence, -1 if heard is None else heard)
        if self._on_change is not None:
            new_source = self._seats[idle].occupant
            if new_source is not None:
                self._on_change(old_source, new_source, soft)
        logger.info(
            "%s %s (%s start)",
            "on air:" if occurrence else "fallback:",
            occurrence.show_id if occurrence else self._grid.fallback,
            "soft" if soft else "hard",
        )

    def _after_read(self, position: int) -> None:
        if self._announce is not None and not self._switch.pending:
            occurrence, old_seat = self._announce
            self._announce = None
            if old_seat >= 0 and old_seat != self._seat:
                self._retire = (old_seat, self._fade_frames)
            if self._events is not None:
                show = self._grid.shows[occurrence.index] if occurrence else None
                self._events(
                    ShowStarted(
                        frame=position,
                        show_id=occurrence.show_id if occurrence else "",
                        title=show.name if show else self._grid.fallback_name,
                        tags={"fallback": "yes"} if occurrence is None else {},
                    )
                )
        if self._retire is not None:
            seat, left = self._retire
            if left <= 0:
                self._retire = None
                if seat != self._seat:
                    self._replace(seat, None)
            else:
                self._retire = (seat, left - 1)
