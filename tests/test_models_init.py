"""``eohub models init``: from an ONNX file to a folder that is Q3 and publishes as Q3, in one command."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pystac
import pytest
from pystac.validation import JsonSchemaSTACValidator, RegisteredValidator
from typer.testing import CliRunner, Result

from eohub import mlm
from eohub.cli.main import app
from eohub.demo import make_classifier, make_segmenter
from eohub.errors import AlreadyExistsError
from eohub.mlm.schemas import local_path_for

runner = CliRunner()
LAYOUT = ["README.md", "catalog.json", "model/collection.json", "model/model/model.json"]
ABOUT = ["--license", "CC-BY-4.0", "--authors", "Jane Doe,Joe Bloggs", "--source", "https://example.org/m"]
CLASSIFIER = ["--tasks", "classification", "--bands", "B02,B03,B04", "--classes", "water,forest,urban",
              "--mean", "1000,1000,1000", "--std", "500,500,500"]  # fmt: skip
SEGMENTER = ["--tasks", "semantic-segmentation", "--bands", "B02,B03,B04,B08", "--classes",
             "water,land,cloud", "--min", "0,0,0,0", "--max", "1e4,1e4,1e4,1e4",
             "--architecture", "FCN"]  # fmt: skip


def init(folder: Path, *args: str) -> Result:
    return runner.invoke(app, ["models", "init", str(folder), *args])


def notes(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("note: ")]


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def one_line_error(result: Result) -> str:
    """The message of a command that failed as a user error: one stderr line, no traceback."""
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""
    return result.stderr


@pytest.mark.parametrize("kind", ["classifier", "segmenter"])
def test_an_onnx_model_becomes_a_q3_folder_that_ingest_publishes_at_q3(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "tiny"
    if kind == "classifier":  # outside the folder: copied in
        model = make_classifier(tmp_path / "src" / "eurosat.onnx", bands=3, classes=3, size=None, seed=1)
        result = init(folder, "--from", str(model), "--name", "tiny-classifier", *ABOUT, *CLASSIFIER)
        name, stored = "tiny-classifier", "eurosat.onnx"
    else:  # already inside the folder: used where it is
        model = make_segmenter(folder / "weights" / "seg.onnx", bands=4, classes=3, size=None, seed=2)
        result = init(folder, "--from", str(model), "--name", "tiny-segmenter", *ABOUT, *SEGMENTER)
        name, stored = "tiny-segmenter", "weights/seg.onnx"
    assert result.exit_code == 0, result.output
    assert notes(result) == ["note: README.md describes only the graph: say what the model does and what it "
                             "was trained on with --description, or in README.md"]  # fmt: skip
    assert sorted(files(folder)) == sorted([*LAYOUT, stored])
    assert (folder / stored).read_bytes() == model.read_bytes()
    item = json.loads((folder / "model/model/model.json").read_text())
    assert item["assets"]["model"]["href"] == f"../../{stored}"

    rated = runner.invoke(app, ["quality", str(folder), "--format", "json"])
    assert (json.loads(rated.stdout)["label"], json.loads(rated.stdout)["reasons"]) == ("Q3", [])
    published = runner.invoke(app, ["models", "ingest", str(folder)])
    assert published.exit_code == 0, published.output
    assert published.stdout.strip() == f"{name}: version 1 created (Q3)"
    info = json.loads(runner.invoke(app, ["models", "info", name, "--format", "json"]).stdout)
    assert (info["latest"]["number"], info["latest"]["quality"]) == (1, "Q3")
    meta = info["metadata"]
    assert (meta["authors"], meta["license"], meta["source"]) == (
        ["Jane Doe", "Joe Bloggs"],
        "CC-BY-4.0",
        "https://example.org/m",
    )
    assert meta["tags"] == ["semantic-segmentation" if kind == "segmenter" else "classification"]


def _offline_pystac_validator() -> JsonSchemaSTACValidator:
    """pystac's own validator, reading every schema from the files eohub ships (pystac would download the
    extension schemas: only the core ones come with it)."""

    class Offline(JsonSchemaSTACValidator):
        def _get_schema(self, schema_uri: str) -> dict[str, Any]:
            if schema_uri not in self.schema_cache:
                path = local_path_for(schema_uri)
                assert path is not None, f"not shipped: {schema_uri}"
                self.schema_cache[schema_uri] = json.loads(path.read_text())
            return self.schema_cache[schema_uri]

    return Offline()


def test_pystac_reads_the_written_catalog_and_validates_all_of_it_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_classifier(tmp_path / "m.onnx", bands=3, classes=3)
    assert init(tmp_path / "out", "--from", str(model), "--name", "tiny", *ABOUT, *CLASSIFIER).exit_code == 0

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the validation tried to use the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(RegisteredValidator, "_validator", _offline_pystac_validator())
    catalog = pystac.Catalog.from_file(str(tmp_path / "out" / "catalog.json"))
    assert catalog.validate_all() == 1  # the catalog, the collection and the one item, against MLM v1.5.2
    (collection,) = catalog.get_children()
    (item,) = collection.get_items()
    assert (catalog.id, collection.license, collection.keywords) == ("tiny", "CC-BY-4.0", ["classification"])
    assert [p.name for p in collection.providers or []] == ["Jane Doe", "Joe Bloggs"]
    assert collection.get_single_link("cite-as").get_href() == "https://example.org/m"
    assert item.assets["model"].get_absolute_href() == str(tmp_path / "out" / "m.onnx")
    checked = runner.invoke(app, ["mlm", "validate", str(tmp_path / "out")])
    assert checked.stdout == "3 document(s) valid\n"


@pytest.mark.parametrize(
    ("make", "assumed"),
    [
        (make_classifier, "classification from output 'logits' [-1, 10]"),
        (make_segmenter, "semantic-segmentation from output 'scores' [-1, 3, 64, 64]"),
    ],
)
def test_a_guessed_task_is_said_in_one_line_on_stderr(tmp_path: Path, make: Any, assumed: str) -> None:
    model = make(tmp_path / "m.onnx")
    result = init(tmp_path / "out", "--from", str(model), "--name", "guess", *ABOUT, "--description", "x")
    assert result.exit_code == 0, result.output
    assert notes(result) == [f"note: mlm:tasks not given: assumed {assumed}; set them with --tasks"]
    assert "note:" not in result.stdout
    said = init(tmp_path / "out2", "--from", str(model), "--name", "said", *ABOUT, "--tasks", "regression")
    assert said.exit_code == 0 and "mlm:tasks" not in said.stderr


def test_existing_files_are_kept_unless_overwrite_and_a_rewritten_readme_keeps_text(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    model = make_classifier(tmp_path / "m.onnx", bands=3, classes=3)
    assert init(folder, "--from", str(model), "--name", "first", *ABOUT, *CLASSIFIER).exit_code == 0
    (folder / "README.md").write_text("---\nname: mine\nthumbnail: pic.png\n---\nWords a person wrote.\n")
    before = files(folder)

    again = init(folder, "--from", str(model), "--name", "second", *ABOUT, *CLASSIFIER)
    refused = one_line_error(again)
    assert f"{folder / 'README.md'} exists (and 4 more file(s) init writes); pass --overwrite" in refused
    assert files(folder) == before

    forced = init(
        folder, "--from", str(model), "--overwrite", "--license", "MIT", "--tasks", "classification"
    )
    assert forced.exit_code == 0, forced.output
    assert forced.stdout.startswith("mine: wrote README.md, catalog.json")
    readme = (folder / "README.md").read_text()
    assert "Words a person wrote." in readme and "thumbnail: pic.png" in readme and "license: MIT" in readme
    assert json.loads((folder / "catalog.json").read_text())["id"] == "mine"


def test_a_folder_as_eotdl_downloads_it_is_packaged_around_its_own_model(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "EuroSAT-RGB" / "v1"  # README.md and model.onnx, as download_model writes
    make_classifier(folder / "model.onnx", bands=3, classes=10, size=None)
    readme = "---\nname: EuroSAT-RGB\nauthors: [EOTDL]\nlicense: MIT\nsource: https://eotdl.com\n---\nRGB.\n"
    (folder / "README.md").write_text(readme)
    result = init(folder, "--overwrite", "--tasks", "classification", "--bands", "red,green,blue")
    assert result.exit_code == 0, result.output
    assert notes(result) == []
    assert sorted(files(folder)) == sorted([*LAYOUT, "model.onnx"])
    assert "RGB." in (folder / "README.md").read_text()
    rated = runner.invoke(app, ["quality", str(folder)])
    assert rated.stdout.splitlines() == [f"{folder}: Q3 (model)"]


def test_files_no_asset_describes_are_named_in_a_note(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "train.py").write_text("print('hi')\n")
    (folder / ".hidden").write_text("not published")
    model = make_classifier(tmp_path / "m.onnx", bands=3, classes=3)
    result = init(folder, "--from", str(model), *ABOUT, *CLASSIFIER, "--description", "A model.")
    assert result.exit_code == 0, result.output
    assert notes(result) == [
        "note: 1 file(s) in the folder are no asset's href (eohub quality holds that against it): "
        "notes/train.py"
    ]


def test_missing_readme_fields_are_a_note_naming_the_options(tmp_path: Path) -> None:
    model = make_classifier(tmp_path / "m.onnx", bands=3, classes=3)
    result = init(
        tmp_path / "out", "--from", str(model), "--license", "MIT", *CLASSIFIER, "--description", "d"
    )
    assert result.exit_code == 0, result.output
    assert notes(result) == ["note: README.md front matter has no authors, source (give --authors, --source)"]


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    model = str(make_classifier(tmp_path / "m.onnx", bands=3, classes=3))
    (tmp_path / "text.onnx").write_text("not a model")
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "two").mkdir()
    for name in ("a.onnx", "b.onnx"):
        make_classifier(tmp_path / "two" / name)
    out = str(tmp_path / "out")
    return {
        "missing model": ([out, "--from", str(tmp_path / "nope.onnx"), *ABOUT], "nope.onnx: no such file"),
        "not an onnx file": ([out, "--from", str(tmp_path / "text.onnx"), *ABOUT], "not an ONNX model ("),
        "a folder as model": ([out, "--from", str(tmp_path), *ABOUT], "is a folder, not an ONNX file"),
        "invalid name": ([out, "--from", model, "--name", "no way", *ABOUT], "invalid name 'no way'"),
        "invalid folder name": (
            [str(tmp_path / "v1"), "--from", model, *ABOUT],
            "invalid name 'v1': use 3 to 64 characters, letters, digits and '-' only (e.g. EuroSAT-RGB); "
            "that is the folder's name: pass --name",
        ),
        "folder is a file": ([str(tmp_path / "a-file"), "--from", model, *ABOUT], "is a file, not a folder"),
        "no licence": ([out, "--from", model], "--license is required"),
        "licence with a space": (
            [out, "--from", model, "--license", "Apache 2.0"],
            "--license 'Apache 2.0' is not a licence identifier",
        ),
        "bands against the graph": (
            [out, "--from", model, *ABOUT, "--bands", "red,green"],
            "--bands has 2 names but input 'input' [-1, 3, 64, 64] has 3 bands",
        ),
        "an empty author": (
            [out, "--from", model, *ABOUT, "--authors", "Jane,"],
            "--authors needs non-empty",
        ),
        "not a number": ([out, "--from", model, *ABOUT, "--mean", "1,x", "--std", "1,1"], "comma-separated"),
        "unknown task": ([out, "--from", model, *ABOUT, "--tasks", "guessing"], "unknown task(s) guessing"),
        "no onnx file in the folder": ([out, *ABOUT], "holds no .onnx file at its top; give the model"),
        "two onnx files in the folder": ([str(tmp_path / "two"), *ABOUT], "holds 2 .onnx files at its top"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing model", "not an onnx file", "a folder as model", "invalid name", "invalid folder name",
     "folder is a file", "no licence", "licence with a space", "bands against the graph", "an empty author",
     "not a number", "unknown task", "no onnx file in the folder", "two onnx files in the folder"],
)  # fmt: skip
def test_bad_input_is_a_one_line_error_and_writes_nothing(tmp_path: Path, case: str) -> None:
    args, message = _bad_inputs(tmp_path)[case]
    before = files(tmp_path)
    assert message in one_line_error(runner.invoke(app, ["models", "init", *args]))
    assert files(tmp_path) == before and not (tmp_path / "out").exists()


def test_datasets_have_no_init(tmp_path: Path) -> None:
    assert runner.invoke(app, ["datasets", "init", str(tmp_path)]).exit_code == 2


def test_the_python_api_writes_the_same_folder_and_returns_its_notes(tmp_path: Path) -> None:
    model = make_segmenter(tmp_path / "seg.onnx")
    done = mlm.package_model(tmp_path / "api-model", model, license="MIT", authors=["A"], source="s")
    assert (done.name, done.copied, done.source) == ("api-model", True, model)
    assert done.model == tmp_path / "api-model" / "seg.onnx"
    assert [p.relative_to(done.folder).as_posix() for p in done.written] == [*LAYOUT, "seg.onnx"]
    assert done.notes[0].startswith("mlm:tasks not given: assumed semantic-segmentation")
    assert json.loads(json.dumps(done.to_dict()))["item"] == str(done.folder / "model/model/model.json")
    with pytest.raises(AlreadyExistsError, match="pass force=True"):
        mlm.package_model(tmp_path / "api-model", model, license="MIT")
