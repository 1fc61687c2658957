"""MLM items written the way others publish them (tests/data/realworld/validate/), each with its expected
result in expected.json: what validate, lint and migrate say, through the CLI and the Python API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pystac
import pytest
from typer.testing import CliRunner

from eohub import mlm
from eohub.cli.main import app
from eohub.mlm.validate import unchecked_extensions

DATA = Path(__file__).parent / "data" / "realworld" / "validate"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
CASES = sorted(EXPECTED)
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["mlm", *args])
    return result.exit_code, result.stdout, result.stderr


def test_every_item_in_the_folder_has_an_expected_result() -> None:
    assert sorted(p.name for p in DATA.glob("*.json") if p.name != "expected.json") == CASES


@pytest.mark.parametrize("name", CASES)
def test_validate_reports_every_expected_error_and_nothing_else(name: str) -> None:
    expected = EXPECTED[name]["validate"]
    code, out, _ = invoke("validate", str(DATA / name), "--format", "json")
    report = json.loads(out)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert code == expected["exit"]
    assert [[f["pointer"], f["code"]] for f in errors] == expected["errors"]
    by_pointer = {f["pointer"]: f for f in errors}
    for ptr, text in expected.get("messages", {}).items():
        assert text in by_pointer[ptr]["message"], by_pointer[ptr]
    for ptr, text in expected.get("hints", {}).items():
        assert text in by_pointer[ptr]["hint"], by_pointer[ptr]


@pytest.mark.parametrize("name", CASES)
def test_the_python_api_reports_what_the_cli_reports(name: str) -> None:
    _, out, _ = invoke("validate", str(DATA / name), "--format", "json")
    from_path = mlm.validate(DATA / name)
    from_dict = mlm.validate(json.loads((DATA / name).read_text()))
    assert from_path.to_dict() == json.loads(out)
    assert [(f.pointer, f.message) for f in from_dict.findings] == [
        (f.pointer, f.message) for f in from_path.findings
    ]
    assert unchecked_extensions(from_path) == EXPECTED[name]["validate"]["not_checked"]


@pytest.mark.parametrize("name", CASES)
def test_lint_reports_the_expected_findings(name: str) -> None:
    expected = EXPECTED[name]["lint"]
    code, out, _ = invoke("lint", str(DATA / name), "--format", "json")
    findings = json.loads(out)["findings"]
    assert code == expected["exit"]
    assert [[f["code"], f["severity"], f["pointer"]] for f in findings] == expected["findings"]
    assert all(f["message"] and f["hint"] for f in findings)
    api = mlm.lint(DATA / name)
    assert [[f.code, f.severity.value, f.pointer] for f in api.findings] == expected["findings"]


@pytest.mark.parametrize("name", CASES)
def test_migrate_answers_as_expected(name: str, tmp_path: Path) -> None:
    expected = EXPECTED[name]["migrate"]
    target = tmp_path / name
    code, _, err = invoke("migrate", str(DATA / name), "-o", str(target))
    assert code == expected["exit"], err
    assert expected.get("says", "") in err
    assert target.exists() is (code == 0)


def test_mlm_v10_item_shows_all_fifteen_mlm_errors_as_text_lines() -> None:
    code, out, _ = invoke("validate", str(DATA / "mlm-v1.0-many-errors.json"))
    lines = out.splitlines()
    assert code == 1
    assert len([line for line in lines if "error STAC001: mlm extension: " in line]) == 15
    assert lines[-1] == "1 document(s): 16 error(s)"
    assert not any("'Collection' was expected" in line for line in lines)


def test_a_future_mlm_version_is_not_validated_with_an_exit_code_of_its_own() -> None:
    code, out, _ = invoke("validate", str(DATA / "mlm-v1.6-future-version.json"))
    assert code == 3
    assert "error STAC006: MLM v1.6.0 is not validated: schema " in out
    assert out.splitlines()[-1].endswith("not validated: a schema they declare is not available offline")
    help_text = runner.invoke(app, ["mlm", "validate", "--help"]).stdout
    assert "3 not validated" in help_text and "1 invalid" in help_text


def test_one_unvalidated_document_among_valid_ones_is_named_and_exits_3() -> None:
    names = ("mlm-v1.6-future-version.json", "fair-unet-oci-runtimes.json")
    code, out, _ = invoke("validate", *(str(DATA / n) for n in names))
    assert code == 3
    assert (
        out.splitlines()[-1]
        == "1 of 2 document(s) not validated: a schema they declare is not available offline"
    )


def test_a_future_mlm_version_with_a_schema_error_elsewhere_is_invalid_not_unvalidated() -> None:
    item = json.loads((DATA / "mlm-v1.6-future-version.json").read_text())
    item["stac_version"] = "1.1.0"
    item["links"] = "none"
    report = mlm.validate(item)
    assert {f.code for f in report.errors} == {"STAC001", "STAC006"}


def test_unchecked_extensions_are_named_in_the_summary_and_keep_exit_zero() -> None:
    code, out, _ = invoke("validate", str(DATA / "fair-unet-oci-runtimes.json"))
    assert code == 0
    assert out.splitlines()[-1] == (
        "1 document(s) valid (2 extension(s) not checked: "
        "https://stac-extensions.github.io/classification/v2.0.0/schema.json, "
        "https://example.org/open-mapping/schemas/model-item/v1.0.0/schema.json)"
    )


def test_a_pystac_item_with_oci_runtimes_validates_and_lints_clean() -> None:
    item = pystac.Item.from_dict(json.loads((DATA / "fair-unet-oci-runtimes.json").read_text()))
    report = mlm.validate(item)
    assert report.ok and len(unchecked_extensions(report)) == 2
    assert mlm.lint(item).findings == []


def test_long_values_are_shortened_in_the_middle_and_the_reason_survives() -> None:
    [bbox] = [f for f in mlm.validate(DATA / "long-values.json").errors if f.pointer == "/bbox"]
    assert len(bbox.message) < 600
    assert bbox.message.startswith("STAC core: [85.2, 85.2005, ") and " ... " in bbox.message
    assert "85.3505] is not valid under any of the given schemas" in bbox.message
    assert bbox.message.endswith("(at most 6, it has 302)")


def test_migrate_does_not_copy_quoted_band_names_into_definitions() -> None:
    with pytest.raises(mlm.UnmigratableError) as caught:
        mlm.migrate(DATA / "quoted-bands-form-v1.2.json")
    assert [p.split(": ", 1)[0] for p in caught.value.problems] == [
        "/properties/mlm:input/0/bands/0",
        "/properties/mlm:input/0/bands/1",
        "/properties/mlm:input/0/bands/2",
    ]
