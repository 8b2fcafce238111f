"""Our RFC 9420 encoding of the voice server's MLS messages, checked by davey (the client side)."""

from __future__ import annotations

import davey
import pytest

from radio.sandbox.dave import mls

CHANNEL = 1_234_567_890_123
GROUP = CHANNEL.to_bytes(8, "big")
BOT, ALICE, BOB = 111, 222, 333
APPEND, REVOKE = davey.ProposalsOperationType.append, davey.ProposalsOperationType.revoke


def member(user: int, key: mls.ExternalSenderKey) -> davey.DaveSession:
    session = davey.DaveSession(1, user, CHANNEL)
    session.set_external_sender(key.package())
    return session


def test_two_members_form_a_group_from_our_add_and_share_keys() -> None:
    key = mls.ExternalSenderKey()
    bot, alice = member(BOT, key), member(ALICE, key)
    package = alice.get_serialized_key_package()
    assert mls.key_package_identity(package) == ALICE
    add = mls.add_proposal(key, GROUP, 0, package)

    result = bot.process_proposals(APPEND, mls.proposals_append([add]))

    assert result is not None and result.welcome is not None
    info = mls.parse_commit_welcome(result.commit + result.welcome)
    assert (info.group_id, info.epoch, info.committer_leaf) == (GROUP, 0, 0)
    assert info.proposal_refs == (add.ref,)  # our reference hash is the one davey computed
    assert (info.commit, info.welcome) == (result.commit, result.welcome)
    bot.process_commit(info.commit)
    alice.process_welcome(result.welcome)
    frame = bot.encrypt_opus(b"\xfc\xff\xfe" + bytes(range(40)))
    assert frame.endswith(b"\xfa\xfa")
    assert alice.decrypt(BOT, davey.MediaType.audio, frame) == b"\xfc\xff\xfe" + bytes(range(40))


def test_a_remove_by_leaf_and_a_revoke_by_reference_are_understood() -> None:
    key = mls.ExternalSenderKey()
    bot, alice, bob = member(BOT, key), member(ALICE, key), member(BOB, key)
    adds = [mls.add_proposal(key, GROUP, 0, s.get_serialized_key_package()) for s in (alice, bob)]
    first = bot.process_proposals(APPEND, mls.proposals_append(adds))
    assert first is not None and first.welcome is not None
    bot.process_commit(first.commit)
    alice.process_welcome(first.welcome)
    bob.process_welcome(first.welcome)

    remove = mls.remove_proposal(key, GROUP, 1, 2)  # bob holds leaf 2
    assert alice.process_proposals(APPEND, mls.proposals_append([remove])) is not None
    assert alice.process_proposals(REVOKE, mls.proposals_revoke([remove.ref])) is None
    assert bot.process_proposals(APPEND, mls.proposals_append([remove])) is not None
    second = alice.process_proposals(APPEND, mls.proposals_append([remove]))
    assert second is not None and second.welcome is None
    info = mls.parse_commit_welcome(second.commit)
    assert info.epoch == 1 and info.committer_leaf == 1 and info.welcome is None
    bot.process_commit(second.commit)
    alice.process_commit(second.commit)
    assert sorted(bot.get_user_ids()) == [str(BOT), str(ALICE)] == sorted(alice.get_user_ids())


def test_a_proposal_signed_by_another_key_or_for_another_epoch_is_refused() -> None:
    key = mls.ExternalSenderKey()
    bot, alice = member(BOT, key), member(ALICE, key)
    package = alice.get_serialized_key_package()
    forged = mls.add_proposal(mls.ExternalSenderKey(), GROUP, 0, package)
    with pytest.raises(ValueError):
        bot.process_proposals(APPEND, mls.proposals_append([forged]))
    wrong_epoch = mls.add_proposal(key, GROUP, 5, package)
    with pytest.raises(ValueError):
        bot.process_proposals(APPEND, mls.proposals_append([wrong_epoch]))


def test_malformed_commits_and_key_packages_are_format_errors() -> None:
    key = mls.ExternalSenderKey()
    bot, alice = member(BOT, key), member(ALICE, key)
    result = bot.process_proposals(
        APPEND,
        mls.proposals_append([mls.add_proposal(key, GROUP, 0, alice.get_serialized_key_package())]),
    )
    assert result is not None and result.welcome is not None
    whole = result.commit + result.welcome
    for bad in (whole[:40], whole[:-1], whole + b"\x00", b"", b"\x00\x01\x00\x05"):
        with pytest.raises(mls.MlsFormatError):
            mls.parse_commit_welcome(bad)
    with pytest.raises(mls.MlsFormatError):
        mls.key_package_identity(b"\x00\x01\x00\x01")


def test_varint_boundaries() -> None:
    for n, size in ((0, 1), (63, 1), (64, 2), (16383, 2), (16384, 4), (2**30 - 1, 4)):
        encoded = mls.varint(n)
        assert len(encoded) == size
        assert mls.Reader(encoded).length() == n
    with pytest.raises(ValueError):
        mls.varint(2**30)
