"""MLM migration: every older version and the tutorial's layout become valid MLM, or nothing is written."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.errors import MigrationError, UsageError
from eohub.mlm.lint import lint_data
from eohub.mlm.migrate import UnmigratableError, migrate_data, migrate_file, schema_url
from eohub.mlm.schemas import LATEST_MLM_SCHEMA, MLM_VERSIONS
from eohub.mlm.validate import validate_data

from .conftest import EXAMPLES
from .fixtures_tutorial import EUROSAT_CLASSES, TUTORIAL_SCHEMA, tutorial_item_dict, write_tutorial_item

runner = CliRunner()
EO = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
MEANS = (0.4, 0.5, 0.6)


def legacy_item(version: str) -> dict[str, Any]:
    """A small ONNX classifier item written the way MLM ``version`` wants it (valid at that version)."""
    index = MLM_VERSIONS.index(version)
    scaled = index >= MLM_VERSIONS.index("v1.4.0")
    entry: dict[str, Any] = {
        "name": "rgb",
        "bands": ["B04", "B03", "B02"],
        "input": {
            "shape": [-1, 3, 64, 64],
            "dim_order": ["batch", "bands" if version >= "v1.5.0" else "channel", "height", "width"],
            "data_type": "float32",
        },
    }
    if scaled:
        entry["value_scaling"] = [{"type": "z-score", "mean": m, "stddev": 0.2} for m in MEANS]
    else:
        entry |= {
            "norm_type": "z-score",
            "norm_by_channel": True,
            "statistics": [{"mean": m, "stddev": 0.2} for m in MEANS],
        }
    asset: dict[str, Any] = {
        "href": "model.onnx",
        "type": "application/octet-stream; application=onnx",
        "roles": ["mlm:model"],
        "eo:bands": [{"name": n} for n in ("B04", "B03", "B02")],
    }
    if scaled:
        asset["mlm:artifact_type"] = "onnx"
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [schema_url(version), EO],
        "id": "tiny-cnn",
        "geometry": None,
        "links": [],
        "properties": {
            "datetime": "2024-01-01T00:00:00Z",
            "mlm:name": "tiny-cnn",
            "mlm:architecture": "cnn",
            "mlm:framework": "ONNX",
            "mlm:tasks": ["classification"],
            "mlm:accelerator": "amd64",
            "mlm:input": [entry],
            "mlm:output": [
                {
                    "name": "logits",
                    "tasks": ["classification"],
                    "result": {"shape": [-1, 2], "dim_order": ["batch", "class"], "data_type": "float32"},
                    "classification:classes": [
                        {"value": 0, "name": "water", "description": "Water"},
                        {"value": 1, "name": "land", "description": "Land"},
                    ],
                }
            ],
        },
        "assets": {"model": asset},
    }


def pre_v1_item() -> dict[str, Any]:
    """The EOTDL tutorial's layout: one input/output object, class names, no model role, a v1.2.0 URL."""
    item = legacy_item("v1.2.0")
    props = item["properties"]
    item["stac_extensions"] = [schema_url("v1.2.0")]
    item["assets"] = {"model": {"href": "../v1/model.onnx"}}
    props["mlm:input"] = {
        "name": "RGB satellite image",
        "bands": ["red", "green", "blue"],
        "input": {"shape": [-1, 3, -1, -1], "dim_order": ["batch", "channel", "height", "width"]}
        | {"data_type": "float32"},
    }
    props["mlm:output"] = {
        "name": "logits",
        "tasks": ["classification"],
        "classification:classes": ["AnnualCrop", "Forest", "River"],
        "result": {"shape": [-1, 3], "dim_order": ["batch", "height", "width"], "data_type": "float32"},
    }
    return item


def errors(data: dict[str, Any]) -> list[str]:
    return [f.line() for f in validate_data(data).errors]


