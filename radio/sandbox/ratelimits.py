"""Rate limits modelled the way Discord answers them.

A bucket allows ``limit`` requests per ``period`` seconds for one key (a route
and its major parameter, e.g. one channel). The window opens at the first
request and resets ``period`` seconds later. Every answer carries the headers
discord.py reads (``X-RateLimit-Limit``, ``-Remaining``, ``-Reset-After``,
``-Bucket``); a refused request is a 429 whose JSON body has ``retry_after``.
Time is passed in (seconds on a monotonic clock).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Decision:
    """The outcome of one request against a bucket."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until the window resets
    bucket: str

    def headers(self) -> dict[str, str]:
        """Return the X-RateLimit-* headers Discord sends with this answer."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset-After": f"{self.reset_after:.3f}",
            "X-RateLimit-Bucket": self.bucket,
            "X-RateLimit-Scope": "shared" if not self.allowed else "user",
        }


@dataclass
class _Window:
    opened: float
    used: int


@dataclass
class Bucket:
    """``limit`` requests per ``period`` seconds, per key."""

    name: str
    limit: int
    period: float
    _windows: dict[str, _Window] = field(default_factory=dict)

    def take(self, key: str, now: float) -> Decision:
        """Count one request for ``key`` at ``now``; say whether it is allowed."""
        window = self._windows.get(key)
        if window is None or now >= window.opened + self.period:
            window = self._windows[key] = _Window(opened=now, used=0)
        reset_after = max(0.0, window.opened + self.period - now)
        if window.used >= self.limit:
            return Decision(False, self.limit, 0, reset_after, self.name)
        window.used += 1
        return Decision(True, self.limit, self.limit - window.used, reset_after, self.name)


@dataclass
class RateLimits:
    """The buckets the emulator enforces (Discord's published numbers by default)."""

    channel_edit: Bucket = field(default_factory=lambda: Bucket("channel-edit", 2, 600.0))
    message_create: Bucket = field(default_factory=lambda: Bucket("message-create", 5, 5.0))
    enabled: bool = True
