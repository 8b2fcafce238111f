"""``radio run``: the station on a real Discord server, until Ctrl-C or SIGTERM."""

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

from radio.app import AppOptions, StationApp
from radio.bot.config import DiscordConfig, load_discord_config
from radio.clock import SystemClock
from radio.commands import station_arg
from radio.errors import ConfigError, VoiceError
from radio.preflight import require, run_checks
from radio.settings import load_settings


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="put the station on Discord (settings from the environment or .env)",
        description=(
            "Read DISCORD_TOKEN, RADIO_DATA_DIR, RADIO_LOG_LEVEL, RADIO_STATION_FILE and"
            " RADIO_REALTIME_SENDER from the"
            " environment or .env, check FFmpeg, libopus and davey, load the station file"
            " (its discord: section names the guilds, rooms and roles) and broadcast. The"
            " data folder is RADIO_DATA_DIR when set, else the station file's data: key"
            " (relative to the station file; default data). --station DIR reads DIR/station.yaml"
            " instead of RADIO_STATION_FILE."
        ),
    )
    parser.add_argument(
        "--env-file", type=Path, default=Path(".env"), help="the .env file (default: ./.env)"
    )
    station_arg.add_station(parser, default="RADIO_STATION_FILE's folder, else .")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start the station; return 0 after a clean stop. Raises RadioError on bad setup."""
    if args.station is not None:
        # the command line wins over RADIO_STATION_FILE (the environment and .env)
        os.environ["RADIO_STATION_FILE"] = str(
            station_arg.station_dir(args, "run") / "station.yaml"
        )
    settings = load_settings(args.env_file)
    logging.getLogger().setLevel(settings.log_level)
    quiet_libraries()
    require(run_checks())
    config = load_discord_config(settings.station_file)
    station_dir = settings.station_file.parent
    token = settings.discord_token.get_secret_value()
    options = AppOptions(realtime_sender=settings.realtime_sender)
    asyncio.run(_serve(station_dir, settings.data_dir, config, token, options))
    return 0


async def _serve(
    station_dir: Path, data_dir: Path, config: DiscordConfig, token: str, options: AppOptions
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = StationApp(
        station_dir,
        data_dir,
        config,
        clock=SystemClock(),
        monotonic=time.monotonic,
        options=options,
    )
    try:
        await app.run(token, stop)
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN: Discord refused the token; copy it again from the Developer"
            " Portal (Applications → Bot → Reset Token)"
        ) from None
    except (aiohttp.ClientConnectionError, discord.GatewayNotFound) as exc:
        raise VoiceError(f"cannot reach Discord: {exc}") from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            "the station file asks for message_content, but the Message Content intent is"
            " off for this bot: switch it on in the Developer Portal (Bot → Privileged"
            " Gateway Intents) or set discord.message_content to false"
        ) from None


def quiet_libraries() -> None:
    """APScheduler logs every job it adds at INFO: keep that for DEBUG runs."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
