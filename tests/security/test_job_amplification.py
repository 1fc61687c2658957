"""One request must not cost the hub a thousand times its work: a job naming one dataset version in
every one of its 1,000 inputs reads that version's manifest once (it read it 1,000 times: 24 s for one
request on a 300-item dataset), and still counts every scene's pixels."""

from __future__ import annotations

from eohub.jobs.inputs import count_pixels, resolve
from eohub.jobs.requests import parse_request
from eohub.repository import open_embedded
from eohub.repository.embedded import EmbeddedRepository
from tests.jobs_hub import write_dataset


class Counting(EmbeddedRepository):
    """The embedded repository, counting the manifests it reads."""

    reads = 0

    def manifest(self, *args, **kwargs):
        Counting.reads += 1
        return super().manifest(*args, **kwargs)


def test_a_thousand_inputs_naming_one_version_read_its_manifest_once(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EOHUB_HOME", str(tmp_path / "home"))
    repo = open_embedded(user="alice")
    repo.ingest("dataset", write_dataset(tmp_path / "scenes", "many-scenes", [(16, 16)] * 5))
    counting = Counting(repo.database, repo.store, "alice", False, repo.limits)
    inputs = [
        {"dataset": "many-scenes", "items": [f"scene-{n % 5}"]} for n in range(repo.limits.max_job_inputs)
    ]
    resolved = resolve(counting, parse_request({"inputs": inputs}, repo.limits), "http://hub")
    assert len(resolved.scenes) == 1000 and Counting.reads == 1
    assert len({s.stem for s in resolved.scenes}) == 1000  # outputs named apart
    assert count_pixels(counting, resolved.scenes, 10**9) == 1000 * 16 * 16
