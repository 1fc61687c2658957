"""The metrics' spill store: a private folder while the metrics run, gone afterwards, however they end."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from eohub.quality.metrics import compute_metrics
from eohub.quality.metrics.items import ItemDoc

from .dataset_metrics_helpers import leaky_items


def stores(parent: Path) -> list[Path]:
    return sorted(parent.glob("eohub-metrics-*"))


def watched(parent: Path, seen: list[tuple[Path, int, list[str]]], fail: bool = False) -> Iterator[ItemDoc]:
    """The leaky dataset's items; halfway, what the store looks like (and, with ``fail``, an error)."""
    items = leaky_items()
    for i, data in enumerate(items):
        if i == len(items) // 2:
            for folder in stores(parent):
                seen.append((folder, stat.S_IMODE(folder.stat().st_mode), sorted(os.listdir(folder))))
            if fail:
                raise RuntimeError("the catalog went away")
        yield ItemDoc(parent / "item.json", data)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temporary folder of this test (where the store is made)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_the_spill_store_is_private_while_used_and_removed_afterwards(private_tmp: Path):
    seen: list[tuple[Path, int, list[str]]] = []
    metrics = compute_metrics(watched(private_tmp, seen))
    assert metrics.leakage.count == 5 and metrics.leakage.share == {"train": 0.1, "test": 0.1176}
    assert len(seen) == 1
    folder, mode, files = seen[0]
    assert mode == 0o700 and files == ["items.sqlite"]
    assert not folder.exists() and stores(private_tmp) == []


def test_the_spill_store_is_removed_when_the_items_fail(private_tmp: Path):
    seen: list[tuple[Path, int, list[str]]] = []
    with pytest.raises(RuntimeError, match="the catalog went away"):
        compute_metrics(watched(private_tmp, seen, fail=True))
    assert len(seen) == 1 and seen[0][1] == 0o700
    assert stores(private_tmp) == []
