"""The Icecast-compatible source server: presenters' encoders connect here.

Encoders (BUTT, Mixxx and every libshout client, FFmpeg's ``icecast://``, OBS)
speak Icecast's source protocol: an HTTP request head followed by an unframed
audio body that lasts until the socket closes. This module speaks that protocol
and nothing more; who may go live and what becomes of the audio belong to the
:class:`~radio.live.contracts.IngestHandler` it is given. The conversation, as
Icecast 2.4 holds it (2.5 answers the same codes to the same requests, except
400/415 for the two content-type refusals, where we keep 2.4's 403)::

    encoder                                           server
    libshout, TLS auto:
    OPTIONS * HTTP/1.1                             -> 204 No Content
                                                      Allow: GET, PUT, OPTIONS, SOURCE
    libshout's challenge:
    PUT /live HTTP/1.1 (no credentials)            -> 401, WWW-Authenticate: Basic

    FFmpeg icecast://, BUTT, libshout:
    PUT /live HTTP/1.1
    Authorization: Basic dXNlcjpwYXNz
    Content-Type: audio/mpeg
    Expect: 100-continue
    ice-name: ...   (no Content-Length)        handler.open_source(SourceRequest)
                                                   accepts, or LiveRefused -> 401/403/404
                                               <- HTTP/1.1 100 Continue
                                               <- HTTP/1.0 200 OK
    <audio bytes, unframed, until the socket closes>
                                               await ingest.write(chunk), each <= 64 KiB
                                               EOF, reset, idle: await ingest.finish(reason)

    FFmpeg -legacy_icecast 1, BUTT's fallback:
    SOURCE /live HTTP/1.0 (or ICE/1.0)         <- HTTP/1.0 200 OK, then the body as above

    BUTT, libshout, on a new song (its own connection):
    GET /admin/metadata?mode=updinfo&mount=/live&song=Artist%20-%20Title
    Authorization: Basic ...                   handler.update_metadata(...)
                                               <- 200, <iceresponse> "Metadata update successful"

A refusal (``LiveRefused`` from the handler, or the server's own: no
credentials, missing or unsupported Content-Type, a request head too large or
too slow, a method or path Icecast would not serve) is answered with the status
Icecast uses and closes the connection. Repeated wrong credentials from one
address slow that address down. A body may also be ``Transfer-Encoding:
chunked`` (FFmpeg's ``http://`` with ``-method PUT``) or carry a Content-Length.

SOURCE clients never read the 200 they are answered (FFmpeg's legacy mode starts
sending at once), so their close resets the connection and the kernel drops
whatever we had not read yet: such a session ends with "encoder connection lost
(ConnectionResetError...)" and may miss its last few milliseconds, as it would
on Icecast.

The server never opens a file or a URL, nor runs anything, because of what a
client sends; time comes from the ``monotonic`` it is given (timeouts are
asyncio's own).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import codecs
import collections
import contextlib
import logging
import re
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from radio.errors import LiveRefused
from radio.live.contracts import IngestHandler, LiveIngest, SourceRequest
from radio.live.proxied import TrustedProxies, is_proxy_line

logger = logging.getLogger(__name__)

SUPPORTED_CONTENT_TYPES = frozenset(
    {
        "audio/mpeg",
        "audio/ogg",
        "application/ogg",
        "audio/aac",
        "audio/aacp",
        "audio/webm",
        "audio/flac",
        "audio/x-flac",
    }
)
"""The Content-Types a source may send (lower-case, without parameters)."""

ALLOW = "GET, PUT, OPTIONS, SOURCE"
REALM = "Icecast2 Server"

_REASONS = {
    100: "Continue",
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Authentication Required",
    403: "Forbidden",
    404: "File Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Unimplemented",
    503: "Service Unavailable",
}

_MOUNT = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@/-]{1,255}")
_VERSIONS = frozenset({"HTTP/1.0", "HTTP/1.1", "ICE/1.0"})
_SECRET_HEADERS = frozenset({"authorization", "ice-password"})
_NETWORK_ERRORS = (ConnectionError, OSError, asyncio.IncompleteReadError)


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """What one client may cost the server.

    ``header_timeout`` bounds the whole request head (not each line);
    ``idle_timeout`` how long a body may go without a byte; after
    ``auth_failures`` wrong credentials within ``auth_window`` seconds from one
    address, each further attempt from it waits ``throttle_delay`` seconds,
    doubling per further failure up to ``throttle_max_delay``. ``linger`` is how
    long a refused client's unread bytes are drained so that it can read the
    refusal before the socket closes.
    """

    max_header_bytes: int = 8192
    max_header_lines: int = 100
    header_timeout: float = 10.0
    idle_timeout: float = 30.0
    chunk_size: int = 65536
    max_connections: int = 64
    auth_failures: int = 5
    auth_window: float = 60.0
    throttle_delay: float = 2.0
    throttle_max_delay: float = 30.0
    max_tracked_peers: int = 4096
    linger: float = 1.0


@dataclass(slots=True)
class IngestStats:
    """Counters for tests and metrics; they only ever grow (``open`` aside)."""

    connections: int = 0
    """Connections accepted by the listener."""
    open: int = 0
    """Connections being served now."""
    sessions: int = 0
    """Sources the handler accepted."""
    refusals: collections.Counter[int] = field(default_factory=collections.Counter)
    """Refused requests by the status answered (401, 403, 404, 431...)."""
    auth_failures: int = 0
    """Requests that carried wrong credentials (the handler's 401s, bad Basic)."""
    throttled: int = 0
    """Attempts delayed because their address failed authentication too often."""
    timeouts: int = 0
    """Request heads that did not complete within ``header_timeout``."""
    bytes_in: int = 0
    """Audio bytes passed to sessions."""
    metadata_updates: int = 0
    """Metadata updates the handler accepted."""


class _Refusal(Exception):
    """Internal: answer ``status`` with ``reason`` and close."""

    def __init__(self, status: int, reason: str, *, log: bool = True) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.log = log


@dataclass(slots=True)
class _Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]


