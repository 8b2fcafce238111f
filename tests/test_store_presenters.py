"""Presenters' encoder credentials in a real SQLite file: rotate, verify, names, reopening."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from radio.errors import StoreError
from radio.store.db import Database
from radio.store.presenters import PresenterCredentials, ScryptParams, user_name_base

# Cheap parameters keep the tests quick; the stored format carries them either way.
FAST = ScryptParams(n=2**4, r=8, p=1)
ALICE, BOB, OTHER_BOB = 111, 222, 333


def credentials(path: Path, params: ScryptParams = FAST) -> PresenterCredentials:
    return PresenterCredentials(Database(path), params=params)


def test_rotate_gives_a_url_safe_password_that_verifies(tmp_path: Path) -> None:
    store = credentials(tmp_path / "x.sqlite3")
    given = store.rotate(ALICE, "Alice")
    assert given.user == "alice"
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", given.password)
    assert store.verify("alice", given.password) == ALICE
    assert store.verify("ALICE", given.password) == ALICE  # user names ignore case
    assert store.verify("alice", given.password + "x") is None
    assert store.verify("alice", "") is None
    assert store.user_name(ALICE) == "alice"
    assert store.user_name(BOB) is None


def test_only_a_hash_is_stored_with_its_parameters(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3")
    given = PresenterCredentials(db, params=FAST).rotate(ALICE, "Alice")
    [row] = db.query("SELECT * FROM presenters")
    assert given.password not in "".join(str(value) for value in tuple(row))
    scheme, n, r, p, salt, digest = row["password_hash"].split("$")
    assert (scheme, n, r, p) == ("scrypt", "16", "8", "1")
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 32


def test_a_rotation_ends_the_old_password_and_keeps_the_name(tmp_path: Path) -> None:
    store = credentials(tmp_path / "x.sqlite3")
    first = store.rotate(ALICE, "Alice")
    second = store.rotate(ALICE, "Alice the Great")  # a new Discord name: same user name
    assert second.user == first.user == "alice"
    assert second.password != first.password
    assert store.verify("alice", first.password) is None
    assert store.verify("alice", second.password) == ALICE


def test_salts_are_per_user(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3")
    store = PresenterCredentials(db, params=FAST)
    store.set_password(ALICE, "alice", "same-password")
    store.set_password(BOB, "bob", "same-password")
    hashes = [row["password_hash"] for row in db.query("SELECT password_hash FROM presenters")]
    assert len(set(hashes)) == 2
    assert store.verify("alice", "same-password") == ALICE
    assert store.verify("bob", "same-password") == BOB


def test_an_unknown_user_is_refused(tmp_path: Path) -> None:
    store = credentials(tmp_path / "x.sqlite3")
    given = store.rotate(ALICE, "Alice")
    assert store.verify("nobody", given.password) is None
    assert store.verify("", "") is None


def test_an_unknown_user_costs_a_hash_like_a_known_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import radio.store.presenters as presenters

    store = credentials(tmp_path / "x.sqlite3")
    given = store.rotate(ALICE, "Alice")
    real = presenters._scrypt
    calls: list[int] = []

    def counted(*args: object, **kwargs: object) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(presenters, "_scrypt", counted)
    store.verify("nobody", given.password)
    store.verify("alice", "wrong")
    store.verify("alice", given.password)
    assert len(calls) == 3


def test_user_names_are_made_from_discord_names() -> None:
    assert user_name_base("DJ Élodie!") == "dj_elodie"
    assert user_name_base("bob.smith") == "bob_smith"
    assert user_name_base("  --xy--  ") == "xy"
    assert user_name_base("  --x--  ") == "presenter"  # under two characters
    assert user_name_base("🎧") == "presenter"
    assert user_name_base("a") == "presenter"
    assert user_name_base("Radio_Night-Owl") == "radio_night-owl"
    assert user_name_base("a" * 50) == "a" * 32


def test_colliding_names_get_a_number(tmp_path: Path) -> None:
    store = credentials(tmp_path / "x.sqlite3")
    bob = store.rotate(BOB, "Bob")
    other = store.rotate(OTHER_BOB, "bob!")
    third = store.set_password(444, "BOB", "pw")
    assert (bob.user, other.user, third.user) == ("bob", "bob2", "bob3")
    assert store.verify("bob2", other.password) == OTHER_BOB
    assert store.verify("bob", other.password) is None
    # A long name keeps the suffix within 32 characters.
    first = store.set_password(555, "x" * 40, "pw")
    second = store.set_password(666, "x" * 40, "pw")
    assert (first.user, second.user) == ("x" * 32, "x" * 31 + "2")
    assert store.rotate(BOB, "Bob").user == "bob"  # bob's own name is not a collision


def test_credentials_survive_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    first = credentials(path)
    given = first.rotate(ALICE, "Alice")
    # Another process with other (default) parameters: the stored ones still apply.
    again = PresenterCredentials(Database(path))
    assert again.verify("alice", given.password) == ALICE
    assert again.user_name(ALICE) == "alice"
    assert again.rotate(BOB, "Alice").user == "alice2"


def test_set_password_refuses_characters_that_break_a_url(tmp_path: Path) -> None:
    store = credentials(tmp_path / "x.sqlite3")
    for bad in ("", "pass word", "p@ss", "a:b", "x/y"):
        with pytest.raises(ValueError):
            store.set_password(ALICE, "Alice", bad)
    assert store.user_name(ALICE) is None
    demo = store.set_password(ALICE, "Alice", "hackme")
    assert (demo.user, demo.password) == ("alice", "hackme")
    assert store.verify("alice", "hackme") == ALICE


def test_an_unreadable_stored_hash_is_a_store_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.sqlite3")
    store = PresenterCredentials(db, params=FAST)
    store.rotate(ALICE, "Alice")
    with db.transaction() as conn:
        conn.execute("UPDATE presenters SET password_hash = 'md5$nonsense'")
    with pytest.raises(StoreError):
        store.verify("alice", "anything")
