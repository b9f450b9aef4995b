"""Bad input gets a 4xx JSON error envelope that names the problem, from every operation of every agent."""
from __future__ import annotations

import copy

import pytest

from agentkit.contracts import contract_names, load_contract

from support import WiredSystem

OPERATIONS = [(name, op_id) for name in contract_names() for op_id in load_contract(name).operations]


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    wired = WiredSystem(tmp_path_factory.mktemp("bad-input"))
    yield wired
    wired.close()


def assert_error(reply, status, field=None):
    body = reply.get_json()
    assert reply.status_code == status, body
    assert reply.mimetype == "application/json"
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    assert "Traceback" not in reply.get_data(as_text=True)
    if field is not None:
        fields = [d["field"] for d in body["error"]["details"]]
        assert field in fields, fields
    return body["error"]


def _wrong_type(schema):
    kind = schema.get("type")
    return {"string": {"nested": True}, "integer": "seven", "number": "lots", "array": "x",
            "object": ["x"], "boolean": "yes"}.get(kind, {"nested": [1, 2]})


@pytest.mark.parametrize("name,op_id", OPERATIONS)
def test_contract_violations_are_400_naming_the_field(system, name, op_id):
    op = load_contract(name).operation(op_id)
    client = system.client(name)
    example = op.examples[0]["request"]
    headers = op.examples[0].get("headers", {})

    unknown = {**example, "product_id": "P1001"}
    assert_error(client.post(op.path, json=unknown, headers=headers), 400, "product_id")

    for field in op.request_schema.get("required", []):
        missing = {k: v for k, v in example.items() if k != field}
        assert_error(client.post(op.path, json=missing, headers=headers), 400, field)

    for field, schema in op.request_schema["properties"].items():
        wrong = copy.deepcopy(example)
        wrong[field] = _wrong_type(schema)
        error = assert_error(client.post(op.path, json=wrong, headers=headers), 400)
        assert any(d["field"].startswith(field) for d in error["details"]), (field, error)

    assert_error(client.post(op.path, json=[example], headers=headers), 400)


@pytest.mark.parametrize("name", contract_names())
def test_transport_level_mistakes(system, name):
    contract = load_contract(name)
    op = next(iter(contract.operations.values()))
    client = system.client(name)
    assert_error(client.post(op.path, data='{"productId": ', content_type="application/json"), 400, "")
    assert_error(client.post(op.path, data="", content_type="application/json"), 400, "")
    assert_error(client.post(op.path, data="productId=P1001", content_type="application/x-www-form-urlencoded"),
                 415, "Content-Type")
    assert_error(client.post(op.path, data="{}"), 415, "Content-Type")
    assert_error(client.post(op.path, data='{"a": "' + "x" * (1024 * 1024) + '"}', content_type="application/json"), 413)
    assert_error(client.post("/no-such-operation", json={}), 404, "path")
    assert_error(client.get(op.path), 405, "method")
    assert_error(client.post(op.path, data="[" * 100000 + "]" * 100000, content_type="application/json"), 400)
    assert_error(client.post(op.path, data='{"n": 1e999}', content_type="application/json"), 400)
    assert_error(client.post(op.path, data='{"n": NaN}', content_type="application/json"), 400)
