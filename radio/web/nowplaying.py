"""The now-playing document in AzuraCast's shape, so that existing widgets read it.

AzuraCast's ``GET /api/nowplaying/{station}`` answers an ``Api_NowPlaying``
object: ``station``, ``listeners``, ``live``, ``now_playing`` (a song history row
with ``elapsed`` and ``remaining``), ``playing_next``, ``song_history``,
``is_online`` and ``cache``; ``GET /api/nowplaying`` a list of them. The field
names and JSON types below follow its OpenAPI schema: UNIX seconds as integers,
durations as integers (``playing_next.duration`` a number), text fields as strings
('' when unknown), a song's ``id`` a 32-character hash. What radio has no notion
of (album art, genre, ISRC, lyrics, HLS, relays) is present and empty, as
AzuraCast itself sends it for a station without them.

Pure: the view's snapshot and ``now`` in, a JSON-ready dict out.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from radio.web.view import OnAir, Play, Song, StationCard, Upcoming

STATION_ID = 1  # radio serves one station per process
HISTORY_LENGTH = 5  # AzuraCast's default number of history rows


def song_json(song: Song) -> dict[str, Any]:
    """AzuraCast's ``Api_Song`` for ``song``; ``text`` is "Artist - Title" (or the title)."""
    text = f"{song.artist} - {song.title}" if song.artist else song.title
    digest = hashlib.md5(song.key.encode("utf-8", "replace"), usedforsecurity=False)
    return {
        "id": digest.hexdigest(),
        "text": text,
        "artist": song.artist,
        "title": song.title,
        "album": song.album,
        "genre": "",
        "isrc": "",
        "lyrics": "",
        "art": "",
        "custom_fields": [],
    }


def unix(instant: datetime) -> int:
    """Whole UNIX seconds of an aware instant."""
    return math.floor(instant.timestamp())


def sh_id(play: Play) -> int:
    """A play's identifier: its start in UNIX milliseconds (unique, stable across restarts)."""
    return math.floor(play.started_at.timestamp() * 1000)


def _seconds(duration: float | None) -> int:
    return 0 if duration is None else max(0, round(duration))


def history_json(play: Play) -> dict[str, Any]:
    """AzuraCast's ``Api_NowPlaying_SongHistory`` for ``play``."""
    return {
        "sh_id": sh_id(play),
        "played_at": unix(play.started_at),
        "duration": _seconds(play.duration),
        "playlist": play.playlist,
        "playlist_chain": None,
        "playlist_source": None,
        "streamer": play.streamer,
        "is_request": play.is_request,
        "song": song_json(play.song),
    }


def current_json(play: Play, now: datetime) -> dict[str, Any]:
    """AzuraCast's ``Api_NowPlaying_CurrentSong``: the history row with ``elapsed`` and
    ``remaining`` at ``now`` (both whole seconds; elapsed stops at a known duration)."""
    row = history_json(play)
    elapsed = max(0, math.floor((now - play.started_at).total_seconds()))
    duration = row["duration"]
    remaining = 0
    if duration:
        if elapsed >= duration:
            elapsed = duration
        else:
            remaining = duration - elapsed
    row.update(elapsed=elapsed, remaining=remaining)
    return row


def upcoming_json(upcoming: Upcoming, current: Play | None, now: datetime) -> dict[str, Any]:
    """AzuraCast's ``Api_NowPlaying_StationQueue``: ``played_at`` is when the current
    track ends, when its duration is known (else null)."""
    starts: int | None = None
    if current is not None and current.duration is not None:
        starts = unix(current.started_at) + _seconds(current.duration)
    return {
        "cued_at": unix(now),
        "played_at": starts,
        "duration": float(upcoming.duration or 0.0),
        "playlist": upcoming.playlist,
        "playlist_chain": None,
        "playlist_source": None,
        "is_request": upcoming.is_request,
        "song": song_json(upcoming.song),
    }


def listeners_json(count: int) -> dict[str, int]:
    """AzuraCast's ``Api_NowPlaying_Listeners`` (``current`` is the legacy ``total``)."""
    return {"total": count, "unique": count, "current": count}


def station_json(card: StationCard, base_url: str, listeners: int) -> dict[str, Any]:
    """AzuraCast's ``Api_NowPlaying_Station``; ``base_url`` is the page's own address
    (``http://host:port``) for the player and playlist links."""
    base = base_url.rstrip("/")
    mounts: list[dict[str, Any]] = []
    if card.listen_url is not None:
        path = urlsplit(card.listen_url).path or "/"
        mounts.append(
            {
                "id": 1,
                "name": path,
                "url": card.listen_url,
                "bitrate": None,
                "format": None,
                "listeners": listeners_json(listeners),
                "path": path,
                "is_default": True,
            }
        )
    return {
        "id": STATION_ID,
        "name": card.name,
        "shortcode": card.shortcode,
        "description": "",
        "frontend": "icecast" if card.listen_url is not None else "",
        "backend": "radio",
        "timezone": card.timezone,
        "listen_url": card.listen_url,
        "url": None,
        "public_player_url": f"{base}/",
        "playlist_pls_url": f"{base}/listen.pls",
        "playlist_m3u_url": f"{base}/listen.m3u",
        "is_public": True,
        "requests_enabled": True,
        "mounts": mounts,
        "remotes": [],
        "hls_enabled": False,
        "hls_is_default": False,
        "hls_url": None,
        "hls_listeners": 0,
    }


def now_playing(card: StationCard, on_air: OnAir, now: datetime, base_url: str) -> dict[str, Any]:
    """The whole ``Api_NowPlaying`` document for the station at ``now``."""
    live = on_air.live
    current = on_air.current
    return {
        "station": station_json(card, base_url, on_air.listeners),
        "listeners": listeners_json(on_air.listeners),
        "live": {
            "is_live": live is not None,
            "streamer_name": live.presenter if live is not None else "",
            "broadcast_start": unix(live.since) if live is not None else None,
            "art": None,
        },
        "now_playing": current_json(current, now) if current is not None else None,
        "playing_next": (
            upcoming_json(on_air.upcoming, current, now) if on_air.upcoming is not None else None
        ),
        "song_history": [history_json(play) for play in on_air.history[:HISTORY_LENGTH]],
        "is_online": on_air.online,
        "cache": None,
    }
