"""Quality levels Q0..Q3 of model and dataset folders built in tmp_path, and the reasons they give."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.demo import make_classifier, make_segmenter
from eohub.errors import UsageError
from eohub.mlm.migrate import migrate_data
from eohub.mlm.schemas import LATEST_MLM_SCHEMA
from eohub.quality import QualityReport, assess_quality

from .fixtures_tutorial import EUROSAT_CLASSES, tutorial_item_dict

runner = CliRunner()
README = """---
name: tiny-cnn
authors: [Jane Doe]
license: MIT
source: https://example.org/tiny
---
A model.
"""
LABEL = "https://stac-extensions.github.io/label/v1.0.1/schema.json"


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def catalog(*item_hrefs: str) -> dict[str, Any]:
    links = [{"rel": "root", "href": "./catalog.json"}] + [{"rel": "item", "href": h} for h in item_hrefs]
    return {"type": "Catalog", "stac_version": "1.0.0", "id": "root", "description": "test", "links": links}


def plain_item(assets: dict[str, Any], extensions: list[str] | None = None, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": extensions or [],
        "id": "model",
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z", **props},
        "links": [{"rel": "root", "href": "./catalog.json"}, {"rel": "parent", "href": "./catalog.json"}],
        "assets": assets,
    }


def model_asset(href: str = "model.onnx") -> dict[str, Any]:
    return {
        "href": href,
        "type": "application/octet-stream; application=onnx",
        "roles": ["mlm:model"],
        "mlm:artifact_type": "onnx",
    }


def mlm_item(
    classes: int = 10, output_shape: list[int] | None = None, href: str = "model.onnx"
) -> dict[str, Any]:
    """A v1.5.2 item for ``make_classifier(bands=3, classes=classes, size=64)``."""
    return plain_item(
        {"model": model_asset(href)},
        [LATEST_MLM_SCHEMA],
        **{
            "mlm:name": "tiny-cnn",
            "mlm:architecture": "cnn",
            "mlm:framework": "ONNX",
            "mlm:tasks": ["classification"],
            "mlm:input": [
                {
                    "name": "input",
                    "bands": [],
                    "input": {
                        "shape": [-1, 3, 64, 64],
                        "dim_order": ["batch", "channel", "height", "width"],
                        "data_type": "float32",
                    },
                }
            ],
            "mlm:output": [
                {
                    "name": "logits",
                    "tasks": ["classification"],
                    "result": {
                        "shape": output_shape or [-1, classes],
                        "dim_order": ["batch", "class"],
                        "data_type": "float32",
                    },
                    "classification:classes": [
                        {"value": i, "name": f"class{i}", "description": f"Class {i}"} for i in range(classes)
                    ],
                }
            ],
        },
    )


def model_folder(root: Path, item: dict[str, Any] | None = None, readme: str | None = README) -> Path:
    """README.md, model.onnx (a 10-class classifier), catalog.json and item.json in ``root``."""
    make_classifier(root / "model.onnx", bands=3, classes=10, size=64)
    if readme is not None:
        (root / "README.md").write_text(readme)
    write_json(root / "catalog.json", catalog("./item.json"))
    write_json(root / "item.json", item if item is not None else mlm_item())
    return root


def test_complete_model_folder_is_q3_and_records_the_run(tmp_path: Path) -> None:
    report = assess_quality(model_folder(tmp_path))

    assert (report.label, report.reasons) == ("Q3", [])
    assert report.top
    assert report.details["runs"]["model"] == {
        "inputs": {"input": [1, 3, 64, 64]},
        "outputs": {"logits": [1, 10]},
    }


def test_files_only_folder_is_q0_because_there_is_no_catalog(tmp_path: Path) -> None:
    make_classifier(tmp_path / "model.onnx")
    (tmp_path / "README.md").write_text(README)

    report = assess_quality(tmp_path)

    assert report.level == 0
    assert report.reasons == ["Q0: no catalog.json at the folder root: files only, no STAC catalog"]
    assert report.details["readme"]["name"] == "tiny-cnn"


def test_readme_without_license_and_source_is_noted_not_lowered(tmp_path: Path) -> None:
    model_folder(tmp_path, readme="---\nname: tiny\nauthors: [Jane]\n---\ntext\n")

    report = assess_quality(tmp_path)

    assert (report.label, report.reasons) == ("Q3", [])
    assert [n.split(" (")[0] for n in report.notes] == ["no license", "no source"]


def test_readme_less_folder_takes_its_metadata_from_the_catalog(tmp_path: Path) -> None:
    model_folder(tmp_path, readme=None)
    root = json.loads((tmp_path / "catalog.json").read_text())
    root |= {"license": "CC-BY-4.0", "providers": [{"name": "Ann", "roles": ["producer"]},
                                                   {"name": "Cloud", "roles": ["host"]}]}  # fmt: skip
    root["links"].append({"rel": "cite-as", "href": "https://doi.org/10.1/x"})
    write_json(tmp_path / "catalog.json", root)

    report = assess_quality(tmp_path)

    assert (report.label, report.reasons, report.notes) == ("Q3", [], [])
    assert report.details["readme"] is None
    meta = report.details["metadata"]
    assert (meta["name"], meta["description"], meta["license"]) == ("root", "test", "CC-BY-4.0")
    assert (meta["authors"], meta["source"]) == (["Ann"], "https://doi.org/10.1/x")


def test_missing_readme_is_no_reason_and_what_nothing_gives_is_a_note(tmp_path: Path) -> None:
    report = assess_quality(model_folder(tmp_path, readme=None))

    assert (report.label, report.reasons) == ("Q3", [])
    assert [n.split(" (")[0] for n in report.notes] == ["no license", "no authors", "no source"]


def test_a_file_no_asset_refers_to_keeps_a_folder_at_q0(tmp_path: Path) -> None:
    model_folder(tmp_path)
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "extra.bin").write_bytes(b"\0")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "ignored").write_bytes(b"\0")

    report = assess_quality(tmp_path)

    assert report.reasons == ["Q0: file 'weights/extra.bin' is not the href of any asset"]


def test_invalid_stac_and_missing_asset_files_keep_a_folder_at_q0(tmp_path: Path) -> None:
    item = mlm_item()
    item["assets"]["model"]["href"] = "missing.onnx"
    item["properties"]["mlm:input"][0]["input"]["shape"] = "64x64"
    model_folder(tmp_path, item)

    reasons = assess_quality(tmp_path).reasons

    assert "Q0: item 'model': asset 'model' points at a missing file (missing.onnx)" in reasons
    assert "Q0: file 'model.onnx' is not the href of any asset" in reasons
    assert any(
        r.startswith("Q0: item 'model': invalid STAC (STAC001) at /properties/mlm:input/0") for r in reasons
    )


def test_an_old_mlm_item_is_q0_with_a_hint_to_migrate(tmp_path: Path) -> None:
    item = tutorial_item_dict("model.onnx")
    del item["collection"]
    model_folder(tmp_path, item | {"links": []})

    reasons = assess_quality(tmp_path).reasons

    assert any(
        r.startswith("Q0: item 'model': invalid STAC (STAC001) at /properties/mlm:input") for r in reasons
    )
    assert reasons[-1] == (
        "Q0: item 'model': declares MLM v1.2.0; `eohub mlm migrate` upgrades it to v1.5.2 "
        "and fixes what can be fixed automatically (ingest does so when the upgrade is valid)"
    )


def test_a_broken_catalog_link_is_a_reason(tmp_path: Path) -> None:
    model_folder(tmp_path)
    write_json(tmp_path / "catalog.json", catalog("./item.json", "./gone.json"))

    report = assess_quality(tmp_path)

    assert report.level == 0
    [reason] = [r for r in report.reasons if "gone.json" in r]
    assert reason.startswith("Q0: catalog 'root': broken link at /links/2/href: cannot follow the link: ")
    assert reason.endswith("gone.json: no such file")
    # The rest of the catalog is still assessed: the item was read and its run recorded nowhere yet.
    assert report.details["documents"] == ["catalog.json", "item.json"]


def test_valid_catalog_without_mlm_is_q1(tmp_path: Path) -> None:
    model_folder(tmp_path, plain_item({"model": {"href": "model.onnx"}}))

    report = assess_quality(tmp_path)

    assert (report.level, report.reasons) == (
        1,
        ["Q1: no item uses the MLM extension (eohub mlm init MODEL.onnx writes one)"],
    )


def test_mlm_lint_error_keeps_a_model_at_q1(tmp_path: Path) -> None:
    # Valid MLM, but 10 classes for an output whose class dimension says 5: only lint sees it.
    model_folder(tmp_path, mlm_item(output_shape=[-1, 5]))

    report = assess_quality(tmp_path)

    assert report.level == 1
    assert report.reasons
    assert all(r.startswith("Q1: item 'model': MLM lint error MLM") for r in report.reasons)
    assert any(" at /properties/mlm:output/0" in r for r in report.reasons)


def test_model_whose_outputs_differ_from_the_metadata_at_runtime_is_q2(tmp_path: Path) -> None:
    # The graph leaves height and width symbolic, so only running it shows the output is 64x64, not 32x32.
    make_segmenter(tmp_path / "model.onnx", bands=4, classes=3, size=None)
    item = mlm_item(classes=3)
    props = item["properties"]
    props["mlm:tasks"] = ["semantic-segmentation"]
    props["mlm:input"][0]["input"] |= {"shape": [-1, 4, -1, -1]}
    props["mlm:output"][0] |= {"name": "scores", "tasks": ["semantic-segmentation"]}
    props["mlm:output"][0]["result"] = {
        "shape": [-1, 3, 32, 32],
        "dim_order": ["batch", "class", "height", "width"],
        "data_type": "float32",
    }
    (tmp_path / "README.md").write_text(README)
    write_json(tmp_path / "catalog.json", catalog("./item.json"))
    write_json(tmp_path / "item.json", item)

    report = assess_quality(tmp_path)

    assert report.level == 2
    assert report.reasons == [
        "Q2: item 'model': output 'scores': the model returned shape [1, 3, 64, 64], "
        "the item declares [-1, 3, 32, 32]"
    ]
    assert report.details["runs"]["model"]["inputs"] == {"input": [1, 4, 64, 64]}


def make_reshaper(path: Path, size: int = 64) -> Path:
    """A model that only runs on ``size`` x ``size`` inputs although its graph leaves H and W symbolic."""
    target = numpy_helper.from_array(np.array([1, 3 * size * size], np.int64), "target")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["input", "target"], ["flat"])],
        "reshaper",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("flat", TensorProto.FLOAT, [1, 3 * size * size])],
        [target],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_model_that_fails_in_onnx_runtime_is_q2_with_the_runtime_message(tmp_path: Path) -> None:
    make_reshaper(tmp_path / "model.onnx")
    item = mlm_item()
    props = item["properties"]
    props["mlm:tasks"] = ["regression"]
    props["mlm:input"][0]["input"]["shape"] = [-1, 3, 32, 32]
    props["mlm:output"] = [
        {
            "name": "flat",
            "tasks": ["regression"],
            "result": {"shape": [-1, 12288], "dim_order": ["batch", "value"], "data_type": "float32"},
        }
    ]
    (tmp_path / "README.md").write_text(README)
    write_json(tmp_path / "catalog.json", catalog("./item.json"))
    write_json(tmp_path / "item.json", item)

    report = assess_quality(tmp_path)

    assert report.level == 2
    [reason] = report.reasons
    assert reason.startswith("Q2: item 'model': ONNX Runtime failed: ")
    assert "Input shape:{1,3,32,32}, requested shape:{1,12288}" in reason
    assert "onnxruntime_src" not in reason


def test_remote_model_is_q2_because_q3_runs_local_files(tmp_path: Path) -> None:
    model_folder(tmp_path, mlm_item(href="https://example.org/model.onnx"))
    (tmp_path / "model.onnx").unlink()

    report = assess_quality(tmp_path)

    assert report.level == 2
    assert report.reasons == [
        "Q2: item 'model': model asset 'model' is a link (https://example.org/model.onnx); "
        "Q3 runs local files only"
    ]


def test_tutorial_item_migrated_reaches_q3_with_its_model_outside_the_folder(tmp_path: Path) -> None:
    stac = tmp_path / "STAC"
    make_classifier(tmp_path / "v1" / "model.onnx", bands=3, classes=len(EUROSAT_CLASSES), size=None)
    stac.mkdir()
    (stac / "README.md").write_text(README)
    item = migrate_data(tutorial_item_dict("../v1/model.onnx")).data
    item["links"] = [{"rel": "root", "href": "./catalog.json"}]
    del item["collection"]  # this catalog has no collection level
    write_json(stac / "catalog.json", catalog("./model.json"))
    write_json(stac / "model.json", item)

    report = assess_quality(stac)

    assert (report.label, report.reasons) == ("Q3", [])
    assert report.details["runs"]["model"]["inputs"] == {"input": [1, 3, 64, 64]}


def dataset_folder(root: Path, extensions: list[str], **props: Any) -> Path:
    (root / "README.md").write_text(README.replace("tiny-cnn", "tiny-labels"))
    (root / "labels.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    assets = {"labels": {"href": "labels.geojson", "type": "application/geo+json", "roles": ["labels"]}}
    write_json(root / "catalog.json", catalog("./item.json"))
    write_json(root / "item.json", plain_item(assets, extensions, **props))
    return root


def test_dataset_with_valid_label_items_is_q2(tmp_path: Path) -> None:
    dataset_folder(
        tmp_path,
        [LABEL],
        **{"label:properties": ["class"], "label:description": "land cover", "label:type": "vector"},
    )

    report = assess_quality(tmp_path, kind="dataset")

    assert (report.label, report.reasons, report.top) == ("Q2", [], True)


def test_dataset_without_label_or_ml_aoi_items_is_q1(tmp_path: Path) -> None:
    report = assess_quality(dataset_folder(tmp_path, []), kind="dataset")

    assert (report.level, report.reasons) == (1, ["Q1: no item uses the label or ml-aoi extension"])


def test_dataset_with_an_invalid_label_item_is_q0(tmp_path: Path) -> None:
    dataset_folder(tmp_path, [LABEL], **{"label:type": "raster"})  # no label:properties/description

    report = assess_quality(tmp_path, kind="dataset")

    assert report.level == 0
    assert any("invalid STAC (STAC001)" in r and "label extension" in r for r in report.reasons)


def test_report_round_trips_through_a_dict(tmp_path: Path) -> None:
    report = assess_quality(model_folder(tmp_path, readme=None))

    assert QualityReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a folder"):
        assess_quality(tmp_path / "nope")
    with pytest.raises(UsageError, match="kind must be one of"):
        assess_quality(tmp_path, kind="pipeline")  # type: ignore[arg-type]


def test_cli_prints_the_level_each_reason_and_each_note(tmp_path: Path) -> None:
    model_folder(tmp_path, readme="---\nname: tiny\n---\nA model.\n")
    (tmp_path / "notes.txt").write_text("no asset names me")

    result = runner.invoke(app, ["quality", str(tmp_path)])

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{tmp_path}: Q0 (model)",
        "  Q0: file 'notes.txt' is not the href of any asset",
        "  note: no license (set `license` in README.md front matter, or a license on the STAC catalog or "
        "collection)",
        "  note: no authors (set `authors` in README.md front matter, or providers on the STAC catalog or "
        "collection)",
        "  note: no source (set `source` in README.md front matter, or a cite-as link on the STAC catalog "
        "or collection)",
    ]


def test_cli_json_report_and_dataset_kind(tmp_path: Path) -> None:
    dataset_folder(tmp_path, [])

    result = runner.invoke(app, ["quality", str(tmp_path), "--kind", "dataset", "--format", "json"])

    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["label"], data["kind"], data["reasons"]) == (
        "Q1",
        "dataset",
        ["Q1: no item uses the label or ml-aoi extension"],
    )


def test_cli_missing_folder_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["quality", str(tmp_path / "nope")])

    assert result.exit_code == 2
    assert "not a folder" in result.stderr


@pytest.mark.parametrize(
    ("field", "value"), [("assets", [{"href": "model.onnx"}]), ("stac_extensions", 5), ("links", {"a": 1})]
)
def test_malformed_item_is_q0_with_its_schema_errors(tmp_path: Path, field: str, value: Any) -> None:
    item = mlm_item()
    item[field] = value
    model_folder(tmp_path, item)

    report = assess_quality(tmp_path)

    assert report.level == 0
    assert f"Q0: item 'model': invalid STAC (STAC001) at /{field}: " in "\n".join(report.reasons)


@pytest.mark.parametrize(("input_type", "output_type"), [(TensorProto.BOOL, TensorProto.FLOAT),
                                                         (TensorProto.INT64, TensorProto.BOOL)])  # fmt: skip
def test_types_mlm_calls_other_are_run_with_the_graphs_type_and_reach_q3(
    tmp_path: Path, input_type: int, output_type: int
) -> None:
    from eohub.mlm.build import build_item

    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=output_type)],
        "cast",
        [helper.make_tensor_value_info("x", input_type, [1, 5])],
        [helper.make_tensor_value_info("y", output_type, [1, 5])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "model.onnx")
    (tmp_path / "README.md").write_text(README)
    item = build_item(tmp_path / "model.onnx", name="Cast model", tasks=["regression"], item_id="model")
    assert "other" in (item.properties["mlm:input"][0]["input"]["data_type"],
                       item.properties["mlm:output"][0]["result"]["data_type"])  # fmt: skip
    write_json(tmp_path / "item.json", item.to_dict(include_self_link=False))
    write_json(tmp_path / "catalog.json", catalog("./item.json"))

    report = assess_quality(tmp_path)

    assert (report.label, report.reasons) == ("Q3", [])
    assert report.details["runs"]["model"]["outputs"] == {"y": [1, 5]}


def test_readme_with_broken_yaml_is_one_note_on_one_line(tmp_path: Path) -> None:
    model_folder(tmp_path, readme="---\nname: [unclosed\n---\n")

    result = runner.invoke(app, ["quality", str(tmp_path)])

    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"{tmp_path}: Q3 (model)"
    [note] = [line for line in result.stdout.splitlines()[1:] if "README.md:" in line]
    assert note.startswith("  note: ") and "front matter is not valid YAML" in note
    assert all(line.startswith("  note: ") for line in result.stdout.splitlines()[1:])


def test_cli_rates_a_complete_model_folder_q3(tmp_path: Path) -> None:
    result = runner.invoke(app, ["quality", str(model_folder(tmp_path)), "--format", "json"])

    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["label"], data["reasons"]) == ("Q3", [])
    assert data["details"]["runs"]["model"]["outputs"] == {"logits": [1, 10]}


def test_models_rated_from_several_threads_at_once_all_reach_q3(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    folders = [model_folder(tmp_path / str(n)) for n in range(4)]

    with ThreadPoolExecutor(4) as pool:
        labels = list(pool.map(lambda folder: assess_quality(folder).label, folders))

    assert labels == ["Q3"] * 4


def test_rating_from_a_script_without_a_main_guard_runs_the_script_once(tmp_path: Path) -> None:
    # The model runs in a child process; it must not start by re-running the caller's script.
    script = tmp_path / "rate.py"
    script.write_text(
        "import sys\n"
        "print('script started', flush=True)\n"
        "from eohub.quality import assess_quality\n"
        "print(assess_quality(sys.argv[1]).label, flush=True)\n"
    )
    folder = model_folder(tmp_path / "model")

    result = subprocess.run(
        [sys.executable, str(script), str(folder)], capture_output=True, text=True, timeout=120
    )

    assert result.stdout.splitlines() == ["script started", "Q3"], result.stderr


def _entry(shape: Any, data_type: str = "float32") -> dict[str, Any]:
    order = ["batch", "channel", "height", "width"][: len(shape)] if isinstance(shape, list) else []
    return {"name": "x", "input": {"shape": shape, "dim_order": order, "data_type": data_type}}


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ([1, 3, -5, 64], "must hold whole numbers, -1 or more"),
        ([1, True, 64, 64], "must hold whole numbers, -1 or more"),
        ([1, 3, 64.5, 64], "must hold whole numbers, -1 or more"),
        ([1, 3, "64", 64], "must hold whole numbers, -1 or more"),
        ([1, 3, float("inf"), 64], "must hold whole numbers, -1 or more"),
        ([1] * 40, "declares 40 dimensions, more than 32"),
        ("1x3x64x64", "shape and dim_order must be lists of equal length"),
    ],
)
def test_declared_input_shapes_that_cannot_be_an_array_are_problems(shape: Any, message: str) -> None:
    from eohub.errors import EohubError
    from eohub.mlm.onnx_graph import TensorSpec
    from eohub.quality.run import plan_input

    entry = _entry(shape)
    if isinstance(shape, list) and len(shape) > 4:
        entry["input"]["dim_order"] = [f"d{n}" for n in range(len(shape))]
    graph = TensorSpec("x", [], "float32", rank_known=False)

    with pytest.raises(EohubError, match=message):
        plan_input(entry, graph)


def test_the_input_size_is_computed_before_anything_is_built() -> None:
    from eohub.mlm.onnx_graph import TensorSpec
    from eohub.quality.run import plan_input, too_large

    graph = TensorSpec("x", [-1, 3, -1, -1], "float32")
    small = plan_input(_entry([-1, 3, 64.0, -1]), graph)  # JSON Schema's integers include 64.0
    huge = plan_input(_entry([1, 3, 10**200, 10**200]), graph)

    assert (small.shape, small.nbytes) == ([1, 3, 64, 64], 3 * 64 * 64 * 4)
    assert too_large([small], small.nbytes) is None
    assert too_large([small], small.nbytes - 1) == (
        "input too large",
        "input 'x' [1, 3, 64, 64] float32 takes 49,152 bytes, more than the 49,151 bytes bound "
        "(EOHUB_RATING_INPUT_BYTES)",
    )
    cause, detail = too_large([huge, small], 256 * 1024 * 1024) or ("", "")
    assert cause == "input too large"
    assert detail.endswith(
        "float32 takes more than 10^18 bytes, input 'x' [1, 3, 64, 64] float32 takes 49,152 bytes, "
        "more than 10^18 bytes in all, more than the 256 MiB bound (EOHUB_RATING_INPUT_BYTES)"
    )
