"""``radio demo``: the example station on the local Discord, with a page to listen on."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from radio.commands.station_arg import add_station, station_dir
from radio.demo import DemoOptions, run_demo
from radio.settings import station_data_dir


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run the example station on the local Discord (no token needed)",
        description=(
            "Generate the example music if missing, start the local Discord emulator with a"
            " listener, put the station on air in it, print the room's messages as they come"
            " and serve a page on 127.0.0.1 to listen. Ctrl-C stops and writes the listener's"
            " recording."
        ),
    )
    add_station(parser)
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="data folder (default: the station file's data: key, else STATION/data)",
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port of the listening page (0: any free port)"
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="stop after this many seconds, as Ctrl-C"
    )
    parser.add_argument(
        "--live-port",
        type=int,
        default=8005,
        help="port of the presenters' mount on 127.0.0.1 (0: any free port; default 8005)",
    )
    parser.add_argument("--stage", action="store_true", help="broadcast on the stage room")
    parser.add_argument(
        "--no-generate", action="store_true", help="do not generate the example music"
    )
    parser.add_argument(
        "--record-minutes",
        type=float,
        default=10.0,
        help="minutes of the listener's audio kept for the recording (default 10)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo until Ctrl-C (or --seconds); print where the recording is."""
    if args.seconds is not None and args.seconds <= 0:
        print("radio: error: --seconds must be positive", file=sys.stderr)
        return 2
    if not 0 <= args.live_port <= 65535:
        print("radio: error: --live-port must be between 0 and 65535", file=sys.stderr)
        return 2
    args.station = station_dir(args, "demo")
    quiet_libraries()
    if args.log_level.upper() == "INFO" and "--log-level" not in sys.argv:
        # The demo speaks on stdout; its log (stderr) keeps to warnings unless asked.
        # (At the handlers: the bot reads discord.py's INFO voice log itself.)
        for handler in logging.getLogger().handlers:
            handler.setLevel(logging.WARNING)
    options = DemoOptions(
        station_dir=args.station,
        data_dir=args.data if args.data is not None else station_data_dir(station_file(args)),
        port=args.port,
        stage=args.stage,
        generate_media=not args.no_generate,
        record_minutes=args.record_minutes,
        live_port=args.live_port,
    )
    result = asyncio.run(_main(options, args.seconds))
    if result is None:
        print("the listener heard nothing; no recording written")
    else:
        print(f"wrote the listener's recording: {result}")
    return 0


async def _main(options: DemoOptions, seconds: float | None) -> Path | None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    result = await run_demo(options, sys.stdout, stop, seconds)
    return result.wav


def station_file(args: argparse.Namespace) -> Path:
    """The demo's station file: ``station.yaml`` in ``--station``."""
    return station_dir(args, "demo") / "station.yaml"


def quiet_libraries() -> None:
    """APScheduler logs every job it adds at INFO: keep that for DEBUG runs."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
