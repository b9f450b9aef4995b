"""schemathesis over each agent's own /openapi.json, in process: generated valid and invalid bodies
never cause a server error, responses always match the contract, and invalid data is always refused."""

from __future__ import annotations

import collections
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, response_schema_conformance

from agentkit.contracts import contract_names, load_contract
from support import WiredSystem

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", 100))
OPERATIONS = [(name, op.path) for name in contract_names() for op in load_contract(name).operations.values()]
PATH_CALLER = {
    (name, op.path): op.callers[0] for name in contract_names() for op in load_contract(name).operations.values()
}
CHECKS = [not_a_server_error, response_schema_conformance, negative_data_rejection]
cases_run: collections.Counter = collections.Counter()


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    wired = WiredSystem(tmp_path_factory.mktemp("schemathesis"))
    yield wired
    wired.close()
    print(f"\nschemathesis cases run: {sum(cases_run.values())} ({dict(cases_run)})")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
@pytest.mark.parametrize("name,path", OPERATIONS)
def test_generated_requests(system, name, path, mode):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", system.apps[name])
    operation = schema[path]["POST"]
    statuses = collections.Counter()
    token = system.apps[name].auth.token_for(PATH_CALLER[(name, path)])

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    # The right caller's token, fixed: the bodies are what is generated (tests/test_auth.py covers the tokens).
    @given(case=operation.as_strategy(generation_mode=mode, headers={"Authorization": f"Bearer {token}"}))
    def run(case):
        response = case.call_and_validate(checks=CHECKS)
        statuses[response.status_code] += 1

    run()
    cases_run[f"{name} {path} {mode.value}"] = sum(statuses.values())
    assert sum(statuses.values()) >= min(EXAMPLES, 50) or mode == GenerationMode.NEGATIVE, statuses
    assert all(status < 500 for status in statuses), statuses
    if mode == GenerationMode.NEGATIVE:
        assert set(statuses) <= {400, 413, 415}, statuses
