"""Who may see and change what in an embedded repository, and its rows found as the caller may see them.

``user`` is who acts (``None``: anonymous, read-only); private repositories are visible to their owner
and admins only, and only they may write to them. Someone else's private repository reads as not found.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eohub.config import Limits
from eohub.core.names import Kind, check_kind, check_version, name_key
from eohub.db.engine import Database
from eohub.db.tables import RepositoryRow, UserRow, VersionRow
from eohub.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from eohub.repository.base import Repository
from eohub.storage import BlobStore


class EmbeddedAccess(Repository):
    """What an embedded repository holds (database, blob store, acting user, limits) and its access rules;
    :class:`~eohub.repository.embedded.EmbeddedRepository` builds on it."""

    def __init__(
        self,
        database: Database,
        store: BlobStore,
        user: str | None = None,
        admin: bool = False,
        limits: Limits | None = None,
    ) -> None:
        self.database = database
        self.store = store
        self.user = user
        self.admin = admin
        self.limits = limits or Limits()
        self.hub_urls: tuple[str, ...] = ()
        """This hub's URLs (the server sets them): a training link to one of them names a dataset here."""

    def close(self) -> None:
        self.database.close()

    # --- access ---------------------------------------------------------------------------------

    def _visible(self, row: RepositoryRow) -> bool:
        return not row.private or self.admin or (self.user is not None and row.owner.name == self.user)

    def _check_writer(self, row: RepositoryRow) -> None:
        if self.user is None:
            raise AuthenticationError("writing needs a user (set EOHUB_TOKEN or run eohub auth login)")
        if not self.admin and row.owner.name != self.user:
            owner = row.owner.name if self._visible(row) else "another user"  # private: do not name them
            raise PermissionDeniedError(
                f"{row.kind} '{row.name}' belongs to {owner}; only its owner may change it"
            )

    def _row(self, session: Session, kind: Kind, name: str) -> RepositoryRow:
        kind = check_kind(kind)
        row = session.scalar(
            select(RepositoryRow).where(RepositoryRow.kind == kind, RepositoryRow.name_key == name_key(name))
        )
        if row is None or not self._visible(row):
            raise NotFoundError(f"no {kind} named '{name}'")
        return row

    @staticmethod
    def _version_row(session: Session, repo: RepositoryRow, version: int | None) -> VersionRow:
        query = select(VersionRow).where(VersionRow.repository_id == repo.id)
        if version is None:
            row = session.scalar(query.order_by(VersionRow.number.desc()).limit(1))
        else:
            row = session.scalar(query.where(VersionRow.number == check_version(version)))
        if row is None:
            latest = session.scalar(
                select(func.max(VersionRow.number)).where(VersionRow.repository_id == repo.id)
            )
            what = "no versions" if version is None or latest is None else f"no version {version}"
            hint = f" (latest is {latest})" if latest else ""
            raise NotFoundError(f"{repo.kind} '{repo.name}' has {what}{hint}")
        return row

    def _user_row(self, session: Session) -> UserRow:
        """The acting user's row, made on first use (embedded mode); another process may make it first."""
        query = select(UserRow).where(UserRow.name == self.user)
        user = session.scalar(query)
        if user is None:
            try:
                with session.begin_nested():
                    user = UserRow(name=self.user, is_admin=False)
                    session.add(user)
            except sa_exc.IntegrityError:
                user = session.scalar(query)
        assert user is not None
        return user
