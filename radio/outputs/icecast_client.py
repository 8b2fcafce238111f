"""One source connection to an Icecast mount: the HTTP PUT handshake, then the stream's bytes.

Icecast 2.4 takes a source as an HTTP ``PUT`` to the mount with Basic
authentication (user ``source``), the stream's ``Content-Type`` and ``ice-*``
headers describing it, after which the body is the stream itself, for as long
as the source lives (no length, no chunking). We send ``Expect: 100-continue``
so that a refusal (a wrong password: 401; the mount taken by another source:
403 "Mountpoint in use") arrives before any audio. What Icecast 2.4.4 answers,
as seen from its source:

* with ``Expect: 100-continue``: ``HTTP/1.1 100 Continue`` (with a
  ``Content-Length: 0`` header) at once, then ``HTTP/1.0 200 OK`` once the
  source is running;
* without it: ``HTTP/1.0 200 OK``;
* a refusal: a 4xx status with a one-line text body, then the connection closes.

So the handshake accepts a 100 or a 200 as "stream now", and whatever Icecast
sends later is read and dropped by :meth:`IcecastSource.poll`, which is also how
a server that went away is noticed between two writes.

Blocking sockets with timeouts: a source runs on its output's own thread,
never on the sender's.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import select
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from radio.errors import ConfigError, OutputError

logger = logging.getLogger(__name__)

SOURCE_USER: Final = "source"  # Icecast's user for source clients
USER_AGENT: Final = "radio"
MAX_RESPONSE_HEAD: Final = 16_384  # bytes of status line and headers we read at most
MAX_REASON: Final = 200  # characters of a refusal's body kept for the message


@dataclass(frozen=True, slots=True)
class IcecastMount:
    """Where a source goes: ``host``, ``port`` and ``mount`` (``/radio.opus``)."""

    host: str
    port: int
    mount: str

    @classmethod
    def from_url(cls, url: str) -> IcecastMount:
        """Parse ``http://host[:port]/mount`` (port 80 when absent).

        Raises ConfigError for another scheme, a user or password in the URL,
        no host or mount, or a query or fragment (station.yaml's model refuses
        them first; this is the same rule for callers that skip it).
        """
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"{url}: invalid port") from None
        if (
            parts.scheme != "http"
            or not parts.hostname
            or parts.username is not None
            or parts.password is not None
            or parts.query
            or parts.fragment
            or not parts.path.startswith("/")
            or len(parts.path) < 2
        ):
            raise ConfigError(f"{url}: an Icecast mount is http://host:port/mount")
        return cls(parts.hostname, port or 80, parts.path)

    def __str__(self) -> str:
        return f"http://{self.host}:{self.port}{self.mount}"


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """How the stream is described to Icecast (and by it, to listeners and directories)."""

    content_type: str = "audio/ogg"
    name: str | None = None
    description: str | None = None
    public: bool = False  # ice-public: list it in the directories Icecast is set up for


def source_request(mount: IcecastMount, password: str, info: SourceInfo) -> bytes:
    """The request head of a source connection (PUT, Basic auth, ``Expect: 100-continue``).

    Raises ValueError when a header value holds a line break (it would end the
    head early).
    """
    token = base64.b64encode(f"{SOURCE_USER}:{password}".encode()).decode("ascii")
    headers = [
        ("Host", f"{mount.host}:{mount.port}"),
        ("Authorization", f"Basic {token}"),
        ("User-Agent", USER_AGENT),
        ("Content-Type", info.content_type),
        ("Ice-Public", "1" if info.public else "0"),
    ]
    if info.name:
        headers.append(("Ice-Name", info.name))
    if info.description:
        headers.append(("Ice-Description", info.description))
    headers.append(("Expect", "100-continue"))
    lines = [f"PUT {mount.mount} HTTP/1.1"]
    for key, value in headers:
        if "\r" in value or "\n" in value:
            raise ValueError(f"the {key} header holds a line break")
        lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class IcecastSource:
    """A running source connection: :meth:`send` the stream's bytes, :meth:`close` at the end.

    Made by :meth:`connect`. Not thread-safe: one thread (the output's) uses it.
    """

    def __init__(self, sock: socket.socket, mount: IcecastMount) -> None:
        self._sock = sock
        self.mount = mount
        self.sent = 0  # stream bytes sent

    @classmethod
    def connect(
        cls,
        mount: IcecastMount,
        password: str,
        info: SourceInfo,
        *,
        timeout: float = 10.0,
        send_timeout: float = 10.0,
    ) -> IcecastSource:
        """Connect to ``mount`` and log in as its source; return the running connection.

        ``timeout`` bounds the connection and the wait for Icecast's answer;
        ``send_timeout`` then bounds each :meth:`send` (a server that stops
        reading for that long is a failure). Raises OutputError, saying why,
        when the server cannot be reached, refuses the source (with its status
        and reason: a wrong password, the mount in use) or answers something
        that is not HTTP.
        """
        head = source_request(mount, password, info)
        try:
            sock = socket.create_connection((mount.host, mount.port), timeout=timeout)
        except OSError as exc:
            raise OutputError(f"cannot reach {mount}: {_why(exc)}") from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(head)
            status, reason = _read_answer(sock, mount)
        except OSError as exc:
            sock.close()
            raise OutputError(f"{mount}: the connection failed during login: {_why(exc)}") from exc
        except OutputError:
            sock.close()
            raise
        if status not in (100, 200):
            sock.close()
            raise OutputError(f"{mount} refused the source: {status} {reason}".rstrip())
        sock.settimeout(send_timeout)
        return cls(sock, mount)

    def send(self, data: bytes) -> None:
        """Send stream bytes. Raises OutputError when the connection broke or stalled."""
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise OutputError(f"{self.mount}: the stream broke: {_why(exc)}") from exc
        self.sent += len(data)

    def poll(self) -> None:
        """Read (and drop) what the server sent; never waits.

        Raises OutputError when the server has closed the connection.
        """
        while True:
            try:
                # select, not MSG_DONTWAIT: a socket with a timeout waits on EAGAIN.
                readable, _, _ = select.select([self._sock], [], [], 0)
                if not readable:
                    return
                data = self._sock.recv(4096)
            except OSError as exc:
                raise OutputError(f"{self.mount}: the stream broke: {_why(exc)}") from exc
            if not data:
                raise OutputError(f"{self.mount}: Icecast closed the connection")

    def close(self) -> None:
        """Close the connection (Icecast then ends the source). Idempotent, never raises."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


def _read_answer(sock: socket.socket, mount: IcecastMount) -> tuple[int, str]:
    # The status line and headers of the first answer; for a refusal, the first
    # line of its body (Icecast's reason) when it came in the same read.
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_RESPONSE_HEAD:
            raise OutputError(f"{mount} answered with an oversized head")
        chunk = sock.recv(4096)
        if not chunk:
            if not data:
                raise OutputError(f"{mount} closed the connection without an answer")
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise OutputError(f"{mount} did not answer HTTP: {status_line[:MAX_REASON]!r}")
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    text = body.decode("utf-8", "replace").strip().split("\n", 1)[0].strip()
    if status >= 300 and text:
        reason = f"{reason} ({text[:MAX_REASON]})"
    return status, reason


def _why(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc) or type(exc).__name__


__all__ = ["IcecastMount", "IcecastSource", "SourceInfo", "source_request"]
