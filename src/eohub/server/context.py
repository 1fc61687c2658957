"""What every request shares (database, blob store, upload area) and the dependencies routes declare.

Routes never open anything themselves: ``Depends(repository)`` hands them an
:class:`~eohub.repository.EmbeddedRepository` acting as the caller (anonymous, a user, or an admin),
built on the app's one database and store, so access rules live in the repository, not in routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from eohub.config import Settings
from eohub.db.engine import Database, open_database
from eohub.errors import AuthenticationError
from eohub.repository import EmbeddedRepository
from eohub.server.accounts import Account, authenticate
from eohub.storage import BlobStore, open_store, open_uploads
from eohub.storage.uploads import Uploads


@dataclass
class HubContext:
    """The long-lived parts of a running hub, one per process (``eohub serve --workers N`` opens one in
    each worker): everything they share lives in the database and the store, so any process may answer
    any request, an upload's included."""

    settings: Settings
    database: Database
    store: BlobStore
    uploads: Uploads

    @classmethod
    def open(cls, settings: Settings) -> HubContext:
        """Open the database and store; what writers that died left in the store is removed."""
        from eohub.repository.housekeeping import clear_abandoned_writes

        database = open_database(settings.database_url)
        store = open_store(settings.storage, settings.s3_endpoint)
        clear_abandoned_writes(store)
        return cls(settings, database, store, open_uploads(settings, database, store))

    def close(self) -> None:
        self.database.close()

    def token_valid(self, token: str) -> bool:
        """Whether ``token`` belongs to an enabled user of this hub."""
        try:
            authenticate(self.database, token)
        except AuthenticationError:
            return False
        return True


def hub(request: Request) -> HubContext:
    return request.app.state.hub


SESSION_COOKIE = "eohub_token"
"""The HttpOnly cookie in which the web pages' sign-in form keeps the API token."""
COOKIE_METHODS = frozenset({"GET", "HEAD"})


def account(
    request: Request,
    context: Annotated[HubContext, Depends(hub)],
    authorization: Annotated[str | None, Header()] = None,
) -> Account | None:
    """The caller: ``None`` without a token; a bad or malformed token is a 401, even for reads.

    The ``Authorization: Bearer`` header wins. Without it, the web pages' sign-in cookie
    (:data:`SESSION_COOKIE`) is the token, for reads only (GET, HEAD): a cookie never authorizes a
    write, so another site cannot make a signed-in browser change anything."""
    if authorization is None:
        cookie = request.cookies.get(SESSION_COOKIE) if request.method in COOKIE_METHODS else None
        return authenticate(context.database, cookie) if cookie else None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("send the API token as 'Authorization: Bearer <token>'")
    return authenticate(context.database, token)


def signed_in(caller: Annotated[Account | None, Depends(account)]) -> Account:
    """The caller, who must have sent a valid token."""
    if caller is None:
        raise AuthenticationError(
            "this needs an API token: run eohub auth login (or set EOHUB_TOKEN); an admin creates "
            "tokens with eohub admin create-user"
        )
    return caller


def repository(
    context: Annotated[HubContext, Depends(hub)], caller: Annotated[Account | None, Depends(account)]
) -> EmbeddedRepository:
    """The repository as the caller sees it."""
    return EmbeddedRepository(
        context.database,
        context.store,
        caller.name if caller else None,
        caller.admin if caller else False,
        context.settings.limits,
    )


Hub = Annotated[HubContext, Depends(hub)]
Caller = Annotated[Account | None, Depends(account)]
SignedIn = Annotated[Account, Depends(signed_in)]
Repo = Annotated[EmbeddedRepository, Depends(repository)]
