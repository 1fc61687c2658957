"""No client mistake is a server error: schemathesis sends generated requests to every ``/api`` and
``/stac`` operation of a real hub, from its own OpenAPI document, anonymously and with a token, and no
answer may be a 5xx.

The examples are the same every run (derandomized, as CI needs); ``--hypothesis-seed=N`` explores
other inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import not_a_server_error

from eohub.client import RemoteRepository

from .hub_server import InProcessHub
from .repository_helpers import write_q0_model


@pytest.fixture(scope="module")
def fuzzed_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    hub = InProcessHub(tmp_path_factory.mktemp("fuzz-hub")).start()
    with RemoteRepository(hub.url, hub.token("alice")) as alice:
        alice.ingest("model", write_q0_model(Path(tmp_path_factory.mktemp("m")), name="EuroSAT-RGB"))
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def api_schema(fuzzed_hub: InProcessHub) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed_hub.url}/openapi.json").include(path_regex="^/(api|stac)")


def _no_server_error(case: schemathesis.Case, headers: dict[str, str]) -> None:
    response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        assert response.json()["detail"]


@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_no_request_gets_a_server_error(
    api_schema: schemathesis.BaseSchema, fuzzed_hub: InProcessHub, who: str, pytestconfig: pytest.Config
):
    chosen = pytestconfig.getoption("hypothesis_seed", None)
    headers = {"Authorization": f"Bearer {fuzzed_hub.token('alice')}"} if who == "alice" else {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=chosen is None,
        )
        def fuzz(case: schemathesis.Case) -> None:
            _no_server_error(case, headers)

        if chosen is not None:
            fuzz = seed(int(chosen))(fuzz)
        fuzz()
