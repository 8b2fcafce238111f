"""Background tasks: supervised while they run, stopped together on shutdown.

Every long-running task of the station (the grid watch, the schedule mirror,
the recordings' pruning, the live desk's grid relays, the bot's keepers and its
announcements) runs under a :class:`Supervisor`: a task that raises is logged at
ERROR with its traceback once per failure, counted by name (the ``diag``
command shows the counts), and started again after a backoff delay. A task that
returns has finished its work and is not restarted. No task dies in silence.

Nothing here reads the clock: the supervisor is given a monotonic clock (to
tell a task that ran well for a while from one that fails at once) and a delay
function (to space restarts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)

TaskFactory = Callable[[], Coroutine[Any, Any, None]]


class Supervisor:
    """Starts tasks that are restarted with backoff when they raise.

    ``delay(n)`` is the wait in seconds before the ``n``-th consecutive restart
    of a task (0 = the first). A task that ran for ``healthy_after`` seconds of
    ``monotonic`` before failing starts again from ``delay(0)``. Several owners
    (the application, the bot, the live desk) may share one supervisor: the
    counts are then in one place; each owner keeps its own tasks and stops them
    with :func:`cancel_all`.
    """

    def __init__(
        self,
        *,
        delay: Callable[[int], float],
        monotonic: Callable[[], float],
        healthy_after: float = 60.0,
    ) -> None:
        self._delay = delay
        self._monotonic = monotonic
        self.healthy_after = healthy_after
        self.failures: Counter[str] = Counter()  # failures so far, by task name
        self.restarts: Counter[str] = Counter()  # restarts so far, by task name

    def spawn(self, name: str, factory: TaskFactory) -> asyncio.Task[None]:
        """Start ``factory()`` as the task ``name`` on the running loop, supervised.

        The returned task ends when ``factory``'s coroutine returns, or when it
        is cancelled; an exception from the coroutine never ends it. Raises
        RuntimeError when no event loop is running.
        """
        return asyncio.get_running_loop().create_task(self._run(name, factory), name=name)

    def summary(self) -> str:
        """One line for ``diag``: failures and restarts per task, or that none failed."""
        if not self.failures:
            return "background tasks: no failures"
        parts = [
            f"{name} {count} failure(s), {self.restarts[name]} restart(s)"
            for name, count in sorted(self.failures.items())
        ]
        return "background tasks: " + "; ".join(parts)

    async def _run(self, name: str, factory: TaskFactory) -> None:
        attempt = 0
        while True:
            started = self._monotonic()
            try:
                await factory()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._monotonic() - started >= self.healthy_after:
                    attempt = 0
                wait = self._delay(attempt)
                self.failures[name] += 1
                logger.exception("task %s failed; restarting it in %.1f s", name, wait)
                await asyncio.sleep(wait)
                attempt += 1
                self.restarts[name] += 1
                logger.info("task %s restarted (restart %d)", name, self.restarts[name])
            else:
                return


async def cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel every task, wait for each to finish, and empty ``tasks``.

    Used on shutdown: a task that had already failed, or fails while being
    cancelled, does not keep the others from being awaited (its error is dropped:
    a supervised task has reported it where it happened).
    """
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    tasks.clear()
