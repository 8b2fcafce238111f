"""Point an unmodified discord.py client at a running emulator.

discord.py reads ``discord.http.Route.BASE`` on every request and dials
``DiscordWebSocket.DEFAULT_GATEWAY`` for the gateway (a plain ``Client`` never
asks ``/gateway/bot``); the voice WebSocket is always ``wss://{endpoint}/?v=8``,
so the client's HTTP session must trust the emulator's run-time certificate.
``Client`` accepts an aiohttp connector for exactly that (``connector=``), and
``HTTPClient.connector`` is read when the session is made at login.
"""

from __future__ import annotations

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from radio.sandbox.server import Addresses
from radio.sandbox.tls import Certificate


def point_discord_at(client: discord.Client, addresses: Addresses) -> None:
    """Make ``client`` (not yet logged in) talk to the emulator at ``addresses``.

    Sets the process-wide REST base and gateway URL of discord.py, and gives the
    client an aiohttp connector whose TLS context trusts the emulator's
    certificate (and still verifies it). Must be called from the event loop the
    client will run in, before ``client.login``/``client.start``.

    Raises:
        RuntimeError: the client already has an HTTP session (it logged in).
    """
    if client.http.connector is not discord.utils.MISSING:
        raise RuntimeError("point_discord_at must be called before the client logs in")
    discord.http.Route.BASE = addresses.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(addresses.gateway_url)
    context = Certificate(addresses.cert_path, addresses.cert_path).client_context()
    client.http.connector = aiohttp.TCPConnector(limit=0, ssl=context)