@pytest.mark.parametrize("version", MLM_VERSIONS[:-1])
def test_item_of_every_older_version_migrates_to_a_valid_v152_item(version: str) -> None:
    item = legacy_item(version)
    assert errors(item) == [], "the fixture must be valid at its own version"

    result = migrate_data(item)

    assert errors(result.data) == []
    assert lint_data(result.data).findings == []
    assert result.from_version == version and result.to_version == "v1.5.2"
    assert LATEST_MLM_SCHEMA in result.data["stac_extensions"]
    entry = result.data["properties"]["mlm:input"][0]
    assert entry["value_scaling"] == [{"type": "z-score", "mean": m, "stddev": 0.2} for m in MEANS]
    assert not {"norm_type", "norm_by_channel", "statistics"} & set(entry)
    assert entry["input"]["dim_order"][1] == "bands"
    assert result.data["assets"]["model"]["mlm:artifact_type"] == "onnx"


@pytest.mark.parametrize("target", ["v1.3.0", "v1.4.0", "v1.5.0", "v1.5.2"])
def test_migration_to_an_intermediate_version_validates_against_that_version(target: str) -> None:
    result = migrate_data(legacy_item("v1.0.0"), to=target)

    assert result.data["stac_extensions"][0] == schema_url(target)
    assert errors(result.data) == []
    entry = result.data["properties"]["mlm:input"][0]
    # value_scaling and the 'bands' axis only exist from v1.4.0 and v1.5.0 on.
    assert ("value_scaling" in entry) == (target >= "v1.4.0")
    assert (entry["input"]["dim_order"][1] == "bands") == (target >= "v1.5.0")


def test_schema_host_moves_to_stac_extensions_at_v140() -> None:
    assert (
        migrate_data(legacy_item("v1.3.0"), to="v1.3.0")
        .data["stac_extensions"][0]
        .startswith("https://crim-ca.github.io/mlm-extension/")
    )
    assert migrate_data(legacy_item("v1.3.0"), to="v1.4.0").data["stac_extensions"][0] == (
        "https://stac-extensions.github.io/mlm/v1.4.0/schema.json"
    )


def test_min_max_statistics_become_min_max_value_scaling() -> None:
    item = legacy_item("v1.3.0")
    entry = item["properties"]["mlm:input"][0]
    entry["norm_type"] = "min-max"
    entry["statistics"] = [{"minimum": 0, "maximum": 10000, "mean": 1}] * 3

    scaled = migrate_data(item).data["properties"]["mlm:input"][0]["value_scaling"]

    assert scaled == [{"type": "min-max", "minimum": 0, "maximum": 10000}] * 3


def test_old_layout_becomes_a_valid_v152_item_with_inferred_fields() -> None:
    result = migrate_data(pre_v1_item())

    assert errors(result.data) == []
    props, model = result.data["properties"], result.data["assets"]["model"]
    output = props["mlm:output"][0]
    assert output["result"]["dim_order"] == ["batch", "class"]
    assert output["classification:classes"][2] == {"value": 2, "name": "River", "description": "River"}
    assert props["mlm:input"][0]["input"]["dim_order"] == ["batch", "bands", "height", "width"]
    assert model["roles"] == ["mlm:model"] and model["mlm:artifact_type"] == "onnx"
    assert model["href"] == "../v1/model.onnx"
    assert [b["common_name"] for b in model["eo:bands"]] == ["red", "green", "blue"]
    assert any("[batch, class]" in c for c in result.changes)


def test_tutorial_item_becomes_a_valid_v152_item() -> None:
    tutorial = tutorial_item_dict("../v1/model.onnx")
    assert tutorial["stac_extensions"] == [TUTORIAL_SCHEMA]

    result = migrate_data(tutorial)

    assert errors(result.data) == []
    assert (result.from_version, result.to_version) == ("v1.2.0", "v1.5.2")
    output = result.data["properties"]["mlm:output"][0]
    assert output["result"] == {"shape": [-1, 10], "dim_order": ["batch", "class"], "data_type": "float32"}
    assert [c["name"] for c in output["classification:classes"]] == EUROSAT_CLASSES
    assert result.data["assets"]["model"]["href"] == "../v1/model.onnx"


def test_migrated_tutorial_item_lints_without_errors_against_its_onnx_model(tmp_path: Path) -> None:
    item_path = write_tutorial_item(tmp_path)
    assert lint_data(json.loads(item_path.read_text()), item_path.parent).errors, (
        "the tutorial item has errors"
    )

    result = migrate_file(item_path, output=item_path)

    report = lint_data(json.loads(item_path.read_text()), item_path.parent, str(item_path))
    assert report.errors == []
    assert json.loads(item_path.read_text()) == result.data


