"""The live desk end to end below Discord, with real parts.

A real :class:`~radio.live.ingest.IngestServer` on 127.0.0.1 hands encoders to a
real :class:`~radio.live.desk.LiveDesk` over a real
:class:`~radio.live.source.LiveSource`, with the presenters' credentials and the
session log in a real SQLite file. Real FFmpeg is the presenter's encoder (its
``icecast://`` protocol); raw sockets send what an encoder must not; a real
aiohttp server is the relayed stream.

The live source is read the way the station reads it: a puller thread reads one
frame every 20 ms, on air or not (it is the system's real-time consumer). Every
assertion is on orders, counts, pitches and events; waits are on conditions.
Where a test needs something to happen *within the grace* (a reconnect, the next
presenter), the puller holds between two reads while the encoder connects: the
live source counts its grace in frames read, so the encoder's start-up time is
not a race against it.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import itertools
import os
import random
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web
from support.http import http_server

from radio.audio.frames import FRAME_BYTES, SAMPLE_RATE, SAMPLES_PER_FRAME, frames_for
from radio.bot.audio import music_encoder
from radio.clock import ManualClock
from radio.errors import LiveRefused
from radio.events import Event, LiveEnded, LiveProblem, LiveStarted, LiveTitle
from radio.grid.live_slot import LiveSlot
from radio.live.contracts import Credentials, Presenter
from radio.live.desk import DeskOptions, LiveDesk
from radio.live.ingest import IngestLimits, IngestServer
from radio.live.policy import MemberInfo
from radio.live.source import LiveInput, LiveRules, LiveSource
from radio.outputs.tap import RecordingTap
from radio.sandbox.analysis import mono, peak_frequency, rms
from radio.store.db import Database
from radio.store.live_sessions import LiveSession, LiveSessions
from radio.store.presenters import PresenterCredentials, ScryptParams

WAIT = 30.0  # generous: a condition that holds arrives long before this
RULES = LiveRules(fade=0.1, grace=0.5, prebuffer=0.06, max_latency=1.0)
GRACE_FRAMES = frames_for(RULES.grace)
PREBUFFER_FRAMES = max(1, frames_for(RULES.prebuffer))
FAST_SCRYPT = ScryptParams(n=16, r=1, p=1)

ALICE, BOB, DJ, CAROL, DAVE = 1, 2, 3, 4, 5
MEMBERS = {
    ALICE: MemberInfo("Alice", frozenset(), privileged=False),
    BOB: MemberInfo("Bob", frozenset(), privileged=False),
    DJ: MemberInfo("DJ", frozenset(), privileged=True),
    DAVE: MemberInfo("Dave", frozenset(), privileged=False),  # a member, listed nowhere
}  # CAROL has encoder credentials but has left the server
NAMES = {ALICE: "Alice", BOB: "Bob", DJ: "DJ", CAROL: "Carol", DAVE: "Dave"}
SHOW = LiveSlot(
    show_id="morning",
    title="Morning Show",
    presenters=frozenset({ALICE, BOB}),
    allowed=True,
    record=False,
)
DJ_PRESENTER = Presenter(DJ, "DJ", privileged=True)


# -- the station's consumer ------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Read:
    """One frame as the station read it."""

    ready: bool  # the live source's readiness just before the read
    on_air: str | None  # who held the air just after it (None: off air)
    took: bool  # the frame was the input's audio (not the grace's silence)
    frame: bytes


class Puller:
    """Reads the live source every 20 ms like the station's player thread, and
    feeds each frame's Opus packet to ``tap`` right after reading it.

    :meth:`hold_when` makes it stop between two reads once a read matches, until
    :meth:`release`.
    """

    def __init__(self, live: LiveSource, tap: RecordingTap | None = None) -> None:
        self.live = live
        self.tap = tap
        self.reads: list[Read] = []
        self.held = threading.Event()
        self._resume = threading.Event()
        self._stop = threading.Event()
        self._hold: Callable[[Read], bool] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="puller", daemon=True)
        self._thread.start()

    def hold_when(self, predicate: Callable[[Read], bool]) -> None:
        with self._lock:
            self._resume.clear()
            self._hold = predicate

    def release(self) -> None:
        with self._lock:
            self._hold = None
            self.held.clear()
            self._resume.set()

    def stop(self) -> None:
        self._stop.set()
        self._resume.set()
        self._thread.join(WAIT)
        assert not self._thread.is_alive()

    def snapshot(self) -> list[Read]:
        with self._lock:
            return list(self.reads)

    def _run(self) -> None:
        encoder = music_encoder() if self.tap is not None else None
        while not self._stop.is_set():
            ready = self.live.ready
            before = self.live.frames_in
            frame = self.live.read()
            holder = self.live.on_air
            if encoder is not None and self.tap is not None:
                self.tap.packet(encoder.encode(frame, SAMPLES_PER_FRAME))
            read = Read(
                ready, holder.presenter if holder else None, self.live.frames_in > before, frame
            )
            with self._lock:
                self.reads.append(read)
                hold = self._hold is not None and self._hold(read)
                if hold:
                    self._hold = None
                    self.held.set()
            if hold:
                self._resume.wait()
            time.sleep(0.02)


# -- the rig -----------------------------------------------------------------------


class Monotonic:
    """The desk's and the server's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Encoder:
    """A real FFmpeg encoder sending a sine to the ingest."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def done(self) -> tuple[int, str]:
        _, err = await asyncio.wait_for(self.process.communicate(), WAIT)
        assert self.process.returncode is not None
        return self.process.returncode, err.decode(errors="replace")

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.communicate()


@dataclasses.dataclass
class Rig:
    desk: LiveDesk
    server: IngestServer
    live: LiveSource
    puller: Puller
    sessions: LiveSessions
    logins: dict[int, Credentials]
    monotonic: Monotonic
    slots: list[LiveSlot]
    members: dict[int, MemberInfo]
    events: list[Event]
    encoders: list[Encoder] = dataclasses.field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    async def encode(
        self, who: int, freq: int, seconds: float, *extra: str, password: str | None = None
    ) -> Encoder:
        login = self.logins[who]
        url = f"icecast://{login.user}:{password or login.password}@127.0.0.1:{self.port}/live"
        process = await asyncio.create_subprocess_exec(
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}",
            "-c:a", "libmp3lame", "-b:a", "128k", *extra,
            "-content_type", "audio/mpeg", "-f", "mp3", url,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        encoder = Encoder(process)
        self.encoders.append(encoder)
        return encoder

    def story(self) -> list[Event]:
        """The events so far, positions zeroed (whole-object comparisons); problems
        keep their detail only up to the first ": "."""
        out: list[Event] = []
        for event in list(self.events):
            if isinstance(event, LiveProblem):
                event = dataclasses.replace(event, detail=event.detail.split(": ")[0])
            out.append(dataclasses.replace(event, frame=0))
        return out

    def of(self, kind: type[Event]) -> list[Event]:
        return [event for event in list(self.events) if isinstance(event, kind)]

    def idle(self) -> bool:
        """Nothing on air, nothing attached, nothing about to go on air."""
        return self.live.current is None and self.live.on_air is None and not self.live.ready


async def until(condition: Callable[[], object], what: str = "the condition") -> None:
    """Wait until ``condition()`` is true (polled), failing after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def ffmpeg_children() -> list[int]:
    """FFmpeg processes whose parent is this test process (zombies included)."""
    pids: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == os.getpid() and name == "ffmpeg":
            pids.append(int(entry.name))
    return pids


