"""``radio relay``: a relay node, the station's Icecast mount on this node's Discord rooms."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import discord

from radio.bot.voices import TokenLookup
from radio.clock import SystemClock
from radio.commands.run import quiet_libraries
from radio.errors import ConfigError, VoiceError
from radio.preflight import check_module, require
from radio.relay.config import RelayFile, load_relay_config
from radio.relay.node import RelayNode, RelayOptions
from radio.relay.voices import require_a_token
from radio.settings import secret_from_env

DEFAULT_FILE = "relay.yaml"


def register(subparsers: Any) -> None:
    """Add the ``relay`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "relay",
        help="relay the station's Icecast mount to this node's Discord rooms",
        description=(
            "Read the relay file (RELAY_FILE, else RADIO_RELAY_FILE, else relay.yaml): the"
            " station's Ogg/Opus mount under relay.source and this node's guilds and rooms"
            " under discord: (several bot accounts under discord.voices). Each bot's token is"
            " read from the variable its voice names (the first's: relay.token_env,"
            " DISCORD_TOKEN unless told otherwise), from the environment or .env. The"
            " station's packets are sent as they are, paced every 20 ms; see docs/relay.md."
        ),
    )
    parser.add_argument("file", nargs="?", type=Path, metavar="RELAY_FILE", help="the relay file")
    parser.add_argument(
        "--env-file", type=Path, default=Path(".env"), help="the .env file (default: ./.env)"
    )
    parser.add_argument(
        "--no-realtime",
        action="store_true",
        help="do not ask for real-time scheduling for the sender thread",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the relay node; return 0 after a clean stop. Raises RadioError on bad setup."""
    quiet_libraries()
    path = args.file or Path(os.environ.get("RADIO_RELAY_FILE") or DEFAULT_FILE)
    if not path.is_file():
        raise ConfigError(f"{path}: no such relay file (see docs/relay.md for one)")
    config = load_relay_config(path)
    env_file = args.env_file if args.env_file.is_file() else None

    def token(variable: str) -> str:
        return secret_from_env(variable, env_file).get_secret_value()

    require_a_token(config.voice_plan(), token)  # a voice without one is told at its start
    require([check_module("davey", "install the voice extra: pip install 'discord.py[voice]'")])
    options = RelayOptions(realtime_sender=not args.no_realtime)
    asyncio.run(_serve(config, token, options))
    return 0


async def _serve(config: RelayFile, token: TokenLookup, options: RelayOptions) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    node = RelayNode(config, clock=SystemClock(), monotonic=time.monotonic, options=options)
    try:
        await node.run(token, stop)  # ConfigError when every voice's token is refused
    except (aiohttp.ClientConnectionError, discord.GatewayNotFound) as exc:
        raise VoiceError(f"cannot reach Discord: {exc}") from None
    logging.getLogger(__name__).info("the relay stopped")
