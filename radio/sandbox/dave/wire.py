"""DAVE's voice gateway opcodes and how their binary frames are laid out.

Server to client, binary: ``seq (u16) | opcode (u8) | body``; client to
server, binary: ``opcode (u8) | body``. JSON opcodes carry ``{"op", "d"}``.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable
from typing import Any, Protocol

PREPARE_TRANSITION = 21  # JSON, server -> client {transition_id, protocol_version}
EXECUTE_TRANSITION = 22  # JSON, server -> client {transition_id}
TRANSITION_READY = 23  # JSON, client -> server {transition_id}
PREPARE_EPOCH = 24  # JSON, server -> client {protocol_version, epoch}
EXTERNAL_SENDER = 25  # binary, server -> client: ExternalSender
KEY_PACKAGE = 26  # binary, client -> server: KeyPackage
PROPOSALS = 27  # binary, server -> client: operation (0 append, 1 revoke) | vector
COMMIT_WELCOME = 28  # binary, client -> server: MLSMessage commit [| Welcome]
ANNOUNCE_COMMIT = 29  # binary, server -> client: transition_id (u16) | MLSMessage commit
WELCOME = 30  # binary, server -> client: transition_id (u16) | Welcome
INVALID_COMMIT_WELCOME = 31  # JSON, client -> server {transition_id}

APPEND, REVOKE = 0, 1
PROTOCOL_VERSION = 1
# Discord closes a voice connection that cannot speak DAVE in a room that requires it.
CLOSE_E2EE_REQUIRED = 4017


def with_transition(transition_id: int, body: bytes) -> bytes:
    """Opcodes 29 and 30: a big-endian u16 transition id, then the MLS bytes."""
    return struct.pack(">H", transition_id) + body


class Link(Protocol):
    """How the voice server reaches one member: its voice WebSocket, or in-process."""

    user_id: int

    def send_json(self, op: int, data: Any) -> Awaitable[None]:
        """Send a JSON opcode (the server numbers it)."""
        ...

    def send_binary(self, op: int, body: bytes) -> Awaitable[None]:
        """Send a binary opcode (the server prefixes its sequence number)."""
        ...
