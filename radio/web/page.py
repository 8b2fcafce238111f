"""The public page: the station's name, what plays, what is next, a player and the week.

Rendered on the server with what plays at the request (so it reads without
script), then kept current by a small script that asks the now-playing JSON
every few seconds and writes text with ``textContent`` only (nothing from the
JSON is ever parsed as HTML). The player plays the configured public stream (the
station's Icecast mount); without one the page says so. The week is
``radio grid --html``'s calendar, served at ``calendar`` and shown in a frame.
Every value from the station is HTML-escaped.
"""

from __future__ import annotations

import html
from typing import Any

REFRESH_MS = 5000


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _song_line(row: dict[str, Any] | None, empty: str) -> tuple[str, str]:
    if not row:
        return empty, ""
    song = row["song"]
    return str(song["title"] or song["text"]), str(song["artist"])


def public_page(document: dict[str, Any], api_path: str) -> str:
    """The page for a now-playing ``document`` (:func:`radio.web.nowplaying.now_playing`);
    ``api_path`` is where the script refreshes it from (same origin)."""
    station = document["station"]
    live = document["live"]
    title, artist = _song_line(document["now_playing"], "Nothing on air right now")
    next_title, next_artist = _song_line(document["playing_next"], "")
    next_line = f"{next_title} · {next_artist}" if next_artist else next_title
    live_line = f"Live: {live['streamer_name']}" if live["is_live"] else ""
    listen = station["listen_url"]
    name = _text(station["name"])
    listeners = _text(document["listeners"]["current"])
    upcoming = _text(next_line or "—")
    if listen:
        player = (
            f'<audio id="player" controls preload="none" src="{_text(listen)}"></audio>'
            f'<p class="small"><a href="{_text(listen)}">{_text(listen)}</a></p>'
        )
    else:
        player = (
            '<p id="no-stream" class="small">This station has no web stream configured'
            " (station.yaml: <code>web.public_stream_url</code>); listen on Discord.</p>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{name}</title>
<style>
body {{ font-family: "DejaVu Sans", sans-serif; margin: 0; color: #222; background: #fafafa; }}
header, main {{ max-width: 960px; margin: 0 auto; padding: 12px 16px; }}
h1 {{ font-size: 24px; margin: 8px 0; }}
.card {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px 16px;
        margin-bottom: 12px; }}
.label {{ font-size: 12px; text-transform: uppercase; color: #777; letter-spacing: .05em; }}
#title {{ font-size: 22px; font-weight: bold; }}
#artist {{ font-size: 16px; color: #444; }}
#live {{ color: #c0392b; font-weight: bold; }}
.small {{ font-size: 13px; color: #555; }}
audio {{ width: 100%; margin-top: 8px; }}
iframe {{ width: 100%; height: 760px; border: 1px solid #ddd; border-radius: 6px;
          background: #fff; }}
</style></head>
<body data-api="{_text(api_path)}">
<header><h1 id="station">{name}</h1></header>
<main>
<section class="card">
<div class="label">Now playing</div>
<div id="live">{_text(live_line)}</div>
<div id="title">{_text(title)}</div>
<div id="artist">{_text(artist)}</div>
<div class="small"><span id="listeners">{listeners}</span>
listening on Discord</div>
{player}
</section>
<section class="card">
<div class="label">Next</div>
<div id="next">{upcoming}</div>
</section>
<section>
<div class="label">The week</div>
<iframe id="calendar" src="calendar" title="The week's programme"></iframe>
</section>
</main>
<script>
"use strict";
(function () {{
  const api = document.body.dataset.api;
  function put(id, text) {{
    const node = document.getElementById(id);
    if (node !== null && node.textContent !== text) {{ node.textContent = text; }}
  }}
  function show(np) {{
    const now = np.now_playing;
    const song = now ? now.song : null;
    put("title", song ? (song.title || song.text) : "Nothing on air right now");
    put("artist", song ? song.artist : "");
    put("live", np.live.is_live ? "Live: " + np.live.streamer_name : "");
    put("listeners", String(np.listeners.current));
    const next = np.playing_next ? np.playing_next.song : null;
    put("next", next ? (next.artist ? next.title + " · " + next.artist : next.title) : "—");
  }}
  async function refresh() {{
    try {{
      const answer = await fetch(api, {{ cache: "no-store" }});
      if (answer.ok) {{ show(await answer.json()); }}
    }} catch (problem) {{
      // The station is restarting or the network is down: keep what is shown.
    }}
  }}
  setInterval(refresh, {REFRESH_MS});
  refresh();
}})();
</script>
</body></html>
"""


def playlist_m3u(url: str) -> str:
    """An M3U playlist of the public stream (for players that want a file)."""
    return f"#EXTM3U\n{url}\n"


def playlist_pls(url: str, name: str) -> str:
    """A PLS playlist of the public stream."""
    title = " ".join(name.split())
    return f"[playlist]\nNumberOfEntries=1\nFile1={url}\nTitle1={title}\nLength1=-1\nVersion=2\n"
