"""A histogram kept in plain integers, for code that must not take a lock per observation.

The sender thread observes one value every 20 ms (:mod:`radio.bot.sender`); a
``prometheus_client.Histogram`` takes a lock on every observation and lives in
the web layer. :class:`Histogram` is a list of bucket counts and a sum: one
``bisect`` and two additions per observation, no lock, no import above the
leaves. Another thread reads it with :meth:`Histogram.snapshot` (cumulative
counts, Prometheus's ``le`` buckets), which ``/metrics`` turns into a histogram
family at scrape time.

Bucket rule (Prometheus's): a value belongs to the first bucket whose upper
bound is at or above it; a value within :data:`EPSILON` of a bound counts as on
the bound, so that float error on instants computed from sums (0.06 - 0.04 is
not 0.02) does not move an interval of exactly one period to the next bucket.

Consistency: the writer updates a bucket, then the sum. A snapshot taken
between the two (from another thread) has a sum one observation behind its
counts; the count is always the sum of the buckets, so ``+Inf`` equals
``_count`` in every snapshot.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

EPSILON: Final = 1e-9


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """Counts at one instant: ``bounds`` the finite upper bounds (ascending),
    ``cumulative[i]`` the observations at or below ``bounds[i]``, its last entry
    (one more than ``bounds``) every observation (the ``+Inf`` bucket), ``total``
    the sum of the observed values."""

    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]
    total: float

    @property
    def count(self) -> int:
        """How many values were observed (the ``+Inf`` bucket)."""
        return self.cumulative[-1]

    @classmethod
    def empty(cls, bounds: Sequence[float]) -> HistogramSnapshot:
        """No observation yet over ``bounds``."""
        return cls(tuple(bounds), (0,) * (len(bounds) + 1), 0.0)


class Histogram:
    """Counts of observed values by bucket (see the module docstring).

    ``bounds`` are the finite upper bounds, strictly ascending; the ``+Inf``
    bucket is implied. Raises ValueError for no bounds, bounds out of order, or
    a bound that is not finite. :meth:`observe` is for one thread (the
    writer); :meth:`snapshot` may be called from any thread.
    """

    def __init__(self, bounds: Sequence[float]) -> None:
        edges = tuple(float(bound) for bound in bounds)
        if not edges:
            raise ValueError("a histogram needs at least one bucket bound")
        if not all(math.isfinite(bound) for bound in edges):
            raise ValueError("bucket bounds must be finite (+Inf is implied)")
        if any(b <= a for a, b in pairwise(edges)):
            raise ValueError("bucket bounds must be strictly ascending")
        self.bounds = edges
        # one count per bucket (not cumulative), the last one above every bound
        self._counts = [0] * (len(edges) + 1)
        self._total = 0.0

    def observe(self, value: float) -> None:
        """Count ``value`` in its bucket and add it to the sum. Never raises for a number."""
        self._counts[bisect_left(self.bounds, value - EPSILON)] += 1
        self._total += value

    def snapshot(self) -> HistogramSnapshot:
        """The cumulative counts and the sum now."""
        counts = tuple(self._counts)  # one copy: the buckets are consistent among themselves
        total = self._total
        cumulative: list[int] = []
        running = 0
        for count in counts:
            running += count
            cumulative.append(running)
        return HistogramSnapshot(self.bounds, tuple(cumulative), total)


__all__ = ["EPSILON", "Histogram", "HistogramSnapshot"]
