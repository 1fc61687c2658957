"""Hub users and their API tokens.

A token is 32 random bytes (``eoh_`` + URL-safe base64), shown once when it is made. The database keeps
only its SHA-256: tokens are random, not chosen by people, so a fast hash is as safe as a slow one and
lets a request be authenticated with one indexed lookup. An admin lists users and their tokens (by
number, never the token), revokes a token, and disables a user: every token of a disabled user is
refused (401) while their public repositories stay readable.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from eohub.core.names import check_name
from eohub.db.engine import Database
from eohub.db.tables import TokenRow, UserRow
from eohub.errors import AlreadyExistsError, AuthenticationError, NotFoundError

TOKEN_PREFIX = "eoh_"
MAX_TOKEN_CHARS = 256


@dataclass(frozen=True)
class Account:
    """Who a token belongs to."""

    name: str
    admin: bool = False


@dataclass(frozen=True)
class UserSummary:
    """A user as ``eohub admin list-users`` shows it: never a token, only their numbers and dates."""

    name: str
    admin: bool
    disabled: bool
    created: datetime
    tokens: list[tuple[int, datetime]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "admin": self.admin,
            "disabled": self.disabled,
            "created": self.created.isoformat(),
            "tokens": [{"id": number, "created": created.isoformat()} for number, created in self.tokens],
        }


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


def _user(session: Session, name: str) -> UserRow:
    user = session.scalar(select(UserRow).where(UserRow.name == name))
    if user is None:
        raise NotFoundError(f"no user named '{name}' (eohub admin list-users shows them)")
    return user


def create_token(database: Database, name: str) -> str:
    """A new API token for the existing user ``name``."""
    with database.sessions.begin() as s:
        user = _user(s, name)
        token = _new_token()
        s.add(TokenRow(user_id=user.id, token_hash=hash_token(token)))
    return token


def list_users(database: Database) -> list[UserSummary]:
    """Every user by name, with the numbers and dates of their tokens."""
    with database.sessions() as s:
        users = s.scalars(select(UserRow).order_by(UserRow.name)).all()
        tokens: dict[int, list[tuple[int, datetime]]] = {}
        for row in s.scalars(select(TokenRow).order_by(TokenRow.id)):
            tokens.setdefault(row.user_id, []).append((row.id, _aware(row.created_at)))
        return [
            UserSummary(u.name, u.is_admin, bool(u.disabled), _aware(u.created_at), tokens.get(u.id, []))
            for u in users
        ]


def revoke_token(database: Database, token: str) -> str:
    """Revoke one token, given as its number (from :func:`list_users`) or as the token itself; return
    the name of the user it belonged to."""
    with database.sessions.begin() as s:
        if token.isascii() and token.isdigit() and len(token) <= 18:
            row = s.get(TokenRow, int(token))
        else:
            row = s.scalar(select(TokenRow).where(TokenRow.token_hash == hash_token(token.strip())))
        if row is None:
            raise NotFoundError("no such token (eohub admin list-users shows the token numbers)")
        owner = row.user.name
        s.delete(row)
    return owner


def set_disabled(database: Database, name: str, disabled: bool = True) -> None:
    """Disable (or enable again) a user: a disabled user's tokens are refused."""
    with database.sessions.begin() as s:
        _user(s, name).disabled = disabled


def authenticate(database: Database, token: str) -> Account:
    """The account a token belongs to; :class:`AuthenticationError` for an unknown or revoked token, or
    a disabled user's."""
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthenticationError("the API token is not valid: it is too long to be one")
    with database.sessions() as s:
        row = s.scalar(select(TokenRow).where(TokenRow.token_hash == hash_token(token.strip())))
        if row is None:
            raise AuthenticationError(
                "the API token is not valid: ask the hub's admin for one, then run eohub auth login"
            )
        if row.user.disabled:
            raise AuthenticationError(f"user '{row.user.name}' is disabled on this hub; ask its admin")
        return Account(row.user.name, row.user.is_admin)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
