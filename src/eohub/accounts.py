"""Hub users and their API tokens.

A token is 32 random bytes (``eoh_`` + URL-safe base64), shown once when it is made. The database keeps
only its SHA-256: tokens are random, not chosen by people, so a fast hash is as safe as a slow one and
lets a request be authenticated with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from eohub.db.engine import Database
from eohub.db.tables import TokenRow, UserRow
from eohub.errors import AlreadyExistsError, AuthenticationError, NotFoundError
from eohub.repository.names import check_name

TOKEN_PREFIX = "eoh_"


@dataclass(frozen=True)
class Account:
    """Who a token belongs to."""

    name: str
    admin: bool = False


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_user(database: Database, name: str, admin: bool = False) -> str:
    """Create the user ``name`` and return its first API token (the only time it is visible)."""
    check_name(name, what="user name")
    with database.sessions.begin() as s:
        if s.scalar(select(UserRow).where(UserRow.name == name)) is not None:
            raise AlreadyExistsError(
                f"user '{name}' already exists (eohub admin create-token {name} adds a token)"
            )
        user = UserRow(name=name, is_admin=admin)
        s.add(user)
        s.flush()
        token = _new_token()
        s.add(TokenRow(user_id=user.id, token_hash=hash_token(token)))
    return token


def create_token(database: Database, name: str) -> str:
    """A new API token for the existing user ``name``."""
    with database.sessions.begin() as s:
        user = s.scalar(select(UserRow).where(UserRow.name == name))
        if user is None:
            raise NotFoundError(f"no user named '{name}' (eohub admin create-user {name})")
        token = _new_token()
        s.add(TokenRow(user_id=user.id, token_hash=hash_token(token)))
    return token


def authenticate(database: Database, token: str) -> Account:
    """The account a token belongs to; :class:`AuthenticationError` for an unknown token."""
    with database.sessions() as s:
        row = s.scalar(select(TokenRow).where(TokenRow.token_hash == hash_token(token.strip())))
        if row is None:
            raise AuthenticationError(
                "the API token is not valid: ask the hub's admin for one, then run eohub auth login"
            )
        return Account(row.user.name, row.user.is_admin)
