"""A mount's title through Icecast's admin interface: how an MP3 mount gets its titles.

An MP3 stream has no place for a title of its own: Icecast keeps one per
mount, inserts it into the stream of each listener that asks for it (ICY
metadata, ``StreamTitle='…'``) and shows it on its status pages. The source
sets it with an HTTP request to the same server::

    GET /admin/metadata?mount=/radio.mp3&mode=updinfo&song=Artist%20-%20Title&charset=UTF-8
    Authorization: Basic source:<the source password>

Icecast 2.4 answers ``200`` with ``<return>1</return>`` in an XML body when it
took the title. Two of its rules shape what is sent:

* ``song`` is used, never ``title`` and ``artist``: Icecast 2.4 ignores a
  ``title`` without an ``artist``, and keeps the last ``artist`` across later
  ``song`` updates, so a track without an artist after one with an artist
  would show the wrong one. ``song`` alone is always the whole title:
  ``artist - title``, or the title alone (what Icecast shows for Ogg mounts).
* ``charset=UTF-8`` is always given: without it Icecast takes the bytes for
  the mount's charset (ISO 8859-1 unless icecast.xml says otherwise) and shows
  ``CafÃ©`` for ``Café``.
"""

from __future__ import annotations

import base64
import http.client
import logging
from typing import Final
from urllib.parse import urlencode

from radio.errors import OutputError
from radio.outputs.icecast_client import SOURCE_USER, USER_AGENT, IcecastMount

logger = logging.getLogger(__name__)

MAX_SONG: Final = 1000  # characters of a title sent at most
_MAX_ANSWER: Final = 4096
_ACCEPTED: Final = b"<return>1</return>"


def song(title: str, artist: str = "") -> str:
    """What the mount shows: ``artist - title``, or the title alone; at most 1,000 characters."""
    text = f"{artist} - {title}" if artist and title else title or artist
    return text[:MAX_SONG]


def metadata_path(mount: IcecastMount, text: str) -> str:
    """The request path that sets ``mount``'s title to ``text``."""
    query = urlencode({"mount": mount.mount, "mode": "updinfo", "song": text, "charset": "UTF-8"})
    return f"/admin/metadata?{query}"


def update_title(mount: IcecastMount, password: str, text: str, *, timeout: float) -> None:
    """Set the title of ``mount`` (a running source) to ``text``.

    ``timeout`` bounds the connection and each read. Raises OutputError, saying
    why, when Icecast cannot be reached, answers with another status (401: a
    wrong password) or does not say it took the title (no source on the mount).
    """
    token = base64.b64encode(f"{SOURCE_USER}:{password}".encode()).decode("ascii")
    connection = http.client.HTTPConnection(mount.host, mount.port, timeout=timeout)
    try:
        connection.request(
            "GET",
            metadata_path(mount, text),
            headers={"Authorization": f"Basic {token}", "User-Agent": USER_AGENT},
        )
        answer = connection.getresponse()
        body = answer.read(_MAX_ANSWER)
    except (OSError, http.client.HTTPException) as exc:
        raise OutputError(f"{mount}: the title update failed: {exc or type(exc).__name__}") from exc
    finally:
        connection.close()
    if answer.status != 200 or _ACCEPTED not in body:
        raise OutputError(
            f"{mount}: Icecast refused the title: {answer.status} {answer.reason}".rstrip()
        )


__all__ = ["MAX_SONG", "metadata_path", "song", "update_title"]
