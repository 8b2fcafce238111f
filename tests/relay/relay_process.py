"""``radio relay`` itself, in a process of its own, on the local Discord.

Usage: python tests/relay/relay_process.py '<addresses json>' [radio relay arguments].
Everything else comes as an operator gives it: the relay file, the token in
the variable it names. Only where Discord is differs from production (the
REST base and the gateway URL point at the emulator; the parent sets
SSL_CERT_FILE to the emulator's certificate). Exits with ``radio relay``'s code.
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
    sys.exit(main(["relay", *sys.argv[2:]]))
