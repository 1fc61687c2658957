"""ORM tables of the metadata database (one ``Base``, so Alembic sees everything in ``Base.metadata``).

```
users 1--* tokens                                       (SHA-256 of an API token, never the token)
users 1--* repositories 1--* versions 1--* files        (path, size, sha256 of a stored blob)
                                       1--* documents    (a STAC document as JSON text)
blobs (sha256, size)  1--* blob_proofs *--1 users        (who has shown they hold the bytes)
uploads (user, sha256, length, staging token)            (uploads in progress into S3)
users 1--* jobs                                         (prediction jobs: eohub.jobs)
versions 1--* training_links *--1 repositories           (the dataset versions that trained a model version)
```

- A repository is a model or a dataset: ``(kind, name_key)`` is unique, where ``name_key`` is the
  lower-cased name, so ``EuroSAT-RGB`` and ``eurosat-rgb`` cannot both exist; ``name`` keeps the spelling.
- A version is immutable once committed. ``(repository_id, number)`` is unique: two writers racing for
  the same number make one transaction fail, and the writer retries with the next number.
- ``metadata_json`` holds the README front matter (:class:`eohub.core.readme.ReadmeMetadata`); the repository
  row carries the latest version's copy so listings need no join.
- ``blobs`` lists what the blob store holds, with the size the store measured; a commit may reference a
  blob only when the committer has a ``blob_proofs`` row for it (they uploaded the bytes) or a version
  they may read references it. ``touched_at`` is renewed by every commit that references the blob, so
  ``eohub admin gc`` never removes a blob a commit is about to reference.
- Only portable column types: JSON, BigInteger, timezone-aware DateTime, String, Text, Boolean.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAME_LENGTH = 64


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The declarative base of every eohub table."""


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TokenRow(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[UserRow] = relationship(lazy="joined")


class BlobRow(Base):
    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # None: ask the store
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    touched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BlobProofRow(Base):
    __tablename__ = "blob_proofs"
    __table_args__ = (UniqueConstraint("user_id", "sha256", name="uq_blob_proofs_user_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UploadRow(Base):
    """An upload in progress straight to S3 (or relayed by the hub into S3): whose, which blob, how long,
    and where its bytes wait (``uploads/<user>/<token>``, a multipart upload or one object). The state a
    hub process needs to resume it lives here and in S3, never on one process's disk."""

    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("user_id", "sha256", name="uq_uploads_user_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # random: names the staging key
    mode: Mapped[str] = mapped_column(String(8))  # "put", "parts" (staging key), "blob" (blob key)
    multipart_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    part_size: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    touched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobRow(Base):
    """A prediction job (:mod:`eohub.jobs`): what to run, its state, and who runs it. ``worker`` and
    ``heartbeat_at`` are the lease of the hub process running it; ``publishing`` is set once its result
    is being committed (a cancel is refused from then on; the version's commit key is the job id)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state_created", "state", "created_at"),
        Index("ix_jobs_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(NAME_LENGTH))
    model_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # inputs and options, normalized
    output_dataset: Mapped[str] = mapped_column(String(NAME_LENGTH))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    pixels: Mapped[int] = mapped_column(BigInteger, default=0)
    base_url: Mapped[str] = mapped_column(Text, default="")
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    publishing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    owner: Mapped[UserRow] = relationship(lazy="joined")


class RepositoryRow(Base):
    __tablename__ = "repositories"
    __table_args__ = (UniqueConstraint("kind", "name_key", name="uq_repositories_kind_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_key: Mapped[str] = mapped_column(String(NAME_LENGTH))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    owner: Mapped[UserRow] = relationship(lazy="joined")
    versions: Mapped[list[VersionRow]] = relationship(
        back_populates="repository", cascade="all, delete-orphan", order_by="VersionRow.number"
    )


class VersionRow(Base):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("repository_id", "number", name="uq_versions_repository_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    quality_level: Mapped[int] = mapped_column(Integer)
    quality_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    metadata_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total_size: Mapped[int] = mapped_column(BigInteger, default=0)
    file_count: Mapped[int] = mapped_column(Integer, default=0)  # data files (rows in ``files``)
    document_count: Mapped[int] = mapped_column(Integer, default=0)  # STAC documents (rows in ``documents``)
    tasks: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # Manifest.summary()
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    commit_key: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the client's retry key
    # a dataset's DatasetMetrics.to_dict() (eohub.quality.metrics); deferred: listings never load it
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, deferred=True)

    repository: Mapped[RepositoryRow] = relationship(back_populates="versions")
    files: Mapped[list[FileRow]] = relationship(cascade="all, delete-orphan", order_by="FileRow.path")
    documents: Mapped[list[DocumentRow]] = relationship(
        cascade="all, delete-orphan", order_by="DocumentRow.path"
    )


class FileRow(Base):
    __tablename__ = "files"
    __table_args__ = (
        UniqueConstraint("version_id", "path", name="uq_files_version_path"),
        Index("ix_files_sha256", "sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)  # no length cap: PostgreSQL enforces one, SQLite not
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))


class DocumentRow(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("version_id", "path", name="uq_documents_version_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)  # no length cap: PostgreSQL enforces one, SQLite not
    stac_type: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)


class TrainingLinkRow(Base):
    """A dataset version that trained a model version (:mod:`eohub.repository.training`), resolved at the
    model's commit. A deleted dataset leaves the link without a dataset (``dataset_id`` NULL)."""

    __tablename__ = "training_links"
    __table_args__ = (
        UniqueConstraint("version_id", "dataset_id", "dataset_number", name="uq_training_links_target"),
        Index("ix_training_links_dataset", "dataset_id", "dataset_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))  # the model's
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("repositories.id", ondelete="SET NULL"), nullable=True
    )
    dataset_number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # "item link" or "trained-on"


# --- STAC API search index (eohub.search): derived from the documents at version commit -------------
#
# stac_collections 1 row per version: extent, summaries and queryables, computed once at commit
# stac_items       1 row per STAC Item of a version: id, bbox, time range (epoch seconds), latest flag
# stac_item_values 1 row per scalar property value, flattened ("mlm:input.bands" -> "B04"), so CQL2
#                  filters on array and nested properties are index lookups on (key, text) or (key, num)
# the spatial index (eohub.search.spatial), outside Base.metadata because it is not a portable table:
#                  SQLite an R*Tree virtual table (with its shadow tables), PostgreSQL a GiST expression index

SPATIAL_TABLE = "stac_item_boxes"
SPATIAL_INDEX = "ix_stac_items_box"
SPATIAL_NAMES = frozenset(
    {SPATIAL_TABLE, SPATIAL_INDEX, *(f"{SPATIAL_TABLE}_{shadow}" for shadow in ("node", "parent", "rowid"))}
)
"""The spatial index's tables (SQLite) and index (PostgreSQL), made by migration 0007."""


def in_metadata(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Alembic's ``include_name``: compare everything but the spatial index with ``Base.metadata``."""
    return name not in SPATIAL_NAMES


class StacCollectionRow(Base):
    __tablename__ = "stac_collections"
    __table_args__ = (Index("ix_stac_collections_repository_latest", "repository_id", "latest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), unique=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    latest: Mapped[bool] = mapped_column(Boolean, default=True)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    bbox: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    interval: Mapped[list[str | None] | None] = mapped_column(JSON, nullable=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # from the stored Collection
    summaries: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    queryables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StacItemRow(Base):
    __tablename__ = "stac_items"
    __table_args__ = (
        # newest first with the bbox and owner beside each entry: a walk tests a box on the index alone
        Index("ix_stac_items_walk", "latest", "t_start", "minx", "maxx", "miny", "maxy", "repository_id"),
        Index("ix_stac_items_repository_item", "repository_id", "item_id", "number"),
        Index("ix_stac_items_version", "version_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    latest: Mapped[bool] = mapped_column(Boolean, default=True)
    item_id: Mapped[str] = mapped_column(Text)
    minx: Mapped[float | None] = mapped_column(Float, nullable=True)
    miny: Mapped[float | None] = mapped_column(Float, nullable=True)
    maxx: Mapped[float | None] = mapped_column(Float, nullable=True)
    maxy: Mapped[float | None] = mapped_column(Float, nullable=True)
    rect: Mapped[bool] = mapped_column(Boolean, default=False)  # geometry == its bbox (or a point)
    t_start: Mapped[float | None] = mapped_column(Float, nullable=True)  # epoch seconds, UTC
    t_end: Mapped[float | None] = mapped_column(Float, nullable=True)


class StacValueRow(Base):
    __tablename__ = "stac_item_values"
    __table_args__ = (
        # a text value's items newest first (eohub.search.plan: a walk along one text condition)
        Index("ix_stac_item_values_text_time", "key", "text", "t_start", "item_row_id"),
        Index("ix_stac_item_values_key_num", "key", "num", "item_row_id"),
        # an item's values, covering: a probe reads the index only
        Index("ix_stac_item_values_probe", "item_row_id", "key", "num", "text"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_row_id: Mapped[int] = mapped_column(ForeignKey("stac_items.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(256))
    text: Mapped[str | None] = mapped_column(String(512), nullable=True)
    num: Mapped[float | None] = mapped_column(Float, nullable=True)
    t_start: Mapped[float | None] = mapped_column(Float, nullable=True)  # the item's, for the order
