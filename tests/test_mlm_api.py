"""``eohub.mlm``: validate, lint, migrate and build as functions returning typed, serializable reports."""

from __future__ import annotations

import json
from pathlib import Path

import pystac
import pytest

from eohub import mlm
from eohub.demo import make_segmenter
from eohub.errors import ModelGraphError, UsageError

from .conftest import EXAMPLES
from .fixtures_tutorial import write_tutorial_item


def test_every_public_name_exists() -> None:
    assert all(hasattr(mlm, name) for name in mlm.__all__)
    assert {"validate", "lint", "migrate", "build"} <= set(mlm.__all__)


@pytest.mark.parametrize(
    "target",
    [
        lambda p: str(p),
        lambda p: p,
        lambda p: [p],
        lambda p: json.loads(p.read_text()),
        lambda p: pystac.Item.from_file(str(p)),
    ],
    ids=["str", "Path", "list", "dict", "pystac.Item"],
)
def test_validate_takes_paths_dicts_and_pystac_objects(target) -> None:
    example = EXAMPLES / "item_basic.json"
    report = mlm.validate(target(example))
    assert isinstance(report, mlm.Report) and report.ok and len(report.files) == 1


def test_validate_takes_pystac_collections_and_catalogs_and_reports_their_errors() -> None:
    collection = pystac.Collection.from_file(str(EXAMPLES / "collection.json"))
    collection.clear_links()
    assert mlm.validate(collection).ok
    assert mlm.validate(pystac.Catalog("c", "a catalog")).ok
    item = pystac.Item.from_file(str(EXAMPLES / "item_basic.json"))
    item.properties["mlm:accelerator"] = "cpu"
    [error] = mlm.validate(item).errors
    assert (error.code, error.pointer) == ("STAC001", "/properties/mlm:accelerator")
    assert "README" in error.hint


def test_build_lint_and_migrate_return_typed_objects(tmp_path: Path) -> None:
    model = make_segmenter(tmp_path / "seg.onnx", bands=4, classes=3)
    bands, classes = ["B02", "B03", "B04", "B08"], ["a", "b", "c"]
    item = mlm.build(model, name="Tiny segmenter", bands=bands, classes=classes)
    assert isinstance(item, pystac.Item)
    assert mlm.validate(item).findings == [] and mlm.lint(item, base_dir=tmp_path).findings == []

    item.properties["mlm:total_parameters"] = 1
    [finding] = mlm.lint(item, base_dir=tmp_path).findings
    assert isinstance(finding, mlm.Finding) and finding.severity is mlm.Severity.WARNING
    assert (
        mlm.Report.from_dict(json.loads(json.dumps(mlm.lint(item).to_dict()))).to_dict()
        == mlm.lint(item).to_dict()
    )

    tutorial = write_tutorial_item(tmp_path / "tutorial")
    result = mlm.migrate(tutorial)
    assert isinstance(result, mlm.MigrationResult)
    assert (result.from_version, result.to_version) == ("v1.2.0", mlm.LATEST_MLM_VERSION)
    assert mlm.MigrationResult.from_dict(result.to_dict()) == result
    assert mlm.lint(result.to_pystac(), base_dir=tutorial.parent).ok


def test_mistakes_raise_named_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.onnx").write_text("no")
    with pytest.raises(ModelGraphError):
        mlm.build(tmp_path / "bad.onnx")
    with pytest.raises(UsageError, match="no such file"):
        mlm.validate(tmp_path / "missing.json")
    with pytest.raises(UsageError, match="must be a JSON object"):
        mlm.validate_data([1, 2])  # type: ignore[arg-type]
    with pytest.raises(mlm.UnmigratableError):
        mlm.migrate({"type": "Feature", "stac_version": "1.0.0", "properties": {"mlm:name": "x"}})
