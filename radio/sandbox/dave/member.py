"""A listener who is a member of a room's DAVE group, with its own davey session.

It answers the voice server the way discord.py 2.7 does (key package on a new
session or epoch 1, commit for proposals, ready for transitions, op 31 and a
fresh session when a commit or welcome does not process) and opens every frame
it hears the way a Discord client does: a DAVE frame (ending in the 0xFAFA
marker) is decrypted with the sender's key for the epoch; a plain frame is let
through (passthrough) only while the session has no group yet, the room is not
encrypted (protocol 0), or during a transition window: from processing a
commit or welcome until 10 s after the transition executes (a sender still
plain until it has processed it too; discord.py encrypts as soon as its
session is ready), from a downgrade's prepare on, and from a sender whose
current connection the server has not added to the group yet (its session has
no group, so it sends plain); any other plain frame is refused and counted.

Messages from the server are handled on the event loop, one at a time in the
order sent (as a socket would deliver them); frames are opened on the UDP
reader's thread, so the davey session is only touched under a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import davey

from radio.sandbox.dave import wire

logger = logging.getLogger(__name__)

MAGIC = b"\xfa\xfa"
TRANSITION_EXPIRY = 10  # seconds plain frames stay acceptable after a transition executes
OPUS_SILENCE = b"\xf8\xff\xfe"
# Outcomes of opening one frame.
DECRYPTED, PASSTHROUGH, SILENCE, REFUSED, FAILED = (
    "decrypted",
    "passthrough",
    "silence",
    "refused",
    "failed",
)


def is_dave_frame(payload: bytes) -> bool:
    """Whether an Opus payload carries DAVE's trailer (it ends in the 0xFAFA marker)."""
    return len(payload) > len(MAGIC) + 1 and payload.endswith(MAGIC)


@dataclass(frozen=True)
class Heard:
    """What this member made of one frame."""

    sequence: int
    sender: int  # user id
    outcome: str
    epoch: int | None


class Replies:
    """The server's side of a member's messages (a :class:`DaveRoom` answers these)."""

    def __init__(
        self,
        key_package: Callable[[int, bytes], Awaitable[None]],
        commit_welcome: Callable[[int, bytes], Awaitable[None]],
        ready: Callable[[int, int], Awaitable[None]],
        invalid: Callable[[int, int], Awaitable[None]],
    ) -> None:
        self.key_package = key_package
        self.commit_welcome = commit_welcome
        self.ready = ready
        self.invalid = invalid