@asynccontextmanager
async def open_rig(
    tmp_path: Path,
    *,
    slot: LiveSlot = SHOW,
    options: DeskOptions | None = None,
    record: bool = False,
) -> AsyncIterator[Rig]:
    db = Database(tmp_path / "station.sqlite")
    credentials = PresenterCredentials(db, params=FAST_SCRYPT)
    sessions = LiveSessions(db)
    logins = {uid: credentials.rotate(uid, name) for uid, name in NAMES.items()}
    events: list[Event] = []
    live = LiveSource(RULES, events=events.append)
    tap = RecordingTap(on_air=lambda: live.on_air is not None) if record else None
    monotonic = Monotonic()
    slots = [slot]
    members = dict(MEMBERS)

    async def member(user_id: int) -> MemberInfo | None:
        return members.get(user_id)

    desk = LiveDesk(
        live,
        credentials=credentials,
        sessions=sessions,
        clock=ManualClock(datetime(2025, 3, 14, 9, 0, tzinfo=UTC)),
        monotonic=monotonic,
        slots=lambda now: list(slots),
        members=member,
        events=events.append,
        options=options or DeskOptions(grace=RULES.grace, relay_stall_timeout=1.0),
        recordings=tap,
    )
    limits = IngestLimits(throttle_delay=0.001, linger=0.2)
    server = IngestServer(
        desk,
        host="127.0.0.1",
        port=0,
        limits=limits,
        monotonic=monotonic,
        on_refused=desk.mount_refused,
    )
    puller = Puller(live, tap)
    desk.start()
    await server.start()
    rig = Rig(desk, server, live, puller, sessions, logins, monotonic, slots, members, events)
    try:
        yield rig
    finally:
        await server.close()
        await desk.close()
        for encoder in rig.encoders:
            await encoder.kill()
        await until(lambda: not ffmpeg_children(), "every FFmpeg to be gone")
        puller.stop()
        db.close()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path) as rig:
        yield rig


