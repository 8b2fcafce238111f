"""``/healthz``: is the station sending frames?

The rule: the station is healthy while its sender keeps up with its 20 ms
schedule, that is, while it has taken from the station every frame that fell due
more than :data:`MAX_BEHIND_FRAMES` frames (2 s) ago. A frame counts as taken
whether it was sent to the rooms, pulled with no room connected, or skipped to
catch up: with no room on air the programme still runs in real time (the station
is up and will be heard as soon as a room is back), so that answers 200, with
``rooms: 0`` in the body for whoever wants to alert on it. Unhealthy: the sender
has not begun (the bot is not logged in yet), it found its feed closed (the
station is shutting down), or it fell more than 2 s behind (its thread died or is
starved).

Pure: the sender's progress in, a verdict out. Comparing with the schedule
instead of sampling counters between two probes makes the answer exact at any
probe rate: a sender that stopped 3 s ago is unhealthy however long ago the last
probe was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from radio.web.view import SenderProgress

MAX_BEHIND_FRAMES: Final = 100  # 2 s of 20 ms frames


@dataclass(frozen=True, slots=True)
class Health:
    """The verdict: ``ok`` and a short reason (for the 503 body and the logs)."""

    ok: bool
    reason: str
    behind: int = 0  # frames due and not taken


def judge(progress: SenderProgress) -> Health:
    """Healthy while the sender is at most :data:`MAX_BEHIND_FRAMES` frames behind."""
    if not progress.begun:
        return Health(False, "not sending yet: the sender has not started")
    if progress.ended:
        return Health(False, "sender stopped: the station's feed is closed")
    behind = max(0, progress.due - progress.taken)
    if behind > MAX_BEHIND_FRAMES:
        return Health(
            False, f"sender stalled: {behind} frames ({behind * 20} ms) behind schedule", behind
        )
    return Health(True, "sending", behind)
