"""Announcement throttling that never queues behind a long retry.

Discord lets a bot edit a channel (name, topic, voice status) twice per ten
minutes; a third edit is answered with a 429 and a ``retry_after`` of up to
600 s, and discord.py would then sleep that long before sending a state that is
stale by the time it arrives. Announcements are *states*, not messages: only
the latest desired topic of a room matters. So each target (a channel, a
stage instance, the presence) has a budget, and a :class:`Coalescer` keeps at
most one pending value per target: a newer offer replaces the pending one, an
offer equal to what the target already shows cancels it, and a value goes out
as soon as the target's budget allows it.

Time is passed in (``now``); the caller sends what :meth:`Coalescer.due` returns
and sleeps until :meth:`Coalescer.next_due`. When Discord refuses anyway
(``discord.RateLimited``, raised because the client sets
``max_ratelimit_timeout``), :meth:`Coalescer.refused` keeps the value pending
and holds the target until Discord's ``retry_after`` has passed.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``count`` sends per sliding window of ``per``."""

    count: int
    per: timedelta

    def __post_init__(self) -> None:
        if self.count < 1 or self.per <= timedelta(0):
            raise ValueError("a budget allows at least one send per positive window")


CHANNEL_EDITS = Budget(2, timedelta(minutes=10))  # name, topic, voice status
MESSAGES = Budget(5, timedelta(seconds=5))  # messages posted or edited in one channel
PRESENCE = Budget(5, timedelta(seconds=60))  # gateway presence updates (op 3)


@dataclass(slots=True)
class _Target(Generic[V]):
    # Values are boxed in 1-tuples so that None can be a value (e.g. "no topic").
    sent_at: deque[datetime]
    shown: tuple[V] | None = None  # what the target displays (the last value sent)
    pending: tuple[V] | None = None
    held_until: datetime | None = None  # Discord said "retry after"


class Coalescer(Generic[K, V]):
    """Latest-wins, budgeted delivery of states to targets.

    Every target shares one :class:`Budget` (make one coalescer per kind of
    target). Not thread-safe: use it from the event loop only.
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self._targets: dict[K, _Target[V]] = {}

    def offer(self, target: K, value: V) -> None:
        """Desire ``value`` on ``target``: replaces any pending value for it."""
        state = self._targets.setdefault(target, _Target(deque()))
        if state.shown == (value,):
            # The target already shows it: whatever was pending is obsolete.
            state.pending = None
            return
        if state.pending is not None and state.pending != (value,):
            logger.debug("coalesced an unsent update of %r", target)
        state.pending = (value,)

    def pending(self, target: K) -> V | None:
        """The value waiting to be sent to ``target``, if any."""
        state = self._targets.get(target)
        return state.pending[0] if state is not None and state.pending is not None else None

    def due(self, now: datetime) -> list[tuple[K, V]]:
        """Take every pending value whose target may be sent to at ``now``.

        The returned sends are counted against their budgets as made at
        ``now``: the caller must send them (or report :meth:`refused`).
        """
        ready: list[tuple[K, V]] = []
        for key, state in self._targets.items():
            if state.pending is None or self._next_slot(state, now) > now:
                continue
            state.sent_at.append(now)
            state.shown, state.pending = state.pending, None
            ready.append((key, state.shown[0]))
        return ready

    def next_due(self, now: datetime) -> datetime | None:
        """The earliest instant a pending value may go out (``now`` if one may now), or None."""
        slots = [
            self._next_slot(state, now)
            for state in self._targets.values()
            if state.pending is not None
        ]
        return max(min(slots), now) if slots else None

    def refused(self, target: K, value: V, retry_after: timedelta, now: datetime) -> None:
        """Discord refused sending ``value`` to ``target``: retry it after ``retry_after``.

        A newer value offered meanwhile still wins; nothing waits in a queue.
        """
        state = self._targets.setdefault(target, _Target(deque()))
        state.held_until = now + retry_after
        state.shown = None  # we no longer know what it shows
        if state.pending is None:
            state.pending = (value,)
        logger.warning(
            "Discord rate-limited an update of %r; retrying in %.0f s with the latest value",
            target,
            retry_after.total_seconds(),
        )

    def _next_slot(self, state: _Target[V], now: datetime) -> datetime:
        window_start = now - self.budget.per
        while state.sent_at and state.sent_at[0] <= window_start:
            state.sent_at.popleft()
        slot = now
        if len(state.sent_at) >= self.budget.count:
            slot = state.sent_at[len(state.sent_at) - self.budget.count] + self.budget.per
        if state.held_until is not None and state.held_until > slot:
            slot = state.held_until
        return slot
