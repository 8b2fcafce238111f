"""Station events: what happened on air, for announcements, logs and tests.

Events are small frozen dataclasses. Producers (engine, grid, live) call an
:data:`EventSink`; consumers (the Discord announcer, the play log, tests)
subscribe through :class:`EventBus`. Events carry the stream position
(``frame``: frames since the station started) rather than wall-clock time, so
that offline renders and tests are exact; the application layer maps frames to
instants.

Sinks are called from the audio thread: they must be quick and must not raise
(the bus logs and swallows a subscriber's exception so the audio never stops).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from radio.audio.track import Track

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every station event. ``frame`` is the stream position."""

    frame: int


@dataclass(frozen=True, slots=True)
class TrackStarted(Event):
    """The first frame of ``track`` went out at ``frame``."""

    track: Track
    source: str = ""


@dataclass(frozen=True, slots=True)
class TrackEnded(Event):
    """``track`` played its last frame (``skipped`` when cut short)."""

    track: Track
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class TrackFailed(Event):
    """``track`` could not be played and was skipped; ``reason`` says why."""

    track: Track
    reason: str


@dataclass(frozen=True, slots=True)
class TrackBlank(Event):
    """``track`` was blank (below the blank level, -40 dBFS RMS) for ``seconds`` in a
    row and is being skipped (its TrackEnded, ``skipped``, follows)."""

    track: Track
    seconds: float


@dataclass(frozen=True, slots=True)
class DeadAir(Event):
    """Nothing was ready: the station started sending silence."""


@dataclass(frozen=True, slots=True)
class DeadAirEnded(Event):
    """Real content is back after ``frames`` frames of silence."""

    frames: int


@dataclass(frozen=True, slots=True)
class ShowStarted(Event):
    """A show (or the fallback) took the air."""

    show_id: str
    title: str
    tags: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class LiveStarted(Event):
    """A live source took the air (its first frame went out at ``frame``):
    ``presenter`` through ``via`` ("encoder" or "relay")."""

    presenter: str
    via: str
    show: str = ""


@dataclass(frozen=True, slots=True)
class LiveEnded(Event):
    """The live source let go of the air at ``frame``; ``reason`` is "ended" (the
    source went away and the grace passed), "stalled", "blank" or "stopped"."""

    presenter: str
    reason: str


@dataclass(frozen=True, slots=True)
class LiveTitle(Event):
    """What the live source says is playing now (encoder metadata, ICY title)."""

    presenter: str
    title: str


@dataclass(frozen=True, slots=True)
class LiveProblem(Event):
    """A presenter's connection or relay was refused or failed (for the programmers'
    room): ``who`` is the presenter or the encoder's user name, ``detail`` the reason."""

    who: str
    detail: str


EventSink = Callable[[Event], None]


class EventBus:
    """Fan-out of events to subscribers; thread-safe, never raises."""

    def __init__(self) -> None:
        self._subscribers: list[EventSink] = []
        self._lock = threading.Lock()

    def subscribe(self, sink: EventSink) -> Callable[[], None]:
        """Add ``sink``; return a function that removes it again."""
        with self._lock:
            self._subscribers.append(sink)

        def unsubscribe() -> None:
            with self._lock:
                if sink in self._subscribers:
                    self._subscribers.remove(sink)

        return unsubscribe

    def __call__(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber, in subscription order."""
        with self._lock:
            subscribers = list(self._subscribers)
        for sink in subscribers:
            try:
                sink(event)
            except Exception:
                logger.exception("event subscriber %r failed on %r", sink, event)
