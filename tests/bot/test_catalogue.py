"""Request search and the command replies, rendered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from radio.audio.track import Track
from radio.bot.catalogue import Catalogue, separation_refusal
from radio.bot.commands import format_choices, format_history, format_queue, format_request
from radio.store.db import Database
from radio.store.history import PlayHistory
from radio.store.requests import Request

SO_WHAT = Track("/m/so-what.flac", "So What", "Miles Davis", "Kind of Blue")
BLUE = Track("/m/blue-in-green.flac", "Blue in Green", "Miles Davis", "Kind of Blue")
NAIMA = Track("/m/naima.flac", "Naima", "John Coltrane", "Giant Steps")
WHAT_NOW = Track("/m/what-now.flac", "What Now", "Other Band")
CATALOGUE = Catalogue([SO_WHAT, BLUE, NAIMA, WHAT_NOW, SO_WHAT])


def test_duplicates_count_once() -> None:
    assert len(CATALOGUE) == 4


def test_every_word_must_match_artist_title_or_album() -> None:
    assert CATALOGUE.search("miles") == [SO_WHAT, BLUE]
    assert CATALOGUE.search("MILES   blue") == [BLUE, SO_WHAT]  # the album match last
    assert CATALOGUE.search("giant steps") == [NAIMA]
    assert CATALOGUE.search("miles naima") == []
    assert CATALOGUE.search("   ") == []


def test_exact_title_ranks_first_then_title_prefix() -> None:
    assert CATALOGUE.search("what") == [WHAT_NOW, SO_WHAT]  # title prefix first
    assert CATALOGUE.search("what now") == [WHAT_NOW]
    assert CATALOGUE.search("so what") == [SO_WHAT]
    assert CATALOGUE.search("miles davis so what") == [SO_WHAT]
    assert CATALOGUE.search("blue") == [BLUE, SO_WHAT]  # title prefix before album match
    assert CATALOGUE.search("miles", limit=1) == [SO_WHAT]


def request(rid: int, track: Track, user: int) -> Request:
    return Request(rid, user, f"u{user}", track, datetime(2026, 1, 1, tzinfo=UTC), "queued")


def test_replies() -> None:
    assert format_request(request(7, SO_WHAT, 1), 1) == (
        "Queued **Miles Davis – So What** (request 7, number 1 in the queue):"
        " it plays after the current track."
    )
    assert format_request(request(7, SO_WHAT, 1), 2) == (
        "Queued **Miles Davis – So What** (request 7, number 2 in the queue):"
        " it plays after the current track and the 1 request before it."
    )
    assert format_request(request(7, SO_WHAT, 1), 4).endswith(" and the 3 requests before it.")
    # taken by the station before the command looked up its place
    assert format_request(request(7, SO_WHAT, 1), None) == (
        "Playing **Miles Davis – So What** now (request 7)."
    )
    assert format_queue(None, []) == "The request queue is empty."
    queue = format_queue(request(1, NAIMA, 5), [request(2, SO_WHAT, 6), request(3, BLUE, 5)])
    assert queue.splitlines() == [
        "▶ John Coltrane – Naima · <@5> · #1",
        "1. Miles Davis – So What · <@6> · #2",
        "2. Miles Davis – Blue in Green · <@5> · #3",
    ]
    opened = replace(request(2, SO_WHAT, 6), state="taken")
    assert format_queue(None, [opened, request(3, BLUE, 5)]).splitlines() == [
        "1. Miles Davis – So What · <@6> · #2 · up next",
        "2. Miles Davis – Blue in Green · <@5> · #3",
    ]
    long = format_queue(None, [request(n, NAIMA, 1) for n in range(1, 14)])
    assert long.splitlines()[-1] == "… and 3 more"
    assert len(long.splitlines()) == 11
    assert format_history([], "Europe/Paris") == "Nothing has played in the last hour."
    assert format_history([("20:01", "A – *B*")], "Europe/Paris").splitlines() == [
        "**The last hour** (Europe/Paris)",
        r"`20:01` A – \*B\*",
    ]
    assert format_choices("miles", [SO_WHAT, BLUE]) == (
        "Other matches for “miles” (be more specific to pick one):\n• Miles Davis – Blue in Green"
    )


def test_separation_refusal_uses_the_play_history(tmp_path: Path) -> None:
    history = PlayHistory(Database(tmp_path / "radio.sqlite3"))
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    history.record(BLUE, now - timedelta(minutes=25))
    history.record(NAIMA, now - timedelta(minutes=90))

    def refusal(track: Track, artist: int | None, title: int | None) -> str | None:
        return separation_refusal(
            track,
            now,
            history,
            artist=None if artist is None else timedelta(minutes=artist),
            title=None if title is None else timedelta(minutes=title),
        )

    # Same artist as a play 25 min ago, with a 60 min artist rule.
    assert refusal(SO_WHAT, 60, None) == (
        "Miles Davis was played 25 min ago; the station waits 60 min between plays"
        " of the same artist. Try again in 35 min."
    )
    assert refusal(SO_WHAT, 20, None) is None  # long enough ago
    assert refusal(SO_WHAT, None, 120) is None  # another title
    assert refusal(NAIMA, None, 120) == (
        "“Naima” was played 90 min ago; the station waits 120 min between plays"
        " of the same title. Try again in 30 min."
    )
    assert refusal(WHAT_NOW, 600, 600) is None  # never played