class ListenerMember:
    """One listening person in one room: a group member that decrypts (a :class:`wire.Link`)."""

    def __init__(
        self,
        user_id: int,
        channel_id: int,
        replies: Replies,
        not_yet_added: Callable[[int], bool] = lambda user_id: False,
    ) -> None:
        self.user_id = user_id
        self._not_yet_added = not_yet_added
        self.channel_id = channel_id
        self._replies = replies
        self._lock = threading.Lock()
        self._session: davey.DaveSession | None = None
        self.protocol_version = 0
        self._pending: dict[int, int] = {}  # transition id -> protocol version
        self.downgraded = False
        self.heard: list[Heard] = []
        self.counts: Counter[str] = Counter()
        self.reinits = 0
        self._inbox: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------

    async def start(self, protocol_version: int) -> None:
        """Open the session as discord.py does on SESSION_DESCRIPTION; send the key package."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        self.protocol_version = protocol_version
        if protocol_version > 0:
            await self._reinit()

    async def stop(self) -> None:
        """Stop handling messages (the member left)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def ready(self) -> bool:
        """Whether the session holds a group's keys."""
        with self._lock:
            return self._session is not None and bool(self._session.ready)

    @property
    def epoch(self) -> int | None:
        """The epoch of the member's group, if it has one."""
        with self._lock:
            return None if self._session is None else self._session.epoch

    def user_ids(self) -> list[int]:
        """The members of its group, as its session sees them."""
        with self._lock:
            if self._session is None or not self._session.ready:
                return []
            return sorted(int(u) for u in self._session.get_user_ids())

    # -- the Link the server writes to ---------------------------------------

    async def send_json(self, op: int, data: Any) -> None:
        """Deliver a JSON opcode (handled in order on the member's task)."""
        self._inbox.put_nowait((op, data))

    async def send_binary(self, op: int, body: bytes) -> None:
        """Deliver a binary opcode (handled in order on the member's task)."""
        self._inbox.put_nowait((op, body))

    async def _run(self) -> None:
        while True:
            op, data = await self._inbox.get()
            try:
                await self._handle(op, data)
            except Exception:
                # A member that stops answering would hang the room's transitions.
                logger.exception("listener %d could not handle DAVE opcode %d", self.user_id, op)

    async def _handle(self, op: int, data: Any) -> None:
        if op == wire.EXTERNAL_SENDER:
            with self._lock:
                if self._session is not None:
                    self._session.set_external_sender(data)
        elif op == wire.PROPOSALS:
            kind = davey.ProposalsOperationType.append
            if data[0] == wire.REVOKE:
                kind = davey.ProposalsOperationType.revoke
            with self._lock:
                result = (
                    None
                    if self._session is None
                    else self._session.process_proposals(kind, data[1:])
                )
            if result is not None:
                await self._replies.commit_welcome(
                    self.user_id, result.commit + (result.welcome or b"")
                )
        elif op in (wire.ANNOUNCE_COMMIT, wire.WELCOME):
            (transition_id,) = struct.unpack_from(">H", data, 0)
            try:
                with self._lock:
                    if self._session is None:
                        raise ValueError("no DAVE session")
                    if op == wire.ANNOUNCE_COMMIT:
                        self._session.process_commit(data[2:])
                    else:
                        self._session.process_welcome(data[2:])
                    # A sender may still be plain until it has processed the transition
                    # too: accept plain frames until it executes (then 10 s more).
                    self._session.set_passthrough_mode(True)
            except ValueError:
                what = "commit" if op == wire.ANNOUNCE_COMMIT else "welcome"
                self.counts["invalid_" + what] += 1
                await self._replies.invalid(self.user_id, transition_id)
                await self._reinit()
                return
            if transition_id != 0:
                self._pending[transition_id] = self.protocol_version
                await self._replies.ready(self.user_id, transition_id)
        elif op == wire.PREPARE_TRANSITION:
            transition_id, version = int(data["transition_id"]), int(data["protocol_version"])
            self._pending[transition_id] = version
            if transition_id == 0:
                self._execute(transition_id)
            else:
                if version == 0:
                    self._passthrough(True, 120)
                await self._replies.ready(self.user_id, transition_id)
        elif op == wire.EXECUTE_TRANSITION:
            self._execute(int(data["transition_id"]))
        elif op == wire.PREPARE_EPOCH and int(data["epoch"]) == 1:
            self.protocol_version = int(data["protocol_version"])
            await self._reinit()

    def _execute(self, transition_id: int) -> None:
        if transition_id not in self._pending:
            return
        old = self.protocol_version
        self.protocol_version = self._pending.pop(transition_id)
        if old != self.protocol_version and self.protocol_version == 0:
            self.downgraded = True
        elif self.protocol_version > 0:
            self.downgraded = False
            self._passthrough(False, TRANSITION_EXPIRY)

    def _passthrough(self, on: bool, expiry: int) -> None:
        with self._lock:
            if self._session is not None:
                self._session.set_passthrough_mode(on, expiry)

    async def _reinit(self) -> None:
        self.reinits += 1
        with self._lock:
            if self._session is None:
                self._session = davey.DaveSession(
                    self.protocol_version, self.user_id, self.channel_id
                )
            else:
                self._session.reinit(self.protocol_version, self.user_id, self.channel_id)
            key_package = self._session.get_serialized_key_package()
        await self._replies.key_package(self.user_id, key_package)

    # -- hearing --------------------------------------------------------------

    def open(self, sender: int, sequence: int, payload: bytes) -> bytes | None:
        """Open one frame from user ``sender``; return the Opus, or None if refused/failed.

        Called from the UDP reader's thread; every outcome is counted and kept in
        ``heard``.
        """
        plaintext: bytes | None = None
        with self._lock:
            session = self._session
            ready = session is not None and bool(session.ready)
            epoch = session.epoch if session is not None else None
            if payload == OPUS_SILENCE:
                outcome, plaintext = SILENCE, payload
            elif not ready or self.protocol_version == 0:
                if is_dave_frame(payload):
                    outcome = FAILED  # encrypted for a group this member is not in (yet)
                else:
                    outcome, plaintext = PASSTHROUGH, payload
            elif not is_dave_frame(payload) and self._not_yet_added(sender):
                outcome, plaintext = PASSTHROUGH, payload  # its session has no group yet
            else:
                assert session is not None
                try:
                    plaintext = bytes(session.decrypt(sender, davey.MediaType.audio, payload))
                except ValueError:
                    outcome = FAILED if is_dave_frame(payload) else REFUSED
                else:
                    outcome = DECRYPTED if is_dave_frame(payload) else PASSTHROUGH
        self.counts[outcome] += 1
        self.heard.append(Heard(sequence, sender, outcome, epoch))
        return plaintext
