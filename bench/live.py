"""Live takeover through the whole application: how soon a presenter is heard, how
the programme comes back, and what a live session costs.

The real :class:`radio.app.StationApp` and its bot run in this process against
the local Discord (:class:`radio.sandbox.Emulator`), whose listener decodes
every packet and stamps its arrival with the kernel's receive time. The
presenter's encoder is real FFmpeg (``ffmpeg -re … -c:a libmp3lame -b:a 128k
-f mp3 icecast://…``, a 1,500 Hz sine) connecting to the station's presenters'
mount. Nothing in radio/ is changed: the benchmark wraps, on the instances it
made, three public doors and notes the time at each:

* ``app.desk.open_source`` (the ingest server's handler): when the source was
  authorised (the call) and its session started (the return, FFmpeg spawned);
  the :class:`~radio.live.contracts.LiveIngest` it returns is wrapped too: the
  encoder's first bytes (first ``write``) and its disconnect (``finish``);
* the new session's ``PcmBuffer.append`` (``station.live.current.buffer``):
  the decoder's first PCM and the moment the 100 ms prebuffer was there;
* ``app.feed.next_packet`` (the sender thread's read of the station, just
  before it sends): which station frame was pulled when, so that a frame named
  by a ``LiveStarted``/``LiveEnded``/``TrackStarted`` event is found at the
  listener (the first packet whose kernel arrival stamp follows that read).

Per hand-over: connect → first audible packet (the presenter's tone at -6 dB
of its level or more), broken down; stop → programme back; silent packets at the
cut-in; the root's dead-air frames. Then 20 s of programme and 20 s of live for
the CPU: this process's threads (the emulator's UDP listener thread, which
decodes every packet, left out; the event loop, which also runs the emulator's
gateway and voice WebSocket, included), and the FFmpeg decoders (the live one
read from ``/proc/<pid>/stat`` while it runs; the presenter's encoder left out).

    .venv/bin/python -m bench.live [--runs 7] [--grace 5] [--fades 0 1] [--cpu-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import math
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench import machine
from bench.onair_cpu import live_children, process_cpu, snapshot, spent
from bench.onair_stats import tone_levels
from radio.app import AppOptions, StationApp
from radio.audio import synth
from radio.bot.client import RoomState
from radio.bot.config import DiscordConfig
from radio.clock import SystemClock
from radio.events import Event, LiveEnded, LiveStarted, TrackStarted
from radio.live.contracts import SourceRequest
from radio.sandbox import Emulator, point_discord_at
from radio.sandbox.presenter import encoder_args
from radio.sandbox.record import PacketRecord
from radio.store.presenters import PresenterCredentials

LIVE_HZ = 1500.0  # a whole number of cycles in 20 ms: tone_levels is exact
PROGRAMME_HZ = (440.0, 550.0, 660.0)
PASSWORD = "bench-secret"
FRAME_S = 0.020
PREBUFFER_FRAMES = 5  # LiveRules.prebuffer, 100 ms
SILENT_RMS = 0.001  # -60 dBFS: an Opus-coded silent frame decodes to about nothing


# -- pure analysis -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spread:
    """Minimum, median and maximum of one measure over the runs."""

    runs: int
    low: float
    median: float
    high: float


def spread(values: Sequence[float]) -> Spread:
    """Min, median, max of ``values``. Raises ValueError when empty."""
    if not values:
        raise ValueError("no values")
    return Spread(len(values), min(values), statistics.median(values), max(values))


def packet_after(arrivals: Sequence[float], instant: float) -> int | None:
    """Index of the first arrival at or after ``instant`` (arrivals ascending), or None.

    The sender reads frame F, then sends it: on one host the packet of F is the
    first to arrive after that read (the one before it arrived before the read)."""
    index = bisect.bisect_left(arrivals, instant)
    return index if index < len(arrivals) else None


def frames_of(sends: Sequence[tuple[int, float]], arrivals: Sequence[float]) -> list[int | None]:
    """The station frame each arrival carries: that of the latest read (frame,
    instant) at or before it; None for an arrival before the first read. Both
    sequences ascending in time."""
    instants = [instant for _, instant in sends]
    out: list[int | None] = []
    for arrival in arrivals:
        index = bisect.bisect_right(instants, arrival) - 1
        out.append(sends[index][0] if index >= 0 else None)
    return out


def classify(pcm: bytes | None, live_level: float) -> str:
    """``silent`` (below -60 dBFS RMS, or not decoded), ``live`` (the presenter's
    tone at half of ``live_level`` or more: -6 dB), ``programme`` (audio with the
    presenter's tone below a tenth of it, -20 dB) or ``mixed`` (a fade)."""
    if pcm is None:
        return "silent"
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32_768.0
    if samples.size == 0 or math.sqrt(float(np.mean(samples * samples))) < SILENT_RMS:
        return "silent"
    level = tone_levels(pcm, [LIVE_HZ])[LIVE_HZ]
    if level >= live_level / 2:
        return "live"
    if level < live_level / 10:
        return "programme"
    return "mixed"


@dataclass(frozen=True, slots=True)
class HandOvers:
    """What the listener heard around one live session, in packets."""

    first_live: int  # index of the first packet with the presenter's tone at -6 dB
    last_live: int  # index of the last one
    silent_at_cut_in: int  # silent packets between the last programme packet and first_live
    quiet_after: int  # packets between last_live and the next programme packet
    silent_after: int  # of which silent (the rest: the encoder's fading tail)


def hand_overs(kinds: Sequence[str]) -> HandOvers:
    """Find the session in a run of packet kinds (see :func:`classify`): programme,
    then live, then the programme again. Raises ValueError when one part is missing."""
    live = [i for i, kind in enumerate(kinds) if kind == "live"]
    if not live:
        raise ValueError("the presenter was never heard")
    first, last = live[0], live[-1]
    before = [i for i in range(first) if kinds[i] == "programme"]
    if not before:
        raise ValueError("no programme before the presenter")
    after = next((i for i in range(last + 1, len(kinds)) if kinds[i] == "programme"), None)
    if after is None:
        raise ValueError("the programme did not come back")
    return HandOvers(
        first_live=first,
        last_live=last,
        silent_at_cut_in=sum(1 for k in kinds[before[-1] + 1 : first] if k == "silent"),
        quiet_after=after - last - 1,
        silent_after=sum(1 for k in kinds[last + 1 : after] if k == "silent"),
    )


# -- the application, wrapped ------------------------------------------------------


@dataclass
class Session:
    """Instants (time.monotonic) of one encoder's session, noted by the wrappers."""

    called: float = math.nan  # open_source called: the request is read, auth starts
    opened: float = math.nan  # open_source returned: authorised, FFmpeg spawned
    first_bytes: float = math.nan  # first write of the encoder's body
    first_pcm: float = math.nan  # the decoder's first PCM in the buffer
    prebuffered: float = math.nan  # 100 ms of PCM buffered
    finished: float = math.nan  # the encoder's disconnect reached the desk
    writes: int = 0  # chunks of the encoder's body handed to the desk
    decoder_pid: int | None = None
    decoder_cpu: float = 0.0  # the decoder's CPU seconds, last read before it exited


class _Ingest:
    """The desk's LiveIngest, passed through with the first write and finish noted."""

    def __init__(self, inner: Any, session: Session) -> None:
        self._inner = inner
        self._session = session

    async def write(self, data: bytes) -> None:
        if math.isnan(self._session.first_bytes):
            self._session.first_bytes = time.monotonic()
        self._session.writes += 1
        await self._inner.write(data)

    async def finish(self, reason: str) -> None:
        self._session.finished = time.monotonic()
        await self._inner.finish(reason)


class Probe:
    """The wrappers on one StationApp, and what they noted."""

    def __init__(self, app: StationApp) -> None:
        self.app = app
        self.sessions: list[Session] = []
        self.sends: list[tuple[int, float, float]] = []  # (frame, read begins, read done)
        self.events: list[tuple[float, Event]] = []
        app.events.subscribe(lambda event: self.events.append((time.monotonic(), event)))
        feed = app.feed
        next_packet = feed.next_packet

        def timed_next_packet() -> bytes | None:
            frame = feed.position
            begun = time.monotonic()
            packet = next_packet()
            self.sends.append((frame, begun, time.monotonic()))
            return packet

        setattr(feed, "next_packet", timed_next_packet)  # noqa: B010 (an instance's method)
        open_source = app.desk.open_source

        async def timed_open_source(request: SourceRequest) -> Any:
            session = Session(called=time.monotonic())
            inner = await open_source(request)
            session.opened = time.monotonic()
            self.sessions.append(session)
            self._watch_buffer(session)
            session.decoder_pid = decoder_pid()
            if session.decoder_pid is not None:
                threading.Thread(
                    target=poll_decoder, args=(session,), name="bench-decoder-poll", daemon=True
                ).start()
            return _Ingest(inner, session)

        setattr(app.desk, "open_source", timed_open_source)  # noqa: B010

    def _watch_buffer(self, session: Session) -> None:
        live_input = self.app.onair.station.live.current
        assert live_input is not None, "open_source attached no input"
        buffer = live_input.buffer
        append = buffer.append

        def timed_append(pcm: bytes, timeout: float | None = None) -> bool:
            kept = append(pcm, timeout)
            now = time.monotonic()
            if math.isnan(session.first_pcm):
                session.first_pcm = now
            if math.isnan(session.prebuffered) and buffer.frames >= PREBUFFER_FRAMES:
                session.prebuffered = now
            return kept

        setattr(buffer, "append", timed_append)  # noqa: B010

    def of(self, kind: type[Event]) -> list[tuple[float, Event]]:
        return [(at, e) for at, e in list(self.events) if isinstance(e, kind)]

    def read_of(self, frame: int) -> tuple[float, float] | None:
        """(read begins, read done) of station ``frame`` by the sender, or None."""
        for at, begun, done in reversed(self.sends):
            if at == frame:
                return begun, done
            if at < frame:
                return None
        return None


def poll_decoder(session: Session) -> None:
    """Read the live decoder's CPU time every 20 ms until it has exited (a thread of
    its own, left out of the station's CPU)."""
    pid = session.decoder_pid
    assert pid is not None
    while (seconds := process_cpu(pid)) is not None:
        session.decoder_cpu = seconds
        time.sleep(0.02)


def decoder_pid() -> int | None:
    """The live decoder: this process's FFmpeg child that reads ``pipe:0``."""
    for pid in live_children(os.getpid()):
        with contextlib.suppress(OSError):
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if args and args[0].endswith(b"ffmpeg") and b"pipe:0" in args:
                return pid
    return None


def make_station(root: Path, fade: float, grace: float, presenter: int) -> None:
    """A UTC station: 30 s tones (440, 550, 660 Hz) all day in a show ``presenter``
    may go live in (no recording), station.yaml's live fade and grace."""
    for index, hz in enumerate(PROGRAMME_HZ):
        path = root / "media" / f"t{index}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        synth.tone(path, hz, 30.0, level_dbfs=-18.0, title=f"Tone {index}")
    (root / "station.yaml").write_text(
        f"name: Bench FM\ntimezone: UTC\nfallback: music\nlive: {{fade: {fade}, grace: {grace}}}\n"
    )
    (root / "playlists").mkdir()
    (root / "playlists" / "music.yaml").write_text("sources: [media]\norder: sequential\n")
    (root / "schedules").mkdir()
    (root / "schedules" / "week.yaml").write_text(
        "shows:\n"
        "  - id: night\n"
        "    title: Night Live\n"
        "    days: [mon, tue, wed, thu, fri, sat, sun]\n"
        '    start: "00:00"\n'
        '    end: "00:00"\n'
        f"    presenters: [{presenter}]\n"
        "    live: {allowed: true, record: false}\n"
        "    rotation: [{playlist: music}]\n"
    )


def encoder(user: str, port: int, seconds: float) -> list[str]:
    """The presenter's encoder: ``seconds`` of 1,500 Hz as 128 kb/s MP3, in real time."""
    url = f"icecast://{user}:{PASSWORD}@127.0.0.1:{port}/live"
    return encoder_args(url, hz=LIVE_HZ, seconds=seconds)


async def until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll on the loop until ``predicate``; TimeoutError after ``timeout``."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


# -- one hand-over -----------------------------------------------------------------


@dataclass
class RunFigures:
    """One session's figures (milliseconds unless said)."""

    auth: float  # open_source: credentials (scrypt), membership, session start
    first_bytes: float  # session started → the encoder's first bytes
    decoded: float  # first bytes → first PCM (FFmpeg start-up and probing)
    prebuffer: float  # first PCM → 100 ms buffered
    on_air: float  # prebuffered → the sender reads the first live frame
    sent: float  # that read → done (pull + Opus encode), then the send
    arrived: float  # read done → the packet's kernel arrival stamp
    first_frame: float  # session started → the first live frame at the listener
    audible: float  # session started → first packet with the tone at -6 dB or more
    audible_after_bytes: float  # the encoder's first bytes → that packet
    silent_at_cut_in: int
    back: float  # encoder's disconnect → first programme packet at the listener
    drain: float  # encoder's disconnect → the last live packet at the listener
    gap: float  # the last live packet → the first programme packet
    back_frame_ok: bool  # the programme's first frame is LiveEnded.frame + 1
    silent_frames: int  # station frames between the last live one heard and the programme's
    quiet_after: int  # packets between the last live one and the programme's first
    silent_after: int
    dead_air: int  # the root's dead-air frames added during the run
    decoder_cpu: float  # the live decoder's CPU seconds over its life
    decoder_life: float  # seconds from its start to the encoder's disconnect


async def hand_over(
    probe: Probe, emulator: Emulator, user: str, port: int, seconds: float, grace: float
) -> RunFigures:
    """One encoder session over the programme; what the listener heard of it."""
    app = probe.app
    root = app.onair.root
    channel = emulator.world.voice_channel.id
    started_before = len(probe.of(LiveStarted))
    ended_before = len(probe.of(LiveEnded))
    dead_before = root.dead_air_frames
    emulator.record.clear()
    await asyncio.sleep(1.0)  # a second of programme heard first
    process = await asyncio.create_subprocess_exec(
        *encoder(user, port, seconds),
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await asyncio.wait_for(process.wait(), seconds + 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    await until(lambda: len(probe.of(LiveEnded)) > ended_before, grace + 30)
    _, ended = probe.of(LiveEnded)[ended_before]
    assert isinstance(ended, LiveEnded)
    await until(lambda: any(e.frame > ended.frame for _, e in probe.of(TrackStarted)))
    back_frame = min(e.frame for _, e in probe.of(TrackStarted) if e.frame > ended.frame)
    await asyncio.sleep(0.5)  # the programme's first packets arrive
    dead_air = root.dead_air_frames - dead_before
    packets: list[PacketRecord] = emulator.record.audio_packets(channel_id=channel)
    _, started = probe.of(LiveStarted)[started_before]
    assert isinstance(started, LiveStarted)
    session = probe.sessions[-1]

    arrivals = [p.arrival for p in packets]
    levels = [tone_levels(p.pcm, [LIVE_HZ])[LIVE_HZ] if p.pcm is not None else 0.0 for p in packets]
    level = float(np.percentile(levels, 90))  # the tone's steady level (most live packets)
    kinds = [classify(p.pcm, level) for p in packets]
    heard = hand_overs(kinds)
    first_read = probe.read_of(started.frame)
    back_read = probe.read_of(back_frame)
    assert first_read is not None and back_read is not None, "a frame the sender never read"
    first_index = packet_after(arrivals, first_read[1])
    back_index = packet_after(arrivals, back_read[1])
    assert first_index is not None and back_index is not None, "a frame never arrived"
    audible_index = heard.first_live
    sends = [(frame, done) for frame, _, done in probe.sends]
    last_live_frame = frames_of(sends, [arrivals[heard.last_live]])[0]
    assert last_live_frame is not None
    ms = 1000.0
    return RunFigures(
        auth=ms * (session.opened - session.called),
        first_bytes=ms * (session.first_bytes - session.opened),
        decoded=ms * (session.first_pcm - session.first_bytes),
        prebuffer=ms * (session.prebuffered - session.first_pcm),
        on_air=ms * (first_read[0] - session.prebuffered),
        sent=ms * (first_read[1] - first_read[0]),
        arrived=ms * (arrivals[first_index] - first_read[1]),
        first_frame=ms * (arrivals[first_index] - session.opened),
        audible=ms * (arrivals[audible_index] - session.opened),
        audible_after_bytes=ms * (arrivals[audible_index] - session.first_bytes),
        silent_at_cut_in=heard.silent_at_cut_in,
        back=ms * (arrivals[back_index] - session.finished),
        drain=ms * (arrivals[heard.last_live] - session.finished),
        gap=ms * (arrivals[back_index] - arrivals[heard.last_live]),
        back_frame_ok=back_frame == ended.frame + 1 and kinds[back_index] == "programme",
        silent_frames=back_frame - last_live_frame - 1,
        quiet_after=heard.quiet_after,
        silent_after=heard.silent_after,
        dead_air=dead_air,
        decoder_cpu=session.decoder_cpu,
        decoder_life=session.finished - session.opened,
    )


# -- CPU -------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuFigures:
    """One window's CPU in % of one core."""

    python: float  # this process, the emulator's UDP thread and the benchmark's poller left out
    threads: dict[str, float]  # of which, by thread (names without their numbers)
    decoders: float  # FFmpeg children (the live decoder or the programme's), not the encoder


NOT_THE_STATION = ("sandbox-voice-udp", "bench-decoder-poll")


def thread_group(name: str) -> str:
    """A thread's name without what numbers it (``asyncio_3`` → ``asyncio``)."""
    return name.split(" ", 1)[0].rstrip("0123456789_-:x") or name


def threads_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds of this process's live threads: native id → (name, seconds)."""
    out: dict[int, tuple[str, float]] = {}
    for thread in threading.enumerate():
        if thread.native_id is not None:
            seconds = process_cpu(thread.native_id, task_of=os.getpid())
            if seconds is not None:
                out[thread.native_id] = (thread.name, seconds)
    return out


def by_thread(
    start: dict[int, tuple[str, float]], end: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds per thread group between two readings (a thread born in between
    counts from zero; one that ended is missing)."""
    groups: dict[str, float] = {}
    for native, (name, seconds) in end.items():
        group = thread_group(name)
        groups[group] = groups.get(group, 0.0) + seconds - start.get(native, (name, 0.0))[1]
    return groups


async def cpu_window(seconds: float, exclude: frozenset[int]) -> CpuFigures:
    """CPU of the station over ``seconds`` from now."""
    start, threads = snapshot(exclude), threads_cpu()
    began = time.monotonic()
    await asyncio.sleep(seconds)
    end, threads_end = snapshot(exclude), threads_cpu()
    wall = time.monotonic() - began
    own, children = spent(start, end)
    groups = by_thread(threads, threads_end)
    other = sum(v for k, v in groups.items() if k.startswith(NOT_THE_STATION))
    pct = 100.0 / wall
    shares = {k: pct * v for k, v in groups.items() if not k.startswith(NOT_THE_STATION)}
    return CpuFigures(pct * (own - other), shares, pct * children)


async def cpu_phases(
    probe: Probe, user: str, port: int, seconds: float
) -> tuple[CpuFigures, CpuFigures, float]:
    """``seconds`` of programme, then ``seconds`` of a live session (from 2 s after it
    took the air); and the live decoder's % of a core over its whole life."""
    await asyncio.sleep(2.0)
    programme = await cpu_window(seconds, frozenset())
    started_before = len(probe.of(LiveStarted))
    ended_before = len(probe.of(LiveEnded))
    process = await asyncio.create_subprocess_exec(
        *encoder(user, port, seconds + 5.0),
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await until(lambda: len(probe.of(LiveStarted)) > started_before)
        await asyncio.sleep(2.0)
        live = await cpu_window(seconds, frozenset({process.pid}))
        await asyncio.wait_for(process.wait(), seconds + 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    await until(lambda: len(probe.of(LiveEnded)) > ended_before, 60)
    session = probe.sessions[-1]
    await asyncio.sleep(0.2)  # the poller's last reading
    life = session.finished - session.opened
    print(f"  the encoder's body came in {session.writes / life:.1f} chunks per second")
    return programme, live, 100.0 * session.decoder_cpu / life


# -- the whole run ---------------------------------------------------------------


@dataclass
class Results:
    fade: float
    runs: list[RunFigures] = field(default_factory=list)
    cpu: tuple[CpuFigures, CpuFigures, float] | None = None


async def station(
    fade: float, grace: float, runs: int, seconds: float, cpu_seconds: float
) -> Results:
    """Start the application with ``fade`` and ``grace``; ``runs`` hand-overs; the CPU."""
    results = Results(fade)
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        async with Emulator(clock=SystemClock(), monotonic=time.monotonic) as emulator:
            world = emulator.world
            alice = world.people["alice"]
            root = Path(tmp) / "station"
            make_station(root, fade, grace, alice.id)
            config = DiscordConfig.model_validate(
                {"guilds": [{"id": world.guild.id, "broadcast": world.voice_channel.id}]}
            )
            app = StationApp(
                root,
                Path(tmp) / "data",
                config,
                clock=SystemClock(),
                monotonic=time.monotonic,
                options=AppOptions(
                    web_port=0, live_port=0, bot_options={"guild_ready_timeout": 0.05}
                ),
            )
            user = PresenterCredentials(app.db).set_password(alice.id, "alice", PASSWORD).user
            probe = Probe(app)
            stop = asyncio.Event()
            addresses = emulator.addresses
            task = asyncio.create_task(
                app.run(
                    world.token, stop, before_start=lambda bot: point_discord_at(bot, addresses)
                )
            )
            try:
                await until(
                    lambda: (
                        task.done()
                        or (
                            app.bot.rooms[world.guild.id].state is RoomState.ON_AIR
                            and app.ingest is not None
                            and app.ingest.listening
                        )
                    )
                )
                if task.done():
                    task.result()
                assert app.ingest is not None
                port = app.ingest.port
                for number in range(runs):
                    figures = await hand_over(probe, emulator, user, port, seconds, grace)
                    results.runs.append(figures)
                    print(
                        f"  fade {fade:g} s, run {number + 1}: audible {figures.audible:.0f} ms,"
                        f" back {figures.back:.0f} ms, quiet {figures.quiet_after} packets,"
                        f" dead air {figures.dead_air}",
                        flush=True,
                    )
                if cpu_seconds > 0:
                    results.cpu = await cpu_phases(probe, user, port, cpu_seconds)
            finally:
                stop.set()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 15)
    return results


def row(name: str, values: Sequence[float], digits: int = 0) -> str:
    s = spread(values)
    return (
        f"| {name} | {s.runs} | {s.low:.{digits}f} | {s.median:.{digits}f} | {s.high:.{digits}f} |"
    )


def report(results: Results, grace: float) -> None:
    runs = results.runs
    header = "| measure | runs | min | median | max |\n| --- | ---: | ---: | ---: | ---: |"
    print(f"\nfade {results.fade:g} s, grace {grace:g} s")
    print(header)
    measures: list[tuple[str, Callable[[RunFigures], float]]] = [
        ("authorise (open_source) ms", lambda r: r.auth),
        ("session started → encoder's first bytes ms", lambda r: r.first_bytes),
        ("first bytes → first PCM (decoder start, probe) ms", lambda r: r.decoded),
        ("first PCM → 100 ms prebuffered ms", lambda r: r.prebuffer),
        ("prebuffered → the sender reads the first live frame ms", lambda r: r.on_air),
        ("read → encoded, sent ms", lambda r: r.sent),
        ("sent → arrived at the listener ms", lambda r: r.arrived),
        ("**session started → first live frame at the listener** ms", lambda r: r.first_frame),
        ("**session started → tone at -6 dB at the listener** ms", lambda r: r.audible),
        ("encoder's first bytes → tone at -6 dB ms", lambda r: r.audible_after_bytes),
        ("silent packets at the cut-in", lambda r: r.silent_at_cut_in),
        ("**encoder disconnect → first programme packet** ms", lambda r: r.back),
        ("  disconnect → last live packet (audio still buffered) ms", lambda r: r.drain),
        ("  last live packet → first programme packet ms", lambda r: r.gap),
        ("**frames between the last live frame and the programme's**", lambda r: r.silent_frames),
        ("packets between the last live one and the programme's", lambda r: r.quiet_after),
        ("  of which silent", lambda r: r.silent_after),
        ("dead-air frames (root)", lambda r: r.dead_air),
        ("live decoder FFmpeg, % of a core over its life", lambda r: cpu_share(r)),
        ("live decoder FFmpeg, CPU ms in all", lambda r: 1000.0 * r.decoder_cpu),
    ]
    for name, measure in measures:
        digits = 2 if "%" in name else 0
        print(row(name, [measure(r) for r in runs], digits))
    ok = sum(1 for r in runs if r.back_frame_ok)
    print(
        f"programme's first frame = LiveEnded.frame + 1 (and heard as programme): {ok}/{len(runs)}"
    )
    if results.cpu is not None:
        programme, live, decoder_life = results.cpu
        groups = sorted(set(programme.threads) | set(live.threads))
        print("\n| % of one core | programme | live |\n| --- | ---: | ---: |")
        print(f"| Python process (station) | {programme.python:.2f} | {live.python:.2f} |")
        for group in groups:
            p, q = programme.threads.get(group, 0.0), live.threads.get(group, 0.0)
            if max(p, q) >= 0.01:
                print(f"|   thread {group} | {p:.2f} | {q:.2f} |")
        print(f"| FFmpeg decoders | {programme.decoders:.2f} | {live.decoders:.2f} |")
        print(f"live decoder over its whole life: {decoder_life:.2f} % of a core")


def cpu_share(run: RunFigures) -> float:
    return 100.0 * run.decoder_cpu / run.decoder_life if run.decoder_life > 0 else 0.0


async def main_async(args: argparse.Namespace) -> None:
    for index, fade in enumerate(args.fades):
        last = index == len(args.fades) - 1
        results = await station(
            fade, args.grace, args.runs, args.encoder_seconds, args.cpu_seconds if last else 0
        )
        report(results, args.grace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="hand-overs per fade")
    parser.add_argument("--grace", type=float, default=5.0, help="station.yaml live.grace")
    parser.add_argument(
        "--fades", type=float, nargs="+", default=[0.0, 1.0], help="station.yaml live.fade values"
    )
    parser.add_argument("--encoder-seconds", type=float, default=3.0, help="tone per session")
    parser.add_argument(
        "--cpu-seconds", type=float, default=20.0, help="CPU windows (0: none), last fade only"
    )
    args = parser.parse_args()
    print(f"machine: {machine.describe()}, FFmpeg at {ffmpeg_version()}")
    print(f"load average at start: {machine.load()}", flush=True)
    asyncio.run(main_async(args))
    print(f"load average at end: {machine.load()}")


def ffmpeg_version() -> str:
    out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=False)
    return out.stdout.split("\n", 1)[0].removeprefix("ffmpeg version ").split(" ", 1)[0]


if __name__ == "__main__":
    main()