def test_old_layout_on_stac_11_defines_bands_in_core_bands() -> None:
    item = pre_v1_item()
    item["stac_version"] = "1.1.0"

    result = migrate_data(item)

    assert errors(result.data) == []
    assert result.data["properties"]["bands"] == [{"name": n} for n in ("red", "green", "blue")]
    assert result.data["assets"]["model"]["bands"] == result.data["properties"]["bands"]


def test_migration_does_not_modify_its_input_and_is_idempotent() -> None:
    item = pre_v1_item()
    before = copy.deepcopy(item)

    once = migrate_data(item)
    twice = migrate_data(once.data)

    assert item == before
    assert twice.data == once.data and twice.changes == []


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("item_*.json")), ids=lambda p: p.name)
def test_shipped_v152_examples_stay_valid_and_lose_their_misspelt_classes(example: Path) -> None:
    result = migrate_data(json.loads(example.read_text()))

    assert errors(result.data) == []
    assert not any("classification_classes" in o for o in result.data["properties"]["mlm:output"])


def test_misspelt_classes_with_rgb_colour_lists_become_valid_class_objects(example_item: dict) -> None:
    result = migrate_data(example_item)

    classes = result.data["properties"]["mlm:output"][0]["classification:classes"]
    assert [c["color_hint"] for c in classes] == ["000000", "0000FF"]


def test_cpu_accelerator_becomes_null_and_framework_is_spelt_as_the_schema_does() -> None:
    item = legacy_item("v1.5.2")
    item["properties"] |= {"mlm:accelerator": "cpu", "mlm:framework": "onnx"}

    result = migrate_data(item)

    assert result.data["properties"]["mlm:accelerator"] is None
    assert result.data["properties"]["mlm:framework"] == "ONNX"


def unmigratable() -> dict[str, Any]:
    item = legacy_item("v1.1.0")
    props = item["properties"]
    props["mlm:input"][0]["norm_clip"] = [3000, 3000, 3000]
    props["mlm:output"][0]["result"] |= {"shape": [-1, 5], "dim_order": ["batch", "class", "height"]}
    props["mlm:runtime"] = "python"
    item["assets"]["model"]["href"] = "model.pt"
    del item["assets"]["model"]["type"]
    props["mlm:framework"] = "PyTorch"
    return item


def test_unmigratable_item_raises_one_error_listing_every_field() -> None:
    with pytest.raises(UnmigratableError) as caught:
        migrate_data(unmigratable())

    fields = [p.split(": ", 1)[0] for p in caught.value.problems]
    assert fields == [
        "/properties/mlm:output/0/result/dim_order",
        "/assets/model/mlm:artifact_type",
        "/properties/mlm:input/0/norm_clip",
        "/properties/mlm:runtime",
    ]
    assert isinstance(caught.value, MigrationError)
    assert "torch.save" in str(caught.value)  # the artifact type problem suggests values


def test_ambiguous_output_shape_is_not_guessed() -> None:
    item = pre_v1_item()
    item["properties"]["mlm:output"]["result"]["shape"] = [-1, 3, 8, 8]  # not [batch, n_classes]

    with pytest.raises(UnmigratableError, match="dim_order"):
        migrate_data(item)


def test_removed_norm_type_and_statistics_without_norm_type_are_reported() -> None:
    item = legacy_item("v1.0.0")
    item["properties"]["mlm:input"][0]["norm_type"] = "l2"
    with pytest.raises(UnmigratableError, match="norm_type: 'l2' was removed"):
        migrate_data(item)
    del item["properties"]["mlm:input"][0]["norm_type"]
    with pytest.raises(UnmigratableError, match="statistics: given without norm_type"):
        migrate_data(item)


def test_failed_migration_writes_nothing_and_keeps_an_existing_output(tmp_path: Path) -> None:
    source = tmp_path / "item.json"
    source.write_text(json.dumps(unmigratable()))
    before = source.read_text()

    with pytest.raises(UnmigratableError):
        migrate_file(source, output=source)
    with pytest.raises(UnmigratableError):
        migrate_file(source, output=tmp_path / "new.json")

    assert source.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["item.json"]


