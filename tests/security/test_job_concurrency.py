"""Many submissions of one user at once, against ``eohub serve --workers 2`` on SQLite and on PostgreSQL:
the per-user bound (``EOHUB_MAX_USER_JOBS``) holds exactly, every refusal is a 413 naming it (never a 5xx),
and another user's job ids can be neither read nor cancelled."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.jobs_hub import api, ingest, submit, write_dataset, write_model
from tests.servers import free_port
from tests.test_jobs_processes import TwoProcessHub

BOUND, TRIES = 2, 16


def start(home, database_url: str | None) -> TwoProcessHub:
    env = {"EOHUB_JOB_WORKERS": "1", "EOHUB_JOB_LEASE_SECONDS": "5", "EOHUB_MAX_USER_JOBS": str(BOUND)}
    if database_url:
        env["EOHUB_DATABASE_URL"] = database_url
    return TwoProcessHub(home, free_port(), env).start()


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path):
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    hub = start(tmp_path / "hub", url)
    ingest(hub, "alice", "model", write_model(tmp_path / "model", "slow-model", hidden=192, seed=3))
    ingest(hub, "alice", "dataset", write_dataset(tmp_path / "scenes", "big-scene", [(1024, 1024)]))
    yield hub
    hub.stop()


def test_concurrent_submissions_never_pass_the_per_user_bound(hub) -> None:
    body = {"inputs": [{"dataset": "big-scene"}]}
    with ThreadPoolExecutor(TRIES) as pool:
        answers = list(pool.map(lambda _: submit(hub, "alice", "slow-model", body), range(TRIES)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] * BOUND + [413] * (TRIES - BOUND), [a.text[:200] for a in answers]
    assert all("EOHUB_MAX_USER_JOBS" in a.json()["detail"] for a in answers if a.status_code == 413)
    jobs = [a.json()["id"] for a in answers if a.status_code == 202]
    for job in jobs:  # bob may neither see nor cancel them, and hears what a missing job gets
        missing = api(hub, "bob", "GET", "/api/jobs/" + "0" * 32)
        theirs = api(hub, "bob", "GET", f"/api/jobs/{job}")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["detail"].replace(job, "0" * 32) == missing.json()["detail"]
        assert api(hub, "bob", "POST", f"/api/jobs/{job}/cancel").status_code == 404
        assert api(hub, "alice", "POST", f"/api/jobs/{job}/cancel").status_code == 200