# -- what was heard ------------------------------------------------------------------


def pitch(frame: bytes) -> float | None:
    """The frame's dominant frequency (about 3 Hz resolution), None when silent."""
    signal = mono(np.frombuffer(frame, dtype="<i2").reshape(-1, 2))
    if rms(signal) < 0.01:
        return None
    points = 1 << 14
    spectrum = np.abs(np.fft.rfft((signal - signal.mean()) * np.hanning(signal.size), n=points))
    return float(np.argmax(spectrum)) * SAMPLE_RATE / points


def melody(reads: list[Read]) -> list[int]:
    """The tones heard, in order (to the nearest 10 Hz), repeats merged; silence skipped."""
    tones = [round(p / 10) * 10 for r in reads if (p := pitch(r.frame)) is not None]
    return [tone for tone, _ in itertools.groupby(tones)]


def dominant(reads: list[Read]) -> float:
    """The dominant frequency of everything heard on air."""
    audio = b"".join(r.frame for r in reads if r.on_air is not None)
    return peak_frequency(mono(np.frombuffer(audio, dtype="<i2").reshape(-1, 2)))


def on_air_span(reads: list[Read]) -> list[Read]:
    """From the first read on air to the read that let go, inclusive."""
    first = next(i for i, r in enumerate(reads) if r.on_air is not None)
    last = max(i for i, r in enumerate(reads) if r.on_air is not None)
    return reads[first : last + 2]


# -- raw clients -------------------------------------------------------------------


def basic(login: Credentials, password: str | None = None) -> str:
    raw = f"{login.user}:{password if password is not None else login.password}"
    return base64.b64encode(raw.encode()).decode()


def put_head(auth: str, *, mount: str = "/live", ctype: str = "audio/mpeg") -> str:
    return (
        f"PUT {mount} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: {ctype}\r\nExpect: 100-continue\r\n\r\n"
    )


