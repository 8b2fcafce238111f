"""Presenters' encoder credentials, in the station's SQLite file.

A presenter connects their encoder (BUTT, Mixxx, OBS, FFmpeg...) to the live
ingest with a user name and a password, as an Icecast source client does. The
user name is the presenter's own, made once from their Discord name and kept
across rotations; the password is random, shown to them once and stored only
as a salted scrypt hash whose parameters live with it (``scrypt$n$r$p$salt$hash``),
so the cost can be raised later without invalidating stored passwords.

:meth:`PresenterCredentials.verify` costs the same whether or not the user
exists (an unknown user is checked against a dummy hash) and compares in
constant time, so neither timing nor the answer says which user names exist.
Hashing is deliberately slow (tens of milliseconds): call :meth:`~PresenterCredentials.rotate`,
:meth:`~PresenterCredentials.set_password` and :meth:`~PresenterCredentials.verify`
off the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Final

from radio.errors import StoreError
from radio.live.contracts import Credentials  # the live contract's value (a stdlib-only leaf)
from radio.store.db import Database

logger = logging.getLogger(__name__)

_MODULE: Final = "presenters"
_MIGRATIONS: Final = [
    """
    CREATE TABLE presenters (
        user_id INTEGER PRIMARY KEY,
        user_name TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL DEFAULT '',
        password_hash TEXT NOT NULL
    )
    """,
]

NAME_MIN: Final = 2
NAME_MAX: Final = 32
PASSWORD_BYTES: Final = 12  # token_urlsafe(12): 16 characters of [A-Za-z0-9_-]
_FALLBACK_NAME: Final = "presenter"
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")
_PASSWORD_CHARS = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """scrypt's cost parameters (CPU/memory ``n``, block size ``r``, parallelism ``p``)."""

    n: int = 2**14
    r: int = 8
    p: int = 1

    @property
    def maxmem(self) -> int:
        """Enough memory for these parameters (OpenSSL's default limit is 32 MiB)."""
        return 128 * self.r * (self.n + self.p + 2) + 1024 * 1024


DEFAULT_PARAMS: Final = ScryptParams()
_SALT_BYTES: Final = 16
_HASH_BYTES: Final = 32


def user_name_base(name: str) -> str:
    """The user name ``name`` (a Discord name) suggests: lower case, accents dropped,
    every run of characters outside ``[a-z0-9_-]`` made one ``_``, 2 to 32 characters
    (``presenter`` when nothing usable is left). Pure; never raises."""
    folded = unicodedata.normalize("NFKD", name)
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    base = _NOT_NAME.sub("_", ascii_only).strip("_-")[:NAME_MAX].strip("_-")
    return base if len(base) >= NAME_MIN else _FALLBACK_NAME


class PresenterCredentials:
    """The presenters' encoder logins of one station.

    Thread-safe (the database serialises writes). Every method raises StoreError
    when the database cannot be read or written.
    """

    def __init__(self, db: Database, *, params: ScryptParams = DEFAULT_PARAMS) -> None:
        self._db = db
        self._params = params
        db.ensure(_MODULE, _MIGRATIONS)
        # What an unknown user is checked against, so that it costs what a known one does.
        self._dummy = _hash(secrets.token_urlsafe(PASSWORD_BYTES), params)

    def rotate(self, user_id: int, name: str) -> Credentials:
        """Give ``user_id`` a new random password and return their credentials.

        The old password stops working at once (durable on return). The user name
        is made from ``name`` the first time and kept afterwards. Raises StoreError.
        """
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        return self._store(user_id, name, password)

    def set_password(self, user_id: int, name: str, password: str) -> Credentials:
        """Give ``user_id`` the fixed ``password`` (the demo presenter, provisioning).

        Raises ValueError when ``password`` is empty or has characters other than
        letters, digits, ``-`` and ``_`` (they would break an ``icecast://`` URL's
        user info); StoreError when it cannot be stored.
        """
        if not _PASSWORD_CHARS.fullmatch(password):
            raise ValueError("a password is letters, digits, '-' and '_', at least one")
        return self._store(user_id, name, password)

    def verify(self, user: str, password: str) -> int | None:
        """The Discord user id whose credentials these are, or None.

        Constant time with respect to the password, and as costly for an unknown
        user as for a known one. ``user`` is matched without regard to case.
        Raises StoreError when the database cannot be read or a stored hash is unreadable.
        """
        rows = self._db.query(
            "SELECT user_id, password_hash FROM presenters WHERE user_name = ?",
            (user.lower(),),
        )
        stored = rows[0]["password_hash"] if rows else self._dummy
        if not _matches(password, stored) or not rows:
            return None
        return int(rows[0]["user_id"])

    def user_name(self, user_id: int) -> str | None:
        """The encoder user name of ``user_id``, or None if they never had credentials."""
        rows = self._db.query("SELECT user_name FROM presenters WHERE user_id = ?", (user_id,))
        return str(rows[0]["user_name"]) if rows else None

    def _store(self, user_id: int, name: str, password: str) -> Credentials:
        stored = _hash(password, self._params)
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT user_name FROM presenters WHERE user_id = ?", (user_id,)
            ).fetchone()
            if row is not None:
                user_name = str(row["user_name"])
                conn.execute(
                    "UPDATE presenters SET password_hash = ?, display_name = ? WHERE user_id = ?",
                    (stored, name, user_id),
                )
            else:
                # A station has tens of presenters: reading every name is cheap.
                taken = {
                    str(r["user_name"]) for r in conn.execute("SELECT user_name FROM presenters")
                }
                user_name = _unique(user_name_base(name), taken)
                conn.execute(
                    "INSERT INTO presenters(user_id, user_name, display_name, password_hash)"
                    " VALUES (?, ?, ?, ?)",
                    (user_id, user_name, name, stored),
                )
        logger.info("encoder password set for %s (user %d)", user_name, user_id)
        return Credentials(user=user_name, password=password)


def _unique(base: str, taken: set[str]) -> str:
    """``base``, or ``base`` with the smallest number from 2 that is free (within 32 chars)."""
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = str(number)
        candidate = base[: NAME_MAX - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        number += 1


def _hash(password: str, params: ScryptParams) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, params)
    return f"scrypt${params.n}${params.r}${params.p}${salt.hex()}${digest.hex()}"


def _matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            raise ValueError(f"unknown scheme {scheme!r}")
        params = ScryptParams(int(n), int(r), int(p))
        expected = bytes.fromhex(digest)
        computed = _scrypt(password, bytes.fromhex(salt), params, len(expected))
    except ValueError as exc:
        raise StoreError(f"a stored password hash is unreadable: {exc}") from exc
    return hmac.compare_digest(computed, expected)


def _scrypt(password: str, salt: bytes, params: ScryptParams, length: int = _HASH_BYTES) -> bytes:
    try:
        return hashlib.scrypt(
            password.encode("utf-8", "surrogatepass"),
            salt=salt,
            n=params.n,
            r=params.r,
            p=params.p,
            maxmem=params.maxmem,
            dklen=length,
        )
    except (ValueError, MemoryError) as exc:
        raise StoreError(f"cannot hash a password (scrypt {params}): {exc}") from exc
