"""Counting station events for ``/metrics``: track starts and failures, decoder
failures, blank tracks skipped, live sessions, dead air.

:class:`EventCounts` is an :data:`~radio.events.EventSink`: subscribe it to the
station's event bus. It only increments counters under a lock (quick, never
raises), so it adds nothing to the audio path. A failure's reason is free text
(FFmpeg's last line, a path): it is sorted into a few fixed classes
(:func:`failure_class`) so that a label never grows without bound.

Decoder failures count FFmpeg decoders that died while decoding, by process, not
by track: a track's decoder killed by a signal or exiting with an error status
(its TrackFailed reason says so, :func:`decoder_failure`), and a live session's
decoder that stopped taking the presenter's stream (the live desk's LiveProblem
whose detail begins with :data:`~radio.live.feed.STOPPED`). Nothing restarts a
decoder: the track ends and the next one starts, or the live session ends.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from radio.events import (
    DeadAir,
    Event,
    LiveEnded,
    LiveProblem,
    LiveStarted,
    TrackBlank,
    TrackFailed,
    TrackStarted,
)
from radio.live.feed import STOPPED as LIVE_DECODER_STOPPED
from radio.station import is_request

# (class, words that put a reason in it), tried in order; anything else is "other".
FAILURE_CLASSES: Final = (
    ("missing", ("no such file", "not found", "cannot read", "does not exist")),
    ("no_audio", ("no audio",)),
    ("killed", ("killed by signal",)),
    ("timeout", ("timed out", "timeout")),
    ("decoder_exit", ("exited with code",)),
    ("unreadable", ("invalid data", "cannot probe", "ffprobe failed", "reading ffmpeg output")),
    ("cannot_start", ("cannot start",)),
)


# (class, what a decoder's own failure reason says), radio.audio.decoder's and
# radio.live.feed's words for an FFmpeg that died while decoding.
DECODER_FAILURES: Final = (
    ("killed", "ffmpeg was killed by signal"),
    ("decoder_exit", "ffmpeg exited with code"),
)
DECODERS: Final = ("track", "live")


def decoder_failure(reason: str) -> str | None:
    """The class of an FFmpeg decoder's death that ``reason`` reports (see
    :data:`DECODER_FAILURES`), or None when it reports none (a missing file, a
    failed probe: the track never had a decoder running)."""
    for name, words in DECODER_FAILURES:
        if words in reason:
            return name
    return None


def failure_class(reason: str) -> str:
    """The fixed class of a TrackFailed ``reason`` (see :data:`FAILURE_CLASSES`)."""
    text = reason.casefold()
    for name, words in FAILURE_CLASSES:
        if any(word in text for word in words):
            return name
    return "other"


@dataclass(frozen=True, slots=True)
class EventTotals:
    """A snapshot of the counts since the station started."""

    tracks_started: dict[str, int]  # by kind: "programme" or "request"
    tracks_failed: dict[str, int]  # by failure class
    live_sessions: int
    live_ended: dict[str, int]  # by LiveEnded's reason
    dead_air_events: int
    blank_skips: int = 0  # tracks skipped for staying blank
    # by (decoder, class): "track" or "live", a DECODER_FAILURES class or "other"
    decoder_failures: dict[tuple[str, str], int] = field(default_factory=dict)


class EventCounts:
    """Counts the station's events (see the module docstring). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self._live = 0
        self._live_ended: Counter[str] = Counter()
        self._dead_air = 0
        self._blank = 0
        self._decoders: Counter[tuple[str, str]] = Counter()

    def __call__(self, event: Event) -> None:
        """Count ``event`` (an EventSink). Never raises."""
        with self._lock:
            match event:
                case TrackStarted(track=track):
                    kind = "request" if is_request(track) else "programme"
                    self._started[kind] += 1
                case TrackFailed(reason=reason):
                    self._failed[failure_class(reason)] += 1
                    died = decoder_failure(reason)
                    if died is not None:
                        self._decoders["track", died] += 1
                case LiveProblem(detail=detail) if detail.startswith(LIVE_DECODER_STOPPED):
                    self._decoders["live", decoder_failure(detail) or "other"] += 1
                case LiveStarted():
                    self._live += 1
                case LiveEnded(reason=reason):
                    self._live_ended[reason if reason.isidentifier() else "other"] += 1
                case DeadAir():
                    self._dead_air += 1
                case TrackBlank():
                    self._blank += 1

    def totals(self) -> EventTotals:
        """The counts so far."""
        with self._lock:
            return EventTotals(
                tracks_started=dict(self._started),
                tracks_failed=dict(self._failed),
                live_sessions=self._live,
                live_ended=dict(self._live_ended),
                dead_air_events=self._dead_air,
                blank_skips=self._blank,
                decoder_failures=dict(self._decoders),
            )