def test_migrate_file_writes_the_valid_result(tmp_path: Path) -> None:
    source = tmp_path / "item.json"
    source.write_text(json.dumps(pre_v1_item()))

    result = migrate_file(source, output=tmp_path / "out" / "item.json")

    assert json.loads((tmp_path / "out" / "item.json").read_text()) == result.data


def test_downgrade_and_unknown_versions_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="does not downgrade"):
        migrate_data(legacy_item("v1.5.0"), to="v1.4.0")
    with pytest.raises(UsageError, match="unknown MLM version"):
        migrate_data(legacy_item("v1.5.0"), to="v2.0.0")


@pytest.mark.parametrize("version", ["v1.6.0", "v2.0.0-beta.1"])
def test_a_newer_mlm_than_eohub_ships_is_never_moved_to_an_older_version(
    tmp_path: Path, version: str
) -> None:
    item = legacy_item("v1.5.0")
    item["stac_extensions"] = [f"https://stac-extensions.github.io/mlm/{version}/schema.json"]
    with pytest.raises(UsageError, match=f"declares MLM {version}.*does not downgrade to v1.5.2"):
        migrate_data(item)
    source, target = tmp_path / "item.json", tmp_path / "out.json"
    source.write_text(json.dumps(item))
    result = runner.invoke(app, ["mlm", "migrate", str(source), "-o", str(target)])
    assert result.exit_code == 2 and not target.exists()
    assert "eohub ships MLM up to v1.5.2" in result.stderr and "undeclared" not in result.stderr


@pytest.mark.parametrize("name", ['"B02"', " B02 "])
def test_quoted_band_names_are_not_copied_into_new_band_definitions(name: str) -> None:
    item = legacy_item("v1.2.0")
    item["properties"]["mlm:input"][0]["bands"] = [name, "B03", "B04"]
    for holder in [item["properties"], *item["assets"].values()]:
        for key in ("eo:bands", "raster:bands", "bands"):
            holder.pop(key, None)
    with pytest.raises(UnmigratableError) as caught:
        migrate_data(item)
    assert caught.value.problems == [
        f"/properties/mlm:input/0/bands/0: band name {name!r} is wrapped in quotes or spaces; write it as "
        "'B02' (band definitions are not made from it)"
    ]


def test_documents_without_mlm_are_refused() -> None:
    with pytest.raises(MigrationError, match="nothing to migrate"):
        migrate_data({"type": "Feature", "stac_version": "1.0.0", "properties": {}, "stac_extensions": []})
    with pytest.raises(MigrationError, match="only STAC Items and Collections"):
        migrate_data({"type": "Catalog", "stac_version": "1.0.0", "stac_extensions": [schema_url("v1.0.0")]})


def test_mlm_fields_without_a_declared_extension_get_the_target_schema() -> None:
    item = legacy_item("v1.5.2")
    item["stac_extensions"] = [EO]

    result = migrate_data(item)

    assert result.from_version is None
    assert result.data["stac_extensions"] == [EO, LATEST_MLM_SCHEMA]
    assert errors(result.data) == []


def test_collection_gets_the_new_schema_url() -> None:
    collection = json.loads((EXAMPLES / "collection.json").read_text())
    collection["stac_extensions"].append(schema_url("v1.3.0"))

    result = migrate_data(collection)

    assert result.data["stac_extensions"][-1] == LATEST_MLM_SCHEMA
    assert errors(result.data) == []


def test_cli_prints_the_migrated_json_and_lists_changes_on_stderr(tmp_path: Path) -> None:
    source = tmp_path / "item.json"
    source.write_text(json.dumps(pre_v1_item()))

    result = runner.invoke(app, ["mlm", "migrate", str(source)])

    assert result.exit_code == 0, result.stderr
    assert errors(json.loads(result.stdout)) == []
    assert "changed /properties/mlm:output/0/result/dim_order" in result.stderr
    assert "MLM v1.2.0 -> v1.5.2" in result.stderr


