"""The Icecast-compatible ingest server against real FFmpeg and raw encoders.

FFmpeg is the presenter's encoder (its ``icecast://`` protocol, PUT and legacy
SOURCE); BUTT and libshout are replayed byte for byte from what their sources
send. The handler is a recording double of our own IngestHandler.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from support import wait

from radio.errors import LiveRefused
from radio.live.contracts import SourceRequest
from radio.live.ingest import IngestLimits, IngestServer
from radio.live.proxied import TrustedProxies

WAIT = 20.0  # generous: a condition that holds arrives long before this
AUTH = base64.b64encode(b"user:pass").decode()
WRONG = base64.b64encode(b"user:nope").decode()


# -- doubles ---------------------------------------------------------------------


@dataclass
class Session:
    request: SourceRequest
    data: bytearray = field(default_factory=bytearray)
    reasons: list[str] = field(default_factory=list)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    end_after: int | None = None  # the station ends the session after this many bytes

    async def write(self, data: bytes) -> None:
        if self.end_after is not None and len(self.data) >= self.end_after:
            raise LiveRefused(403, "a DJ took over")
        self.data += data

    async def finish(self, reason: str) -> None:
        self.reasons.append(reason)
        self.finished.set()


@dataclass
class Handler:
    """Accepts user/pass on /live; refuses as Icecast would otherwise."""

    refuse: LiveRefused | None = None
    end_after: int | None = None
    sessions: list[Session] = field(default_factory=list)
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    metadata: list[dict[str, str]] = field(default_factory=list)
    metadata_seen: asyncio.Event = field(default_factory=asyncio.Event)

    def check(self, mount: str, user: str, password: str) -> None:
        if (user, password) != ("user", "pass"):
            raise LiveRefused(401, "wrong user name or password")
        if mount != "/live":
            raise LiveRefused(404, f"no live mount {mount}")
        if self.refuse is not None:
            raise self.refuse

    async def open_source(self, request: SourceRequest) -> Session:
        self.check(request.mount, request.user, request.password)
        session = Session(request, end_after=self.end_after)
        self.sessions.append(session)
        self.opened.set()
        return session

    async def update_metadata(
        self, *, mount: str, user: str, password: str, song: str, peer: str
    ) -> None:
        self.check(mount, user, password)
        self.metadata.append({"mount": mount, "user": user, "song": song, "peer": peer})
        self.metadata_seen.set()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limits() -> IngestLimits:
    return IngestLimits(header_timeout=10.0, idle_timeout=10.0, throttle_delay=0.001)


@pytest.fixture
async def server(
    handler: Handler, clock: FakeClock, limits: IngestLimits
) -> AsyncIterator[IngestServer]:
    server = IngestServer(handler, host="127.0.0.1", port=0, limits=limits, monotonic=clock)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


# -- helpers -------------------------------------------------------------------


async def run(*args: str, stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
    """Run a child to its end and reap it, whatever happens to the test."""
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out, err


async def ffmpeg_to(url: str, *codec: str) -> tuple[int, str]:
    code, _, err = await run(
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
        *codec, url,
    )  # fmt: skip
    return code, err.decode(errors="replace")


MP3 = ("-c:a", "libmp3lame", "-b:a", "128k", "-content_type", "audio/mpeg", "-f", "mp3")
OPUS = ("-c:a", "libopus", "-b:a", "64k", "-content_type", "audio/ogg", "-f", "ogg")


async def decoded_seconds(data: bytes) -> float:
    code, pcm, err = await run(
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", "pipe:",
        "-f", "s16le", "-ac", "1", "-ar", "8000", "pipe:",
        stdin=data,
    )  # fmt: skip
    assert code == 0, err
    return len(pcm) / 2 / 8000


async def connect(server: IngestServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def ask(server: IngestServer, head: str, body: bytes = b"") -> tuple[str, bytes]:
    """Send one request head (and body), return the answer head and what follows
    it up to the server's close."""
    reader, writer = await connect(server)
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        rest = await asyncio.wait_for(reader.read(), WAIT)
    finally:
        writer.close()
    return answer.decode(), rest


