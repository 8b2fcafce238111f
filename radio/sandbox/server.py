"""The emulator: one object that owns the world and serves every part of it.

``Emulator.start()`` binds, on 127.0.0.1 and ephemeral ports, an HTTP server
(REST under ``/api/v10``, the gateway at ``/gateway``, the control API under
``/control``), a TLS server for the voice WebSocket and a UDP port for voice.
It runs in the caller's event loop: in-process from pytest-asyncio or the demo,
or standalone with ``python -m radio.sandbox``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web

from radio.clock import Clock
from radio.sandbox.gateway import Gateway
from radio.sandbox.record import ListenerRecord
from radio.sandbox.rest import HTTPError, Rest
from radio.sandbox.speakers import StageSpeakers
from radio.sandbox.state import (
    PRIVILEGED_INTENTS,
    Interaction,
    Message,
    SnowflakeFactory,
    World,
    build_world,
)
from radio.sandbox.tls import Certificate, make_certificate
from radio.sandbox.voice_states import VoiceStates
from radio.sandbox.voice_udp import VoiceListener
from radio.sandbox.voice_ws import VoiceServer

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Addresses:
    """Where a running emulator listens."""

    http_port: int
    voice_port: int
    udp_port: int
    cert_path: Path

    def to_json(self) -> dict[str, int | str]:
        """The addresses as JSON values, for a bot in another process (:meth:`from_json`)."""
        return {
            "http_port": self.http_port,
            "voice_port": self.voice_port,
            "udp_port": self.udp_port,
            "cert_path": str(self.cert_path),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Addresses:
        """The addresses :meth:`to_json` gave; raises KeyError or ValueError when malformed."""
        return cls(
            http_port=int(str(data["http_port"])),
            voice_port=int(str(data["voice_port"])),
            udp_port=int(str(data["udp_port"])),
            cert_path=Path(str(data["cert_path"])),
        )

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"http://{HOST}:{self.http_port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY`` (and READY's resume URL)."""
        return f"ws://{HOST}:{self.http_port}/gateway"

    @property
    def voice_endpoint(self) -> str:
        """The ``endpoint`` of VOICE_SERVER_UPDATE (dialled as ``wss://{endpoint}/?v=8``)."""
        return f"{HOST}:{self.voice_port}"

    @property
    def control_url(self) -> str:
        """Base URL of the control API."""
        return f"http://{HOST}:{self.http_port}/control"