class IngestServer:
    """An Icecast-compatible source server on ``host:port`` (asyncio streams).

    Each connection carries one request: a source (``PUT``/``SOURCE``), a
    metadata update (``GET /admin/metadata``) or an ``OPTIONS`` probe; the
    connection closes after it. ``handler`` decides every source and metadata
    update and is called on the event loop that runs :meth:`start`; ``port`` 0
    binds any free port (read it back from :attr:`port`); ``monotonic`` is the
    clock for the wrong-credentials window. The ``SourceRequest.headers`` the
    handler gets leave out ``authorization`` and ``ice-password``.
    """

    def __init__(
        self,
        handler: IngestHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 8005,
        limits: IngestLimits | None = None,
        monotonic: Callable[[], float],
        on_refused: Callable[[str, str, int, str], None] | None = None,
        trusted_proxies: TrustedProxies | None = None,
    ) -> None:
        self._handler = handler
        # Proxies whose PROXY line or X-Forwarded-For names the client (radio.live.proxied)
        self._proxies = trusted_proxies or TrustedProxies()
        # (user, peer, status, reason) of a refusal the server makes itself to a client
        # that did authenticate (an unsupported format): the presenter's problem to tell
        self._on_refused = on_refused
        self._host = host
        self._requested_port = port
        self._limits = limits or IngestLimits()
        self._monotonic = monotonic
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures: dict[str, collections.deque[float]] = {}
        self._closing = False
        self.stats = IngestStats()

    @property
    def listening(self) -> bool:
        """True between :meth:`start` and :meth:`close`."""
        return self._server is not None and bool(self._server.sockets)

    @property
    def port(self) -> int:
        """The bound port (the one the OS chose when constructed with 0).

        Raises RuntimeError before :meth:`start` and after :meth:`close`."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the ingest server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def limits(self) -> IngestLimits:
        """The limits this server applies."""
        return self._limits

    async def start(self) -> None:
        """Bind and start accepting encoders. Raises OSError when the address
        cannot be bound, RuntimeError when already started."""
        if self._server is not None:
            raise RuntimeError("the ingest server is already started")
        self._closing = False
        self._server = await asyncio.start_server(
            self._serve,
            self._host,
            self._requested_port,
            limit=max(self._limits.max_header_bytes, self._limits.chunk_size),
        )
        logger.info("ingest: listening on %s:%d", self._host, self.port)

    async def close(self) -> None:
        """Stop listening and close every open connection; each open session's
        ``finish("server closing")`` has been awaited when this returns. Never
        raises; closing twice is harmless."""
        self._closing = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if server is not None:
            with contextlib.suppress(Exception):
                await server.wait_closed()

    # -- one connection ----------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats.connections += 1
        self.stats.open += 1
        peer = _peer_host(writer)
        try:
            if self._closing:
                return
            if len(self._tasks) > self._limits.max_connections:
                await self._refuse(
                    writer, reader, peer, "-", "-", _Refusal(503, "Too many clients")
                )
                return
            await self._serve_request(reader, writer, peer)
        except asyncio.CancelledError:
            raise
        except _NETWORK_ERRORS as error:
            logger.warning("ingest: connection from %s ended: %s", peer, _describe(error))
        except Exception:
            logger.warning("ingest: connection from %s failed", peer, exc_info=True)
        finally:
            self.stats.open -= 1
            self._tasks.discard(task)
            await _close(writer)

    async def _serve_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> None:
        try:
            async with asyncio.timeout(self._limits.header_timeout):
                first: bytes | None = None
                if self._proxies.trusts(peer):
                    first = await self._read_line(reader)
                    if first is not None and is_proxy_line(first):
                        peer = self._proxy_client(first, peer)
                        first = None
                request = await self._read_head(reader, first)
        except TimeoutError:
            self.stats.timeouts += 1
            logger.info(
                "ingest: %s sent no complete request within %gs", peer, self._limits.header_timeout
            )
            return
        except _Refusal as refusal:
            await self._refuse(writer, reader, peer, "-", "-", refusal)
            return
        if request is None:  # closed before a request arrived
            return
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded is not None and self._proxies.trusts(peer):
            peer = self._proxies.client_of_forwarded_for(forwarded, peer)
        try:
            await self._dispatch(request, reader, writer, peer)
        except _Refusal as refusal:
            await self._refuse(writer, reader, peer, request.method, request.target, refusal)

    async def _read_line(self, reader: asyncio.StreamReader) -> bytes | None:
        # One line of a request head; None when the client closed before sending any.
        try:
            return await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as error:
            if not error.partial:
                return None
            raise _Refusal(400, "Incomplete request", log=False) from None
        except asyncio.LimitOverrunError:
            raise _Refusal(431, "Request header too large") from None

    def _proxy_client(self, line: bytes, peer: str) -> str:
        # A trusted proxy's PROXY line: the client it names, or a 400.
        try:
            client = self._proxies.client_of_proxy_line(line, peer)
        except ValueError as error:
            logger.info("ingest: bad PROXY line from %s: %s", peer, error)
            raise _Refusal(400, "Bad request", log=False) from None
        logger.debug("ingest: %s speaks for %s", peer, client)
        return client

    async def _read_head(
        self, reader: asyncio.StreamReader, first: bytes | None = None
    ) -> _Request | None:
        # ``first``: the request's first line, when it was read already.
        limits = self._limits
        lines: list[str] = []
        total = 0
        while True:
            raw = first if first is not None else await self._read_line(reader)
            first = None
            if raw is None:
                if lines:
                    raise _Refusal(400, "Incomplete request", log=False)
                return None
            total += len(raw)
            if total > limits.max_header_bytes:
                raise _Refusal(431, "Request header too large")
            line = _decode(raw.rstrip(b"\r\n"))
            if not line:
                if not lines:
                    continue  # tolerate a stray CRLF before the request line
                break
            if "\x00" in line:
                raise _Refusal(400, "Bad request")
            lines.append(line)
            if len(lines) > limits.max_header_lines + 1:
                raise _Refusal(431, "Too many header lines")
        parts = lines[0].split(" ")
        if len(parts) != 3 or parts[2] not in _VERSIONS or not parts[0].isalpha():
            raise _Refusal(400, "Bad request line")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            name = name.strip().lower()
            if not colon or not name or line[:1] in (" ", "\t"):
                raise _Refusal(400, "Bad header line")
            value = value.strip()
            if name in headers:
                if name in ("content-length", "transfer-encoding", "authorization"):
                    raise _Refusal(400, f"Repeated {name} header")
                headers[name] = f"{headers[name]}, {value}"
            else:
                headers[name] = value
        return _Request(parts[0].upper(), parts[1], parts[2], headers)

    async def _dispatch(
        self,
        request: _Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
    ) -> None:
        method = request.method
        if method == "OPTIONS":
            await _send(writer, _response(204, "HTTP/1.1", [("Allow", ALLOW)]), self._limits)
            return
        if method in ("PUT", "SOURCE"):
            await self._source(request, reader, writer, peer)
            return
        if method in ("GET", "HEAD"):
            path = urlsplit(request.target).path
            if method == "GET" and path == "/admin/metadata":
                await self._metadata(request, writer, peer)
                return
            raise _Refusal(404, "The file you requested could not be found")
        raise _Refusal(405, "unknown request")

    # -- sources -------------------------------------------------------------

    async def _source(
        self,
        request: _Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
    ) -> None:
        headers = request.headers
        mount = _mount(request.target)
        body = _body_framing(headers)
        credentials = _credentials(headers)
        if credentials is None:
            raise _Refusal(401, "You need to authenticate")
        user, password = credentials
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        refusal = (
            "No Content-type given"
            if not content_type
            else "Content-type not supported"
            if content_type not in SUPPORTED_CONTENT_TYPES
            else None
        )
        if refusal is not None:
            if self._on_refused is not None:
                detail = f"{refusal}: {content_type[:60]!r}" if content_type else refusal
                self._on_refused(user, peer, 403, detail)
            raise _Refusal(403, refusal)
        await self._throttle(peer)
        source = SourceRequest(
            mount=mount,
            user=user,
            password=password,
            content_type=content_type,
            peer=peer,
            headers={k: v for k, v in headers.items() if k not in _SECRET_HEADERS},
        )
        try:
            ingest = await self._handler.open_source(source)
        except LiveRefused as refused:
            self._note_refused(peer, refused.status)
            raise _Refusal(refused.status, refused.reason) from None
        except Exception:
            logger.warning("ingest: the handler failed on %s from %s", mount, peer, exc_info=True)
            raise _Refusal(500, "Internal Server Error") from None
        self.stats.sessions += 1
        logger.info(
            "ingest: %s on %s from %s (%s, %s)", user, mount, peer, content_type, request.method
        )
        reason = "server closing"
        try:
            answer = b""
            if "100-continue" in headers.get("expect", "").lower():
                answer += _response(100, "HTTP/1.1", [("Content-Length", "0")], connection=False)
            answer += b"HTTP/1.0 200 OK\r\n\r\n"
            await _send(writer, answer, self._limits)
            reason = await self._pump(reader, ingest, body)
        except asyncio.CancelledError:
            reason = "server closing" if self._closing else "cancelled"
            raise
        except _NETWORK_ERRORS as error:
            reason = f"encoder connection lost ({_describe(error)})"
        except _BodyError as error:
            reason = str(error)
        except Exception:
            logger.warning("ingest: session on %s from %s failed", mount, peer, exc_info=True)
            reason = "server error"
        finally:
            try:
                await ingest.finish(reason)
            except Exception:
                logger.warning("ingest: finish(%r) on %s failed", reason, mount, exc_info=True)
            logger.info("ingest: %s on %s ended: %s", user, mount, reason)

    async def _pump(
        self, reader: asyncio.StreamReader, ingest: LiveIngest, body: int | None
    ) -> str:
        """Move the body into ``ingest``; return why it ended. ``body`` is the
        Content-Length, -1 for chunked, None for "until the socket closes"."""
        if body == -1:
            chunks = _read_chunked(reader, self._limits)
        else:
            chunks = _read_plain(reader, self._limits, body)
        async with contextlib.aclosing(chunks):
            try:
                async for chunk in chunks:
                    try:
                        await ingest.write(chunk)
                    except LiveRefused as ended:
                        return f"ended by the station ({ended.reason})"
                    self.stats.bytes_in += len(chunk)
            except TimeoutError:
                return "idle timeout"
        return "encoder disconnected"

    # -- metadata ------------------------------------------------------------

    async def _metadata(self, request: _Request, writer: asyncio.StreamWriter, peer: str) -> None:
        query = urlsplit(request.target).query
        raw = dict(parse_qsl(query, keep_blank_values=True, encoding="latin-1"))
        charset = _charset(raw.get("charset"))
        args = dict(parse_qsl(query, keep_blank_values=True, encoding=charset, errors="replace"))
        if "\ufffd" in "".join(args.values()) and charset == "utf-8" and "charset" not in raw:
            args = dict(parse_qsl(query, keep_blank_values=True, encoding="latin-1"))
        credentials = _credentials(request.headers)
        if credentials is None:
            raise _Refusal(401, "You need to authenticate")
        if args.get("mode") != "updinfo":
            raise _XmlRefusal(400, "No such action")
        mount = args.get("mount", "")
        if not _MOUNT.fullmatch(mount) or "/../" in f"{mount}/":
            raise _XmlRefusal(400, "Missing or bad parameter mount")
        song = args.get("song")
        if song is None and args.get("artist") is not None and args.get("title") is not None:
            song = f"{args['artist']} - {args['title']}"
        if song is None:
            raise _XmlRefusal(400, "Missing parameter song")
        song = "".join(ch for ch in song if ch.isprintable())
        user, password = credentials
        await self._throttle(peer)
        try:
            await self._handler.update_metadata(
                mount=mount, user=user, password=password, song=song, peer=peer
            )
        except LiveRefused as refused:
            self._note_refused(peer, refused.status)
            raise _XmlRefusal(refused.status, refused.reason) from None
        except Exception:
            logger.warning("ingest: the handler failed on metadata for %s", mount, exc_info=True)
            raise _XmlRefusal(500, "Internal Server Error") from None
        self.stats.metadata_updates += 1
        body = _iceresponse("Metadata update successful", ok=True)
        await _send(writer, _response(200, "HTTP/1.1", _xml_headers(body)) + body, self._limits)

    # -- refusals and the auth throttle ---------------------------------------

    async def _refuse(
        self,
        writer: asyncio.StreamWriter,
        reader: asyncio.StreamReader,
        peer: str,
        method: str,
        target: str,
        refusal: _Refusal,
    ) -> None:
        status = refusal.status
        self.stats.refusals[status] += 1
        if refusal.log:
            logger.info(
                "ingest: refused %s %r from %s: %d %s",
                method,
                urlsplit(target).path[:200],
                peer,
                status,
                refusal.reason,
            )
        extra: list[tuple[str, str]] = []
        if status == 401:
            extra.append(("WWW-Authenticate", f'Basic realm="{REALM}"'))
        if status == 405:
            extra.append(("Allow", ALLOW))
        if isinstance(refusal, _XmlRefusal):
            body = _iceresponse(refusal.reason, ok=False)
            extra += _xml_headers(body)
        else:
            body = f"{status} - {refusal.reason}\r\n".encode()
            extra += [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
            ]
        with contextlib.suppress(*_NETWORK_ERRORS, TimeoutError):
            await _send(writer, _response(status, "HTTP/1.1", extra) + body, self._limits)
            await _linger(reader, writer, self._limits)

    def _note_refused(self, peer: str, status: int) -> None:
        if status != 401:
            return
        self.stats.auth_failures += 1
        failures = self._failures.pop(peer, None) or collections.deque()
        failures.append(self._monotonic())
        self._failures[peer] = failures  # re-inserted: the dict stays oldest-first
        while len(self._failures) > self._limits.max_tracked_peers:
            del self._failures[next(iter(self._failures))]

    def recent_auth_failures(self, peer: str) -> int:
        """How many wrong credentials ``peer`` (an address) sent within the window."""
        failures = self._failures.get(peer)
        if not failures:
            return 0
        horizon = self._monotonic() - self._limits.auth_window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[peer]
        return len(failures)

    async def _throttle(self, peer: str) -> None:
        excess = self.recent_auth_failures(peer) - self._limits.auth_failures
        if excess < 0:
            return
        self.stats.throttled += 1
        delay = min(
            self._limits.throttle_delay * 2 ** min(excess, 16), self._limits.throttle_max_delay
        )
        logger.info("ingest: delaying %s by %gs after repeated wrong credentials", peer, delay)
        await asyncio.sleep(delay)


class _XmlRefusal(_Refusal):
    """A refusal answered with Icecast's ``<iceresponse>`` XML (admin requests)."""


