"""Every contract is well formed, its examples are true, and every agent's real answers honour it."""

from __future__ import annotations

import pytest

from agentkit.contracts import _json_file, contract_names, contracts_dir, load_contract, meta_schema_problems
from agentkit.registry import agents
from support import WiredSystem

OPERATIONS = [(name, op_id) for name in contract_names() for op_id in load_contract(name).operations]


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    wired = WiredSystem(tmp_path_factory.mktemp("contracts"))
    yield wired
    wired.close()


@pytest.mark.parametrize("name", contract_names())
def test_contract_passes_the_meta_schema(name):
    raw = _json_file(contracts_dir() / f"{name}.json")
    assert meta_schema_problems(raw) == []
    assert raw["name"] == name


def test_every_contract_has_a_running_agent_and_the_reverse():
    assert sorted(contract_names()) == sorted(agents())
    for name, entry in agents().items():
        assert load_contract(name).port == entry.port, f"{name}: contract port and agents.toml port differ"


@pytest.mark.parametrize("name,op_id", OPERATIONS)
def test_examples_match_their_own_schemas(name, op_id):
    op = load_contract(name).operation(op_id)
    for example in op.examples:
        assert op.request_validator.problems(example["request"]) == [], example["name"]
        response = example["response"]
        assert op.response_problems(response["status"], response["body"]) == [], example["name"]


@pytest.mark.parametrize("name,op_id", OPERATIONS)
def test_real_answer_to_each_example_honours_the_contract(system, name, op_id):
    op = load_contract(name).operation(op_id)
    client = system.client(name)
    for example in op.examples:
        reply = client.post(op.path, json=example["request"], headers=example.get("headers", {}))
        body = reply.get_json()
        assert reply.status_code == example["response"]["status"], (example["name"], body)
        assert op.response_problems(reply.status_code, body) == [], (example["name"], body)


@pytest.mark.parametrize("name", contract_names())
def test_meta_routes(system, name):
    client = system.client(name)
    assert client.get("/health").get_json()["status"] == "ok"
    assert client.get("/ready").get_json()["status"] == "ready"
    document = client.get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert {path for path in document["paths"]} >= {op.path for op in load_contract(name).operations.values()}
    card = client.get("/.well-known/agent-card.json").get_json()
    assert [skill["id"] for skill in card["skills"]] == list(load_contract(name).operations)


@pytest.mark.parametrize("name", contract_names())
def test_agent_card_is_an_a2a_agent_card_that_declares_the_bearer_scheme(system, name):
    from a2a.types import AgentCard
    from a2a.utils.proto_utils import validate_proto_required_fields
    from google.protobuf.json_format import ParseDict

    card = system.client(name).get("/.well-known/agent-card.json").get_json()
    parsed = ParseDict(card, AgentCard())  # strict: a field outside the A2A spec is an error
    validate_proto_required_fields(parsed)  # name, description, supportedInterfaces, capabilities, skills, ...
    scheme = parsed.security_schemes["bearerAuth"]
    assert scheme.WhichOneof("scheme") == "http_auth_security_scheme"
    assert scheme.http_auth_security_scheme.scheme.lower() == "bearer"
    assert [list(r.schemes) for r in parsed.security_requirements] == [["bearerAuth"]]
    assert parsed.supported_interfaces[0].url.startswith("http://")
    contract = load_contract(name)
    for skill, op in zip(parsed.skills, contract.operations.values(), strict=True):
        assert [t.removeprefix("caller:") for t in skill.tags if t.startswith("caller:")] == list(op.callers)


@pytest.mark.parametrize("name", contract_names())
def test_openapi_declares_the_bearer_scheme_and_each_operations_callers(system, name):
    document = system.client(name).get("/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert document["security"] == [{"bearerAuth": []}]
    for op in load_contract(name).operations.values():
        described = document["paths"][op.path]["post"]
        assert described["security"] == [{"bearerAuth": []}] and described["x-callers"] == list(op.callers)
        assert {"401", "403"} <= set(described["responses"])
    assert document["paths"]["/health"]["get"]["security"] == []