class Emulator:
    """A local Discord with one guild, served on loopback.

    ``clock`` stamps messages and snowflakes; ``monotonic`` stamps packet
    arrivals and drives rate-limit windows. ``allowed_intents`` are the
    privileged intents "enabled in the developer portal"; asking for others
    closes the gateway with 4014. ``decode=False`` records packet arrivals
    authenticated but not decoded (for benchmarks with many stations);
    ``record_limit`` bounds the packets kept (None: all, for tests; a long demo
    should set one, each decoded packet holds 3,840 bytes of PCM). ``guilds``
    makes that many identical guilds (one voice connection each: simulcast);
    ``bots`` that many bot accounts, each a member of every guild (a station's
    voices: ``world.bots`` maps each token to its user); ``stages`` that many
    stage rooms in each guild.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        monotonic: Callable[[], float],
        token: str = "sandbox-token",
        allowed_intents: int = PRIVILEGED_INTENTS,
        decode: bool = True,
        record_limit: int | None = None,
        guilds: int = 1,
        bots: int = 1,
        stages: int = 1,
        world_epoch: datetime | None = None,
    ) -> None:
        self.clock = clock
        self._monotonic = monotonic
        self.snowflakes = SnowflakeFactory()
        # A fixed epoch gives the guild, its rooms and people the same ids on every
        # start, as Discord keeps them (the demo's data folder outlives a run).
        epoch = clock.now() if world_epoch is None else world_epoch
        self.world: World = build_world(
            epoch, self.snowflakes, token, guilds=guilds, bots=bots, stages=stages
        )
        self.record = ListenerRecord(limit=record_limit)
        self.gateway = Gateway(self.world, clock, allowed_intents=allowed_intents)
        self.voice = VoiceServer(self.world, self._udp_port, lambda ssrc: self.listener.nudge(ssrc))
        self.voice_states = VoiceStates(self.world, self.gateway, self.voice, clock)
        self.rest = Rest(
            self.world, self.gateway, self.voice_states, clock, monotonic, self.snowflakes
        )
        self.listener = VoiceListener(self.voice, self.record, monotonic, decode=decode)
        self.listener.e2ee = self.voice.dave
        self.speakers = StageSpeakers(
            self.world, self.voice_states, self.voice, self.listener.send_to, monotonic
        )
        self._runners: list[web.AppRunner] = []
        self._workdir: Path | None = None
        self._addresses: Addresses | None = None

    @property
    def addresses(self) -> Addresses:
        """The bound addresses; raises RuntimeError before :meth:`start`."""
        if self._addresses is None:
            raise RuntimeError("the emulator is not started")
        return self._addresses

    def _udp_port(self) -> int:
        return self.listener.port

    async def start(self) -> Addresses:
        """Bind every port on 127.0.0.1 and start serving; return the addresses.

        Raises OSError if a port cannot be bound (everything bound so far is released).
        """
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> Addresses:
        from radio.sandbox.control import Control  # control imports this module's types

        self.listener.start(HOST)
        self._workdir = Path(tempfile.mkdtemp(prefix="radio-sandbox-"))
        certificate: Certificate = make_certificate(self._workdir, self.clock.now())

        api = web.Application()
        api.add_routes(self.rest.routes())
        app = web.Application()
        app.add_subapp("/api/v10", api)
        app.router.add_get("/gateway", self.gateway.handle)
        app.add_subapp("/control", Control(self).app())
        http_port = await self._serve(app, None)

        voice_app = web.Application()
        voice_app.router.add_get("/", self.voice.handle)
        voice_port = await self._serve(voice_app, certificate)

        self._addresses = addresses = Addresses(
            http_port=http_port,
            voice_port=voice_port,
            udp_port=self.listener.port,
            cert_path=certificate.cert_path,
        )
        self.gateway.resume_url = addresses.gateway_url
        self.rest.gateway_url = addresses.gateway_url
        self.voice.endpoint = addresses.voice_endpoint
        logger.info(
            "sandbox Discord on %s (voice wss://%s, udp %d)",
            addresses.api_base,
            addresses.voice_endpoint,
            addresses.udp_port,
        )
        return addresses

    async def _serve(self, app: web.Application, certificate: Certificate | None) -> int:
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        ssl_context = None if certificate is None else certificate.server_context()
        site = web.TCPSite(runner, HOST, 0, ssl_context=ssl_context)
        await site.start()
        self._runners.append(runner)
        server = site._server  # aiohttp exposes the bound port only through the server
        assert isinstance(server, asyncio.base_events.Server)
        return int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close every socket and server and delete the certificate."""
        await self.speakers.aclose()
        await self.gateway.aclose()
        await self.voice.aclose()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        self.listener.close()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- acting as the people in the guild --------------------------------------

    def person(self, name: str) -> int:
        """Return the user id of ``alice``, ``bob`` or ``carol``; KeyError otherwise."""
        return self.world.people[name].id

    async def inject_message(
        self, author: str, content: str, *, channel_id: int | None = None
    ) -> Message:
        """Post ``content`` as ``author`` (a person's name) and dispatch MESSAGE_CREATE."""
        channel = self.world.text_channel.id if channel_id is None else channel_id
        try:
            return await self.rest.post_message(channel, self.person(author), content)
        except HTTPError as exc:
            raise LookupError(exc.message) from None

    async def inject_interaction(
        self,
        author: str,
        name: str,
        options: list[dict[str, object]] | None = None,
        *,
        channel_id: int | None = None,
    ) -> Interaction:
        """Run the slash command ``name`` as ``author``; dispatch INTERACTION_CREATE.

        The command must have been registered by the bot (bulk overwrite, guild or
        global); raises LookupError otherwise.
        """
        from radio.sandbox.interactions import build_interaction

        return await build_interaction(self, author, name, options or [], channel_id)

    async def slash_reply(
        self, author: str, name: str, *, timeout: float = 30.0, **options: object
    ) -> str:
        """Run the slash command ``name`` as ``author`` and return the bot's reply text.

        Raises TimeoutError when the bot has not answered within ``timeout`` seconds
        (a guard against a hung bot, not a measure).
        """
        interaction = await self.inject_interaction(
            author, name, [{"name": k, "value": v} for k, v in options.items()]
        )
        async with asyncio.timeout(timeout):
            while interaction.response_message_id is None:
                await asyncio.sleep(0.02)
        return self.world.messages[interaction.response_message_id].content