class _BodyError(Exception):
    """The body's framing was broken (bad chunk header)."""


# -- body framing ------------------------------------------------------------


def _body_framing(headers: dict[str, str]) -> int | None:
    encoding = headers.get("transfer-encoding", "").strip().lower()
    if encoding and encoding != "identity":
        if encoding != "chunked":
            raise _Refusal(501, "Unimplemented")
        return -1
    length = headers.get("content-length")
    if length is None:
        return None
    if not length.isdigit() or len(length) > 18:
        raise _Refusal(400, "Bad Content-Length")
    return int(length)


async def _read_plain(
    reader: asyncio.StreamReader, limits: IngestLimits, length: int | None
) -> AsyncGenerator[bytes, None]:
    """The body as it arrives: ``length`` bytes, or everything until EOF when
    None. Raises TimeoutError when no byte comes for ``idle_timeout``."""
    left = length
    while left is None or left > 0:
        size = limits.chunk_size if left is None else min(left, limits.chunk_size)
        async with asyncio.timeout(limits.idle_timeout):
            chunk = await reader.read(size)
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


async def _read_chunked(
    reader: asyncio.StreamReader, limits: IngestLimits
) -> AsyncGenerator[bytes, None]:
    """The body of ``Transfer-Encoding: chunked``, de-chunked, up to the last
    chunk (trailers are read and dropped). Raises _BodyError on a malformed chunk
    header, IncompleteReadError when the socket closes mid-chunk, TimeoutError
    when no byte comes for ``idle_timeout``."""
    while True:
        async with asyncio.timeout(limits.idle_timeout):
            line = await _read_line(reader)
        size_text = line.split(b";", 1)[0].strip()
        if not size_text or len(size_text) > 8 or not _is_hex(size_text):
            raise _BodyError("bad chunk header from the encoder")
        left = int(size_text, 16)
        if left == 0:
            for _ in range(limits.max_header_lines):
                async with asyncio.timeout(limits.idle_timeout):
                    if not (await _read_line(reader)).strip():
                        return
            raise _BodyError("too many trailer lines from the encoder")
        while left > 0:
            async with asyncio.timeout(limits.idle_timeout):
                chunk = await reader.read(min(left, limits.chunk_size))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(chunk)
            yield chunk
        async with asyncio.timeout(limits.idle_timeout):
            if (await _read_line(reader)).strip():
                raise _BodyError("bad chunk end from the encoder")


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise _BodyError("chunk header too long") from None


