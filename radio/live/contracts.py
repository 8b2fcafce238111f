"""What the live branch's doors (the Icecast-compatible ingest, the stream relay)
say to the live session rules, and what they are given back.

The ingest server and the relay only speak protocols; who may go live, which
session holds the air and what reaches the station are the session rules'
(:mod:`radio.live.sessions`). Both sides meet here so that each is tested alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SourceRequest:
    """An encoder asking to go live on ``mount`` (already parsed and size-checked).

    ``user``/``password`` come from HTTP Basic (empty when absent); ``content_type``
    is lower-cased without parameters (``audio/mpeg``); ``peer`` is the client's
    address; ``headers`` are the request's headers with lower-case names
    (``ice-name``, ``ice-description``, ``user-agent``...).
    """

    mount: str
    user: str
    password: str
    content_type: str
    peer: str
    headers: Mapping[str, str] = field(default_factory=dict)


class LiveIngest(Protocol):
    """One accepted live connection's audio path into the station."""

    async def write(self, data: bytes) -> None:
        """Pass the next bytes of the encoder's stream on; waits while the decoder is
        behind (backpressure to the encoder). Raises LiveRefused(403, reason) when the
        session was ended from the station's side (forced hand-over, ``/live stop``):
        the server then closes the connection."""
        ...

    async def finish(self, reason: str) -> None:
        """The connection ended (``reason``: "encoder disconnected", "idle timeout",
        ...). Idempotent; never raises."""
        ...


class IngestHandler(Protocol):
    """The live session rules, as the ingest server sees them."""

    async def open_source(self, request: SourceRequest) -> LiveIngest:
        """Authorise ``request`` and start its session. Raises LiveRefused with
        Icecast's status: 401 bad credentials, 403 outside the presenter's slot,
        mount in use or unsupported content type, 404 unknown mount."""
        ...

    async def update_metadata(
        self, *, mount: str, user: str, password: str, song: str, peer: str
    ) -> None:
        """``/admin/metadata?mode=updinfo``: ``song`` becomes the now-playing text of
        the session on ``mount``. Raises LiveRefused (401, 404 no such live mount)."""
        ...


@dataclass(frozen=True, slots=True)
class Presenter:
    """Who asks, as the live rules need to know them: the Discord user and whether
    they are a DJ/admin (who may go live at any time and force a hand-over)."""

    user_id: int
    name: str
    privileged: bool = False


@dataclass(frozen=True, slots=True)
class Credentials:
    """A presenter's encoder login, shown to them once, privately."""

    user: str
    password: str


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """The live session on air (``/live status``). ``via`` is "encoder" or "relay";
    ``since`` an ISO instant in UTC; ``title`` what the encoder or stream says plays."""

    presenter: str
    show: str
    via: str
    since: str
    title: str
    bytes_in: int
    frames_in: int
    recording: str | None
    on_air: bool  # False during the grace after the source went quiet


class LiveControls(Protocol):
    """What the ``/live`` commands may ask of the live session rules.

    Every call either succeeds, returning a short sentence fit to reply with, or
    raises LiveRefused with the reason to show the presenter privately.
    """

    def status(self) -> LiveStatus | None:
        """The session on air, or None."""
        ...

    async def connection(self, who: Presenter) -> str:
        """How ``who`` connects an encoder (server, port, mount, user name) and
        whether they may now; never the password."""
        ...

    async def rotate_password(self, who: Presenter) -> Credentials:
        """Give ``who`` new encoder credentials (the old password stops working)."""
        ...

    async def start_relay(self, who: Presenter, url: str, *, force: bool = False) -> str:
        """Put the stream at ``url`` on air for ``who``. ``force`` (DJs/admins only)
        ends the session on air first."""
        ...

    async def stop(self, who: Presenter) -> str:
        """End the session on air (its presenter, or a DJ/admin)."""
        ...


__all__ = [
    "Credentials",
    "IngestHandler",
    "LiveControls",
    "LiveIngest",
    "LiveStatus",
    "Presenter",
    "SourceRequest",
]
