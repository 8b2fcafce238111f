"""The page's member actions, parsed and refused before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime

from radio.demo.members import MemberDesk
from radio.sandbox.state import SnowflakeFactory, build_world

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def desk(*, ready: bool = True) -> MemberDesk:
    world = build_world(T0, SnowflakeFactory(), "token")
    world.commands[world.guild.id] = [
        {"name": "np", "options": []},
        {"name": "request", "options": [{"name": "query", "type": 3, "required": True}]},
        {
            "name": "move",
            "options": [
                {"name": "request_id", "type": 4, "required": True},
                {"name": "place", "type": 4, "required": True},
            ],
        },
        {
            "name": "live",
            "options": [{"name": "status", "type": 1}, {"name": "stop", "type": 1}],
        },
    ]

    async def is_ready(timeout: float) -> bool:
        return ready

    return MemberDesk(world, is_ready)


def test_slash_words_fill_the_options_in_order() -> None:
    d = desk()
    assert d._slash("/request the early birds") == (
        "request",
        [{"name": "query", "type": 3, "value": "the early birds"}],
    )
    assert d._slash("/move 3 1") == (
        "move",
        [
            {"name": "request_id", "type": 4, "value": 3},
            {"name": "place", "type": 4, "value": 1},
        ],
    )
    assert d._slash("/np") == ("np", [])
    assert d._slash("/live status") == ("live", [{"name": "status", "type": 1, "options": []}])


def test_wrong_slash_input_gets_one_sentence() -> None:
    d = desk()
    cases = {
        "/nosuch": "There is no command /nosuch; try one of /live, /move, /np, /request.",
        "/request": "/request needs query: /request <query>",
        "/move three 1": "/move: request_id is a whole number, not “three”.",
        "/np now": "/np takes no argument.",
        "/live dance": "/live needs one of: status | stop.",
    }
    for text, error in cases.items():
        outcome = d._slash(text)
        assert not isinstance(outcome, tuple), text
        assert (outcome.status, outcome.body["error"]) == (400, error)


async def test_refusals_before_anything_is_sent() -> None:
    d = desk()
    assert (await d.act("mallory", "!np")).body["error"] == "Pick a member: alice, bob, carol."
    assert (await d.act("alice", "   ")).status == 400
    long = await d.act("alice", "x" * 2001)
    assert long.body["error"] == "A message is at most 2,000 characters (2,001)."
    not_ready = await desk(ready=False).act("alice", "!np")
    assert not_ready.status == 503
    assert not_ready.body["error"] == "The station's bot is not ready yet: try again in a moment."
