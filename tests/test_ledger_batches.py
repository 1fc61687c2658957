"""The ledger lists many blobs and proofs at once (a batch of uploads) with the same outcome as one by one,
also when another request listed some of them meanwhile (``ON CONFLICT DO NOTHING``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from eohub.db import UserRow, open_database
from eohub.db.tables import BlobProofRow, BlobRow
from eohub.repository import ledger


def _digest(i: int) -> str:
    return f"{i:064x}"


@pytest.fixture
def database(tmp_path: Path):
    db = open_database(f"sqlite:///{tmp_path / 'hub.db'}")
    with db.sessions.begin() as s:
        s.add(UserRow(name="alice"))
    yield db
    db.close()


def _record(database, sizes: dict[str, int]) -> None:
    with database.sessions.begin() as s:
        alice = s.scalar(select(UserRow).where(UserRow.name == "alice"))
        ledger.record_blobs(s, sizes)
        ledger.record_proofs(s, alice, sizes)


def _listed(database) -> tuple[dict[str, int], list[str]]:
    with database.sessions() as s:
        blobs = dict(s.execute(select(BlobRow.sha256, BlobRow.size)).all())
        return blobs, sorted(s.scalars(select(BlobProofRow.sha256)).all())


def test_many_blobs_and_proofs_are_recorded_once_with_their_sizes(database):
    sizes = {_digest(i): 100 + i for i in range(1200)}  # more than one query batch
    with database.sessions.begin() as s:
        s.add(BlobRow(sha256=_digest(3), size=None))  # listed before sizes were measured
        s.add(BlobRow(sha256=_digest(4), size=104))
    for _ in range(2):  # the second time changes nothing
        _record(database, sizes)
    assert _listed(database) == (sizes, sorted(sizes))


def test_rows_listed_meanwhile_are_skipped(database, monkeypatch: pytest.MonkeyPatch):
    sizes = {_digest(i): 10 for i in range(5)}
    with database.sessions.begin() as s:
        s.add(BlobRow(sha256=_digest(2), size=10))
        alice = s.scalar(select(UserRow).where(UserRow.name == "alice"))
        s.add(BlobProofRow(user_id=alice.id, sha256=_digest(2)))
    monkeypatch.setattr(ledger, "known", lambda session, digests: {})  # as if listed after the lookup
    _record(database, sizes)
    assert _listed(database) == (sizes, sorted(sizes))
