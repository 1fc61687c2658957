"""A prediction job on a hub that keeps its bytes in S3 (SeaweedFS) and its records in PostgreSQL: the
scene uploaded straight to S3 by ``eohub jobs submit`` and a dataset item are staged from the store,
the result is committed back into it, and its pixels equal ``eohub predict`` on the same files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.client import RemoteRepository
from tests.jobs_hub import ingest, jobs_hub, write_dataset, write_model, write_scene

MODEL, SCENES, OUTPUT = "seg-s3", "s3-scenes", "s3-preds"
OPTIONS = {"tile": 64, "overlap": 16, "batch": 8}


def _pixels(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


def test_a_job_on_a_hub_with_s3_storage_equals_eohub_predict(
    postgres_url: str, s3_server, s3_location: str, tmp_path: Path, monkeypatch
) -> None:
    store = {"EOHUB_DATABASE_URL": postgres_url, "EOHUB_STORAGE": s3_location, **s3_server.env}
    hub = jobs_hub(tmp_path / "hub", **store)
    try:
        ingest(hub, "alice", "model", write_model(tmp_path / "model", MODEL))
        ingest(hub, "alice", "dataset", write_dataset(tmp_path / "scenes", SCENES, [(200, 150)]))
        upload = write_scene(tmp_path / "mine.tif", 130, 170, seed=7)
        monkeypatch.setenv("EOHUB_HOME", str(tmp_path / "client"))
        monkeypatch.setenv("EOHUB_URL", hub.url)
        monkeypatch.setenv("EOHUB_TOKEN", hub.token("alice"))
        flags = [f"--{k}={v}" for k, v in OPTIONS.items()]
        ran = CliRunner().invoke(
            app, ["jobs", "submit", MODEL, f"datasets/{SCENES}@v1", str(upload), "--output", OUTPUT, *flags]
        )
        assert ran.exit_code == 0, ran.output + hub.tail()
        assert f"dataset {OUTPUT} v1" in ran.output
        with RemoteRepository(hub.url, hub.token("alice")) as repo:
            result = repo.download("dataset", OUTPUT, tmp_path / "result")
            model = repo.download("model", MODEL, tmp_path / "model-copy")
            scenes = repo.download("dataset", SCENES, tmp_path / "scenes-copy")
            assert repo.get("dataset", OUTPUT).private  # an uploaded scene makes the result private
        env = {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_")} | {
            "EOHUB_HOME": str(tmp_path)
        }
        on_hub = sorted(result.glob("predictions/*/*.tif"))
        assert len(on_hub) == 2, on_hub
        for source in (scenes / "scene-0.json", upload):
            local = tmp_path / f"local-{source.stem}.tif"
            args = [
                sys.executable,
                "-m",
                "eohub",
                "predict",
                str(model),
                str(source),
                *flags,
                "-o",
                str(local),
            ]
            subprocess.run(args, env=env, check=True, capture_output=True, timeout=120)
            matches = [p for p in on_hub if _pixels(p).shape == _pixels(local).shape]
            assert any(np.array_equal(_pixels(p), _pixels(local)) for p in matches), source
    finally:
        hub.stop()