def put(mount: str = "/live", auth: str | None = AUTH, ctype: str | None = "audio/mpeg") -> str:
    head = f"PUT {mount} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if auth is not None:
        head += f"Authorization: Basic {auth}\r\n"
    if ctype is not None:
        head += f"Content-Type: {ctype}\r\n"
    return head + "Expect: 100-continue\r\n\r\n"


async def closed(reader: asyncio.StreamReader) -> None:
    """Wait until the server closes its side (reading and dropping anything)."""
    with contextlib.suppress(ConnectionResetError):
        async with asyncio.timeout(WAIT):
            while await reader.read(65536):
                pass


# -- real FFmpeg -----------------------------------------------------------------


async def test_ffmpeg_put_mp3_reaches_the_handler_and_decodes_to_two_seconds(
    server: IngestServer, handler: Handler
) -> None:
    code, err = await ffmpeg_to(f"icecast://user:pass@127.0.0.1:{server.port}/live", *MP3)
    assert code == 0, err

    [session] = handler.sessions
    await asyncio.wait_for(session.finished.wait(), WAIT)
    request = session.request
    assert (request.mount, request.user, request.password) == ("/live", "user", "pass")
    assert request.content_type == "audio/mpeg"
    assert request.peer == "127.0.0.1"
    assert request.headers["expect"] == "100-continue"
    assert request.headers["ice-public"] == "0"
    assert request.headers["user-agent"].startswith("Lavf/")
    assert "authorization" not in request.headers  # the password stays here
    assert session.reasons == ["encoder disconnected"]
    assert server.stats.bytes_in == len(session.data)
    assert 1.8 <= await decoded_seconds(bytes(session.data)) <= 2.2


async def test_ffmpeg_legacy_source_ogg_opus(server: IngestServer, handler: Handler) -> None:
    # SOURCE clients never read the 200 they are answered, so closing resets the
    # connection and the kernel drops what we had not read yet: short Ogg pages
    # keep that to the last page's 20 ms (Icecast loses the same).
    url = f"icecast://user:pass@127.0.0.1:{server.port}/live"
    code, err = await ffmpeg_to(url, "-legacy_icecast", "1", "-page_duration", "20000", *OPUS)
    assert code == 0, err

    [session] = handler.sessions
    await asyncio.wait_for(session.finished.wait(), WAIT)
    assert session.request.content_type == "audio/ogg"
    assert "expect" not in session.request.headers
    assert bytes(session.data[:4]) == b"OggS"
    assert 1.8 <= await decoded_seconds(bytes(session.data)) <= 2.2


async def test_ffmpeg_http_chunked_put(server: IngestServer, handler: Handler) -> None:
    # FFmpeg's plain http:// output as Icecast guides describe it: chunked PUT.
    code, err = await ffmpeg_to(
        f"http://user:pass@127.0.0.1:{server.port}/live",
        "-method", "PUT", "-auth_type", "basic", "-chunked_post", "1",
        "-send_expect_100", "0", *MP3,
    )  # fmt: skip
    assert code == 0, err

    [session] = handler.sessions
    await asyncio.wait_for(session.finished.wait(), WAIT)
    assert session.request.headers["transfer-encoding"] == "chunked"
    assert session.reasons == ["encoder disconnected"]
    assert 1.8 <= await decoded_seconds(bytes(session.data)) <= 2.2


async def test_ffmpeg_with_a_wrong_password_sees_401(
    server: IngestServer, handler: Handler
) -> None:
    url = f"icecast://user:nope@127.0.0.1:{server.port}/live"
    code, err = await ffmpeg_to(url, *MP3)
    assert code != 0
    assert "401" in err
    assert handler.sessions == []
    assert server.stats.refusals[401] == 1
    assert server.stats.auth_failures == 1


# -- BUTT and libshout, byte for byte ---------------------------------------------


