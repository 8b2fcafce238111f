"""The stream relay against real HTTP servers on 127.0.0.1 and real FFmpeg-made MP3.

Each network test serves a stream from an aiohttp web server (or, to control the
wire exactly, a raw asyncio server) on a free port; the relay reads it through a
real aiohttp session. Waits are on conditions (an event, the relay's own stall
timeout), never on the wall clock.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web
from support.http import http_server

from radio.errors import LiveRefused, SourceError
from radio.live.relay import (
    MAX_METAINT,
    IcyDeframer,
    IcyMetadata,
    StreamRelay,
    icy_title,
    validate_url,
)

METAINT = 8192
TITLES = ("Sine at 440 Hz", "Radio's second title")


@pytest.fixture(scope="module")
def mp3() -> bytes:
    """Three seconds of a 440 Hz sine, encoded to MP3 by real FFmpeg (about 48 KB:
    five metadata intervals)."""
    done = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=3",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            "-f",
            "mp3",
            "pipe:",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert len(done.stdout) > 4 * METAINT
    return done.stdout


def icy_block(text: str, *, encoding: str = "utf-8") -> bytes:
    """One metadata block with its length byte, NUL-padded to 16 bytes as servers do."""
    raw = text.encode(encoding)
    units = -(-len(raw) // 16)
    assert units <= 255
    return bytes([units]) + raw.ljust(units * 16, b"\x00")


def interleave(audio: bytes, metaint: int, block_for: Callable[[int], bytes]) -> bytes:
    """``audio`` with ``block_for(i)`` after its i-th run of ``metaint`` bytes."""
    out = bytearray()
    for index, start in enumerate(range(0, len(audio), metaint)):
        run = audio[start : start + metaint]
        out += run
        if len(run) == metaint:
            out += block_for(index)
    return bytes(out)


def two_titles(count: int) -> Callable[[int], bytes]:
    """The first title on the first block, repeated, then empty blocks, then the
    second title from the middle on (servers repeat the current title)."""

    def block(index: int) -> bytes:
        if index == 0:
            return icy_block(f"StreamTitle='{TITLES[0]}';StreamUrl='http://example.org/';")
        if index < count // 2:
            return icy_block(f"StreamTitle='{TITLES[0]}';") if index % 2 else b"\x00"
        return icy_block(f"StreamTitle='{TITLES[1]}';")

    return block


class Collector:
    """What a relay handed on: the audio bytes and the titles in order."""

    def __init__(self) -> None:
        self.audio = bytearray()
        self.titles: list[str] = []
        self.got_bytes = asyncio.Event()

    async def on_audio(self, data: bytes) -> None:
        assert data
        self.audio += data
        self.got_bytes.set()

    def on_title(self, title: str) -> None:
        self.titles.append(title)


async def write_in_pieces(response: web.StreamResponse, body: bytes, piece: int = 1000) -> None:
    """Send ``body`` in odd-sized writes so chunk boundaries fall inside blocks."""
    for start in range(0, len(body), piece):
        await response.write(body[start : start + piece])


@asynccontextmanager
async def raw_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    """A bare TCP server on 127.0.0.1, to write exactly the bytes a test wants."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def stream_app(mp3: bytes) -> Iterator[tuple[web.Application, SimpleNamespace]]:
    """The streams the tests relay, and what they saw of the requests."""
    state = SimpleNamespace(icy_requested=[], release=asyncio.Event(), half=len(mp3) // 2, hits=0)
    count = -(-len(mp3) // METAINT)
    body = interleave(mp3, METAINT, two_titles(count))

    async def icy(request: web.Request) -> web.StreamResponse:
        state.icy_requested.append(request.headers.get("Icy-MetaData"))
        response = web.StreamResponse(
            headers={"Content-Type": "audio/mpeg; charset=utf-8", "icy-metaint": str(METAINT)}
        )
        await response.prepare(request)
        await write_in_pieces(response, body)
        await response.write_eof()
        return response

    async def plain(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/ogg"})
        await response.prepare(request)
        await write_in_pieces(response, mp3, 4093)
        await response.write_eof()
        return response

    async def stall(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        await response.prepare(request)
        await response.write(mp3[: state.half])
        await state.release.wait()  # keeps the connection open, sending nothing
        return response

    async def simple(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        state.hits += 1
        if kind == "missing":
            return web.Response(status=404, text="no such mount")
        if kind == "html":
            return web.Response(text="<html>hello</html>", content_type="text/html")
        if kind == "playlist":
            return web.Response(text="http://x/\n", content_type="audio/x-mpegurl")
        if kind == "octets":
            return web.Response(body=b"\x00" * 10, content_type="application/octet-stream")
        if kind == "to-file":
            raise web.HTTPFound("file:///etc/passwd")
        if kind == "to-icy":
            raise web.HTTPFound("/icy")
        if kind.startswith("loop"):
            raise web.HTTPFound(f"/s/loop{int(kind[4:] or 0) + 1}")
        if kind == "huge-metaint":
            return web.Response(
                body=b"\x00", content_type="audio/mpeg", headers={"icy-metaint": "99999999"}
            )
        if kind == "bad-metaint":
            return web.Response(
                body=b"\x00", content_type="audio/mpeg", headers={"icy-metaint": "-5"}
            )
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/icy", icy)
    app.router.add_get("/plain", plain)
    app.router.add_get("/stall", stall)
    app.router.add_get("/s/{kind}", simple)
    yield app, state
    state.release.set()


# --- URL checks -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "/etc/passwd",
        "etc/passwd",
        "concat:a|b",
        "pipe:0",
        "ftp://x",
        "ftp://example.org/stream.mp3",
        "data:audio/mpeg;base64,AAAA",
        "subfile,,start,0,end,0,,:/etc/passwd",
        "",
        "http://",
        "http:///etc/passwd",
        "https://:8000/live",
        "http://example.org:99999/live",
        "http://example.org:0/live",
        "http://exa mple.org/live",
        "http://user:pa\nss@example.org/live",
        "http://example.org/live\r\nX-Injected: 1",
        "http://example.org/\x00",
        "http://example.org/" + "a" * 2000,
    ],
)
def test_validate_url_refuses_everything_but_http(url: str) -> None:
    with pytest.raises(LiveRefused) as refused:
        validate_url(url)
    assert refused.value.status == 400
    assert refused.value.reason


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/live",
        "HTTPS://Example.org:8443/live.ogg?x=1",
        "http://user:secret@127.0.0.1:8000/mount",
        "http://[::1]:8000/stream",
        "https://example.org/" + "a" * 1900,
    ],
)
def test_validate_url_accepts_http_and_https(url: str) -> None:
    assert validate_url(url) == url


def test_refusal_reasons_are_clear() -> None:
    with pytest.raises(LiveRefused, match=r"only http:// and https://.*not file:"):
        validate_url("file:///etc/passwd")
    with pytest.raises(LiveRefused, match=r"not a path"):
        validate_url("/etc/passwd")
    with pytest.raises(LiveRefused, match=r"longer than 2000"):
        validate_url("http://x/" + "a" * 2000)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "/etc/passwd", "concat:a|b", "ftp://x"])
