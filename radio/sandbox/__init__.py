"""A local Discord for tests and the demo: REST, gateway, voice and a listener.

The real, unmodified discord.py client connects to it (see
:func:`point_discord_at`); the emulator records what a listener in the voice
room hears (:class:`ListenerRecord`) and what the bot posted and set.
"""

from radio.sandbox.client import point_discord_at
from radio.sandbox.record import ListenerRecord, PacketRecord
from radio.sandbox.server import Addresses, Emulator

__all__ = ["Addresses", "Emulator", "ListenerRecord", "PacketRecord", "point_discord_at"]
