"""Stopping the background tasks an owner started on its event loop."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel every task, wait for each to finish, and empty ``tasks``.

    Used on shutdown: a task that had already failed, or fails while being
    cancelled, does not keep the others from being awaited (its error is dropped:
    the task has reported it where it happened).
    """
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    tasks.clear()
