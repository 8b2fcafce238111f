"""One voice room's MLS group as Discord's voice server runs it (DAVE protocol v1).

The server is the group's external sender. It never holds group secrets; it
orders the group's life:

- a member's voice connection gets the external sender package (op 25) and
  answers with a key package (op 26);
- with no group yet, every member waiting with a key package is sent Add
  proposals (op 27) for all the others at epoch 0; each creates a one-member
  group and commits them; with a group, the members in it are sent the Adds
  (and the Removes of members who left or must rejoin);
- the first commit (op 28) for the current epoch that references only proposals
  of this epoch wins; later ones are stale and dropped. Its transition is
  announced: op 29 (the commit) to the members in the group, op 30 (the
  welcome) to those it adds. Each answers op 23; when all have (or left), op 22
  executes the transition;
- a member that cannot process a commit or welcome says so (op 31) and sends a
  new key package: it is removed from the group and added back;
- a downgrade is op 21 to protocol 0 then op 22; an upgrade or a re-key is
  op 24 (epoch 1: a new group), after which the group is built again.

Leaf positions follow RFC 9420: removes blank their leaf, each add takes the
leftmost blank leaf or extends the tree. ``faults`` corrupts the next commit or
welcome sent to one member (the invalid commit/welcome path).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from radio.sandbox.dave import mls, wire
from radio.sandbox.dave.wire import Link

logger = logging.getLogger(__name__)


@dataclass
class RoomFaults:
    """Corrupt the next commit (op 29) or welcome (op 30) sent to a user id."""

    corrupt_commit_for: int | None = None
    corrupt_welcome_for: int | None = None


@dataclass
class _Member:
    link: Link
    key_package: bytes | None = None
    proposed: bool = False  # an Add for the current key package is out in this epoch
    away: bool = False  # its socket closed while it stays in the room (reconnecting)
    added: bool = False  # this connection's key package made it a group member


@dataclass
class Transition:
    """A commit or a protocol change in flight: who must still say ready."""

    transition_id: int
    protocol_version: int
    waiting: set[int]
    members: set[int]  # who is told to execute it


@dataclass
class _Proposal:
    kind: str  # "add" | "remove"
    user_id: int
    leaf: int | None = None


@dataclass
class RoomStats:
    """What happened to this room's group (tests read it)."""

    commits: int = 0
    stale_commits: int = 0
    invalid_reports: int = 0
    executed: list[int] = field(default_factory=list)  # transition ids, in order
    events: list[tuple[str, int]] = field(default_factory=list)  # (event, user id)


