"""The timeline: which occurrence is on air over each stretch of time (pure).

Where occurrences overlap, the higher ``priority`` wins; at equal priority the show
declared first wins (and validation reports the overlap as E203). Stretches with no
show are ``None``: the fallback plays.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from radio.grid.expand import occurrences
from radio.grid.grid import Grid, Occurrence

LOOKAROUND = timedelta(days=8)


@dataclass(frozen=True, slots=True)
class Segment:
    """``[start, end)`` during which ``occurrence`` is on air (None: the fallback)."""

    start: datetime
    end: datetime
    occurrence: Occurrence | None

    @property
    def show_id(self) -> str | None:
        return None if self.occurrence is None else self.occurrence.show_id


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two occurrences of equal priority that are on air at the same time."""

    first: Occurrence
    second: Occurrence
    start: datetime  # UTC instant where the overlap begins


def _rank(occ: Occurrence) -> tuple[int, int]:
    return (occ.priority, -occ.index)


def segments(occs: list[Occurrence], start: datetime, end: datetime) -> list[Segment]:
    """Cut ``[start, end)`` into consecutive segments, each with its winning occurrence.

    Adjacent segments with the same occurrence are merged; the result covers the
    window without holes.
    """
    return _sweep(occs, start, end, None)


def overlaps(occs: list[Occurrence], start: datetime, end: datetime) -> list[Overlap]:
    """Every pair of equal-priority occurrences that are on air together in the window."""
    found: list[Overlap] = []
    _sweep(occs, start, end, found)
    return found


def _sweep(
    occs: list[Occurrence], start: datetime, end: datetime, found: list[Overlap] | None
) -> list[Segment]:
    points = {start, end}
    for occ in occs:
        if occ.end > start and occ.start < end:
            points.add(max(occ.start, start))
            points.add(min(occ.end, end))
    cuts = sorted(points)
    ordered = sorted(occs, key=lambda o: o.start)
    active: list[Occurrence] = []
    nxt = 0
    result: list[Segment] = []
    seen: set[tuple[Occurrence, Occurrence]] = set()
    for left, right in itertools.pairwise(cuts):
        while nxt < len(ordered) and ordered[nxt].start <= left:
            active.append(ordered[nxt])
            nxt += 1
        active = [o for o in active if o.end > left]
        winner = max(active, key=_rank) if active else None
        if found is not None and len(active) > 1:
            for i, a in enumerate(active):
                for b in active[i + 1 :]:
                    pair = (a, b) if _rank(a) > _rank(b) else (b, a)
                    if a.priority == b.priority and pair not in seen:
                        seen.add(pair)
                        found.append(Overlap(pair[0], pair[1], left))
        if result and result[-1].occurrence == winner and result[-1].end == left:
            result[-1] = Segment(result[-1].start, right, winner)
        else:
            result.append(Segment(left, right, winner))
    return result


@dataclass(frozen=True, slots=True)
class Slot:
    """What is on air at an instant, and until when."""

    segment: Segment
    at: datetime

    @property
    def occurrence(self) -> Occurrence | None:
        return self.segment.occurrence

    @property
    def show_id(self) -> str | None:
        return self.segment.show_id

    @property
    def next_boundary(self) -> datetime:
        """The instant the programme next changes (the end of this segment)."""
        return self.segment.end


def on_air(grid: Grid, now: datetime) -> Slot:
    """What plays at ``now`` (aware): the winning occurrence, or None for the fallback.

    A pure function of ``(grid, now)``. The segment's end is the next boundary
    (looking at most :data:`LOOKAROUND` ahead).
    """
    if now.tzinfo is None:
        raise ValueError("on_air() needs an aware datetime")
    now = now.astimezone(UTC)
    lo, hi = now - LOOKAROUND, now + LOOKAROUND
    segs = segments(occurrences(grid, lo, hi), lo, hi)
    return Slot(_find(segs, now), now)


def _find(segs: list[Segment], now: datetime) -> Segment:
    starts = [s.start for s in segs]
    i = bisect.bisect_right(starts, now) - 1
    return segs[i]


def boundaries(grid: Grid, start: datetime, end: datetime) -> list[Segment]:
    """The segments of ``[start, end)``: each start after ``start`` is a boundary."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    lo = start - LOOKAROUND
    segs = segments(occurrences(grid, lo, end), lo, end)
    return [s for s in segs if s.end > start]
