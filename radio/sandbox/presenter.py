"""A presenter's encoder, played by real FFmpeg, for tests, benchmarks and the demo.

The local Discord's counterpart on the live side: what BUTT, Mixxx or OBS do
when a presenter goes live on the station's Icecast-compatible mount (a tone
instead of a voice), and the metadata update they send on a separate
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from base64 import b64encode
from typing import Literal

Format = Literal["mp3", "ogg-opus"]


def encoder_args(
    url: str,
    *,
    hz: float = 1500.0,
    seconds: float = 3.0,
    format: Format = "mp3",
    legacy: bool = False,
    bitrate: str = "128k",
) -> list[str]:
    """The FFmpeg command that sends ``seconds`` of an ``hz`` tone, in real time
    (``-re``), to ``url`` (``icecast://user:password@host:port/mount``): MP3 with
    PUT, or Ogg/Opus; ``legacy`` uses the old SOURCE method. Ogg pages of 20 ms
    keep a SOURCE session's last moments (a SOURCE client never reads the
    server's answer, so its close resets the connection)."""
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-f", "lavfi"]
    args += ["-i", f"sine=frequency={hz:g}:duration={seconds:g}:sample_rate=48000"]
    if format == "ogg-opus":
        args += ["-c:a", "libopus", "-b:a", bitrate, "-page_duration", "20000"]
        args += ["-content_type", "audio/ogg"]
        muxer = "ogg"
    else:
        args += ["-c:a", "libmp3lame", "-b:a", bitrate, "-content_type", "audio/mpeg"]
        muxer = "mp3"
    if legacy:
        args += ["-legacy_icecast", "1"]
    return [*args, "-f", muxer, url]


async def update_title(
    host: str, port: int, user: str, password: str, song: str, *, mount: str = "/live"
) -> int:
    """Send the encoder's metadata update as BUTT and libshout do
    (``GET /admin/metadata?mode=updinfo``, Basic auth); return the HTTP status."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        query = urllib.parse.urlencode({"mode": "updinfo", "mount": mount, "song": song})
        auth = b64encode(f"{user}:{password}".encode()).decode()
        writer.write(
            f"GET /admin/metadata?{query} HTTP/1.0\r\nAuthorization: Basic {auth}\r\n"
            "User-Agent: radio-sandbox\r\n\r\n".encode()
        )
        await writer.drain()
        status = (await reader.readline()).split()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return int(status[1])


__all__ = ["Format", "encoder_args", "update_title"]
