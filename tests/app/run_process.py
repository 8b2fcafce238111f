"""``radio run`` itself, in a process of its own, on the local Discord.

Usage: python tests/app/run_process.py '<addresses json>' [radio run arguments].
Everything else comes the way an operator gives it: DISCORD_TOKEN,
RADIO_DATA_DIR and RADIO_STATION_FILE in the environment, the station file's
``discord:`` section. Only where Discord is differs from production: the REST
base and the gateway URL point at the emulator (plain HTTP on 127.0.0.1), and
the parent sets SSL_CERT_FILE to the emulator's certificate so that the voice
websocket's TLS is verified against it. Exits with ``radio run``'s code.
"""

from __future__ import annotations

import json
import sys

import discord
import yarl

from radio.cli import main
from radio.sandbox import Addresses

if __name__ == "__main__":
    addresses = Addresses.from_json(json.loads(sys.argv[1]))
    discord.http.Route.BASE = addresses.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(addresses.gateway_url)
    sys.exit(main(["run", *sys.argv[2:]]))