async def test_relay_refuses_bad_urls_without_network_activity(url: str) -> None:
    started: list[object] = []

    async def on_request_start(*args: object) -> None:
        started.append(args)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    trace.on_connection_create_start.append(on_request_start)
    trace.on_dns_resolvehost_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as client:
        with pytest.raises(LiveRefused) as refused:
            relay = StreamRelay(url, session=client)
            await relay.open()
    assert refused.value.status == 400
    assert started == []


# --- ICY framing ------------------------------------------------------------------


def sample_icy() -> tuple[bytes, bytes, list[bytes]]:
    """A small stream (metaint 16): its body, its audio and its non-empty blocks."""
    audio = bytes(range(256)) * 2  # 512 bytes: 32 runs of 16
    texts = [
        "StreamTitle='One';",
        "",
        "StreamTitle='Two';StreamUrl='http://example.org/';",
        "",
        "",
        "StreamTitle='Tw' + 'o';",
    ]
    blocks: list[bytes] = []

    def block_for(index: int) -> bytes:
        text = texts[index % len(texts)]
        if not text:
            return b"\x00"
        framed = icy_block(text)
        blocks.append(framed[1:])
        return framed

    return interleave(audio, 16, block_for), audio, blocks


def collect(parts: list[bytes | IcyMetadata]) -> tuple[bytes, list[bytes]]:
    audio = b"".join(part for part in parts if isinstance(part, bytes))
    blocks = [part.block for part in parts if isinstance(part, IcyMetadata)]
    return audio, blocks


def test_deframer_one_chunk() -> None:
    body, audio, blocks = sample_icy()
    assert collect(IcyDeframer(16).feed(body)) == (audio, blocks)


def test_deframer_every_two_and_three_way_split() -> None:
    body, audio, blocks = sample_icy()
    size = len(body)
    for first in range(size + 1):
        deframer = IcyDeframer(16)
        parts = deframer.feed(body[:first]) + deframer.feed(body[first:])
        assert collect(parts) == (audio, blocks), f"split at {first}"
    # Three pieces: every first cut, the second cut at every 29th byte after it.
    for first in range(size + 1):
        for second in range(first, size + 1, 29):
            deframer = IcyDeframer(16)
            parts = (
                deframer.feed(body[:first])
                + deframer.feed(body[first:second])
                + deframer.feed(body[second:])
            )
            assert collect(parts) == (audio, blocks), f"split at {first}, {second}"


