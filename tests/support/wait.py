"""Waiting on a condition in a test: poll it on the event loop, fail after a deadlock guard."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(
    predicate: Callable[[], object], timeout: float = 60.0, *, every: float = 0.05
) -> None:
    """Return once ``predicate()`` is true, looked at every ``every`` seconds on the loop.

    Raises TimeoutError after ``timeout`` seconds: a deadlock guard for a busy machine,
    not a measure. A module whose waits want another guard or pace binds its own with
    ``functools.partial(until, timeout=…, every=…)``; a call may still name ``timeout``.
    """
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(every)
