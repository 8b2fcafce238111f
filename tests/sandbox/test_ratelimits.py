"""Rate-limit buckets, with time passed in."""

from __future__ import annotations

from radio.sandbox.ratelimits import Bucket


def test_two_channel_edits_per_ten_minutes() -> None:
    bucket = Bucket("channel-edit", 2, 600.0)

    first = bucket.take("1", now=0.0)
    second = bucket.take("1", now=10.0)
    third = bucket.take("1", now=20.0)
    other_channel = bucket.take("2", now=20.0)
    after_reset = bucket.take("1", now=600.0)

    assert (first.allowed, first.remaining) == (True, 1)
    assert (second.allowed, second.remaining) == (True, 0)
    assert (third.allowed, third.remaining, third.reset_after) == (False, 0, 580.0)
    assert other_channel.allowed
    assert (after_reset.allowed, after_reset.remaining) == (True, 1)


def test_refused_requests_do_not_extend_the_window() -> None:
    bucket = Bucket("message-create", 5, 5.0)
    decisions = [bucket.take("c", now=0.5 * i) for i in range(12)]

    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 5 + [True] * 2
    assert decisions[5].reset_after == 2.5


def test_headers_are_the_ones_discord_py_reads() -> None:
    decision = Bucket("channel-edit", 2, 600.0).take("1", now=0.0)

    assert decision.headers() == {
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "1",
        "X-RateLimit-Reset-After": "600.000",
        "X-RateLimit-Bucket": "channel-edit",
        "X-RateLimit-Scope": "user",
    }
