"""Run the emulator standalone: ``python -m radio.sandbox [--token T] [--wav PATH]``.

Prints one JSON line with its addresses and the sandbox guild's ids (for a bot
in another process: set ``Route.BASE`` / ``DEFAULT_GATEWAY`` from it and trust
``cert_path``), then serves until SIGINT or SIGTERM. With ``--wav`` the
listener's recording is written there on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path

from radio.clock import SystemClock
from radio.sandbox.server import Emulator

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m radio.sandbox", description=__doc__)
    parser.add_argument("--token", default="sandbox-token", help="the bot token it accepts")
    parser.add_argument("--wav", type=Path, help="write what the listener heard here on exit")
    parser.add_argument(
        "--arrivals-only", action="store_true", help="record packet arrivals, do not decode"
    )
    parser.add_argument(
        "--keep-seconds",
        type=float,
        default=600.0,
        help="keep the last this many seconds of packets (at 50 per second per sender)",
    )
    parser.add_argument("--guilds", type=int, default=1, help="how many identical guilds")
    parser.add_argument("--bots", type=int, default=1, help="how many bot accounts (voices)")
    parser.add_argument("--stages", type=int, default=1, help="how many stage rooms per guild")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Start the emulator, announce it on stdout, serve until a stop signal."""
    emulator = Emulator(
        clock=SystemClock(),
        monotonic=time.monotonic,
        token=args.token,
        decode=not args.arrivals_only,
        record_limit=max(1, round(args.keep_seconds * 50)),
        guilds=args.guilds,
        bots=args.bots,
        stages=args.stages,
    )
    addresses = await emulator.start()
    world = emulator.world
    announcement = {
        "addresses": addresses.to_json(),
        "api_base": addresses.api_base,
        "gateway_url": addresses.gateway_url,
        "voice_endpoint": addresses.voice_endpoint,
        "udp_port": addresses.udp_port,
        "control_url": addresses.control_url,
        "cert_path": str(addresses.cert_path),
        "token": world.token,
        "bots": [{"token": token, "id": str(bot.id)} for token, bot in world.bots.items()],
        "guild_id": str(world.guild.id),
        "text_channel_id": str(world.text_channel.id),
        "voice_channel_id": str(world.voice_channel.id),
        "stage_channel_id": str(world.stage_channel.id),
        "guilds": [
            {"id": str(g.id), "channels": {c.name: str(c.id) for c in g.channels.values()}}
            for g in world.guilds.values()
        ],
    }
    sys.stdout.write(json.dumps(announcement) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        if args.wav is not None:
            emulator.record.to_wav(args.wav)
            logger.info("wrote what the listener heard to %s", args.wav)
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
