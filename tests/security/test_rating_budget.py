"""The Q3 time bound holds for a whole version, not per item (red-team finding 12): items that name the
same model with the same description share one run, and once ``EOHUB_RATING_SECONDS`` is spent the
remaining items are "not verified" instead of each taking the full time again."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from eohub.config import Limits
from eohub.demo import make_classifier
from eohub.mlm.package import package_model
from eohub.quality import RunCheck, assess_quality, levels


def _many_items(folder: Path, items: int, distinct_models: bool) -> Path:
    make_classifier(folder / "model.onnx", bands=3, classes=4, size=None, seed=0)
    package_model(folder, name="Many-Items", license="MIT", authors=["x"], source="https://x.org",
                  tasks=["classification"])  # fmt: skip
    collection_path = folder / "model" / "collection.json"
    collection = json.loads(collection_path.read_text())
    item = json.loads((folder / "model" / "model" / "model.json").read_text())
    for i in range(1, items):
        copy_ = copy.deepcopy(item)
        copy_["id"] = f"model{i}"
        if distinct_models:
            make_classifier(folder / f"model{i}.onnx", bands=3, classes=4, size=None, seed=i)
            copy_["assets"]["model"]["href"] = f"../../model{i}.onnx"
        target = folder / "model" / f"model{i}" / f"model{i}.json"
        target.parent.mkdir()
        target.write_text(json.dumps(copy_))
        collection["links"].append({"rel": "item", "href": f"./model{i}/model{i}.json"})
    collection_path.write_text(json.dumps(collection))
    return folder


def test_items_sharing_a_model_share_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    real = levels.run_isolated

    def counted(model, inputs, outputs, limits):  # noqa: ANN001, ANN202 - the sandbox's signature
        calls.append(str(model))
        return real(model, inputs, outputs, limits)

    monkeypatch.setattr(levels, "run_isolated", counted)
    report = assess_quality(_many_items(tmp_path / "m", 6, distinct_models=False), "model")
    assert report.level == 3, report.reasons
    assert len(calls) == 1


def test_once_the_versions_time_is_spent_the_rest_is_not_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    clock = [1000.0]
    monkeypatch.setattr(levels.time, "monotonic", lambda: clock[0])

    def slow(model, inputs, outputs, limits):  # noqa: ANN001, ANN202 - each run takes its whole allowance
        clock[0] += limits.rating_seconds
        return RunCheck(unverified=("exceeded the limit", "stopped"))

    monkeypatch.setattr(levels, "run_isolated", slow)
    folder = _many_items(tmp_path / "m", 4, distinct_models=True)
    report = assess_quality(folder, "model", Limits(rating_seconds=30))
    used_up = [r for r in report.reasons if "rating time (30 s, EOHUB_RATING_SECONDS) is used up" in r]
    assert report.level == 2
    assert len(used_up) == 3  # one run took the version's 30 s; the three other models were not run
