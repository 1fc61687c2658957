"""Trained on: a model version names the dataset versions that trained it, and the hub links both ways.

One real hub (``eohub serve``) per database (SQLite, PostgreSQL). alice owns a public dataset
``alice-train`` (two versions) and a private one ``alice-private``; her model ``alice-model`` names them
through its MLM item's links, as MLM items publish them (``derived_from`` to a STAC API collection with
``ml-aoi:split``, a link to the hub's web page, links to other catalogs) and through ``trained_on``.
bob names alice's private dataset, which he cannot see. Checked: what each caller sees through the
API (``trained_on`` of a version, the models of a dataset), the notes (one wording for missing and
private), the STAC API's ``eohub:trained_on`` queryable in CQL2 searches, the CLI, and hostile links.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.client import RemoteRepository
from eohub.demo.hub import write_demo_dataset, write_demo_model
from tests.hub_server import HubServer, start_hub

ITEM = "model-collection/model/model.json"
MISSING_NOTE = "no dataset version you can read has this name; not linked"
runner = CliRunner()


def model_folder(folder: Path, name: str, links: list[dict[str, Any]]) -> Path:
    """The demo model named ``name``, its MLM item carrying ``links`` besides its own."""
    write_demo_model(folder)
    readme = folder / "README.md"
    readme.write_text(readme.read_text().replace("demo-landcover-classifier", name, 1))
    path = folder / ITEM
    item = json.loads(path.read_text())
    item["links"] += links
    path.write_text(json.dumps(item, indent=2))
    return folder


def dataset_folder(folder: Path, name: str, edition: int = 1) -> Path:
    write_demo_dataset(folder)
    readme = folder / "README.md"
    readme.write_text(
        readme.read_text().replace("demo-landcover-labels", name, 1) + f"\nEdition {edition}.\n"
    )
    return folder


@dataclass
class Hub:
    server: HubServer
    backend: str
    results: dict[str, Any]

    @property
    def url(self) -> str:
        return self.server.url

    def repo(self, user: str | None) -> RemoteRepository:
        return RemoteRepository(self.url, self.server.token(user) if user else None)

    def search(self, user: str | None, cql2: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.server.token(user)}"} if user else {}
        body = {"filter": cql2, "filter-lang": "cql2-json", "limit": 50}
        return httpx.post(f"{self.url}/stac/search", json=body, headers=headers, timeout=30)


def trained_on(value: str) -> dict[str, Any]:
    return {"op": "=", "args": [{"property": "eohub:trained_on"}, value]}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    env, postgres, database = {}, None, None
    if request.param == "postgresql":  # a database of the session's server for this module
        postgres = request.getfixturevalue("postgres_server")
        database = postgres.create_database()
        env["EOHUB_DATABASE_URL"] = postgres.url(database)
    root = tmp_path_factory.mktemp(f"trained-{request.param}")
    server = start_hub(root / "home", env)
    hub = Hub(server, request.param, {})
    try:
        with hub.repo("alice") as alice:
            alice.ingest("dataset", dataset_folder(root / "t1", "alice-train", 1))
            alice.ingest("dataset", dataset_folder(root / "t2", "alice-train", 2))
            alice.ingest("dataset", dataset_folder(root / "p", "alice-private"), private=True)
            links = [
                {  # as the MLM examples publish it: a STAC API collection, with the split it served
                    "rel": "derived_from",
                    "href": f"{hub.url}/stac/collections/datasets.alice-train",
                    "type": "application/json",
                    "ml-aoi:split": "train",
                },
                {"rel": "derived_from", "href": "https://earth-search.example/v1/collections/sentinel-2-l2a"},
                {"rel": "derived_from", "href": "https://other-hub.example/datasets/alice-train/versions/1"},
                {"rel": "training-data", "href": f"{hub.url}/datasets/alice-private/versions/1"},
                {"rel": "via", "href": f"{hub.url}/datasets/../../etc/passwd"},
                {"rel": "derived_from", "href": f"{hub.url}/api/datasets/alice-train/versions/9/manifest"},
            ]
            hub.results["alice-model"] = alice.ingest(
                "model",
                model_folder(root / "m", "alice-model", links),
                trained_on=["datasets/alice-train@v1", "datasets/nobody-has-this@v1"],
            )
            hub.results["alice-hidden-model"] = alice.ingest(
                "model",
                model_folder(root / "hm", "alice-hidden-model", []),
                private=True,
                trained_on=["datasets/alice-train"],
            )
        with hub.repo("bob") as bob:
            hub.results["bob-model"] = bob.ingest(
                "model",
                model_folder(root / "b", "bob-model", []),
                trained_on=["datasets/alice-private@v1", "datasets/alice-train@v1"],
            )
        yield hub
    finally:
        server.stop()
        if postgres is not None and database is not None:
            postgres.drop_database(database)


def described(links: list[Any]) -> list[tuple[str | None, int | None, str | None, bool]]:
    return [(link.dataset, link.version, link.quality, link.private) for link in links]


def test_links_from_the_mlm_item_and_trained_on_are_stored_with_the_version(hub: Hub) -> None:
    result = hub.results["alice-model"]
    assert result.version == 1
    # only what looked like this hub's dataset and was not found is a note; other catalogs are not
    missing = [n for n in result.notes if MISSING_NOTE in n]
    assert len(missing) == 2, result.notes
    assert any("nobody-has-this" in n for n in missing) and any("versions/9" in n for n in missing)
    assert not any("earth-search" in n or "other-hub" in n or "passwd" in n for n in result.notes)
    with hub.repo("alice") as alice:
        (version,) = alice.versions("model", "alice-model")
        level = alice.get("dataset", "alice-train").latest.quality_level
    assert described(version.trained_on) == [
        ("alice-private", 1, f"Q{level}", False),
        ("alice-train", 1, f"Q{level}", False),
        ("alice-train", 2, f"Q{level}", False),
    ]


def test_a_private_training_dataset_is_shown_without_its_name_to_others(hub: Hub) -> None:
    for user in (None, "bob"):
        with hub.repo(user) as repo:
            latest = repo.get("model", "alice-model").latest
            assert latest is not None
            assert [(link.dataset, link.private) for link in latest.trained_on] == [
                ("alice-train", False),
                ("alice-train", False),
                (None, True),
            ]
            assert latest.trained_on[-1].label == "private dataset"
    raw = httpx.get(f"{hub.url}/api/models/alice-model/versions", timeout=30).text
    assert "alice-private" not in raw
    assert json.loads(raw)[0]["trained_on"][-1] == {
        "dataset": None,
        "version": None,
        "quality": None,
        "quality_level": None,
        "private": True,
    }


def test_a_dataset_the_caller_cannot_read_is_the_same_note_as_a_missing_one(hub: Hub) -> None:
    result = hub.results["bob-model"]
    (note,) = [n for n in result.notes if MISSING_NOTE in n]
    assert note == f"trained on 'datasets/alice-private@v1': {MISSING_NOTE}"
    with hub.repo("bob") as bob:
        (version,) = bob.versions("model", "bob-model")
    assert described(version.trained_on) == [("alice-train", 1, version.trained_on[0].quality, False)]


def test_a_dataset_lists_the_models_trained_on_it_that_the_caller_may_see(hub: Hub) -> None:
    with hub.repo(None) as anonymous:
        models = [(m.model, m.version, m.dataset_version) for m in anonymous.trained_models("alice-train")]
        assert models == [("alice-model", 1, 1), ("alice-model", 1, 2), ("bob-model", 1, 1)]
        with pytest.raises(Exception, match="no dataset named"):
            anonymous.trained_models("alice-private")
    with hub.repo("alice") as alice:
        models = [(m.model, m.dataset_version) for m in alice.trained_models("alice-train")]
        assert ("alice-hidden-model", 2) in models and len(models) == 4
        assert [m.model for m in alice.trained_models("alice-private")] == ["alice-model"]


def test_stac_search_finds_models_by_training_dataset(hub: Hub) -> None:
    def found(user: str | None, cql2: dict[str, Any]) -> list[str]:
        answer = hub.search(user, cql2)
        assert answer.status_code == 200, answer.text
        return sorted(f["collection"] for f in answer.json()["features"])

    assert found(None, trained_on("datasets/alice-train")) == ["models.alice-model", "models.bob-model"]
    assert found(None, trained_on("datasets/alice-train@v2")) == ["models.alice-model"]
    assert found("alice", trained_on("datasets/alice-train@v2")) == [
        "models.alice-hidden-model",
        "models.alice-model",
    ]
    contains = {"op": "a_contains", "args": [{"property": "eohub:trained_on"}, ["datasets/alice-train@v1"]]}
    assert found(None, contains) == ["models.alice-model", "models.bob-model"]
    # a private training dataset: found by its owner, invisible to everyone else, whatever the operator
    assert found("alice", trained_on("datasets/alice-private")) == ["models.alice-model"]
    for user in (None, "bob"):
        assert found(user, trained_on("datasets/alice-private")) == []
        like = {"op": "like", "args": [{"property": "eohub:trained_on"}, "datasets/alice-p%"]}
        assert found(user, like) == []
        number = hub.search(user, {"op": "=", "args": [{"property": "eohub:trained_on"}, 1]})
        assert number.status_code == 400 and "is text" in number.text
    sort = httpx.post(
        f"{hub.url}/stac/search",
        json={"sortby": [{"field": "eohub:trained_on", "direction": "asc"}]},
        timeout=30,
    )
    assert sort.status_code == 400
    queryables = httpx.get(f"{hub.url}/stac/collections/models.alice-model/queryables", timeout=30).json()
    assert queryables["properties"]["eohub:trained_on"]["type"] == "string"
    summaries = httpx.get(f"{hub.url}/stac/collections/models.alice-model", timeout=30).json()
    assert "alice-private" not in json.dumps(summaries)


def test_trained_on_probes_tell_a_private_dataset_from_a_missing_one_by_nothing(hub: Hub) -> None:
    """Every CQL2 operator on ``eohub:trained_on``, for the name of a private dataset and of one that does
    not exist, answers the same items and the same counts to those who cannot see it."""
    prop = {"property": "eohub:trained_on"}

    def probes(x: str) -> list[dict[str, Any]]:
        return [
            {"op": "=", "args": [prop, x]},
            {"op": "=", "args": [x, prop]},
            {"op": "<>", "args": [prop, x]},
            {"op": "not", "args": [{"op": "=", "args": [prop, x]}]},
            {"op": "in", "args": [prop, [x, f"{x}@v1"]]},
            {"op": "not", "args": [{"op": "in", "args": [prop, [x, f"{x}@v1"]]}]},
            {"op": "between", "args": [prop, x, f"{x}~"]},
            {"op": "and", "args": [{"op": ">=", "args": [prop, x]}, {"op": "<", "args": [prop, f"{x}~"]}]},
            {"op": "like", "args": [prop, f"{x}%"]},
            {"op": "like", "args": [prop, f"{x[:-3]}_%"]},
            {"op": "not", "args": [{"op": "like", "args": [prop, f"{x}%"]}]},
            {"op": "a_overlaps", "args": [prop, [x]]},
            {"op": "a_contains", "args": [prop, [f"{x}@v1"]]},
            {"op": "a_equals", "args": [prop, [x, f"{x}@v1"]]},
            {"op": "a_containedby", "args": [prop, [x, f"{x}@v1"]]},
            {"op": "or", "args": [{"op": "isNull", "args": [prop]}, {"op": "=", "args": [prop, x]}]},
        ]

    def answer(user: str | None, cql2: dict[str, Any]) -> tuple[int, list[str], Any]:
        found = hub.search(user, cql2)
        body = found.json()
        ids = sorted(f"{f['collection']}/{f['id']}" for f in body.get("features", []))
        return found.status_code, ids, body.get("numberMatched")

    for user in (None, "bob"):
        for private, missing in zip(
            probes("datasets/alice-private"), probes("datasets/alice-privatz"), strict=True
        ):
            assert answer(user, private) == answer(user, missing), private
    # the owner does find hers: the probes do reach the values
    assert (
        answer("alice", probes("datasets/alice-private")[0])[1]
        != answer(None, probes("datasets/alice-private")[0])[1]
    )
    text = httpx.get(  # the GET form, CQL2 text
        f"{hub.url}/stac/search",
        params={"filter": "\"eohub:trained_on\" LIKE 'datasets/alice-p%'", "filter-lang": "cql2-text"},
        timeout=30,
    )
    assert text.status_code == 200 and text.json()["features"] == []


def test_hostile_training_links_are_bounded_and_never_fail_the_commit(hub: Hub, tmp_path: Path) -> None:
    many = [{"rel": "derived_from", "href": f"{hub.url}/datasets/ghost-{i:04d}"} for i in range(400)]
    many += [{"rel": "derived_from", "href": f"{hub.url}/datasets/alice-train/versions/1"}] * 50
    many.append({"rel": "via", "href": f"{hub.url}/datasets/" + "x" * 5000})
    with hub.repo("carol") as carol:
        result = carol.ingest("model", model_folder(tmp_path / "h", "carol-model", many))
        assert result.version == 1
        # 100 read (EOHUB_MAX_TRAINING_LINKS), not one found; 20 notes name them, one counts the rest
        assert sum(MISSING_NOTE in n for n in result.notes) == 20
        assert "80 more training reference(s) not linked" in result.notes
        assert "350 more training reference(s) not read: a version names at most 100" in result.notes
        assert carol.versions("model", "carol-model")[0].trained_on == []
    token = hub.server.token("carol")
    with carol_commit(hub, token) as post:
        too_many = post("carol-again", {"trained_on": ["datasets/alice-train"] * 1001})
        assert too_many.status_code == 400 and "trained_on" in too_many.text
        odd = post(
            "carol-again", {"trained_on": ["../../etc/passwd", "datasets/" + "y" * 100, "\x1b[31mred"]}
        )
        assert odd.status_code in (200, 201), odd.text
        notes = odd.json()["notes"][:3]  # then those of the items' links
        assert len(notes) == 3 and all("not a dataset of this hub" in n for n in notes)
        assert "\x1b" not in "".join(notes)


class carol_commit:  # noqa: N801 - a context manager read as a function
    """``post(name, extra)``: commit carol-model's manifest as model ``name`` through the raw API, with
    ``extra`` in the body."""

    def __init__(self, hub: Hub, token: str) -> None:
        self.client = httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def __enter__(self) -> Any:
        manifest = self.client.get("/api/models/carol-model/versions/latest/manifest").json()

        def post(name: str, extra: dict[str, Any]) -> httpx.Response:
            return self.client.post(f"/api/models/{name}/versions", json={"manifest": manifest, **extra})

        return post

    def __exit__(self, *exc: object) -> None:
        self.client.close()


def test_the_cli_takes_trained_on_and_prints_both_directions(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EOHUB_HOME", str(tmp_path / "client"))
    monkeypatch.setenv("EOHUB_URL", hub.url)
    monkeypatch.setenv("EOHUB_TOKEN", hub.server.token("dave"))
    folder = model_folder(tmp_path / "d", "dave-model", [])
    bad = runner.invoke(app, ["models", "ingest", str(folder), "--trained-on", "../alice-train"])
    assert bad.exit_code != 0 and "expected datasets/NAME or datasets/NAME@vN" in bad.output
    args = ["models", "ingest", str(folder), "--trained-on", "datasets/alice-train@v2"]
    done = runner.invoke(app, [*args, "--trained-on", "datasets/alice-private"])
    assert done.exit_code == 0, done.output
    assert "version 1 created" in done.output
    assert f"note: trained on 'datasets/alice-private': {MISSING_NOTE}" in done.output
    info = runner.invoke(app, ["models", "info", "dave-model"])
    assert info.exit_code == 0 and "trained on:\n  datasets/alice-train@v2 (Q" in info.output
    as_json = json.loads(runner.invoke(app, ["models", "info", "dave-model", "--format", "json"]).output)
    assert [link["dataset"] for link in as_json["latest"]["trained_on"]] == ["alice-train"]
    listing = runner.invoke(app, ["datasets", "info", "alice-train"])
    assert "models trained on it:" in listing.output and "  dave-model v1 (Q" in listing.output
    dataset = runner.invoke(
        app, ["datasets", "ingest", str(tmp_path / "d"), "--trained-on", "datasets/x-y-z"]
    )
    assert dataset.exit_code != 0 and "only a model names" in dataset.output


def test_a_deleted_training_dataset_leaves_the_model_and_the_search(hub: Hub, tmp_path: Path) -> None:
    with hub.repo("erin") as erin:
        erin.ingest("dataset", dataset_folder(tmp_path / "g", "erin-gone"))
        erin.ingest(
            "model", model_folder(tmp_path / "e", "erin-model", []), trained_on=["datasets/erin-gone"]
        )
        assert [link.dataset for link in erin.get("model", "erin-model").latest.trained_on] == ["erin-gone"]
        assert hub.search(None, trained_on("datasets/erin-gone")).json()["features"]
        erin.delete("dataset", "erin-gone")
        assert erin.get("model", "erin-model").latest.trained_on == []
    assert hub.search(None, trained_on("datasets/erin-gone")).json()["features"] == []


def test_the_python_api_takes_trained_on_in_embedded_mode(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eohub.datasets import ingest_dataset
    from eohub.models import ingest_model, retrieve_model

    monkeypatch.setenv("EOHUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EOHUB_URL", raising=False)
    ingest_dataset(str(dataset_folder(tmp_path / "d", "local-train")))
    links = [{"rel": "derived_from", "href": f"{hub.url}/datasets/local-train"}]  # no hub here: not ours
    result = ingest_model(
        model_folder(tmp_path / "m", "local-model", links), trained_on=["datasets/local-train@v1"]
    )
    assert result.version == 1 and not any(MISSING_NOTE in n for n in result.notes)
    latest = retrieve_model("local-model")["latest"]
    assert [(link["dataset"], link["version"]) for link in latest["trained_on"]] == [("local-train", 1)]