def _is_hex(text: bytes) -> bool:
    return all(c in b"0123456789abcdefABCDEF" for c in text)


# -- request parts -------------------------------------------------------------


def _mount(target: str) -> str:
    """The mount a source request names: the target's path, percent-decoded and
    checked (a leading slash, 1-255 ordinary characters, no ``..`` segment)."""
    if not target.startswith("/"):
        raise _Refusal(400, "source mountpoint not starting with /")
    try:
        path = unquote(urlsplit(target).path, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise _Refusal(400, "Bad mountpoint") from None
    if not _MOUNT.fullmatch(path) or "/../" in f"{path}/" or "//" in path:
        raise _Refusal(400, "Bad mountpoint")
    return path


def _credentials(headers: dict[str, str]) -> tuple[str, str] | None:
    """(user, password) from Basic auth, else the legacy ``ice-password`` (user
    ``ice-username`` or "source"); None when the request carries neither. A
    malformed Authorization header gives ("", "") so that it fails as wrong."""
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            return ("", "")
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return ("", "")
        user, colon, password = _decode(decoded).partition(":")
        return (user, password) if colon else ("", "")
    legacy = headers.get("ice-password")
    if legacy is not None:
        return (headers.get("ice-username") or "source", legacy)
    return None


def _charset(name: str | None) -> str:
    """A text codec for ``name``, or utf-8 when absent, unknown or not a text
    encoding (``charset=zlib`` does not reach a codec)."""
    if not name:
        return "utf-8"
    try:
        codec = codecs.lookup(name.strip())
        b"".decode(codec.name)
    except (LookupError, ValueError):
        return "utf-8"
    return codec.name


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _peer_host(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and address:
        return str(address[0])
    return str(address or "unknown")


def _describe(error: BaseException) -> str:
    if isinstance(error, asyncio.IncompleteReadError):
        return "closed mid-chunk"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


# -- answers -------------------------------------------------------------------


def _response(
    status: int, version: str, headers: list[tuple[str, str]], *, connection: bool = True
) -> bytes:
    lines = [f"{version} {status} {_REASONS.get(status, 'Error')}", "Server: radio"]
    if connection:
        lines.append("Connection: Close")
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _iceresponse(message: str, *, ok: bool) -> bytes:
    text = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<?xml version="1.0"?>\n'
        f"<iceresponse><message>{text}</message><return>{1 if ok else 0}</return></iceresponse>\n"
    ).encode()


def _xml_headers(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))]


async def _send(writer: asyncio.StreamWriter, data: bytes, limits: IngestLimits) -> None:
    """Write ``data`` and wait until the socket took it (at most ``header_timeout``)."""
    writer.write(data)
    async with asyncio.timeout(limits.header_timeout):
        await writer.drain()


async def _linger(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: IngestLimits
) -> None:
    """After a refusal: say we are done writing, then drop what the client still
    sends for a moment, so that closing with unread bytes does not reset the
    connection before the client has read the answer."""
    if writer.can_write_eof():
        writer.write_eof()
    budget = 16 * limits.chunk_size
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limits.linger):
            while budget > 0:
                data = await reader.read(limits.chunk_size)
                if not data:
                    return
                budget -= len(data)


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close the connection; a peer that does not take its last bytes is reset."""
    writer.close()
    try:
        async with asyncio.timeout(2.0):
            await writer.wait_closed()
    except (TimeoutError, *_NETWORK_ERRORS):
        writer.transport.abort()
    except asyncio.CancelledError:
        writer.transport.abort()
        raise


__all__ = [
    "SUPPORTED_CONTENT_TYPES",
    "IngestLimits",
    "IngestServer",
    "IngestStats",
]
