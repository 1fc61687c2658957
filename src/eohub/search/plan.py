"""Where a search starts: from its newest items, or from the smallest set that an index gives.

A search returns the first page of its matches in order (newest first unless ``sortby`` says otherwise).
There are two ways to find them:

- **walk**: read the latest items in order (the ``(latest, t_start)`` index) and test each one (exact
  bbox columns, ``EXISTS`` probes of the values' indexes); the walk stops when the page is full, so it
  reads about ``page / selectivity`` items whatever the total;
- **drive**: start from the ids of one indexed condition (the spatial index for a bbox or geometry, the
  ``(key, text|num)`` index of the values for a property term), test the other conditions on those
  items and sort them: it costs the size of that set;
- **walk along** a text condition (``platform = 'x'``, a member of ``A_CONTAINS``): read the items of
  that value newest first (the ``(key, text, t_start)`` index) and test the others, so the most
  selective text condition stops being tested and the walk reads ``page / selectivity of the rest``.

:func:`choose` counts each candidate driver's set, no further than :func:`cap` (about where both ways
cost the same: ``sqrt(page * items)`` when walking in order can stop early, more when the whole match
set is sorted anyway); the smallest set under the cap drives, otherwise the search walks, along the
smallest text driver when there is one (:func:`along`). Counting stops at the cap, so choosing reads
at most a few thousand index entries per driver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, any_, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.types import ARRAY, Integer

from eohub.db.tables import StacItemRow

LEAST_CAP = 100
INDEX_WALK = 16
"""How many items a walk tests on the index alone (bbox, time) for the cost of one driven item."""
ALONG_COUNT = 16
"""Text drivers are counted up to this many caps when choosing which one to walk along."""
SORTED_CAP = 20_000
"""The cap when the search sorts by a property: every match is sorted, a driver under it is cheaper."""


@dataclass
class Driver:
    """Ids of ``stac_items`` rows that hold every match of the search (the union of ``parts``).

    ``text`` is the ``(key, text)`` of a driver that is one text value: its items can also be read
    newest first, along the ``(key, text, t_start)`` index of the values (:func:`along`). ``exact``:
    the filter's term that gave it holds for exactly these items, so a walk along it need not test it."""

    parts: list[Select[tuple[int]]]
    text: tuple[str, str] | None = None
    exact: bool = False

    def count(self, session: Session, most: int) -> int:
        """The size of the set, counted no further than ``most``."""
        total = 0
        for part in self.parts:
            inner = part.limit(most - total).subquery()
            total += session.scalar(select(func.count()).select_from(inner)) or 0
            if total >= most:
                break
        return total

    def condition(self, dialect: str) -> ColumnElement[bool]:
        """The search's rows restricted to the set, written so that the set drives the query:
        SQLite looks the ids up by primary key from ``IN (…)``; PostgreSQL gets them as one array
        (``= ANY(ARRAY(…))``), whose ids it looks up by primary key, because it cannot estimate how
        many rows a box overlap returns and would walk instead."""
        if dialect == "postgresql":
            arrays = []
            for part in self.parts:
                inner = part.subquery()
                column = next(iter(inner.c))
                array = select(func.array_agg(column)).scalar_subquery()
                # ANY (CAST((SELECT array_agg …) AS INTEGER[])): an array, not ANY's subquery form
                arrays.append(StacItemRow.id == any_(cast(array, ARRAY(Integer))))
            return or_(*arrays)
        return or_(*(StacItemRow.id.in_(part) for part in self.parts))


def cap(page_end: int, items: int, in_order: bool, probes: bool = True) -> int:
    """The largest driver worth starting from, for a page ending at ``page_end`` over ``items``
    searchable items (``in_order``: the search is newest first, so a walk can stop early; ``probes``:
    the walk probes each item's values, else it tests everything on the items' index alone, about
    :data:`INDEX_WALK` times cheaper per item than a driven item)."""
    if not in_order:
        return SORTED_CAP
    return max(LEAST_CAP, math.isqrt(max(page_end, 1) * max(items, 1) // (1 if probes else INDEX_WALK)))


def choose(session: Session, drivers: list[Driver], most: int) -> Driver | None:
    """The driver with the smallest set under ``most``, or ``None`` (walk)."""
    best: Driver | None = None
    for driver in drivers:
        size = driver.count(session, most)
        if size < most:
            best, most = driver, size  # a later driver must be smaller still
    return best


def along(session: Session, drivers: list[Driver], most: int) -> Driver | None:
    """The text driver to walk along newest first when no driver is small enough to start from: the
    smallest set (counted up to ``ALONG_COUNT * most``), or ``None`` when no driver is one text value.
    Walking along it reads about ``page / selectivity of the other conditions`` of its entries,
    never more than a walk over every item."""
    texts = [d for d in drivers if d.text is not None]
    if len(texts) < 2:
        return texts[0] if texts else None
    return min(texts, key=lambda d: d.count(session, ALONG_COUNT * most))