async def ask(port: int, head: str) -> tuple[int, str]:
    """Send one request head; return the answer's status and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode())
        await writer.drain()
        answer = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)).decode()
        length = 0
        for line in answer.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = await asyncio.wait_for(reader.readexactly(length), WAIT)
    finally:
        writer.close()
    return int(answer.split(" ")[1]), body.decode()


def session_of(rig: Rig, index: int = 0) -> LiveSession:
    """The ``index``-th session logged (oldest first)."""
    return list(reversed(rig.sessions.recent(50)))[index]


# -- 1. a presenter goes live ---------------------------------------------------------


async def test_a_listed_presenter_goes_live_and_the_grace_ends_it(rig: Rig) -> None:
    encoder = await rig.encode(ALICE, 880, 2, "-ice_name", "Alice in the morning")
    code, err = await encoder.done()
    assert code == 0, err
    await until(lambda: rig.of(LiveEnded), "LiveEnded")

    assert rig.story() == [
        LiveTitle(0, "Alice", "Alice in the morning"),
        LiveStarted(0, "Alice", "encoder", "morning"),
        LiveEnded(0, "Alice", "ended"),
    ]
    reads = rig.puller.snapshot()
    assert melody(reads) == [880]
    assert abs(dominant(reads) - 880) < 2
    span = on_air_span(reads)
    assert all(r.ready for r in span[:-1])
    # after the last frame of her audio, the grace's silence, then the programme's turn
    last_audio = max(i for i, r in enumerate(span) if r.took)
    grace = span[last_audio + 1 :]
    assert [r.on_air for r in grace] == ["Alice"] * (GRACE_FRAMES - 1) + [None]
    assert all(pitch(r.frame) is None for r in grace)

    await until(lambda: session_of(rig).ended_at is not None, "the session's end in the store")
    session = session_of(rig)
    assert (session.presenter_id, session.presenter_name) == (ALICE, "Alice")
    assert (session.show_id, session.via, session.source) == ("morning", "encoder", "/live")
    assert session.end_reason == "encoder disconnected"
    assert session.bytes_in > 0
    assert rig.desk.status() is None


# -- 2. refusals -------------------------------------------------------------------


def not_listed(rig: Rig) -> None:
    rig.slots[:] = [dataclasses.replace(SHOW, presenters=frozenset({BOB}))]


def not_allowed(rig: Rig) -> None:
    rig.slots[:] = [dataclasses.replace(SHOW, allowed=False)]


def nothing(rig: Rig) -> None:
    pass


REFUSALS = [
    # (case, who, setup, password, mount, status, reason, problem)
    ("wrong password", ALICE, nothing, "wrong", "/live", 401, "Authentication failed", True),
    ("unknown mount", ALICE, nothing, None, "/other", 404, "Mountpoint '/other' not found", False),
    ("not a member", CAROL, nothing, None, "/live", 403, "not a member", True),
    ("not listed", DAVE, nothing, None, "/live", 403, "Only the presenters of", True),
    ("not listed in the show on air", ALICE, not_listed, None, "/live", 403, "Only the", True),
    ("live not allowed", ALICE, not_allowed, None, "/live", 403, "is not a live show", True),
]


@pytest.mark.parametrize(
    ("who", "setup", "password", "mount", "status", "reason", "problem"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
async def test_refusals_answer_icecasts_status_and_change_nothing(
    rig: Rig,
    who: int,
    setup: Callable[[Rig], None],
    password: str | None,
    mount: str,
    status: int,
    reason: str,
    problem: bool,
) -> None:
    setup(rig)
    answer = await ask(rig.port, put_head(basic(rig.logins[who], password), mount=mount))

    assert answer[0] == status
    assert reason in answer[1]
    assert rig.idle()
    assert rig.sessions.recent() == []
    user = rig.logins[who].user
    detail = f"connection refused ({status})"
    assert rig.story() == ([LiveProblem(0, user, detail)] if problem else [])
    if problem:
        [event] = rig.of(LiveProblem)
        assert isinstance(event, LiveProblem) and reason in event.detail
    assert rig.server.stats.refusals[status] == 1
    assert not any(r.on_air or r.ready for r in rig.puller.snapshot())


async def test_an_unsupported_content_type_is_refused_by_the_mount_and_told(rig: Rig) -> None:
    # The server refuses a type it does not decode before asking the desk; the
    # presenter gave credentials, so the programmers hear of it (their encoder is set
    # up wrong), and nothing changes on air.
    answer = await ask(rig.port, put_head(basic(rig.logins[ALICE]), ctype="audio/x-wav"))

    assert answer == (403, "403 - Content-type not supported\r\n")
    assert rig.idle()
    assert rig.sessions.recent() == []
    [event] = rig.of(LiveProblem)
    assert isinstance(event, LiveProblem)
    assert event.who == rig.logins[ALICE].user
    assert "Content-type not supported: 'audio/x-wav'" in event.detail
    assert rig.desk.refusals == 1


async def test_ffmpeg_with_a_wrong_password_is_told_401(rig: Rig) -> None:
    code, err = await (await rig.encode(ALICE, 880, 1, password="wrong")).done()
    assert code != 0
    assert "401" in err
    assert rig.idle()
    assert rig.story() == [LiveProblem(0, "alice", "connection refused (401)")]


async def test_a_second_presenter_is_refused_while_the_first_is_connected(rig: Rig) -> None:
    alice = await rig.encode(ALICE, 880, 30)
    await until(lambda: rig.of(LiveStarted), "Alice on air")
    holder = rig.live.on_air

    status, body = await ask(rig.port, put_head(basic(rig.logins[BOB])))
    code, err = await (await rig.encode(BOB, 440, 1)).done()

    assert (status, body.split(":")[0]) == (403, "403 - Mountpoint in use")
    assert code != 0 and "403" in err
    assert rig.live.on_air is holder and rig.live.current is holder
    assert alice.process.returncode is None  # still sending
    assert rig.story() == [
        LiveStarted(0, "Alice", "encoder", "morning"),
        LiveProblem(0, "bob", "connection refused (403)"),
        LiveProblem(0, "bob", "connection refused (403)"),
    ]
    assert all("Mountpoint in use" in e.detail for e in rig.of(LiveProblem))  # type: ignore[attr-defined]
    assert [s.presenter_name for s in rig.sessions.recent()] == ["Alice"]
    status_now = rig.desk.status()
    assert status_now is not None and status_now.presenter == "Alice" and status_now.on_air


# -- 3, 4. hand-overs within the grace -------------------------------------------------


async def attached(rig: Rig, presenter: str, previous: LiveInput | None) -> LiveInput:
    """Wait until a new input of ``presenter`` is attached with its prebuffer."""

    def ready() -> bool:
        current = rig.live.current
        return (
            current is not None
            and current is not previous
            and current.presenter == presenter
            and current.buffer.frames >= PREBUFFER_FRAMES
        )

    await until(ready, f"{presenter}'s new input with its prebuffer")
    current = rig.live.current
    assert current is not None
    return current


async def test_the_next_presenter_takes_over_within_the_grace(rig: Rig) -> None:
    alice = await rig.encode(ALICE, 880, 2)
    await until(lambda: rig.live.current is not None, "Alice's input")
    first = rig.live.current
    assert first is not None
    # hold at the first grace frame after the end of Alice's audio
    rig.puller.hold_when(lambda r: first.buffer.exhausted and r.on_air == "Alice" and not r.took)
    code, err = await alice.done()
    assert code == 0, err
    await until(rig.puller.held.is_set, "the grace to begin")

    bob = await rig.encode(BOB, 440, 2)
    await attached(rig, "Bob", first)
    rig.puller.release()
    code, err = await bob.done()
    assert code == 0, err
    await until(lambda: rig.of(LiveEnded), "LiveEnded")

    assert rig.story() == [
        LiveStarted(0, "Alice", "encoder", "morning"),
        LiveStarted(0, "Bob", "encoder", "morning"),
        LiveEnded(0, "Bob", "ended"),
    ]
    span = on_air_span(rig.puller.snapshot())
    assert melody(span) == [880, 440]
    assert all(r.ready for r in span[:-1])  # the live source never let go in between
    assert [who for who, _ in itertools.groupby(r.on_air for r in span)] == ["Alice", "Bob", None]
    await until(lambda: len(rig.sessions.recent()) == 2 and session_of(rig, 1).ended_at)
    assert [s.end_reason for s in reversed(rig.sessions.recent())] == [
        "encoder disconnected",
        "encoder disconnected",
    ]


async def test_the_same_presenter_reconnecting_replaces_their_session(rig: Rig) -> None:
    first_encoder = await rig.encode(ALICE, 880, 30)
    await until(lambda: rig.of(LiveStarted), "Alice on air")
    first = rig.live.current
    rig.puller.hold_when(lambda r: True)
    await until(rig.puller.held.is_set, "the puller to hold")

    second_encoder = await rig.encode(ALICE, 660, 2)
    await attached(rig, "Alice", first)
    rig.puller.release()
    code, _ = await first_encoder.done()  # the station closed the old connection
    assert code != 0
    code, err = await second_encoder.done()
    assert code == 0, err
    await until(lambda: rig.of(LiveEnded), "LiveEnded")

    assert rig.story() == [
        LiveStarted(0, "Alice", "encoder", "morning"),
        LiveStarted(0, "Alice", "encoder", "morning"),
        LiveEnded(0, "Alice", "ended"),
    ]
    assert melody(on_air_span(rig.puller.snapshot())) == [880, 660]
    await until(lambda: session_of(rig, 1).ended_at, "the second session's end")
    assert [s.end_reason for s in reversed(rig.sessions.recent())] == [
        "replaced by a new connection",
        "encoder disconnected",
    ]


# -- 5. /live stop ---------------------------------------------------------------


async def test_a_dj_stops_a_session_at_once_and_keeps_the_presenter_out(rig: Rig) -> None:
    encoder = await rig.encode(ALICE, 880, 30)
    await until(lambda: rig.of(LiveStarted), "Alice on air")
    with pytest.raises(LiveRefused) as refused:
        await rig.desk.stop(Presenter(BOB, "Bob"))
    assert refused.value.status == 403

    reply = await rig.desk.stop(DJ_PRESENTER)
    assert reply == "Live stopped (Alice); the programme is back."
    await until(lambda: rig.of(LiveEnded), "LiveEnded")
    assert rig.story() == [
        LiveStarted(0, "Alice", "encoder", "morning"),
        LiveEnded(0, "Alice", "stopped"),  # not "ended": no grace
    ]
    code, _ = await encoder.done()
    assert code != 0  # the station closed its connection
    assert session_of(rig).end_reason == "stopped by DJ"
    assert rig.idle()

    # her encoder's automatic reconnect is refused until /live start
    status, body = await ask(rig.port, put_head(basic(rig.logins[ALICE])))
    assert status == 403 and "stopped by DJ" in body and "/live start" in body
    assert rig.idle()
    assert rig.story()[-1] == LiveProblem(0, "alice", "connection refused (403)")

    answer = await rig.desk.connection(Presenter(ALICE, "Alice"))
    assert "You may go live now (Morning Show)." in answer
    code, err = await (await rig.encode(ALICE, 880, 1)).done()
    assert code == 0, err
    await until(lambda: len(rig.of(LiveEnded)) == 2, "the second LiveEnded")
    assert rig.story()[-2:] == [
        LiveStarted(0, "Alice", "encoder", "morning"),
        LiveEnded(0, "Alice", "ended"),
    ]


# -- 6. garbage ------------------------------------------------------------------


async def test_garbage_is_ended_for_want_of_audio_and_never_goes_on_air(rig: Rig) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
    writer.write(put_head(basic(rig.logins[ALICE])).encode())
    await writer.drain()
    answer = await asyncio.wait_for(reader.readuntil(b"HTTP/1.0 200 OK\r\n\r\n"), WAIT)
    assert answer.startswith(b"HTTP/1.1 100 Continue")
    noise = random.Random(7)
    closed = asyncio.ensure_future(reader.read())  # b"" (or a reset) once the server closes

    async def send() -> None:
        while not closed.done():
            writer.write(noise.randbytes(4096))
            await writer.drain()
            await asyncio.sleep(0.01)

    sender = asyncio.ensure_future(send())
    try:
        await until(lambda: (s := rig.desk.status()) is not None and s.bytes_in > 0, "bytes in")
        rig.monotonic.now += max(RULES.grace, 5.0) + 1.0
        await asyncio.wait_for(asyncio.wait({closed}), WAIT)  # the server hung up
    finally:
        sender.cancel()
        writer.close()
    error = closed.exception()
    assert isinstance(error, ConnectionError) if error else closed.result() == b""
    await until(lambda: session_of(rig).ended_at, "the session's end")

    reason = session_of(rig).end_reason
    assert reason is not None and reason.startswith("no audio could be decoded from")
    [problem] = rig.of(LiveProblem)
    assert isinstance(problem, LiveProblem) and problem.detail == reason
    assert not rig.of(LiveStarted)
    assert rig.idle()
    assert not any(r.on_air or r.ready or r.took for r in rig.puller.snapshot())


# -- 7. relays -------------------------------------------------------------------

METAINT = 4096
ICY_TITLE = "Partner FM - Morning Relay"


def sine_mp3(hz: int, seconds: int, bitrate: str) -> bytes:
    """``seconds`` of a ``hz`` sine as MP3 at ``bitrate``, by real FFmpeg."""
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
         "-i", f"sine=frequency={hz}:duration={seconds}", "-c:a", "libmp3lame",
         "-b:a", bitrate, "-f", "mp3", "pipe:"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout


@pytest.fixture(scope="module")
def mp3() -> bytes:
    """Three seconds of an 880 Hz sine as MP3."""
    return sine_mp3(880, 3, "128k")


def with_icy(audio: bytes, title: str) -> bytes:
    raw = f"StreamTitle='{title}';".encode()
    units = -(-len(raw) // 16)
    block = bytes([units]) + raw.ljust(units * 16, b"\x00")
    out = bytearray()
    for start in range(0, len(audio), METAINT):
        run = audio[start : start + METAINT]
        out += run
        if len(run) == METAINT:
            out += block
    return bytes(out)


@pytest.fixture
async def streams(mp3: bytes) -> AsyncIterator[str]:
    """/tone: the MP3 with ICY titles, paced a little faster than real time;
    /stall: its first half, then nothing while the connection stays open."""
    release = asyncio.Event()
    body = with_icy(mp3, ICY_TITLE)

    async def tone(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "audio/mpeg", "icy-metaint": str(METAINT)}
        )
        await response.prepare(request)
        for start in range(0, len(body), 2000):
            await response.write(body[start : start + 2000])
            await asyncio.sleep(0.1)  # the remote station's own pace
        await response.write_eof()
        return response

    async def stall(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        await response.prepare(request)
        await response.write(mp3[: len(mp3) // 2])
        await release.wait()
        return response

    app = web.Application()
    app.router.add_get("/tone", tone)
    app.router.add_get("/stall", stall)
    async with http_server(app) as base:
        try:
            yield base
        finally:
            release.set()


async def test_a_relay_goes_on_air_with_its_icy_title(rig: Rig, streams: str) -> None:
    url = f"{streams}/tone"
    reply = await rig.desk.start_relay(Presenter(ALICE, "Alice"), url)
    assert reply.startswith("Relaying 127.0.0.1 for Alice")
    await until(lambda: rig.of(LiveEnded), "LiveEnded")

    assert rig.story() == [
        LiveTitle(0, "Alice", ICY_TITLE),
        LiveStarted(0, "Alice", "relay", "morning"),
        LiveEnded(0, "Alice", "ended"),
    ] or rig.story() == [
        LiveStarted(0, "Alice", "relay", "morning"),
        LiveTitle(0, "Alice", ICY_TITLE),
        LiveEnded(0, "Alice", "ended"),
    ]
    reads = rig.puller.snapshot()
    assert melody(reads) == [880]
    assert abs(dominant(reads) - 880) < 2
    await until(lambda: session_of(rig).ended_at, "the session's end")
    session = session_of(rig)
    assert (session.via, session.source, session.end_reason) == ("relay", url, "the stream ended")
    assert session.bytes_in > 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "/etc/passwd"])
async def test_a_relay_of_a_file_is_refused(rig: Rig, url: str) -> None:
    with pytest.raises(LiveRefused) as refused:
        await rig.desk.start_relay(DJ_PRESENTER, url, force=True)
    assert refused.value.status == 400
    assert rig.idle()
    assert rig.sessions.recent() == []
    assert rig.story() == []


async def test_a_stalled_relay_ends_and_the_grace_follows(rig: Rig, streams: str) -> None:
    # The stall timeout is wall-clock time (1 s here) and the grace is counted in
    # frames read: the puller holds at the first grace frame until the desk has
    # ended the stalled session, as it does when the timeout is shorter than the
    # grace (with a longer one the source lets go first, reason "stalled").
    rig.puller.hold_when(lambda r: r.on_air == "Alice" and not r.took)
    await rig.desk.start_relay(Presenter(ALICE, "Alice"), f"{streams}/stall")
    await until(rig.puller.held.is_set, "the relayed audio to run out")
    await until(lambda: session_of(rig).ended_at, "the stall to end the session")
    rig.puller.release()
    await until(lambda: rig.of(LiveEnded), "LiveEnded")

    # Seen failing once (output lost): each assertion says what it saw.
    story = rig.story()
    # The grace ends "ended" when the session's decoder has played out and left
    # the source by then, "stalled" when it is still finishing (seen once on a
    # busy machine): either way the air is let go after exactly the grace.
    assert story in (
        [
            LiveStarted(0, "Alice", "relay", "morning"),
            LiveProblem(0, "Alice", f"relay of {streams}/stall"),
            LiveEnded(0, "Alice", reason),
        ]
        for reason in ("ended", "stalled")
    ), story
    [problem] = rig.of(LiveProblem)
    assert isinstance(problem, LiveProblem) and problem.detail.endswith(
        "the stream stalled: no data for 1 s"
    ), problem
    assert session_of(rig).end_reason == "the stream stalled: no data for 1 s"
    span = on_air_span(rig.puller.snapshot())
    took = "".join("a" if r.took else "." for r in span)  # audio or not, frame by frame
    last_audio = max(i for i, r in enumerate(span) if r.took)
    assert len(span) - last_audio - 1 == GRACE_FRAMES, took
    assert melody(span) == [880], (melody(span), took)


# -- 8. recording ------------------------------------------------------------------


async def test_a_recorded_show_is_recorded_frame_for_frame(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    options = DeskOptions(grace=RULES.grace, recordings=root)
    slot = dataclasses.replace(SHOW, record=True)
    async with open_rig(tmp_path, slot=slot, options=options, record=True) as rig:
        code, err = await (await rig.encode(ALICE, 880, 2)).done()
        assert code == 0, err
        await until(lambda: rig.of(LiveEnded), "LiveEnded")
        directory = root / "morning"
        await until(
            lambda: (
                [p for p in directory.iterdir() if p.suffix == ".opus"]
                and not [p for p in directory.iterdir() if p.suffix == ".recording"]
            ),
            "the finished recording",
        )
        on_air = sum(1 for r in rig.puller.snapshot() if r.on_air is not None)
        await until(lambda: session_of(rig).ended_at, "the session's end")
        logged = session_of(rig).recording

    [path] = directory.iterdir()
    assert path.name == "2025-03-14_0900_Alice.opus"
    assert logged == str(path)
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path),
         "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "2", "pipe:"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    pcm = done.stdout
    assert abs(len(pcm) / FRAME_BYTES - on_air) <= 2
    samples = mono(np.frombuffer(pcm, dtype="<i2").reshape(-1, 2))
    assert abs(peak_frequency(samples) - 880) < 2


# -- 9. metadata ------------------------------------------------------------------


def metadata_head(auth: str, song: str = "Artist%20-%20Title") -> str:
    return (
        f"GET /admin/metadata?mode=updinfo&mount=/live&song={song} HTTP/1.0\r\n"
        f"Authorization: Basic {auth}\r\nHost: 127.0.0.1\r\n\r\n"
    )


async def test_the_encoders_metadata_becomes_a_title(rig: Rig) -> None:
    await rig.encode(ALICE, 880, 30)
    await until(lambda: rig.of(LiveStarted), "Alice on air")

    status, body = await ask(rig.port, metadata_head(basic(rig.logins[ALICE], "wrong")))
    assert status == 401 and "Authentication failed" in body
    status, body = await ask(rig.port, metadata_head(basic(rig.logins[ALICE])))
    assert status == 200 and "Metadata update successful" in body

    assert rig.story() == [
        LiveStarted(0, "Alice", "encoder", "morning"),
        LiveTitle(0, "Alice", "Artist - Title"),
    ]
    status_now = rig.desk.status()
    assert status_now is not None and status_now.title == "Artist - Title"


# -- closing -------------------------------------------------------------------


@pytest.mark.parametrize("desk_first", [False, True], ids=["server first", "desk first"])
async def test_closing_leaves_no_ffmpeg_behind(tmp_path: Path, desk_first: bool) -> None:
    async with open_rig(tmp_path) as rig:
        encoder = await rig.encode(ALICE, 880, 30)
        await until(lambda: rig.of(LiveStarted), "Alice on air")
        if desk_first:
            await rig.desk.close()
        await rig.server.close()
        await rig.desk.close()
        code, _ = await encoder.done()
        assert code != 0  # its connection was closed under it
        await until(lambda: not ffmpeg_children(), "the decoder to be gone")
        await until(lambda: session_of(rig).ended_at, "the session's end")
        assert session_of(rig).end_reason == (
            "the station stopped" if desk_first else "server closing"
        )


@pytest.fixture(scope="module")
def long_mp3() -> bytes:
    """Fifteen seconds of a 660 Hz sine as MP3: more than a live buffer holds."""
    return sine_mp3(660, 15, "64k")


async def test_closing_while_the_station_no_longer_reads_leaves_no_ffmpeg(
    tmp_path: Path, long_mp3: bytes
) -> None:
    # The player stops first at shutdown: nobody reads the live source, so a burst
    # fills the session's buffer and its decoder backs up, blocked on its output.
    async with open_rig(tmp_path) as rig:
        rig.puller.hold_when(lambda r: True)
        await until(rig.puller.held.is_set, "the puller to hold")
        reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
        writer.write(put_head(basic(rig.logins[ALICE])).encode())
        await writer.drain()
        await asyncio.wait_for(reader.readuntil(b"HTTP/1.0 200 OK\r\n\r\n"), WAIT)
        writer.write(long_mp3)
        await until(
            lambda: (c := rig.live.current) is not None and c.buffer.frames >= 450,
            "the session's buffer to fill",
        )
        await asyncio.wait_for(rig.server.close(), WAIT)
        await asyncio.wait_for(rig.desk.close(), WAIT)
        writer.close()
        await until(lambda: not ffmpeg_children(), "the decoder to be gone")


async def burst(rig: Rig, who: int, audio: bytes) -> asyncio.StreamWriter:
    """Connect as ``who`` and send ``audio`` at once (no pacing); the connection stays open."""
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
    writer.write(put_head(basic(rig.logins[who])).encode())
    await writer.drain()
    await asyncio.wait_for(reader.readuntil(b"HTTP/1.0 200 OK\r\n\r\n"), WAIT)
    writer.write(audio)
    return writer


async def test_the_next_presenter_ends_a_drained_decoder_that_is_backed_up(
    tmp_path: Path, long_mp3: bytes
) -> None:
    # Alice's burst outgrows her buffer while the puller holds, then she hangs up:
    # when Bob takes over, her input is no longer read, so her decoder must go.
    async with open_rig(tmp_path) as rig:
        rig.puller.hold_when(lambda r: True)
        await until(rig.puller.held.is_set, "the puller to hold")
        alice = await burst(rig, ALICE, long_mp3)
        await until(
            lambda: (c := rig.live.current) is not None and c.buffer.frames >= 450,
            "Alice's buffer to fill",
        )
        alice.close()
        await until(lambda: session_of(rig).ended_at, "Alice's session to end")
        assert len(ffmpeg_children()) == 1  # her decoder, blocked on its output

        bob = await burst(rig, BOB, long_mp3[: len(long_mp3) // 4])
        await until(lambda: len(rig.sessions.recent()) == 2, "Bob's session")
        await until(lambda: len(ffmpeg_children()) == 1, "Alice's decoder to be gone")
        rig.puller.release()
        await until(lambda: rig.of(LiveStarted), "Bob on air")
        assert rig.story()[0] == LiveStarted(0, "Bob", "encoder", "morning")
        bob.close()