async def test_butt_put_with_expect_and_no_length(server: IngestServer, handler: Handler) -> None:
    # What butt's src/icecast.cpp sends (PUT first, Expect: 100-continue, no length).
    head = (
        "PUT /live HTTP/1.1\r\n"
        f"Authorization: Basic {AUTH}\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "User-Agent: butt 0.1.40\r\n"
        "Content-Type: audio/mpeg\r\n"
        "ice-name: Morning Show\r\n"
        "ice-public: 0\r\n"
        "ice-url: https://example.org\r\n"
        "ice-genre: talk\r\n"
        "ice-description: live from the studio\r\n"
        "ice-audio-info: ice-bitrate=128;ice-channels=2;ice-samplerate=44100\r\n"
        "Expect: 100-continue\r\n"
        "\r\n"
    )
    reader, writer = await connect(server)
    writer.write(head.encode())
    answer = await asyncio.wait_for(reader.readuntil(b"HTTP/1.0 200 OK\r\n\r\n"), WAIT)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n")
    # butt reads one answer and parses the code after the first space
    assert answer.split(b" ")[1] == b"100"

    audio = bytes(range(256)) * 1000
    writer.write(audio)
    await writer.drain()
    writer.close()

    [session] = handler.sessions
    await asyncio.wait_for(session.finished.wait(), WAIT)
    assert bytes(session.data) == audio
    assert session.reasons == ["encoder disconnected"]
    assert session.request.headers["ice-name"] == "Morning Show"
    assert session.request.headers["ice-audio-info"].startswith("ice-bitrate=128")