def test_deframer_every_chunk_size() -> None:
    body, audio, blocks = sample_icy()
    for piece in range(1, len(body) + 1):
        deframer = IcyDeframer(16)
        parts = [
            part
            for start in range(0, len(body), piece)
            for part in deframer.feed(body[start : start + piece])
        ]
        assert collect(parts) == (audio, blocks), f"pieces of {piece}"


def test_deframer_byte_by_byte_keeps_order() -> None:
    body, audio, blocks = sample_icy()
    deframer = IcyDeframer(16)
    parts = [part for index in range(len(body)) for part in deframer.feed(body[index : index + 1])]
    assert collect(parts) == (audio, blocks)
    # The first block comes after exactly 16 audio bytes.
    first_meta = next(i for i, part in enumerate(parts) if isinstance(part, IcyMetadata))
    assert sum(len(p) for p in parts[:first_meta] if isinstance(p, bytes)) == 16


def test_deframer_without_metaint_passes_everything() -> None:
    deframer = IcyDeframer(None)
    assert deframer.feed(b"abc") == [b"abc"]
    assert deframer.feed(b"") == []


@pytest.mark.parametrize("metaint", [0, -1, MAX_METAINT + 1])
def test_deframer_bounds_metaint(metaint: int) -> None:
    with pytest.raises(ValueError):
        IcyDeframer(metaint)


def test_deframer_largest_block() -> None:
    deframer = IcyDeframer(4)
    block = b"x" * (255 * 16)
    parts = deframer.feed(b"abcd" + b"\xff" + block + b"efgh")
    assert parts == [b"abcd", IcyMetadata(block), b"efgh"]


@pytest.mark.parametrize(
    ("block", "title"),
    [
        (b"StreamTitle='Artist - Song';", "Artist - Song"),
        (b"StreamTitle='Artist - Song';StreamUrl='http://x/';\x00\x00\x00", "Artist - Song"),
        (b"StreamTitle='Don't Stop Me Now';StreamUrl='';", "Don't Stop Me Now"),
        (b"StreamTitle='Rock';n roll';StreamUrl='';", "Rock';n roll"),
        (b"StreamTitle='It's';", "It's"),
        (b"StreamTitle='';", ""),
        ("StreamTitle='Café Zoë';".encode(), "Café Zoë"),
        ("StreamTitle='Café Zoë';".encode("latin-1"), "Café Zoë"),
        (b"StreamTitle='Line\r\nbreak';", "Line break"),
        (b"StreamTitle='Cut short", "Cut short"),
        (b"StreamUrl='http://x/';StreamTitle='Second';", "Second"),
        (b"StreamUrl='http://x/';", None),
        (b"", None),
        (b"\x00" * 16, None),
        (b"XStreamTitle='no';", None),
    ],
)
def test_icy_title(block: bytes, title: str | None) -> None:
    assert icy_title(block) == title


# --- Streams over HTTP --------------------------------------------------------------


async def test_relays_icy_stream_exactly(
    session: aiohttp.ClientSession,
    stream_app: tuple[web.Application, SimpleNamespace],
    mp3: bytes,
) -> None:
    app, state = stream_app
    async with http_server(app) as base:
        relay = StreamRelay(f"{base}/icy", session=session)
        assert await relay.open() == "audio/mpeg"
        got = Collector()
        reason = await relay.run(got.on_audio, got.on_title)
        await relay.close()
    assert reason == "the stream ended"
    assert state.icy_requested == ["1"]
    assert bytes(got.audio) == mp3
    assert got.titles == list(TITLES)
    assert relay.title == TITLES[1]
    assert relay.audio_bytes == len(mp3)
    assert relay.bytes_in > len(mp3)


async def test_relays_stream_without_metadata_and_maps_ogg(
    session: aiohttp.ClientSession,
    stream_app: tuple[web.Application, SimpleNamespace],
    mp3: bytes,
) -> None:
    app, _ = stream_app
    async with http_server(app) as base:
        relay = StreamRelay(f"{base}/plain", session=session)
        assert await relay.open() == "audio/ogg"
        got = Collector()
        assert await relay.run(got.on_audio, got.on_title) == "the stream ended"
        await relay.close()
    assert bytes(got.audio) == mp3
    assert got.titles == []
    assert relay.bytes_in == relay.audio_bytes == len(mp3)


