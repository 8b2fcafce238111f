"""On-air benchmark (issue 5): the real bot on the local Discord, real FFmpeg and libopus.

Run from the repository root:

    .venv/bin/python -m bench.onair            # about 3 minutes on 2 cores
    .venv/bin/python -m bench.onair --help     # parts, counts and what-if options

Measures, and prints as Markdown:

- packet inter-arrival intervals at the listener (p50, p99, p99.9, shortest)
  with 1, 10 and 30 stations in one bot process (each station an independent
  programme: its own list of minutes-long music-like MP3 tracks decoded by
  FFmpeg, its own feed and Opus encoder, its own RadioBot in its own guild; all
  stations' senders on one SendLoop thread); the emulator runs in a child
  process and records arrivals only;
- CPU per station: the bot process's CPU time plus its FFmpeg children's,
  divided by audio seconds and stations (the emulator's own CPU is shown apart),
  and the cost of opening a track (ffprobe, FFmpeg start) amortised over a track;
- the cost of each extra simulcast room: one station in 1, 10 and 30 rooms;
- skip and request latency from the slash command to the first packet of the
  new track's tone at the listener (see :mod:`bench.onair_latency`);
- the cost of a frame's work paced at 20 ms against back to back.

Beside each window a bare 20 ms sleeper process (:mod:`bench.onair_probe`)
and another at real-time priority measure the machine's own scheduling
noise. ``--realtime-sender`` lets the SendLoop thread ask for SCHED_FIFO, as on
air (off by default here, to compare). What-ifs: ``--ahead``,
``--opus-complexity``, ``--fec`` (discord.py's default encoder), ``--batch``,
``--per-station-threads``, ``--switch-interval``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench import machine
from bench.onair_latency import Sample, measure, open_times
from bench.onair_media import MP3_KBPS, open_cpu, programme
from bench.onair_paced import Cost, costs
from bench.onair_stations import Encoding, RunResult, SourceKind, run
from bench.onair_stats import cpu_percent, linear_fit, room_cost
from radio.audio.frames import FRAMES_PER_SECOND
from radio.audio.synth import tone
from radio.audio.track import Track

ROTATION_HZ = (400.0, 600.0, 800.0)  # multiples of 50 Hz: whole cycles in a 20 ms frame
REQUEST_HZ = (1000.0, 1200.0, 1400.0, 1600.0)
REQUEST_NAMES = ("Alpha", "Bravo", "Charlie", "Delta")
ROTATION_SECONDS = 12.0  # longer than the 10 s preload: early skips find nothing opened
REQUEST_SECONDS = 2.0
LEVEL_DBFS = -12.0

PARTS = ("stations", "rooms", "latency", "paced")

TARGET_P999_MS = 22.0
TARGET_SHORTEST_MS = 10.0
TARGET_STATION_PCT = 1.5
TARGET_ROOM_PCT = 0.1
TARGET_LATENCY_MS = 60.0


def make_media(folder: Path) -> tuple[list[tuple[Track, float]], list[tuple[Track, float]]]:
    """Write the rotation and request tones as FLAC with FFmpeg; return (track, Hz) pairs."""
    rotation = []
    for hz in ROTATION_HZ:
        path = tone(folder / f"rotation-{hz:.0f}.flac", hz, ROTATION_SECONDS, level_dbfs=LEVEL_DBFS)
        rotation.append((Track(str(path), f"Rotation {hz:.0f}", duration=ROTATION_SECONDS), hz))
    requests = []
    for hz, name in zip(REQUEST_HZ, REQUEST_NAMES, strict=True):
        path = tone(folder / f"request-{hz:.0f}.flac", hz, REQUEST_SECONDS, level_dbfs=LEVEL_DBFS)
        track = Track(str(path), f"Request {name}", "Bench", duration=REQUEST_SECONDS)
        requests.append((track, hz))
    return rotation, requests


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def intervals_table(results: Sequence[RunResult]) -> list[str]:
    lines = [
        "| stations | packets (real time) | p50 ms | p99 ms | p99.9 ms | shortest ms"
        " | longest ms | < 10 ms | > 25 ms | lost | sender p99.9 ms | sender shortest ms"
        " | sender longest ms | bare sleeper p99.9 ms | bare sleeper shortest ms"
        " | RT sleeper p99.9 ms | RT sleeper shortest ms |",
        "|" + " ---: |" * 17,
    ]
    for r in results:
        s, sent = r.intervals, r.sent
        due = round(r.stations * r.rooms * r.seconds * FRAMES_PER_SECOND)
        rt = r.machine_rt
        rt_cells = "– | –" if rt is None else f"{rt.p999:.2f} | {rt.shortest:.2f}"
        lines.append(
            f"| {r.stations} | {s.packets} ({due}) | {s.p50:.2f} | {s.p99:.2f} | {s.p999:.2f}"
            f" | {s.shortest:.2f} | {s.longest:.2f} | {s.under_10ms} | {s.over_25ms} | {s.lost}"
            f" | {sent.p999:.2f} | {sent.shortest:.2f} | {sent.longest:.2f}"
            f" | {r.machine.p999:.2f} | {r.machine.shortest:.2f} | {rt_cells} |"
        )
    return lines


def marginal_line(results: Sequence[RunResult], amortised: float) -> list[str]:
    """The least-squares cost of one more station, beside the average, if counts differ."""
    by_count = {r.stations: cpu_percent(r.station_cpu, r.seconds) for r in results}
    if len(by_count) < 2:
        return []
    slope, intercept = linear_fit(by_count)
    return [
        f"Per station, marginal (least-squares slope of the process's CPU over"
        f" {', '.join(str(n) for n in sorted(by_count))} stations): **{slope:.2f} %**"
        f" of a core ({slope + 100 * amortised:.2f} % with track changes); the fixed"
        f" cost of the process (intercept: event loop, gateway, sender thread's wake-ups)"
        f" {intercept:.2f} %. The average per station (table) divides that fixed cost"
        " among the stations.",
        "",
    ]


ROLES = ("players", "event loop", "socket readers", "track opening")


def cpu_table(results: Sequence[RunResult], amortised: float) -> list[str]:
    """``amortised``: CPU seconds per audio second of opening tracks, per station."""
    lines = [
        "| stations | total | FFmpeg children | senders | event loop | socket readers"
        " | track opening | other threads | emulator (not counted)"
        " | µs/frame in read | µs/frame between reads | with track changes |",
        "|" + " ---: |" * 12,
    ]
    for r in results:

        def pct(seconds: float, r: RunResult = r) -> str:
            return f"{cpu_percent(seconds, r.seconds, r.stations):.2f}"

        named = [r.threads.get(role, 0.0) for role in ROLES]
        other = r.own_cpu - sum(named)  # includes threads that ended in the window
        lines.append(
            f"| {r.stations} | **{pct(r.station_cpu)}** | {pct(r.ffmpeg_cpu)}"
            f" | {' | '.join(pct(v) for v in named)} | {pct(other)}"
            f" | {pct(r.emulator_cpu)} | {_per_packet(r)}"
            f" | **{cpu_percent(r.station_cpu, r.seconds, r.stations) + 100 * amortised:.2f}** |"
        )
    return lines


def _per_packet(r: RunResult) -> str:
    """Player-thread CPU per packet sent: in our read (pull, encode), then discord.py's."""
    p = r.players
    if p.reads == 0:
        return "– | –"
    return f"{1e6 * p.in_read / p.reads:.0f} | {1e6 * p.between / p.reads:.0f}"


