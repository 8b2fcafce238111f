"""Reading a presenter's or a partner station's stream over HTTP(S) for the live branch.

``/live relay <url>`` (or a show in the grid that relays a stream) puts someone
else's stream on air. We read that stream ourselves, with aiohttp, and hand its
audio bytes to a sink that pipes them into FFmpeg, which is run with
``-protocol_whitelist pipe``. FFmpeg never touches the network:

- The URL a presenter types is confined to ``http``/``https`` by construction.
  Given to FFmpeg, a URL is a protocol choice (``file:``, ``concat:``,
  ``pipe:``, ``data:``, ``subfile,``, a nested playlist...) and a whitelist is
  the only thing standing between a presenter and the station's files.
- Redirects are ours to check: each one is followed by hand, its target must
  pass the same check as the URL typed, and there are at most five.
- Timeouts and stalls are ours to name: "the stream answered 404", "connection
  refused", "the stream stalled" instead of an FFmpeg exit code.
- ICY metadata (the now-playing title) is ours to read reliably, rather than
  whatever FFmpeg passes on in its log.

ICY framing: a client that sends ``Icy-MetaData: 1`` may be answered with
``icy-metaint: N``. The body is then N audio bytes, one length byte L, L*16
bytes of metadata, N audio bytes, one length byte, and so on, with no regard
for where TCP or HTTP chunks split it::

    | N audio bytes | L | L*16 bytes: StreamTitle='...';\\0\\0 | N audio bytes | 0 | ...

:class:`IcyDeframer` strips the metadata exactly, whatever the chunk splits,
and :func:`icy_title` reads the title out of one block. A block is at most
255 * 16 = 4,080 bytes by construction; we accept ``icy-metaint`` up to 1 MiB,
so nothing we hold grows with the stream.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit

import aiohttp

from radio.errors import LiveRefused, SourceError

logger = logging.getLogger(__name__)

MAX_URL_LENGTH = 2_000
MAX_REDIRECTS = 5
MAX_METAINT = 1 << 20  # 1 MiB of audio between two metadata blocks
ICY_BLOCK_UNIT = 16  # a metadata block is its length byte times 16 bytes
READ_SIZE = 64 * 1024

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_PLAYLIST_TYPES = frozenset(
    {
        "audio/x-mpegurl",
        "audio/mpegurl",
        "application/x-mpegurl",
        "application/vnd.apple.mpegurl",
        "audio/x-scpls",
        "application/pls+xml",
        "audio/x-ms-asx",
        "video/x-ms-asf",
    }
)
# The title ends at the first "';" that closes the block or opens the next field:
# Icecast writes StreamTitle='<title>'; verbatim, so a title may hold ' or even ';.
_TITLE_RE = re.compile(r"(?:^|;)StreamTitle='(.*?)';(?=\s*$|\s*\w+=')", re.DOTALL)
_TITLE_UNTERMINATED_RE = re.compile(r"(?:^|;)StreamTitle='(.*)", re.DOTALL)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")


def validate_url(url: str) -> str:
    """Check that ``url`` is one we may read a stream from and return it.

    Accepts only absolute ``http://`` or ``https://`` URLs with a host, a valid
    port if any, at most 2,000 characters and no whitespace or control
    characters anywhere (user name and password included). Looks nothing up and
    opens nothing.

    Raises LiveRefused(400, reason) for anything else: file paths, ``file:``,
    ``ftp:``, ``data:``, FFmpeg's ``concat:``/``pipe:`` protocols, empty or
    absurd input.
    """
    if not isinstance(url, str) or not url:
        raise LiveRefused(400, "give the stream's address (an http:// or https:// URL)")
    if len(url) > MAX_URL_LENGTH:
        raise LiveRefused(400, f"the address is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise LiveRefused(400, "the address contains spaces or control characters")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port  # raises ValueError when not a number in range
    except ValueError:
        raise LiveRefused(400, "the address is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}:" if scheme else "a path"
        raise LiveRefused(400, f"only http:// and https:// streams can be relayed, not {shown}")
    if not parts.hostname:
        raise LiveRefused(400, "the address has no host")
    if port == 0:
        raise LiveRefused(400, "the address has port 0")
    return url


def _location_of(status: int, location: str | None, current: str) -> str:
    """Where a redirect answer sends us, checked like the URL typed."""
    if not location:
        raise LiveRefused(502, f"the stream answered {status} without saying where to")
    target = urljoin(current, location)
    try:
        return validate_url(target)
    except LiveRefused as refused:
        raise LiveRefused(
            400, f"the stream redirects to an address we do not follow: {refused.reason}"
        ) from None


def _media_type(header: str | None) -> str:
    """``audio/mpeg`` for ``Audio/MPEG; charset=...``; empty when absent."""
    if not header:
        return ""
    return header.split(";", 1)[0].strip().lower()


def icy_title(block: bytes) -> str | None:
    """The ``StreamTitle`` of one ICY metadata block, or None when it has none.

    ``block`` is the metadata as sent (NUL padding allowed). Bytes are decoded
    as UTF-8, falling back to Latin-1 (which older encoders send). The value
    ends at the ``';`` that ends the block or precedes the next ``Key='``, so
    apostrophes inside a title are kept. Control characters become spaces and
    the title is stripped; an empty title is ``""``. Never raises.
    """
    raw = block.split(b"\x00", 1)[0]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    match = _TITLE_RE.search(text)
    if match is not None:
        value = match.group(1)
    else:
        loose = _TITLE_UNTERMINATED_RE.search(text)
        if loose is None:
            return None
        value = loose.group(1)
        value = value.removesuffix(";").removesuffix("'")
    return _CONTROL_RE.sub(" ", value).strip()


@dataclass(frozen=True, slots=True)
class IcyMetadata:
    """One non-empty ICY metadata block, as sent (NUL padding included)."""

    block: bytes


class IcyDeframer:
    """Splits an ICY-interleaved body into audio and metadata blocks.

    Feed it the body in chunks split anywhere; it yields the same audio bytes
    and the same blocks, in order, whatever the splits. With ``metaint`` None
    every byte is audio. Holds at most one metadata block (4,080 bytes).
    """

    def __init__(self, metaint: int | None) -> None:
        if metaint is not None and not 1 <= metaint <= MAX_METAINT:
            raise ValueError(f"metaint must be between 1 and {MAX_METAINT}")
        self._metaint = metaint
        self._audio_left = metaint or 0  # audio bytes before the next length byte
        self._meta_left = 0  # metadata bytes still to come in this block
        self._meta = bytearray()

    def feed(self, data: bytes) -> list[bytes | IcyMetadata]:
        """The audio runs (non-empty ``bytes``) and metadata blocks in ``data``,
        in stream order. Empty metadata blocks (length byte 0) are left out."""
        if self._metaint is None:
            return [data] if data else []
        out: list[bytes | IcyMetadata] = []
        audio = bytearray()
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            if self._meta_left:
                take = min(self._meta_left, end - pos)
                self._meta += view[pos : pos + take]
                pos += take
                self._meta_left -= take
                if not self._meta_left:
                    if audio:
                        out.append(bytes(audio))
                        audio.clear()
                    out.append(IcyMetadata(bytes(self._meta)))
                    self._meta.clear()
                    self._audio_left = self._metaint
            elif self._audio_left:
                take = min(self._audio_left, end - pos)
                audio += view[pos : pos + take]
                pos += take
                self._audio_left -= take
            else:  # the length byte
                self._meta_left = data[pos] * ICY_BLOCK_UNIT
                pos += 1
                if not self._meta_left:
                    self._audio_left = self._metaint
        if audio:
            out.append(bytes(audio))
        return out


class StreamRelay:
    """One HTTP(S) audio stream read for the live branch.

    :meth:`open` connects and checks the answer; :meth:`run` hands the audio on
    (ICY metadata stripped) until the stream ends; :meth:`close` lets go. The
    session is the caller's and is never closed here. ``bytes_in`` counts the
    body bytes received (metadata included), ``audio_bytes`` those handed on,
    ``title`` is the last ``StreamTitle`` seen.
    """

    def __init__(
        self,
        url: str,
        *,
        session: aiohttp.ClientSession,
        connect_timeout: float = 10.0,
        stall_timeout: float = 10.0,
        user_agent: str = "radio/0.1",
    ) -> None:
        """Raises LiveRefused(400, reason) when ``url`` fails :func:`validate_url`;
        nothing is opened until :meth:`open`."""
        if connect_timeout <= 0 or stall_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.url = validate_url(url)
        self._session = session
        self._connect_timeout = connect_timeout
        self._stall_timeout = stall_timeout
        self._user_agent = user_agent
        self._response: aiohttp.ClientResponse | None = None
        self._deframer: IcyDeframer | None = None
        self._closed = False
        self.content_type: str | None = None
        self.title: str | None = None
        self.bytes_in = 0
        self.audio_bytes = 0

    async def open(self) -> str:
        """Connect (following at most 5 checked redirects) and return the stream's
        content type, lower-case without parameters (``application/ogg`` is given
        as ``audio/ogg``).

        Raises LiveRefused with a reason fit to show the presenter: 502 when the
        stream cannot be reached (connection refused, timed out connecting, an
        error status such as 404, too many redirects, a broken ``icy-metaint``),
        415 when it is not audio (a web page, a playlist, anything not
        ``audio/*`` or ``application/ogg``), 400 when a redirect leads to an
        address we do not follow. Raises RuntimeError when called twice or after
        :meth:`close`.
        """
        if self._response is not None or self._closed:
            raise RuntimeError("StreamRelay.open() may be called once, before close()")
        url = self.url
        redirects = 0
        while True:
            response = await self._request(url)
            if response.status not in _REDIRECT_STATUSES:
                break
            location = response.headers.get("Location")
            response.close()
            if redirects == MAX_REDIRECTS:
                raise LiveRefused(502, f"the stream redirects more than {MAX_REDIRECTS} times")
            url = _location_of(response.status, location, url)
            redirects += 1
            logger.debug("relay redirected to %s", url)
        try:
            content_type, metaint = self._check(response)
        except LiveRefused:
            response.close()
            raise
        if self._closed:  # close() was called while we were connecting
            response.close()
            raise LiveRefused(502, "the relay was closed while connecting")
        self._response = response
        self._deframer = IcyDeframer(metaint)
        self.content_type = content_type
        logger.info(
            "relay opened %s (%s, icy-metaint %s)", self.url, content_type, metaint or "none"
        )
        return content_type

    async def _request(self, url: str) -> aiohttp.ClientResponse:
        """One GET with no automatic redirect, its failures named for the presenter."""
        host = urlsplit(url).hostname or url
        headers = {
            "Icy-MetaData": "1",
            "User-Agent": self._user_agent,
            "Accept": "*/*",
            "Accept-Encoding": "identity",
        }
        # No total/read timeout from aiohttp: a stream lasts for hours, and stalls
        # are measured in run(). Connecting and the answer's headers are bounded here.
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None, connect=None)
        try:
            async with asyncio.timeout(self._connect_timeout):
                return await self._session.get(
                    url, headers=headers, allow_redirects=False, timeout=timeout
                )
        except TimeoutError:
            raise LiveRefused(
                502, f"timed out connecting to {host} (no answer in {self._connect_timeout:g} s)"
            ) from None
        except aiohttp.ClientConnectorDNSError:
            raise LiveRefused(502, f"could not find the host {host}") from None
        except aiohttp.ClientConnectorCertificateError:
            raise LiveRefused(502, f"{host}'s TLS certificate is not valid") from None
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, ConnectionRefusedError):
                raise LiveRefused(502, f"connection refused by {host} port {error.port}") from None
            reason = error.os_error.strerror or type(error.os_error).__name__
            raise LiveRefused(502, f"could not connect to {host}: {reason}") from None
        except aiohttp.InvalidURL:
            raise LiveRefused(400, "the address is not a valid URL") from None
        except (aiohttp.ClientError, OSError) as error:
            logger.debug("relay request to %s failed", url, exc_info=True)
            raise LiveRefused(
                502, f"the stream at {host} could not be read ({type(error).__name__})"
            ) from None

    @staticmethod
    def _check(response: aiohttp.ClientResponse) -> tuple[str, int | None]:
        """The answer's content type and ``icy-metaint``, or LiveRefused."""
        if response.status != 200:
            reason = f" {response.reason}" if response.reason else ""
            raise LiveRefused(502, f"the stream answered {response.status}{reason}")
        content_type = _media_type(response.headers.get("Content-Type"))
        if content_type == "text/html":
            raise LiveRefused(415, "the address is a web page (text/html), not an audio stream")
        if content_type in _PLAYLIST_TYPES:
            raise LiveRefused(
                415, f"the address is a playlist ({content_type}): give the stream's own URL"
            )
        if content_type == "application/ogg":
            content_type = "audio/ogg"
        if not content_type.startswith("audio/"):
            shown = content_type or "no content type"
            raise LiveRefused(415, f"the address does not send audio ({shown})")
        metaint: int | None = None
        header = response.headers.get("icy-metaint")
        if header is not None:
            value = header.strip()
            if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_METAINT:
                raise LiveRefused(502, f"the stream's icy-metaint is not usable ({header[:20]!r})")
            metaint = int(value)
        return content_type, metaint

    async def run(
        self,
        on_audio: Callable[[bytes], Awaitable[None]],
        on_title: Callable[[str], None],
    ) -> str:
        """Hand the stream's audio to ``on_audio`` (awaited: it may hold us back)
        and each new ``StreamTitle`` to ``on_title`` (only when it changes), until
        the stream ends.

        Returns why it ended: "the stream ended" (the server finished the body),
        "the server cut the connection" (it closed mid-body), "the relay was
        closed" (:meth:`close`). Raises SourceError when the stream stalls (no
        byte for ``stall_timeout`` seconds) or fails otherwise. Exceptions from
        the callbacks propagate. Raises RuntimeError before :meth:`open`.
        """
        response, deframer = self._response, self._deframer
        if response is None or deframer is None:
            raise RuntimeError("StreamRelay.run() needs open() first")
        content = response.content
        while True:
            if self._closed:
                return "the relay was closed"
            try:
                async with asyncio.timeout(self._stall_timeout):
                    chunk = await content.readany()
            except TimeoutError:
                if self._closed:
                    return "the relay was closed"
                raise SourceError(
                    f"the stream stalled: no data for {self._stall_timeout:g} s"
                ) from None
            except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
                if self._closed:
                    return "the relay was closed"
                logger.info("relay %s: connection cut mid-stream", self.url, exc_info=True)
                return "the server cut the connection"
            except (aiohttp.ClientError, OSError) as error:
                if self._closed:
                    return "the relay was closed"
                raise SourceError(f"the stream failed: {type(error).__name__}: {error}") from error
            if not chunk:
                return "the relay was closed" if self._closed else "the stream ended"
            self.bytes_in += len(chunk)
            for part in deframer.feed(chunk):
                if isinstance(part, IcyMetadata):
                    title = icy_title(part.block)
                    if title is not None and title != self.title:
                        self.title = title
                        on_title(title)
                else:
                    self.audio_bytes += len(part)
                    await on_audio(part)

    async def close(self) -> None:
        """Drop the connection (a :meth:`run` in progress returns "the relay was
        closed"). Idempotent; never raises."""
        self._closed = True
        if self._response is not None:
            self._response.close()


__all__ = [
    "MAX_METAINT",
    "MAX_REDIRECTS",
    "MAX_URL_LENGTH",
    "IcyDeframer",
    "IcyMetadata",
    "StreamRelay",
    "icy_title",
    "validate_url",
]
