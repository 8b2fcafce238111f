"""help's listing by level, and replies fitted to Discord's limits."""

from __future__ import annotations

from radio.bot.help import COMMANDS, find, format_details, format_help
from radio.bot.limits import EMBED_TOTAL, embed_size, fit, fit_embed, quote
from radio.bot.permissions import Level


def test_help_lists_only_the_levels_held() -> None:
    listener = format_help({Level.LISTENER}, "!")
    assert "`!request <words>`" in listener and "`!cancel <id>`" in listener
    assert "**DJs**" not in listener and "`!skip`" not in listener
    dj = format_help({Level.LISTENER, Level.DJ}, "/")
    assert "**DJs**" in dj and "`/move <id> <place>`" in dj and "`/diag`" not in dj
    everything = format_help(set(Level), "!")
    assert all(f"`!{c.name}" in everything for c in COMMANDS)
    assert len(everything) <= 2000


def test_help_finds_a_command_however_it_is_written() -> None:
    move = find("/move")
    assert move is not None and move.name == "move"
    relay = find("  LIVE   relay ")
    assert relay is not None and relay.name == "live relay"
    grid = find("grid")
    assert grid is not None and grid.name == "grid check"
    assert find("frobnicate") is None
    assert format_details(move, "!").splitlines()[:2] == [
        "`!move <id> <place>`: move a request to a place in the queue as `queue` numbers it.",
        "Who: djs.",
    ]


def test_fit_and_quote() -> None:
    assert fit("a" * 2000) == "a" * 2000
    assert fit("a" * 2001) == "a" * 1999 + "…"
    assert quote("  **bold**\n" + "z" * 100, 12) == "“\\*\\*bold\\*\\* zz…”"
    assert quote("@everyone") == "“@\u200beveryone”"


def test_fit_embed_keeps_every_limit() -> None:
    embed = {
        "title": "t" * 300,
        "description": "d" * 5000,
        "fields": [{"name": "n" * 300, "value": "v" * 2000} for _ in range(30)],
        "footer": {"text": "f" * 3000},
        "author": {"name": "a" * 300},
    }
    fitted = fit_embed(embed)
    assert len(fitted["title"]) == 256 and fitted["title"].endswith("…")
    assert len(fitted["footer"]["text"]) == 2048 and len(fitted["author"]["name"]) == 256
    assert len(fitted["fields"]) <= 25
    assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in fitted["fields"])
    assert embed_size(fitted) <= EMBED_TOTAL
    small = {"title": "ok", "fields": [{"name": "a", "value": "b"}]}
    assert fit_embed(small) == small
