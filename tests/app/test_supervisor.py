"""The supervisor's rules, with a coroutine that fails on cue and a hand-moved clock."""

from __future__ import annotations

import asyncio
import logging

import pytest

from radio.tasks import Supervisor

TIMEOUT_S = 30.0  # a deadlock guard, not a measure


class Flaky:
    """Fails ``failures`` times (each run lasting ``run_s`` on the clock), then returns."""

    def __init__(self, failures: int, run_s: float) -> None:
        self.failures = failures
        self.run_s = run_s
        self.runs = 0
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def __call__(self) -> None:
        self.runs += 1
        self.now += self.run_s
        if self.runs <= self.failures:
            raise RuntimeError(f"failure {self.runs}")


async def test_each_failure_is_one_error_line_counted_and_restarted_with_growing_delays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flaky = Flaky(failures=3, run_s=1.0)
    asked: list[int] = []

    def delay(attempt: int) -> float:
        asked.append(attempt)
        return 0.0

    supervisor = Supervisor(delay=delay, monotonic=flaky.monotonic, healthy_after=60.0)
    with caplog.at_level(logging.INFO, logger="radio.tasks"):
        await asyncio.wait_for(supervisor.spawn("flaky", flaky), TIMEOUT_S)
    assert flaky.runs == 4  # three failures, then the run that returned
    assert asked == [0, 1, 2]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["task flaky failed; restarting it in 0.0 s"] * 3
    assert all(r.exc_info is not None for r in errors)
    assert supervisor.failures == {"flaky": 3}
    assert supervisor.restarts == {"flaky": 3}
    assert supervisor.summary() == "background tasks: flaky 3 failure(s), 3 restart(s)"


async def test_a_task_that_ran_healthy_for_a_while_starts_again_from_the_first_delay() -> None:
    flaky = Flaky(failures=3, run_s=60.0)
    asked: list[int] = []

    def delay(attempt: int) -> float:
        asked.append(attempt)
        return 0.0

    supervisor = Supervisor(delay=delay, monotonic=flaky.monotonic, healthy_after=60.0)
    await asyncio.wait_for(supervisor.spawn("steady", flaky), TIMEOUT_S)
    assert asked == [0, 0, 0]


async def test_a_task_that_returns_is_not_restarted_and_cancelling_is_not_a_failure() -> None:
    done = Flaky(failures=0, run_s=0.0)
    supervisor = Supervisor(delay=lambda n: 0.0, monotonic=done.monotonic)
    await asyncio.wait_for(supervisor.spawn("once", done), TIMEOUT_S)
    assert done.runs == 1
    forever = asyncio.Event()

    async def waits() -> None:
        await forever.wait()

    task = supervisor.spawn("waits", waits)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert supervisor.failures == {}
    assert supervisor.summary() == "background tasks: no failures"
