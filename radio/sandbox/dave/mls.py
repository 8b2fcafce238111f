"""The voice server's share of MLS (RFC 9420), written from the RFC, for DAVE v1.

A DAVE voice server is the group's *external sender*: it never holds group
secrets, it only (a) announces its signing key (opcode 25: an ``ExternalSender``
struct), (b) proposes adding and removing members (opcode 27: ``PublicMessage``
proposals with ``sender_type = external``, signed with its P-256 key) and (c)
reads the public framing of the commits members send back (opcode 28) to split
the commit from the welcome, check group and epoch, and learn which of its
proposals were committed. Ciphersuite 2 (``MLS_128_DHKEMP256_AES128GCM_SHA256_P256``):
ECDSA P-256 with SHA-256, DER signatures, SHA-256 reference hashes.

Encodings used (TLS presentation language, RFC 9420 §2.1.2 variable-length
vectors): ``opaque x<V>`` is a QUIC-style varint length then the bytes.
Everything here is pure: bytes in, bytes out; parse errors raise
:class:`MlsFormatError`.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from radio.errors import RadioError

MLS10 = 1
WIRE_PUBLIC_MESSAGE = 1
WIRE_WELCOME = 3
SENDER_MEMBER, SENDER_EXTERNAL = 1, 2
CONTENT_PROPOSAL, CONTENT_COMMIT = 2, 3
PROPOSAL_ADD, PROPOSAL_REMOVE = 1, 3
PROPOSAL_OR_REF_PROPOSAL, PROPOSAL_OR_REF_REFERENCE = 1, 2
CREDENTIAL_BASIC = 1
CIPHERSUITE_P256 = 2
_LEAF_SOURCE_KEY_PACKAGE, _LEAF_SOURCE_UPDATE, _LEAF_SOURCE_COMMIT = 1, 2, 3


class MlsFormatError(RadioError):
    """Bytes that are not the MLS structure they claim to be."""


def varint(n: int) -> bytes:
    """RFC 9420 §2.1.2 length prefix (1, 2 or 4 bytes)."""
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return struct.pack(">H", n | 0x4000)
    if n < 1 << 30:
        return struct.pack(">I", n | 0x8000_0000)
    raise ValueError("MLS vectors are shorter than 2**30 bytes")


def vector(data: bytes) -> bytes:
    """``opaque data<V>``."""
    return varint(len(data)) + data


class Reader:
    """A cursor over TLS-encoded bytes; every read raises MlsFormatError past the end."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def take(self, n: int) -> bytes:
        if n < 0 or self.offset + n > len(self.data):
            raise MlsFormatError(f"truncated MLS data at byte {self.offset} (wanted {n})")
        chunk = self.data[self.offset : self.offset + n]
        self.offset += n
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def length(self) -> int:
        first = self.uint(1)
        prefix = first >> 6
        if prefix == 0:
            return first & 0x3F
        if prefix == 1:
            return ((first & 0x3F) << 8) | self.uint(1)
        if prefix == 2:
            return ((first & 0x3F) << 24) | self.uint(3)
        raise MlsFormatError("invalid MLS varint prefix")

    def vector(self) -> bytes:
        return self.take(self.length())

    @property
    def done(self) -> bool:
        return self.offset >= len(self.data)


class ExternalSenderKey:
    """The voice server's P-256 signing identity for one room's group."""

    def __init__(self, identity: bytes = b"\x00" * 8) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.identity = identity

    @property
    def public(self) -> bytes:
        """The uncompressed SEC1 point MLS uses as ``SignaturePublicKey``."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def package(self) -> bytes:
        """Opcode 25's body: ``struct { SignaturePublicKey; Credential(basic) }``."""
        credential = struct.pack(">H", CREDENTIAL_BASIC) + vector(self.identity)
        return vector(self.public) + credential

    def sign_with_label(self, label: bytes, content: bytes) -> bytes:
        """RFC 9420 §5.1.2 SignWithLabel: ECDSA P-256/SHA-256 over SignContent, DER."""
        sign_content = vector(b"MLS 1.0 " + label) + vector(content)
        return self._key.sign(sign_content, ec.ECDSA(hashes.SHA256()))


@dataclass(frozen=True)
class ExternalProposal:
    """One signed proposal message and the reference members file it under."""

    message: bytes  # MLSMessage (PublicMessage), as opcode 27 carries it
    ref: bytes  # ProposalRef: RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent)


def _external_proposal(
    key: ExternalSenderKey, group_id: bytes, epoch: int, proposal: bytes
) -> ExternalProposal:
    content = (
        vector(group_id)
        + struct.pack(">QBI", epoch, SENDER_EXTERNAL, 0)  # sender_index 0: the one external sender
        + vector(b"")  # authenticated_data
        + bytes([CONTENT_PROPOSAL])
        + proposal
    )
    framing = struct.pack(">HH", MLS10, WIRE_PUBLIC_MESSAGE)
    # FramedContentTBS: no GroupContext for an external sender (RFC 9420 §6.1).
    signature = key.sign_with_label(b"FramedContentTBS", framing + content)
    auth = vector(signature)  # no confirmation tag for a proposal, no membership tag for external
    authenticated = struct.pack(">H", WIRE_PUBLIC_MESSAGE) + content + auth
    ref = hashlib.sha256(vector(b"MLS 1.0 Proposal Reference") + vector(authenticated)).digest()
    return ExternalProposal(message=framing + content + auth, ref=ref)


def add_proposal(
    key: ExternalSenderKey, group_id: bytes, epoch: int, key_package: bytes
) -> ExternalProposal:
    """An external Add of the member whose serialized KeyPackage is ``key_package``."""
    return _external_proposal(key, group_id, epoch, struct.pack(">H", PROPOSAL_ADD) + key_package)


