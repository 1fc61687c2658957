"""``eohub:trained_on``: the search index's queryable of model items, from the model version's training links.

Each Item of a model version gets the values ``datasets/NAME`` and ``datasets/NAME@vN`` of every dataset
version that trained it (:mod:`eohub.repository.training`), so ``"eohub:trained_on" = 'datasets/EuroSAT'``
finds the models trained on any version of it and ``…@v2`` those trained on version 2. The value's
number is the dataset's repository id: a filter on this key matches only values whose dataset the caller
may see (:func:`restrict`), so a search never tells that a private dataset exists. It is never summarized
and cannot be sorted on, for the same reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session, aliased

from eohub.db.tables import RepositoryRow, StacValueRow, TrainingLinkRow, UserRow

TRAINED_ON = "eohub:trained_on"


def index_values(session: Session, version_id: int) -> list[tuple[str, str, float]]:
    """The ``(key, text, num)`` values every Item of the model version gets in ``stac_item_values``."""
    rows = session.execute(
        select(RepositoryRow.name, RepositoryRow.id, TrainingLinkRow.dataset_number)
        .join(RepositoryRow, RepositoryRow.id == TrainingLinkRow.dataset_id)
        .where(TrainingLinkRow.version_id == version_id)
        .order_by(RepositoryRow.name_key, TrainingLinkRow.dataset_number)
    )
    values: dict[tuple[str, str, float], None] = {}
    for name, repository_id, number in rows:
        for text in (f"datasets/{name}", f"datasets/{name}@v{number}"):
            values[(TRAINED_ON, text, float(repository_id))] = None
    return list(values)


def visible_datasets(user: str | None, admin: bool) -> Select[Any]:
    """The ids of the datasets ``user`` may see (the rule of :class:`~eohub.search.catalog.StacCatalog`),
    over an alias of ``repositories``, so that the subquery never correlates with a search's own join."""
    repo = aliased(RepositoryRow)
    query = select(repo.id).where(repo.kind == "dataset")
    if admin:
        return query
    if user is None:
        return query.where(repo.private.is_(false()))
    owner = select(UserRow.id).where(UserRow.name == user).scalar_subquery()
    return query.where(or_(repo.private.is_(false()), repo.owner_id == owner))


def restrict(key: str, visible: Select[Any] | None) -> ColumnElement[bool] | None:
    """The extra condition on a value row of ``key``: for :data:`TRAINED_ON`, its dataset is among the
    ``visible`` ids (:func:`visible_datasets`; public datasets only without them); ``None`` for any
    other key."""
    if key != TRAINED_ON:
        return None
    return StacValueRow.num.in_(visible if visible is not None else visible_datasets(None, False))