class DaveRoom:
    """The group of one room; every method runs on the voice server's event loop."""

    def __init__(self, channel_id: int, protocol_version: int = wire.PROTOCOL_VERSION) -> None:
        self.channel_id = channel_id
        self.group_id = channel_id.to_bytes(8, "big")  # DAVE: the group id is the room's id
        self.protocol_version = protocol_version
        self.key = mls.ExternalSenderKey()
        self.faults = RoomFaults()
        self.stats = RoomStats()
        self.epoch: int | None = None  # None: no group yet
        self.leaves: list[int | None] = []  # user id per leaf index
        self._members: dict[int, _Member] = {}
        self._proposals: dict[bytes, _Proposal] = {}  # by ref, this epoch only
        self._removing: set[int] = set()  # leaves whose Remove is out this epoch
        self._next_transition = 1
        self.transition: Transition | None = None

    # -- who is here ----------------------------------------------------------

    @property
    def member_ids(self) -> list[int]:
        """Users with a DAVE-speaking connection to this room, in join order."""
        return list(self._members)

    def in_group(self) -> list[int]:
        """Users holding a leaf of the current group, in leaf order."""
        return [user for user in self.leaves if user is not None]

    def _leaf_of(self, user_id: int) -> int | None:
        for index, user in enumerate(self.leaves):
            if user == user_id:
                return index
        return None

    def link_of(self, user_id: int) -> Link | None:
        """The connection a member's messages go to, if it is here."""
        member = self._members.get(user_id)
        return None if member is None else member.link

    async def join(self, link: Link) -> None:
        """A member's connection speaks DAVE: send it the external sender package."""
        previous = self._members.get(link.user_id)
        if previous is not None and previous.link is not link:
            await self.leave(link.user_id)
        self._members[link.user_id] = _Member(link)
        self.stats.events.append(("join", link.user_id))
        if self.protocol_version > 0:
            await link.send_binary(wire.EXTERNAL_SENDER, self.key.package())

    def not_yet_added(self, user_id: int) -> bool:
        """Whether ``user_id``'s current connection is here but not yet in the group.

        Its davey session has no group, so discord.py sends it plain: members
        know it from the server (Discord announces who connects) and let its
        plain frames through. Read from the UDP reader's thread.
        """
        member = self._members.get(user_id)
        return member is not None and not member.added

    async def away(self, user_id: int) -> None:
        """A member's socket closed but it is still in the room: it keeps its leaf.

        discord.py reconnects after a close (4006, 4015...) and goes on sending with
        its session meanwhile; its new connection replaces it (a Remove and an Add).
        An away member is sent nothing and waited for by no transition.
        """
        member = self._members.get(user_id)
        if member is None:
            return
        member.away = True
        self.stats.events.append(("away", user_id))
        if self.transition is not None:
            self.transition.waiting.discard(user_id)
        await self._maybe_execute()

    async def leave(self, user_id: int) -> None:
        """A member's connection is gone: propose its removal to the rest of the group."""
        if self._members.pop(user_id, None) is None:
            return
        self.stats.events.append(("leave", user_id))
        if self.transition is not None:
            self.transition.waiting.discard(user_id)
            self.transition.members.discard(user_id)
        if not any(u in self._members for u in self.in_group()):
            self._forget_group()
        await self._reconcile()
        await self._maybe_execute()

    # -- from members ---------------------------------------------------------

    async def key_package(self, user_id: int, key_package: bytes) -> None:
        """Op 26. Raises MlsFormatError when the package is not a v1 key package of ``user_id``."""
        member = self._members.get(user_id)
        if member is None:
            return
        if mls.key_package_identity(key_package) != user_id:
            raise mls.MlsFormatError("key package names another user")
        member.key_package = key_package
        member.proposed = False
        self.stats.events.append(("key_package", user_id))
        await self._reconcile()

    async def commit_welcome(self, user_id: int, data: bytes) -> None:
        """Op 28: the first valid commit of the epoch wins and its transition starts.

        Raises MlsFormatError when the bytes are not a commit (and welcome).
        """
        info = mls.parse_commit_welcome(data)
        expected_epoch = 0 if self.epoch is None else self.epoch
        proposals = [self._proposals.get(ref) for ref in info.proposal_refs]
        if (
            info.group_id != self.group_id
            or info.epoch != expected_epoch
            or info.inline_proposals
            or not proposals
            or any(p is None for p in proposals)
            or user_id not in self._members
        ):
            self.stats.stale_commits += 1
            self.stats.events.append(("stale_commit", user_id))
            return
        committed = [p for p in proposals if p is not None]
        if self.epoch is None:
            self.leaves = [user_id]  # the committer's one-member group
            self._members[user_id].key_package = None  # its package made that group
            self._members[user_id].added = True
        old_members = set(self.in_group())
        for proposal in committed:
            if proposal.kind == "remove" and proposal.leaf is not None:
                self.leaves[proposal.leaf] = None
        added: list[int] = []
        for proposal in committed:
            if proposal.kind == "add":
                self._place(proposal.user_id)
                added.append(proposal.user_id)
        while self.leaves and self.leaves[-1] is None:
            self.leaves.pop()
        self.epoch = info.epoch + 1
        self._proposals.clear()
        self._removing.clear()
        for member in self._members.values():
            member.proposed = False
        for user in added:
            self._members[user].key_package = None
            self._members[user].added = True
        self.stats.commits += 1
        self.stats.events.append(("commit", user_id))
        transition_id = self._new_transition_id()
        staying = [
            u
            for u in self.in_group()
            if u in old_members and u not in added and not self._members[u].away
        ]
        self.transition = Transition(
            transition_id, self.protocol_version, set(staying) | set(added), set(self.in_group())
        )
        for user in staying:
            body = info.commit
            if self.faults.corrupt_commit_for == user:
                self.faults.corrupt_commit_for = None
                body = _corrupt(body)
            await self._members[user].link.send_binary(
                wire.ANNOUNCE_COMMIT, wire.with_transition(transition_id, body)
            )
        if added:
            if info.welcome is None:
                raise mls.MlsFormatError("a commit that adds members came without a welcome")
            for user in added:
                body = info.welcome
                if self.faults.corrupt_welcome_for == user:
                    self.faults.corrupt_welcome_for = None
                    body = _corrupt(body)
                await self._members[user].link.send_binary(
                    wire.WELCOME, wire.with_transition(transition_id, body)
                )
        await self._reconcile()

    async def transition_ready(self, user_id: int, transition_id: int) -> None:
        """Op 23."""
        if self.transition is not None and self.transition.transition_id == transition_id:
            self.transition.waiting.discard(user_id)
            await self._maybe_execute()

    async def invalid_commit_welcome(self, user_id: int, transition_id: int) -> None:
        """Op 31: the member resets; it is removed and re-added when its key package comes."""
        self.stats.invalid_reports += 1
        self.stats.events.append(("invalid", user_id))
        member = self._members.get(user_id)
        if member is not None:
            member.key_package = None
            member.proposed = False
        if self.transition is not None:
            self.transition.waiting.discard(user_id)
        await self._maybe_execute()

    # -- forced by the emulator ----------------------------------------------

    async def downgrade(self) -> int:
        """Op 21 (protocol 0) to every member; op 22 when all are ready. Returns the id."""
        return await self._prepare_version(0)

    async def upgrade(self) -> None:
        """Op 24 (epoch 1, protocol 1): every member starts a new group."""
        self.protocol_version = wire.PROTOCOL_VERSION
        await self.rekey()

    async def rekey(self) -> None:
        """Op 24 (epoch 1): throw the group away and build a new one (new keys)."""
        self._forget_group()
        for member in self._members.values():
            member.key_package = None
            member.proposed = False
        self.stats.events.append(("prepare_epoch", 0))
        for member in list(self._members.values()):
            await member.link.send_json(
                wire.PREPARE_EPOCH, {"protocol_version": self.protocol_version, "epoch": 1}
            )

    # -- inside ---------------------------------------------------------------

    async def _prepare_version(self, version: int) -> int:
        transition_id = self._new_transition_id()
        users = set(self._members)
        self.transition = Transition(transition_id, version, set(users), set(users))
        self.stats.events.append(("prepare_transition", version))
        for user in users:
            await self._members[user].link.send_json(
                wire.PREPARE_TRANSITION,
                {"transition_id": transition_id, "protocol_version": version},
            )
        await self._maybe_execute()
        return transition_id

    async def _maybe_execute(self) -> None:
        transition = self.transition
        if transition is None or transition.waiting:
            return
        self.transition = None
        if transition.protocol_version == 0 and self.protocol_version != 0:
            self.protocol_version = 0
            self._forget_group()
        self.stats.executed.append(transition.transition_id)
        for user in transition.members:
            member = self._members.get(user)
            if member is not None:
                await member.link.send_json(
                    wire.EXECUTE_TRANSITION, {"transition_id": transition.transition_id}
                )

    async def _reconcile(self) -> None:
        """Propose what the group lacks: adds of waiting members, removes of departed ones."""
        if self.protocol_version == 0:
            return
        if self.epoch is None:
            await self._propose_new_group()
            return
        in_group = [u for u in self.in_group() if u in self._members]
        proposals: list[mls.ExternalProposal] = []
        for leaf, user in enumerate(self.leaves):
            if user is None or leaf in self._removing:
                continue
            member = self._members.get(user)
            # gone, or asked to rejoin (op 31) and sent a new key package
            if member is None or (member.key_package is not None and not member.proposed):
                proposal = mls.remove_proposal(self.key, self.group_id, self.epoch, leaf)
                self._proposals[proposal.ref] = _Proposal("remove", user, leaf)
                self._removing.add(leaf)
                proposals.append(proposal)
        for user, member in self._members.items():
            if member.key_package is None or member.proposed:
                continue
            proposal = mls.add_proposal(self.key, self.group_id, self.epoch, member.key_package)
            self._proposals[proposal.ref] = _Proposal("add", user)
            member.proposed = True
            proposals.append(proposal)
        if not proposals:
            return
        receivers = [
            u
            for u in in_group
            if self._members[u].key_package is None and not self._members[u].away
        ]
        body = bytes([wire.APPEND]) + mls.proposals_append(proposals)
        for user in receivers:
            await self._members[user].link.send_binary(wire.PROPOSALS, body)

    async def _propose_new_group(self) -> None:
        waiting = [u for u, m in self._members.items() if m.key_package is not None]
        if len(waiting) < 2 or all(self._members[u].proposed for u in waiting):
            return
        adds: dict[int, mls.ExternalProposal] = {}
        for user in waiting:
            key_package = self._members[user].key_package
            assert key_package is not None
            adds[user] = proposal = mls.add_proposal(self.key, self.group_id, 0, key_package)
            self._proposals[proposal.ref] = _Proposal("add", user)
            self._members[user].proposed = True
        for user in waiting:
            others = [adds[u] for u in waiting if u != user]
            body = bytes([wire.APPEND]) + mls.proposals_append(others)
            await self._members[user].link.send_binary(wire.PROPOSALS, body)

    def _place(self, user_id: int) -> None:
        for index, user in enumerate(self.leaves):
            if user is None:
                self.leaves[index] = user_id
                return
        self.leaves.append(user_id)

    def _forget_group(self) -> None:
        self.epoch = None
        self.leaves = []
        self._proposals.clear()
        self._removing.clear()
        for member in self._members.values():
            member.proposed = False

    def _new_transition_id(self) -> int:
        transition_id = self._next_transition
        self._next_transition = self._next_transition % 0xFFFF + 1  # u16, never 0
        return transition_id


def _corrupt(body: bytes) -> bytes:
    # Flip a bit inside the last bytes: the signature/tags (commit) or the
    # encrypted group info (welcome); the framing still parses, verification fails.
    damaged = bytearray(body)
    damaged[-3] ^= 0x01
    return bytes(damaged)