async def test_butt_metadata_update_without_reading_the_answer(
    server: IngestServer, handler: Handler
) -> None:
    # butt's ic_update_song: HTTP/1.0, charset, RFC 3986 escapes; closes at once.
    _, writer = await connect(server)
    writer.write(
        (
            "GET /admin/metadata?mode=updinfo&mount=/live&charset=UTF-8"
            "&song=Caf%C3%A9%20Tacvba%20-%20Eres HTTP/1.0\r\n"
            "User-Agent: butt 0.1.40\r\n"
            f"Authorization: Basic {AUTH}\r\n"
            f"Host: 127.0.0.1:{server.port}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    writer.close()

    await asyncio.wait_for(handler.metadata_seen.wait(), WAIT)
    assert handler.metadata == [
        {"mount": "/live", "user": "user", "song": "Café Tacvba - Eres", "peer": "127.0.0.1"}
    ]


async def test_metadata_answer_is_icecasts_xml(server: IngestServer, handler: Handler) -> None:
    head, body = await ask(
        server,
        "GET /admin/metadata?mode=updinfo&mount=%2Flive&song=Caf%E9+au+lait&charset=ISO-8859-1"
        f" HTTP/1.1\r\nAuthorization: Basic {AUTH}\r\n\r\n",
    )
    assert head.startswith("HTTP/1.1 200 OK\r\n")
    assert body == (
        b'<?xml version="1.0"?>\n<iceresponse><message>Metadata update successful'
        b"</message><return>1</return></iceresponse>\n"
    )
    assert handler.metadata[0]["song"] == "Café au lait"
    assert server.stats.metadata_updates == 1


async def test_metadata_refusals(server: IngestServer, handler: Handler) -> None:
    head, _ = await ask(
        server, "GET /admin/metadata?mode=updinfo&mount=/live&song=x HTTP/1.0\r\n\r\n"
    )
    assert head.startswith("HTTP/1.1 401 ")
    assert 'WWW-Authenticate: Basic realm="Icecast2 Server"' in head

    head, body = await ask(
        server,
        f"GET /admin/metadata?mode=updinfo&mount=/other&song=x HTTP/1.0\r\n"
        f"Authorization: Basic {AUTH}\r\n\r\n",
    )
    assert head.startswith("HTTP/1.1 404 ")
    assert b"<message>no live mount /other</message><return>0</return>" in body
    assert handler.metadata == []


async def test_libshout_options_challenge_then_put(server: IngestServer, handler: Handler) -> None:
    # libshout (TLS auto) probes with OPTIONS *, reading the caps from Allow
    head, _ = await ask(
        server,
        f"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUser-Agent: libshout/2.4.6\r\n"
        "Connection: Upgrade\r\nUpgrade: TLS/1.0, HTTP/1.1\r\n\r\n",
    )
    assert head.startswith("HTTP/1.1 204 No Content\r\n")
    assert "Allow: GET, PUT, OPTIONS, SOURCE\r\n" in head
    assert "Connection: Close\r\n" in head  # libshout reconnects rather than reuse

    # then the challenge: the source request without credentials
    head, _ = await ask(
        server,
        f"PUT /live HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUser-Agent: libshout/2.4.6\r\n"
        "Content-Type: audio/ogg\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n"
        "ice-public: 0\r\n\r\n",
    )
    assert head.startswith("HTTP/1.1 401 ")
    assert 'WWW-Authenticate: Basic realm="Icecast2 Server"\r\n' in head

    # then the real one
    reader, writer = await connect(server)
    writer.write(
        (
            f"PUT /live HTTP/1.1\r\nAuthorization: Basic {AUTH}\r\n"
            f"Host: 127.0.0.1:{server.port}\r\nUser-Agent: libshout/2.4.6\r\n"
            "Content-Type: audio/ogg\r\nExpect: 100-continue\r\nice-public: 0\r\n"
            "ice-name: Late Show\r\nice-audio-info: channels=2;samplerate=48000\r\n\r\n"
        ).encode()
    )
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n")
    writer.write(b"OggS" + b"\x00" * 5000)
    writer.close()

    [session] = handler.sessions
    await asyncio.wait_for(session.finished.wait(), WAIT)
    assert len(session.data) == 5004
    assert server.stats.auth_failures == 0  # the challenge is not a failure
    assert server.stats.refusals[401] == 1


async def test_chunked_put_is_dechunked(server: IngestServer, handler: Handler) -> None:
    reader, writer = await connect(server)
    writer.write(
        (
            f"PUT /live HTTP/1.1\r\nAuthorization: Basic {AUTH}\r\nContent-Type: audio/ogg\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
    )
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert answer.startswith(b"HTTP/1.0 200 OK")
    writer.write(b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n")
    await writer.drain()

    [session] = handler.sessions
    await asyncio.wait_for(session.finished.wait(), WAIT)
    assert bytes(session.data) == b"hello world!"
    assert session.reasons == ["encoder disconnected"]
    await closed(reader)
    writer.close()


async def test_legacy_ice_password_header_is_accepted(
    server: IngestServer, handler: Handler
) -> None:
    reader, writer = await connect(server)
    writer.write(
        b"SOURCE /live ICE/1.0\r\nice-username: user\r\nice-password: pass\r\n"
        b"content-type: audio/mpeg\r\n\r\n"
    )
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert answer == b"HTTP/1.0 200 OK\r\n\r\n"
    writer.write(b"\xff\xfb" * 10)
    writer.close()
    [session] = handler.sessions
    await asyncio.wait_for(session.finished.wait(), WAIT)
    assert session.request.user == "user"
    assert len(session.data) == 20


# -- refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "status", "reason"),
    [
        (put(auth=WRONG), 401, "wrong user name or password"),
        (put(auth=None), 401, "You need to authenticate"),
        (put(mount="/elsewhere"), 404, "no live mount /elsewhere"),
        (put(ctype=None), 403, "No Content-type given"),
        (put(ctype="text/plain"), 403, "Content-type not supported"),
        (put(mount="/li%00ve"), 400, "Bad mountpoint"),
        (put(mount="/a/../b"), 400, "Bad mountpoint"),
        (put(mount="/%ff%fe"), 400, "Bad mountpoint"),
        ("GET /live HTTP/1.1\r\n\r\n", 404, "The file you requested could not be found"),
        ("DELETE /live HTTP/1.1\r\n\r\n", 405, "unknown request"),
        ("HELLO\r\n\r\n", 400, "Bad request line"),
        (
            f"PUT /live HTTP/1.1\r\nAuthorization: Basic {AUTH}\r\nContent-Type: audio/mpeg\r\n"
            "Transfer-Encoding: gzip\r\n\r\n",
            501,
            "Unimplemented",
        ),
    ],
)
async def test_refusal_is_answered_with_icecasts_status(
    server: IngestServer,
    handler: Handler,
    caplog: pytest.LogCaptureFixture,
    head: str,
    status: int,
    reason: str,
) -> None:
    caplog.set_level(logging.INFO, logger="radio.live.ingest")
    answer, body = await ask(server, head)
    assert answer.split("\r\n")[0].split(" ")[1] == str(status)
    assert "Connection: Close" in answer
    assert reason in body.decode()
    assert handler.sessions == []
    assert server.stats.refusals == {status: 1}
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1
    assert refused[0].levelno == logging.INFO
    assert refused[0].exc_info is None


async def test_handler_refusal_status_and_reason(server: IngestServer, handler: Handler) -> None:
    handler.refuse = LiveRefused(403, "outside your slot (Late Show starts 22:00)")
    answer, body = await ask(server, put())
    assert answer.startswith("HTTP/1.1 403 Forbidden\r\n")
    assert "100 Continue" not in answer
    assert body == b"403 - outside your slot (Late Show starts 22:00)\r\n"


async def test_oversize_header_is_refused_with_431(server: IngestServer) -> None:
    head = "PUT /live HTTP/1.1\r\n" + "".join(f"X-Pad-{i}: {'a' * 100}\r\n" for i in range(100))
    answer, _ = await ask(server, head + "\r\n")
    assert answer.startswith("HTTP/1.1 431 ")

    answer, _ = await ask(server, "PUT /live HTTP/1.1\r\n" + "X: y\r\n" * 150 + "\r\n")
    assert answer.startswith("HTTP/1.1 431 ")

    # one endless line, never a newline
    answer, _ = await ask(server, "PUT /" + "a" * 70000)
    assert answer.startswith("HTTP/1.1 431 ")
    assert server.stats.refusals[431] == 3


@pytest.mark.parametrize("limits", [IngestLimits(header_timeout=0.2)])
async def test_a_header_that_never_completes_is_closed(server: IngestServer) -> None:
    reader, writer = await connect(server)
    writer.write(b"PUT /live HTTP/1.1\r\nContent-Type: audio/mpeg\r\n")
    await writer.drain()
    await closed(reader)  # the server closed it: the header timed out
    writer.close()
    assert server.stats.timeouts == 1


@pytest.mark.parametrize("limits", [IngestLimits(idle_timeout=0.2)])
async def test_an_idle_body_ends_the_session(server: IngestServer, handler: Handler) -> None:
    reader, writer = await connect(server)
    writer.write(put().encode() + b"some audio")
    await asyncio.wait_for(handler.opened.wait(), WAIT)
    [session] = handler.sessions
    await asyncio.wait_for(session.finished.wait(), WAIT)
    assert session.reasons == ["idle timeout"]
    assert bytes(session.data) == b"some audio"
    await closed(reader)
    writer.close()


async def test_the_station_ending_the_session_closes_the_connection(
    server: IngestServer, handler: Handler
) -> None:
    handler.end_after = 0  # the first write is refused: a DJ took over
    reader, writer = await connect(server)
    writer.write(put().encode())
    await asyncio.wait_for(reader.readuntil(b"HTTP/1.0 200 OK\r\n\r\n"), WAIT)
    writer.write(b"a" * 100)
    await writer.drain()
    await asyncio.wait_for(handler.opened.wait(), WAIT)
    [session] = handler.sessions
    await asyncio.wait_for(session.finished.wait(), WAIT)
    assert session.reasons == ["ended by the station (a DJ took over)"]
    await closed(reader)
    writer.close()


async def test_close_ends_open_sessions(server: IngestServer, handler: Handler) -> None:
    reader, writer = await connect(server)
    writer.write(put().encode())
    await asyncio.wait_for(reader.readuntil(b"HTTP/1.0 200 OK\r\n\r\n"), WAIT)
    await server.close()
    [session] = handler.sessions
    assert session.reasons == ["server closing"]
    await closed(reader)
    writer.close()
    assert server.stats.open == 0


@pytest.mark.parametrize(
    "limits", [IngestLimits(auth_failures=2, auth_window=60.0, throttle_delay=0.001)]
)
async def test_repeated_wrong_passwords_are_throttled_per_address(
    server: IngestServer, clock: FakeClock
) -> None:
    for _ in range(4):
        answer, _ = await ask(server, put(auth=WRONG))
        assert answer.startswith("HTTP/1.1 401 ")
    assert server.stats.auth_failures == 4
    assert server.stats.throttled == 2  # the 3rd and 4th attempts waited
    assert server.recent_auth_failures("127.0.0.1") == 4

    await ask(server, put(auth=None))  # no credentials: a challenge, not an attempt
    assert server.stats.throttled == 2

    clock.now += 61.0  # the window has passed
    answer, _ = await ask(server, put(auth=WRONG))
    assert server.stats.throttled == 2
    assert server.recent_auth_failures("127.0.0.1") == 1


# -- behind a trusted proxy ----------------------------------------------------------


@pytest.fixture
async def proxied(
    handler: Handler, clock: FakeClock, limits: IngestLimits
) -> AsyncIterator[IngestServer]:
    """A server that trusts 127.0.0.1 (the tests' side of the socket) as its proxy."""
    proxies = TrustedProxies([ipaddress.ip_network("127.0.0.1/32")])
    server = IngestServer(
        handler, host="127.0.0.1", port=0, limits=limits, monotonic=clock,
        trusted_proxies=proxies,
    )  # fmt: skip
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def proxy_line(client: str) -> str:
    return f"PROXY TCP4 {client} 127.0.0.1 51234 8005\r\n"


async def test_a_trusted_proxy_line_names_each_presenter(
    proxied: IngestServer, handler: Handler
) -> None:
    # Presenter A, behind the proxy, tries wrong passwords: A is slowed down, not B.
    for _ in range(4):
        answer, _ = await ask(proxied, proxy_line("203.0.113.7") + put(auth=WRONG))
        assert answer.startswith("HTTP/1.1 401 ")
    assert proxied.recent_auth_failures("203.0.113.7") == 4
    assert proxied.recent_auth_failures("127.0.0.1") == 0
    throttled = proxied.stats.throttled
    _, writer = await connect(proxied)
    try:
        writer.write((proxy_line("198.51.100.9") + put()).encode())
        await writer.drain()
        await asyncio.wait_for(handler.opened.wait(), WAIT)
    finally:
        writer.close()
    assert proxied.stats.throttled == throttled  # B did not wait for A's mistakes
    assert [s.request.peer for s in handler.sessions] == ["198.51.100.9"]


async def test_a_trusted_proxy_may_omit_the_line_or_forward_the_address(
    proxied: IngestServer, handler: Handler
) -> None:
    answer, _ = await ask(proxied, put(auth=WRONG))  # no PROXY line: the proxy's own
    assert answer.startswith("HTTP/1.1 401 ")
    assert proxied.recent_auth_failures("127.0.0.1") == 1
    head = put(auth=WRONG).replace("\r\n\r\n", "\r\nX-Forwarded-For: 1.2.3.4, 203.0.113.7\r\n\r\n")
    answer, _ = await ask(proxied, head)
    assert answer.startswith("HTTP/1.1 401 ")
    # the rightmost address the proxy appended, not what the client claimed
    assert proxied.recent_auth_failures("203.0.113.7") == 1
    assert proxied.recent_auth_failures("1.2.3.4") == 0


async def test_a_malformed_proxy_line_from_the_proxy_is_a_bad_request(
    proxied: IngestServer, handler: Handler
) -> None:
    answer, _ = await ask(proxied, "PROXY TCP4 example.org 127.0.0.1 1 2\r\n" + put())
    assert answer.startswith("HTTP/1.1 400 ")
    assert handler.sessions == []


async def test_nobody_else_may_name_an_address(server: IngestServer, handler: Handler) -> None:
    # The plain server trusts no proxy: a PROXY line is a bad request line...
    answer, _ = await ask(server, proxy_line("198.51.100.9") + put())
    assert answer.startswith("HTTP/1.1 400 ")
    assert handler.sessions == []
    # ... and X-Forwarded-For is ignored: the failure counts against the real peer.
    head = put(auth=WRONG).replace("\r\n\r\n", "\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n")
    answer, _ = await ask(server, head)
    assert answer.startswith("HTTP/1.1 401 ")
    assert server.recent_auth_failures("127.0.0.1") == 1
    assert server.recent_auth_failures("203.0.113.7") == 0


async def test_a_connection_closed_before_a_request_from_the_proxy_is_dropped(
    proxied: IngestServer, handler: Handler
) -> None:
    _, writer = await connect(proxied)
    writer.close()
    await wait.until(
        lambda: proxied.stats.connections == 1 and proxied.stats.open == 0, timeout=WAIT
    )
    assert handler.sessions == [] and proxied.stats.timeouts == 0
