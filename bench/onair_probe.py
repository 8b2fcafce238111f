"""A bare 20 ms sleeper in its own process: how punctual this machine is right now.

``python -m bench.onair_probe SECONDS [--realtime]`` wakes every 20 ms on an
absolute schedule (as discord.py's player does), doing nothing else, and
prints the intervals between its wake-ups as one JSON object (milliseconds).
Run beside a measurement, it tells the machine's scheduling noise apart from
the station's: the station cannot be more punctual than this. With
``--realtime`` it first asks for SCHED_FIFO at the sender's priority, as the
SendLoop thread does (and exits with 2 if refused).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time

from bench.onair_stats import Arrival, summarize
from radio.bot.sendloop import REALTIME_PRIORITY

PERIOD = 0.020


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    realtime = "--realtime" in args
    args = [a for a in args if a != "--realtime"]
    seconds = float(args[0]) if args else 10.0
    if realtime:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
        except OSError as error:
            print(f"real-time scheduling refused: {error}", file=sys.stderr)
            return 2
    wakes: list[Arrival] = []
    start = time.perf_counter()
    for k in range(round(seconds / PERIOD)):
        time.sleep(max(0.0, start + (k + 1) * PERIOD - time.perf_counter()))
        wakes.append(Arrival(0, k, time.perf_counter()))
    print(json.dumps(dataclasses.asdict(summarize(wakes))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