def rooms_table(results: Sequence[RunResult]) -> list[str]:
    lines = [
        "| rooms | packets | p99.9 ms | shortest ms | process % core | sender thread"
        " | event loop | other threads | encodes/s"
        " | µs/packet in read | µs/packet between reads |",
        "|" + " ---: |" * 11,
    ]
    for r in results:

        def pct(seconds: float, r: RunResult = r) -> str:
            return f"{cpu_percent(seconds, r.seconds):.2f}"

        sender = r.threads.get("players", 0.0)
        loop = r.threads.get("event loop", 0.0)
        lines.append(
            f"| {r.rooms} | {r.intervals.packets} | {r.intervals.p999:.2f}"
            f" | {r.intervals.shortest:.2f} | {pct(r.station_cpu)} | {pct(sender)}"
            f" | {pct(loop)} | {pct(r.station_cpu - sender - loop)}"
            f" | {r.encoded / r.seconds:.1f} | {_per_packet(r)} |"
        )
    return lines


def latency_table(samples: Sequence[Sample]) -> list[str]:
    lines = [
        "| command | condition | runs | min ms | median ms | max ms | right tone |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    groups: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.command, sample.condition), []).append(sample)
    for (command, condition), group in groups.items():
        heard = [s.change.latency_ms for s in group if s.change is not None]
        right = sum(1 for s in group if s.change is not None and s.change.frequency == s.expected)
        if heard:
            figures = f"{min(heard):.0f} | {statistics.median(heard):.0f} | {max(heard):.0f}"
        else:
            figures = "– | – | –"
        lines.append(
            f"| {command} | {condition} | {len(group)} | {figures} | {right}/{len(group)} |"
        )
    return lines


async def bench(args: argparse.Namespace, folder: Path) -> list[str]:
    rotation, requests = make_media(folder)
    kind: SourceKind = args.source
    parts = set(args.parts)
    tracks = []
    open_cost = 0.0  # CPU seconds to open a track
    if kind == "files" and parts & {"stations", "rooms", "paced"}:
        tracks = await asyncio.to_thread(programme, folder, args.track_seconds)
        open_cost = await asyncio.to_thread(open_cpu, tracks[0], 5)
    encoding = Encoding(complexity=args.opus_complexity, fec=args.fec, batch=args.batch)
    shared = not args.per_station_threads
    sys.setswitchinterval(args.switch_interval)
    command = " ".join(["`.venv/bin/python -m bench.onair", *sys.argv[1:]]).rstrip() + "`"
    out = [
        "## On Discord (issue 5)",
        "",
        f"Machine: {machine.describe()}, load average at start {machine.load()}"
        " (a shared machine).",
        f"Command: {command} ({args.seconds:.0f} s measured per configuration;"
        f" Opus {encoding.describe()}; GIL switch interval {1000 * args.switch_interval:g} ms;"
        f" sender thread at {'SCHED_FIFO' if args.realtime_sender else 'normal'} priority;"
        f" listener at {'real-time' if args.realtime_listener else 'normal'} priority,"
        " arrivals stamped by the kernel).",
        "",
    ]

    async def measured(n_stations: int, rooms: int) -> RunResult:
        """One configuration measured with this command's options."""
        return await run(
            n_stations,
            rooms,
            args.seconds,
            kind=kind,
            tracks=tracks,
            encoding=encoding,
            shared_loop=shared,
            ahead=args.ahead,
            realtime_listener=args.realtime_listener,
            realtime_sender=args.realtime_sender,
        )

    stations: list[RunResult] = []
    if "stations" in parts:
        for n in args.stations:
            stations.append(await measured(n, 1))
        out += stations_section(
            stations, kind, encoding, shared, args.ahead, args.track_seconds, open_cost
        )
    per_room: float | None = None
    if "rooms" in parts:
        simulcast = [await measured(1, n) for n in args.rooms]
        per_room = room_cost({r.rooms: cpu_percent(r.station_cpu, r.seconds) for r in simulcast})
        out += rooms_section(simulcast, per_room)
    samples: list[Sample] = []
    if "latency" in parts:
        samples = await measure(folder, rotation, requests, skips=args.skips)
        opening = await asyncio.to_thread(open_times, rotation[0][0], 5)
        out += latency_section(samples, opening)
    if "paced" in parts:
        paced_track = tracks[0] if tracks else rotation[0][0]
        out += paced_section(await asyncio.to_thread(costs, paced_track))
    amortised = open_cost / args.track_seconds if kind == "files" else 0.0
    out += ["### Targets", "", *targets(stations, per_room, samples, amortised), ""]
    out += [f"Load average at the end: {machine.load()}.", ""]
    return out


def stations_section(
    stations: Sequence[RunResult],
    kind: SourceKind,
    encoding: Encoding,
    shared: bool,
    ahead: bool,
    track_seconds: float,
    opening: float,
) -> list[str]:
    senders = (
        "all stations' senders on one SendLoop thread" if shared else "a sender thread per station"
    )
    amortised = [
        f"Opening a track (ffprobe, FFmpeg start, first 2 s buffered; 5 runs):"
        f" {1000 * opening:.0f} ms of CPU, that is"
        f" {100 * opening / track_seconds:.3f} % of a core per station over a"
        f" {track_seconds:.0f} s track; the windows above hold no track change,"
        " so the last column adds it.",
        "",
    ]
    return [
        "### Stations in one process",
        "",
        f"Each station: its own {_describe(kind, track_seconds)}, its own SimulcastFeed"
        f" (one Opus encode per frame: {encoding.describe()}), its own RadioBot in its"
        f" own guild; {senders}. Intervals are pooled over all streams; CPU is the bot"
        " process plus its FFmpeg children per audio second and station; the emulator"
        " (the listener, arrivals only) runs in a child process and is not counted.",
        "",
        "Packet intervals at the listener (the kernel's receive stamps,"
        " SO_TIMESTAMPNS: what a listener on another machine would see, whenever"
        " the emulator's reader thread gets to read them), at the sender (between"
        " the sender thread's reads, just before it sends), and of two bare sleeper"
        " processes waking every 20 ms during the same window, at normal and at"
        " real-time priority (`bench/onair_probe.py`: the machine's own scheduling"
        " noise, which no station at that priority can beat):",
        "",
        *intervals_table(stations),
        "",
        "Sender thread: "
        + ", ".join(
            f"{r.stations} stations {'normal' if r.sender_realtime is None else 'SCHED_FIFO'}"
            for r in stations
        )
        + ". Garbage collections in the bot process during the windows (passes, full"
        " ones, longest): "
        + ", ".join(
            f"{r.stations} stations {len(r.gc_passes)},"
            f" {sum(1 for g, _ in r.gc_passes if g == 2)},"
            f" {1000 * max((t for _, t in r.gc_passes), default=0.0):.1f} ms"
            for r in stations
        )
        + ".",
        "",
        "CPU in % of one core per station (per audio second), by thread role:"
        " *players* are the stations' sender threads (`radio/bot/sender.py`, one"
        " per station), which pull the station, run the one Opus encode per frame"
        " and send it to every room; *track opening* runs ffprobe and"
        " starts FFmpeg; *other threads* includes the decoders' pipe readers and"
        " threads that ended during the window; the last two columns split the"
        " sender threads' CPU per frame at the feed's read (pull + encode) and"
        " the rest (discord.py's RTP header, encryption and send for each room,"
        " the wait).",
        "",
        *cpu_table(stations, opening / track_seconds if kind == "files" else 0.0),
        "",
        *marginal_line(stations, opening / track_seconds if kind == "files" else 0.0),
        *(amortised if kind == "files" else []),
    ]


def rooms_section(simulcast: Sequence[RunResult], per_room: float) -> list[str]:
    return [
        "### One station in several rooms (simulcast)",
        "",
        "One RadioBot in N guilds, one feed: one decode and one Opus encode per frame"
        " whatever the rooms, all sent by the station's one sender thread; each"
        " room adds discord.py's RTP header, encryption and send of each packet"
        ' and a voice WebSocket. "µs/packet" here is per frame (one read per'
        " frame): the time between reads grows with the rooms.",
        "",
        *rooms_table(simulcast),
        "",
        f"Each extra room (least-squares slope of process CPU): {per_room:.3f} % of a core.",
        "",
    ]


def latency_section(samples: Sequence[Sample], opening: Sequence[float]) -> list[str]:
    return [
        "### Skip and request latency",
        "",
        "Slash commands injected through the emulator (`/skip` by a DJ,"
        " `/request` by a listener) to one RadioBot with the real commands cog;"
        " latency = arrival at the listener (decoding) of the first packet in"
        " which the new track's tone is at -6 dB of its level, minus the"
        ' injection instant. "next not opened": the skip came more than 10 s'
        " before the track's end, when the next track is not yet opened;"
        ' "woken": the queued request wakes the request sequence (the bench'
        ' does this; nothing in the bot does yet); "polled": the request'
        " sequence finds it by its own retry.",
        "",
        *latency_table(samples),
        "",
        "Opening a track on this machine (ffprobe, FFmpeg start, first frame"
        f" buffered; {len(opening)} runs, off the player thread):"
        f" median {statistics.median(opening):.0f} ms, min {min(opening):.0f} ms,"
        f" max {max(opening):.0f} ms. A skip whose next track is not opened yet,"
        " and a request, wait for this.",
        "",
    ]


def paced_section(paced: Sequence[Cost]) -> list[str]:
    return [
        "### Why: a frame's work paced at 20 ms costs more than back to back",
        "",
        "One thread, its own CPU clock, 150 calls one every 20 ms (as a sender"
        " does), or 50 back to back (as bench/simulcast.py measures; fewer than a"
        " decoder buffers, and checked free of dead air):",
        "",
        "| work per frame | paced µs | back to back µs |",
        "| --- | ---: | ---: |",
        *(f"| {c.name} | {c.paced_us:.0f} | {c.tight_us:.0f} |" for c in paced),
        "",
    ]


def targets(
    stations: Sequence[RunResult],
    per_room: float | None,
    samples: Sequence[Sample],
    amortised: float = 0.0,
) -> list[str]:
    lines: list[str] = []
    if stations:
        largest = max(stations, key=lambda r: r.stations)
        s = largest.intervals
        lines.append(
            f"- p99.9 <= {TARGET_P999_MS:.0f} ms with {largest.stations} stations:"
            f" {s.p999:.2f} ms, {verdict(s.p999 <= TARGET_P999_MS)}; no interval under"
            f" {TARGET_SHORTEST_MS:.0f} ms: shortest {s.shortest:.2f} ms,"
            f" {verdict(s.shortest >= TARGET_SHORTEST_MS)}."
        )
        worst = max(cpu_percent(r.station_cpu, r.seconds, r.stations) for r in stations)
        worst += 100 * amortised
        lines.append(
            f"- <= {TARGET_STATION_PCT} % of a core per station (track changes included):"
            f" up to {worst:.2f} %, {verdict(worst <= TARGET_STATION_PCT)}."
        )
    if per_room is not None:
        lines.append(
            f"- <= {TARGET_ROOM_PCT} % per extra simulcast room: {per_room:.3f} %,"
            f" {verdict(per_room <= TARGET_ROOM_PCT)}."
        )
    if samples:
        heard = [s.change.latency_ms for s in samples if s.change is not None]
        missing = sum(1 for s in samples if s.change is None)
        worst_latency = max(heard) if heard else float("inf")
        ok = missing == 0 and worst_latency <= TARGET_LATENCY_MS
        lines.append(
            f"- <= {TARGET_LATENCY_MS:.0f} ms from command to audible change: worst"
            f" {worst_latency:.0f} ms over {len(samples)} commands"
            + (f" ({missing} never heard)" if missing else "")
            + f", {verdict(ok)}."
        )
    return lines


def _describe(kind: SourceKind, track_seconds: float) -> str:
    if kind == "sine":
        return "generated sine (no decoding)"
    return (
        f"looping list of three {track_seconds:.0f} s music-like {MP3_KBPS} kb/s MP3"
        " tracks (a chord with tremolo over pink noise, stereo; `bench/onair_media.py`)"
        " decoded by FFmpeg (a TrackSequence: ffprobe and a new FFmpeg per track)"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.onair",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="measured per configuration")
    parser.add_argument(
        "--stations", type=_counts, default=(1, 10, 30), help="station counts, e.g. 1,10,30"
    )
    parser.add_argument(
        "--rooms", type=_counts, default=(1, 10, 30), help="simulcast room counts, e.g. 1,10,30"
    )
    parser.add_argument("--source", choices=("files", "sine"), default="files")
    parser.add_argument(
        "--track-seconds", type=float, default=210.0, help="length of the stations' tracks"
    )
    parser.add_argument("--skips", type=int, default=8, help="skip commands to time")
    parser.add_argument(
        "--opus-complexity",
        type=int,
        choices=range(11),
        metavar="0-10",
        help="what-if: encode at this libopus complexity (default: discord.py's, 10)",
    )
    parser.add_argument(
        "--fec",
        action="store_true",
        help="what-if: discord.py's default encoder (FEC on: hybrid SILK+CELT)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="what-if: frames each feed pulls and encodes per wake-up (SimulcastFeed batch)",
    )
    parser.add_argument(
        "--ahead",
        action="store_true",
        help="what-if: the SendLoop sends every station's frame, then encodes the next ones",
    )
    parser.add_argument(
        "--realtime-listener",
        action="store_true",
        help="run the emulator (the listener) at real-time priority (chrt -f 10); its"
        " arrivals are the kernel's receive stamps anyway, so this changes little",
    )
    parser.add_argument(
        "--realtime-sender",
        action="store_true",
        help="the SendLoop thread asks for SCHED_FIFO, as on air (default here: normal"
        " priority, to compare); needs CAP_SYS_NICE or an rtprio limit",
    )
    parser.add_argument(
        "--per-station-threads",
        action="store_true",
        help="what-if: a sender thread per station instead of one SendLoop for all",
    )
    parser.add_argument(
        "--parts",
        type=lambda text: [p for p in text.split(",") if p],
        default=list(PARTS),
        help=f"comma-separated parts to run, of {','.join(PARTS)} (default: all)",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=0.001,
        help="CPython's GIL switch interval in seconds (default 0.001, as StationApp sets"
        " on air; CPython's own default is 0.005)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if len(set(args.rooms)) < 2:
        parser.error("--rooms needs at least two different counts (the cost is a slope)")
    return args


def _counts(text: str) -> tuple[int, ...]:
    counts = tuple(int(part) for part in text.split(",") if part.strip())
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive counts")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)  # discord.py's voice logger is set to INFO by the bot
    logging.basicConfig(handlers=[handler], level=logging.INFO)
    with tempfile.TemporaryDirectory(prefix="radio-bench-onair-") as tmp:
        lines = asyncio.run(bench(args, Path(tmp)))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