async def test_follows_a_checked_redirect(
    session: aiohttp.ClientSession,
    stream_app: tuple[web.Application, SimpleNamespace],
    mp3: bytes,
) -> None:
    app, _ = stream_app
    async with http_server(app) as base:
        relay = StreamRelay(f"{base}/s/to-icy", session=session)
        assert await relay.open() == "audio/mpeg"
        got = Collector()
        await relay.run(got.on_audio, got.on_title)
        await relay.close()
    assert bytes(got.audio) == mp3


async def test_stall_raises_source_error(
    session: aiohttp.ClientSession,
    stream_app: tuple[web.Application, SimpleNamespace],
    mp3: bytes,
) -> None:
    app, state = stream_app
    async with http_server(app) as base:
        relay = StreamRelay(f"{base}/stall", session=session, stall_timeout=0.5)
        await relay.open()
        got = Collector()
        with pytest.raises(SourceError, match="stalled"):
            await relay.run(got.on_audio, got.on_title)
        await relay.close()
        state.release.set()
    assert bytes(got.audio) == mp3[: state.half]


async def test_close_ends_a_waiting_run(
    session: aiohttp.ClientSession,
    stream_app: tuple[web.Application, SimpleNamespace],
) -> None:
    app, state = stream_app
    async with http_server(app) as base:
        relay = StreamRelay(f"{base}/stall", session=session, stall_timeout=60)
        await relay.open()
        got = Collector()
        running = asyncio.create_task(relay.run(got.on_audio, got.on_title))
        await asyncio.wait_for(got.got_bytes.wait(), 10)
        await relay.close()
        assert await asyncio.wait_for(running, 10) == "the relay was closed"
        state.release.set()


async def test_server_closing_mid_stream_ends_the_run(
    session: aiohttp.ClientSession, mp3: bytes
) -> None:
    half = len(mp3) // 2

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n" + mp3[:half])
        await writer.drain()
        writer.close()

    async with raw_server(handler) as base:
        relay = StreamRelay(f"{base}/live", session=session)
        await relay.open()
        got = Collector()
        assert await relay.run(got.on_audio, got.on_title) == "the stream ended"
        await relay.close()
    assert bytes(got.audio) == mp3[:half]


async def test_server_cutting_a_chunked_stream_ends_the_run(
    session: aiohttp.ClientSession, mp3: bytes
) -> None:
    piece = mp3[:5000]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(piece):x}\r\n".encode()
            + piece
            + b"\r\n"
        )
        await writer.drain()
        writer.close()

    async with raw_server(handler) as base:
        relay = StreamRelay(f"{base}/live", session=session)
        await relay.open()
        got = Collector()
        assert await relay.run(got.on_audio, got.on_title) == "the server cut the connection"
        await relay.close()
    assert bytes(got.audio) == piece


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("missing", 502, "the stream answered 404"),
        ("html", 415, "web page"),
        ("playlist", 415, "playlist"),
        ("octets", 415, "does not send audio"),
        ("to-file", 400, "redirects to an address we do not follow"),
        ("loop", 502, "redirects more than 5 times"),
        ("huge-metaint", 502, "icy-metaint"),
        ("bad-metaint", 502, "icy-metaint"),
    ],
)
async def test_refusals(
    session: aiohttp.ClientSession,
    stream_app: tuple[web.Application, SimpleNamespace],
    kind: str,
    status: int,
    reason: str,
) -> None:
    app, state = stream_app
    async with http_server(app) as base:
        relay = StreamRelay(f"{base}/s/{kind}", session=session)
        with pytest.raises(LiveRefused) as refused:
            await relay.open()
        await relay.close()
    assert refused.value.status == status
    assert reason in refused.value.reason
    if kind == "loop":
        assert state.hits == 6  # the first request and five redirects, no more


async def test_connection_refused(session: aiohttp.ClientSession) -> None:
    # A bound but not listening socket holds the port and refuses connections.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        relay = StreamRelay(f"http://127.0.0.1:{port}/live", session=session)
        with pytest.raises(LiveRefused) as refused:
            await relay.open()
    assert refused.value.status == 502
    assert "connection refused" in refused.value.reason


async def test_server_that_never_answers_times_out(session: aiohttp.ClientSession) -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await release.wait()
        writer.close()

    async with raw_server(handler) as base:
        relay = StreamRelay(f"{base}/live", session=session, connect_timeout=0.5)
        try:
            with pytest.raises(LiveRefused) as refused:
                await relay.open()
        finally:
            release.set()
    assert refused.value.status == 502
    assert "timed out connecting" in refused.value.reason


async def test_run_before_open_is_a_mistake(session: aiohttp.ClientSession) -> None:
    relay = StreamRelay("http://127.0.0.1:9/live", session=session)
    got = Collector()
    with pytest.raises(RuntimeError):
        await relay.run(got.on_audio, got.on_title)
