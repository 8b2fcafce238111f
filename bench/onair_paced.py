"""Per-frame work paced at 20 ms versus back to back: why a station costs what it costs.

A player thread does its work once every 20 ms and sleeps in between; on a
shared virtual machine the caches are cold again by then, so the same work
costs several times what a tight loop (bench/simulcast.py) measures. This
module times the pieces of a station's frame both ways, on one thread, by
that thread's CPU clock.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.onair_stations import Encoding, encoder
from radio.audio.frames import FRAME_MS, SAMPLES_PER_FRAME
from radio.audio.operators import Sine
from radio.audio.root import Infallible
from radio.audio.sequence import TrackSequence
from radio.audio.switch import Fallback
from radio.audio.track import Track
from radio.audio.tracklist import TrackList
from radio.grid.holder import Holder

TIGHT_FILL_S = 2.5  # a decoder buffers 2 s of audio
TIGHT_MAX_CALLS = 50


@dataclass(frozen=True, slots=True)
class Cost:
    """Microseconds of CPU per call of one piece of work."""

    name: str
    paced_us: float  # one call every 20 ms
    tight_us: float  # calls back to back


def per_call(work: Callable[[], object], calls: int, *, paced: bool) -> float:
    """Microseconds of this thread's CPU per call of ``work``, on a fresh thread."""
    result: list[float] = []

    def run() -> None:
        spent = 0.0
        start = time.perf_counter()
        for k in range(calls):
            before = time.thread_time()
            work()
            spent += time.thread_time() - before
            if paced:
                time.sleep(max(0.0, start + (k + 1) * FRAME_MS / 1000 - time.perf_counter()))
        result.append(1e6 * spent / calls)

    thread = threading.Thread(target=run, name="bench-paced")
    thread.start()
    thread.join()
    return result[0]


def costs(track: Track, calls: int = 150) -> list[Cost]:
    """Station pull (sine, FLAC) and Opus encode (three settings), paced and tight."""
    sequence = TrackSequence(TrackList([track], loop=True), name="paced")
    sequence.wait_buffered(10.0)
    trees = {
        "pull: decoded track under Fallback and Infallible": Infallible(
            Fallback([Holder(), sequence], transition=0.05)
        ),
        "pull: sine under Fallback and Infallible": Infallible(
            Fallback([Holder(), Sine(400.0, level_dbfs=-12.0)], transition=0.05)
        ),
    }
    pcm = Sine(400.0, level_dbfs=-12.0).read()
    out: list[Cost] = []
    try:
        for name, tree in trees.items():
            paced = per_call(tree.read, calls, paced=True)
            # Back to back, a decoder's 2 s buffer would run dry (the reads would
            # measure dead air): let it fill, and read less than it holds.
            time.sleep(TIGHT_FILL_S)
            tight = per_call(tree.read, min(calls, TIGHT_MAX_CALLS), paced=False)
            dead = tree.dead_air_frames
            assert dead == 0, f"{name}: {dead} frames of dead air: the figures would be wrong"
            out.append(
                Cost(
                    name,
                    paced,
                    tight,
                )
            )
        for encoding in (Encoding(), Encoding(complexity=5), Encoding(fec=True)):
            encode = functools.partial(encoder(encoding).encode, pcm, SAMPLES_PER_FRAME)
            out.append(
                Cost(
                    f"Opus encode, {encoding.describe()}",
                    per_call(encode, calls, paced=True),
                    per_call(encode, calls, paced=False),
                )
            )
    finally:
        sequence.close()
    return out