def test_cli_writes_the_target_version_to_the_output_file(tmp_path: Path) -> None:
    source, out = tmp_path / "item.json", tmp_path / "new.json"
    source.write_text(json.dumps(legacy_item("v1.0.0")))

    result = runner.invoke(app, ["mlm", "migrate", str(source), "--to", "1.4.0", "-o", str(out)])

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert json.loads(out.read_text())["stac_extensions"][0] == schema_url("v1.4.0")


def test_cli_failure_lists_fields_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    source, out = tmp_path / "item.json", tmp_path / "new.json"
    source.write_text(json.dumps(unmigratable()))

    result = runner.invoke(app, ["mlm", "migrate", str(source), "-o", str(out)])

    assert result.exit_code == 1
    assert "cannot migrate to MLM v1.5.2 automatically" in result.stderr
    assert "  /properties/mlm:input/0/norm_clip: " in result.stderr
    assert not out.exists()


def test_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["mlm", "migrate", str(tmp_path / "missing.json")]).exit_code == 2
    source = tmp_path / "item.json"
    source.write_text(json.dumps(legacy_item("v1.0.0")))
    assert runner.invoke(app, ["mlm", "migrate", str(source), "--to", "v9"]).exit_code == 2


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("stac_extensions", "https://crim-ca.github.io/mlm-extension/v1.2.0/schema.json", "/stac_extensions"),
        ("stac_extensions", [5], "/stac_extensions"),
        ("properties", [], "/properties"),
        ("assets", "model.onnx", "/assets"),
    ],
)
def test_broken_stac_structure_is_refused_not_crashed_on(field: str, value: Any, problem: str) -> None:
    item = pre_v1_item()
    item[field] = value
    with pytest.raises(UnmigratableError) as info:
        migrate_data(item, label="item.json")
    assert "fix the STAC structure first" in info.value.summary
    assert [p.split(":")[0] for p in info.value.problems] == [problem]


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("mlm:tasks",), [["classification"]]),
        (("mlm:input", "bands"), 5),
        (("mlm:output", "tasks"), 5),
        (("mlm:output", "classification:classes"), 5),
    ],
)
def test_malformed_mlm_fields_are_reported_as_unmigratable(where: tuple[str, ...], value: Any) -> None:
    item = pre_v1_item()
    holder = item["properties"]
    for key in where[:-1]:
        holder = holder[key]
    holder[where[-1]] = value
    with pytest.raises(UnmigratableError) as info:
        migrate_data(item)
    assert info.value.problems


def test_null_stac_extensions_with_mlm_fields_gets_the_target_schema() -> None:
    item = legacy_item("v1.5.2")
    item["stac_extensions"] = None
    item["assets"]["model"].pop("eo:bands")
    item["properties"]["mlm:input"][0]["bands"] = []
    item["properties"]["mlm:input"][0]["input"]["dim_order"][1] = "channel"
    result = migrate_data(item)
    assert result.data["stac_extensions"] == [LATEST_MLM_SCHEMA]
    assert errors(result.data) == []


def test_python_api_migrates_a_pystac_item_and_returns_one(tmp_path: Path) -> None:
    import pystac

    from eohub import mlm

    item = pystac.Item.from_dict(legacy_item("v1.3.0"), migrate=False)
    result = mlm.migrate(item, output=tmp_path / "new.json")
    upgraded = result.to_pystac()
    assert isinstance(upgraded, pystac.Item)
    assert LATEST_MLM_SCHEMA in upgraded.stac_extensions
    assert json.loads((tmp_path / "new.json").read_text()) == result.data
    assert mlm.validate(upgraded).ok


@pytest.mark.parametrize("target", ["folder", "file-as-parent"])
def test_cli_output_that_cannot_be_written_is_a_usage_error(tmp_path: Path, target: str) -> None:
    source = tmp_path / "item.json"
    source.write_text(json.dumps(legacy_item("v1.0.0")))
    (tmp_path / "plain").write_text("x")
    out = tmp_path if target == "folder" else tmp_path / "plain" / "new.json"

    result = runner.invoke(app, ["mlm", "migrate", str(source), "-o", str(out)])

    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {out}: ") and result.stderr.count("\n") == 1
    assert (tmp_path / "plain").read_text() == "x"
