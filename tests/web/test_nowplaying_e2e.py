"""The now-playing JSON of a running station, in AzuraCast's shape, against what the
station announces on the local Discord."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from .conftest import TONES, Station, until

pytestmark = pytest.mark.e2e

ORDER = [title for _, title, _, _, _ in TONES]  # the sequential fallback's cycle
SONG_KEYS: dict[str, type] = {
    "id": str, "text": str, "artist": str, "title": str, "album": str, "genre": str,
    "isrc": str, "lyrics": str, "art": str, "custom_fields": list,
}  # fmt: skip
HISTORY_KEYS: dict[str, type] = {
    "sh_id": int, "played_at": int, "duration": int, "playlist": str,
    "playlist_chain": type(None), "playlist_source": type(None), "streamer": str,
    "is_request": bool, "song": dict,
}  # fmt: skip
QUEUE_KEYS: dict[str, type] = {
    "cued_at": int, "played_at": int, "duration": float, "playlist": str,
    "playlist_chain": type(None), "playlist_source": type(None), "is_request": bool,
    "song": dict,
}  # fmt: skip


def assert_shape(value: dict[str, Any], keys: dict[str, type]) -> None:
    assert set(value) == set(keys), set(value) ^ set(keys)
    for key, kind in keys.items():
        assert type(value[key]) is kind, (key, value[key])


def assert_song(song: dict[str, Any]) -> None:
    assert_shape(song, SONG_KEYS)
    assert len(song["id"]) == 32
    int(song["id"], 16)
    assert song["text"] == f"{song['artist']} - {song['title']}"


def after(title: str) -> str:
    return ORDER[(ORDER.index(title) + 1) % len(ORDER)]


async def steady_document(station: Station) -> tuple[dict[str, Any], str]:
    """A document read while the announced track stayed the same, with the next track
    known (the station opens it soon after a track starts), and that track's title."""
    announcer = station.app.announcer
    for _ in range(500):
        before = announcer.track
        doc = await station.json()
        if before is not None and announcer.track is before and doc["playing_next"]:
            return doc, before.title
        await asyncio.sleep(0.02)
    raise AssertionError("no steady read with the next track known")


async def test_the_json_has_azuracasts_shape_and_names_the_announced_track(
    station: Station,
) -> None:
    # three tracks heard: the current one and two before it
    await until(lambda: station.app.announcer.track is not None)
    first = station.app.announcer.track
    await until(lambda: sum(1 for e in station.events if type(e).__name__ == "TrackStarted") >= 3)
    assert first is not None
    doc, announced = await steady_document(station)
    assert set(doc) == {
        "station", "listeners", "live", "now_playing", "playing_next", "song_history",
        "is_online", "cache",
    }  # fmt: skip
    card = doc["station"]
    assert (card["id"], card["name"], card["shortcode"]) == (1, "Tiny FM", "tiny_fm")
    assert card["timezone"] == "UTC"
    assert card["listen_url"] is None and card["mounts"] == [] and card["remotes"] == []
    assert card["public_player_url"] == station.base + "/"
    assert doc["listeners"] == {"total": 0, "unique": 0, "current": 0}
    assert doc["live"] == {
        "is_live": False, "streamer_name": "", "broadcast_start": None, "art": None,
    }  # fmt: skip
    assert doc["is_online"] is True
    assert doc["cache"] is None

    now = doc["now_playing"]
    assert_shape(now, {**HISTORY_KEYS, "elapsed": int, "remaining": int})
    assert_song(now["song"])
    assert now["song"]["title"] == announced
    assert now["song"]["artist"] == "Band " + announced[-1]
    assert (now["playlist"], now["is_request"], now["streamer"]) == ("music", False, "")
    assert now["duration"] == 2  # 2 s, or 2.5 s rounded half to even
    assert 0 <= now["elapsed"] <= now["duration"]
    assert now["remaining"] == now["duration"] - now["elapsed"] or now["remaining"] == 0

    # the history: the tracks before, newest first, in the fallback's order
    history = doc["song_history"]
    assert len(history) >= 2
    for row in history:
        assert_shape(row, HISTORY_KEYS)
        assert_song(row["song"])
    assert after(history[0]["song"]["title"]) == announced
    assert after(history[1]["song"]["title"]) == history[0]["song"]["title"]
    starts = [now["sh_id"], *(row["sh_id"] for row in history)]
    assert starts == sorted(starts, reverse=True) and len(set(starts)) == len(starts)
    assert now["played_at"] >= history[0]["played_at"] >= history[1]["played_at"]

    # next: the sequence's next track, once the station has opened it
    nxt = doc["playing_next"]
    assert_shape(nxt, QUEUE_KEYS)
    assert_song(nxt["song"])
    assert nxt["song"]["title"] == after(announced)
    assert (nxt["playlist"], nxt["is_request"]) == ("music", False)
    assert nxt["played_at"] == now["played_at"] + now["duration"]


async def test_the_list_and_the_station_by_id_and_an_unknown_station(station: Station) -> None:
    listed = await station.json("/api/nowplaying")
    assert isinstance(listed, list) and len(listed) == 1
    assert listed[0]["station"]["shortcode"] == "tiny_fm"
    by_id = await station.json("/api/nowplaying/1")
    assert by_id["station"]["name"] == "Tiny FM"
    status, text = await station.get("/api/nowplaying/other")
    assert status == 404 and "not found" in text.lower()
    async with station.http.get(station.base + "/api/nowplaying") as answer:
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
    status, text = await station.get("/listen.m3u")
    assert status == 404  # no public stream configured