def remove_proposal(
    key: ExternalSenderKey, group_id: bytes, epoch: int, leaf_index: int
) -> ExternalProposal:
    """An external Remove of the member at ``leaf_index``."""
    return _external_proposal(key, group_id, epoch, struct.pack(">HI", PROPOSAL_REMOVE, leaf_index))


def proposals_append(proposals: list[ExternalProposal]) -> bytes:
    """Opcode 27's body after its operation byte, for append: ``MLSMessage messages<V>``."""
    return vector(b"".join(p.message for p in proposals))


def proposals_revoke(refs: list[bytes]) -> bytes:
    """Opcode 27's body after its operation byte, for revoke: ``ProposalRef refs<V>``."""
    return vector(b"".join(vector(ref) for ref in refs))


def key_package_identity(key_package: bytes) -> int:
    """The user id (basic credential, 8 bytes big-endian) a KeyPackage's leaf names.

    Raises MlsFormatError when it is not a version-1, ciphersuite-2 KeyPackage
    with a basic credential of 8 bytes.
    """
    reader = Reader(key_package)
    if reader.uint(2) != MLS10 or reader.uint(2) != CIPHERSUITE_P256:
        raise MlsFormatError("key package is not MLS 1.0 with ciphersuite 2")
    reader.vector()  # init_key
    reader.vector()  # leaf encryption_key
    reader.vector()  # leaf signature_key
    if reader.uint(2) != CREDENTIAL_BASIC:
        raise MlsFormatError("key package credential is not basic")
    identity = reader.vector()
    if len(identity) != 8:
        raise MlsFormatError("key package identity is not a 64-bit user id")
    return int.from_bytes(identity, "big")


@dataclass(frozen=True)
class CommitInfo:
    """What the public framing of a member's commit tells the server."""

    group_id: bytes
    epoch: int  # the epoch the commit was made in (the group moves to epoch + 1)
    committer_leaf: int
    proposal_refs: tuple[bytes, ...]  # committed by reference, in order
    inline_proposals: int  # proposals carried by value (DAVE commits carry none)
    commit: bytes  # the MLSMessage, as opcode 29 forwards it
    welcome: bytes | None  # the Welcome that followed it in opcode 28, as opcode 30 forwards it


def parse_commit_welcome(data: bytes) -> CommitInfo:
    """Split opcode 28's body (``MLSMessage commit`` then an optional ``Welcome``).

    Raises MlsFormatError when the commit is not a PublicMessage commit from a
    member, or bytes after it are not one whole Welcome.
    """
    reader = Reader(data)
    if reader.uint(2) != MLS10 or reader.uint(2) != WIRE_PUBLIC_MESSAGE:
        raise MlsFormatError("commit is not an MLS 1.0 PublicMessage")
    group_id = reader.vector()
    epoch = reader.uint(8)
    if reader.uint(1) != SENDER_MEMBER:
        raise MlsFormatError("commit is not from a member")
    committer = reader.uint(4)
    reader.vector()  # authenticated_data
    if reader.uint(1) != CONTENT_COMMIT:
        raise MlsFormatError("message is not a commit")
    proposals = Reader(reader.vector())
    refs: list[bytes] = []
    inline = 0
    while not proposals.done:
        kind = proposals.uint(1)
        if kind == PROPOSAL_OR_REF_REFERENCE:
            refs.append(proposals.vector())
        elif kind == PROPOSAL_OR_REF_PROPOSAL:
            inline += 1
            _skip_proposal(proposals)
        else:
            raise MlsFormatError("unknown ProposalOrRef type")
    if reader.uint(1):  # optional<UpdatePath>
        _skip_leaf_node(reader)
        reader.vector()  # UpdatePathNode nodes<V>
    reader.vector()  # signature
    reader.vector()  # confirmation_tag
    reader.vector()  # membership_tag
    end = reader.offset
    welcome: bytes | None = None
    if not reader.done:
        welcome = data[end:]
        check = Reader(welcome)
        if check.uint(2) != CIPHERSUITE_P256:
            raise MlsFormatError("welcome is not for ciphersuite 2")
        check.vector()  # secrets
        check.vector()  # encrypted_group_info
        if not check.done:
            raise MlsFormatError("bytes after the welcome")
    return CommitInfo(
        group_id=group_id,
        epoch=epoch,
        committer_leaf=committer,
        proposal_refs=tuple(refs),
        inline_proposals=inline,
        commit=data[:end],
        welcome=welcome,
    )


def _skip_proposal(reader: Reader) -> None:
    kind = reader.uint(2)
    if kind == PROPOSAL_REMOVE:
        reader.take(4)
    else:  # only Remove has a fixed shape; DAVE members commit external proposals by reference
        raise MlsFormatError(f"inline proposal type {kind} is not expected in DAVE")


def _skip_leaf_node(reader: Reader) -> None:
    reader.vector()  # encryption_key
    reader.vector()  # signature_key
    reader.uint(2)  # credential_type
    reader.vector()  # identity (basic)
    for _ in range(5):  # capabilities: versions, ciphersuites, extensions, proposals, credentials
        reader.vector()
    source = reader.uint(1)
    if source == _LEAF_SOURCE_KEY_PACKAGE:
        reader.take(16)  # lifetime
    elif source == _LEAF_SOURCE_COMMIT:
        reader.vector()  # parent_hash
    elif source != _LEAF_SOURCE_UPDATE:
        raise MlsFormatError("unknown leaf node source")
    reader.vector()  # extensions
    reader.vector()  # signature
