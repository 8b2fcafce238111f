"""Pure analysis for the on-air benchmark: packet intervals, tone levels, change latency.

Nothing here measures time or talks to Discord: the functions take what the
listener recorded (arrival instants, decoded PCM) and compute the figures the
benchmark reports, so that a test can check them on literal data.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 48_000
SAMPLES_PER_FRAME = 960
FULL_SCALE = 32_768.0


@dataclass(frozen=True, slots=True)
class Arrival:
    """One packet as the benchmark needs it: which stream, its RTP sequence, when."""

    ssrc: int
    sequence: int
    arrival: float  # seconds, monotonic


@dataclass(frozen=True, slots=True)
class IntervalSummary:
    """Packet inter-arrival intervals over every stream, in milliseconds."""

    streams: int
    packets: int
    intervals: int
    p50: float
    p99: float
    p999: float
    shortest: float
    longest: float
    under_10ms: int  # intervals shorter than 10 ms (a burst after a stall)
    over_25ms: int  # intervals longer than 25 ms (the acceptance gap limit)
    lost: int  # RTP sequence numbers never received, summed over streams


def nearest_rank(values: Sequence[float], percent: float) -> float:
    """The ``percent`` percentile by nearest rank: the smallest value that at least
    ``percent`` % of ``values`` do not exceed (always one of the values).

    Raises ValueError for an empty sequence or a percent outside (0, 100].
    """
    if not values:
        raise ValueError("no values")
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    ordered = sorted(values)
    # Rounded first: 99.9 / 100 * 1000 is 999.0000000000001 in floating point.
    rank = max(1, math.ceil(round(percent * len(ordered) / 100, 9)))
    return ordered[rank - 1]


def by_stream(arrivals: Iterable[Arrival]) -> dict[int, list[Arrival]]:
    """Group packets by SSRC (one voice connection each), in arrival order."""
    streams: dict[int, list[Arrival]] = defaultdict(list)
    for packet in arrivals:
        streams[packet.ssrc].append(packet)
    for packets in streams.values():
        packets.sort(key=lambda p: p.arrival)
    return dict(streams)


def stream_intervals(packets: Sequence[Arrival]) -> list[float]:
    """Milliseconds between consecutive arrivals of one stream (in arrival order)."""
    return [1000.0 * (b.arrival - a.arrival) for a, b in itertools.pairwise(packets)]


def lost_packets(packets: Sequence[Arrival]) -> int:
    """RTP sequence numbers missing between a stream's first and last packet.

    Sequences are 16-bit and wrap; a stream in this benchmark is far shorter
    than 65,536 packets, so the span is taken modulo 2^16.
    """
    if not packets:
        return 0
    seen = {p.sequence for p in packets}
    ordered = sorted(packets, key=lambda p: p.arrival)
    span = (ordered[-1].sequence - ordered[0].sequence) % 65_536 + 1
    return max(0, span - len(seen))


def summarize(arrivals: Iterable[Arrival]) -> IntervalSummary:
    """Inter-arrival statistics over all streams (intervals pooled, never across streams).

    Raises ValueError when no stream has two packets.
    """
    streams = by_stream(arrivals)
    pooled: list[float] = []
    for packets in streams.values():
        pooled.extend(stream_intervals(packets))
    if not pooled:
        raise ValueError("no stream has two packets")
    return IntervalSummary(
        streams=len(streams),
        packets=sum(len(p) for p in streams.values()),
        intervals=len(pooled),
        p50=nearest_rank(pooled, 50),
        p99=nearest_rank(pooled, 99),
        p999=nearest_rank(pooled, 99.9),
        shortest=min(pooled),
        longest=max(pooled),
        under_10ms=sum(1 for v in pooled if v < 10.0),
        over_25ms=sum(1 for v in pooled if v > 25.0),
        lost=sum(lost_packets(p) for p in streams.values()),
    )


def tone_levels(pcm: bytes, frequencies: Iterable[float]) -> dict[float, float]:
    """Peak amplitude (full scale = 1.0) of each sine frequency in a stereo s16le frame.

    The channels are averaged, then projected on each frequency. Exact for a
    frequency with a whole number of cycles in the frame (a multiple of 50 Hz
    in a 20 ms frame) and for sums of such sines: they are orthogonal.
    """
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / FULL_SCALE
    mono = samples.reshape(-1, 2).mean(axis=1)
    n = np.arange(mono.size, dtype=np.float64)
    levels: dict[float, float] = {}
    for freq in frequencies:
        phase = 2.0 * np.pi * freq * n / SAMPLE_RATE
        re = float(np.dot(mono, np.cos(phase)))
        im = float(np.dot(mono, np.sin(phase)))
        levels[freq] = 2.0 * math.hypot(re, im) / mono.size
    return levels


@dataclass(frozen=True, slots=True)
class Change:
    """When a new tone became audible at the listener after a command."""

    latency_ms: float  # arrival of the first packet with the new tone, minus the command
    frequency: float  # the new tone
    packets_after: int  # packets of the stream between the command and that one


def first_change(
    packets: Sequence[tuple[float, bytes]],
    since: float,
    old: float,
    candidates: Sequence[float],
    level: float,
) -> Change | None:
    """The first packet arriving after ``since`` in which a tone other than ``old``
    reaches half of ``level`` (-6 dB: clearly audible, not a crossfade's first whisper).

    ``packets`` are (arrival seconds, decoded PCM) in arrival order; ``candidates``
    the tones that may come next; ``level`` their steady peak amplitude. None
    when no such packet arrived.
    """
    wanted = [f for f in candidates if f != old]
    count = 0
    for arrival, pcm in packets:
        if arrival < since:
            continue
        count += 1
        levels = tone_levels(pcm, wanted)
        loudest = max(wanted, key=lambda f: levels[f])
        if levels[loudest] >= level / 2:
            return Change(1000.0 * (arrival - since), loudest, count)
    return None


def cpu_percent(cpu_seconds: float, audio_seconds: float, per: int = 1) -> float:
    """CPU time as a percentage of one core over ``audio_seconds``, divided by ``per``."""
    if audio_seconds <= 0 or per < 1:
        raise ValueError("audio_seconds must be positive and per at least 1")
    return 100.0 * cpu_seconds / audio_seconds / per


def linear_fit(values: Mapping[int, float]) -> tuple[float, float]:
    """Least-squares line through ``count -> value``: (slope, intercept).

    The slope of a process's CPU over its number of stations is the marginal
    cost of one station; the intercept is what the process costs with none
    (event loop, gateway). Raises ValueError with fewer than two distinct counts.
    """
    counts = sorted(values)
    if len(counts) < 2:
        raise ValueError("need at least two counts")
    x = np.array(counts, dtype=np.float64)
    y = np.array([values[c] for c in counts], dtype=np.float64)
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def room_cost(cpu_by_rooms: Mapping[int, float]) -> float:
    """Least-squares slope of CPU % against the number of rooms: the cost of one more room.

    Raises ValueError with fewer than two distinct room counts.
    """
    rooms = sorted(cpu_by_rooms)
    if len(rooms) < 2:
        raise ValueError("need at least two room counts")
    x = np.array(rooms, dtype=np.float64)
    y = np.array([cpu_by_rooms[r] for r in rooms], dtype=np.float64)
    slope = float(np.polyfit(x, y, 1)[0])
    return slope
