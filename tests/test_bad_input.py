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
    return {
        "string": {"nested": True},
        "integer": "seven",
        "number": "lots",
        "array": "x",
        "object": ["x"],
        "boolean": "yes",
    }.get(kind, {"nested": [1, 2]})


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
    assert_error(
        client.post(op.path, data="productId=P1001", content_type="application/x-www-form-urlencoded"),
        415,
        "Content-Type",
    )
    assert_error(client.post(op.path, data="{}"), 415, "Content-Type")
    assert_error(
        client.post(op.path, data='{"a": "' + "x" * (1024 * 1024) + '"}', content_type="application/json"), 413
    )
    assert_error(client.post("/no-such-operation", json={}), 404, "path")
    assert_error(client.get(op.path), 405, "method")
    assert_error(client.post(op.path, data="[" * 100000 + "]" * 100000, content_type="application/json"), 400)
    assert_error(client.post(op.path, data='{"n": 1e999}', content_type="application/json"), 400)
    assert_error(client.post(op.path, data='{"n": NaN}', content_type="application/json"), 400)
    assert_error(client.post(op.path, data='{"productId": "\\ud800"}', content_type="application/json"), 400)


HOSTILE_VALUES = [
    "'; DROP TABLE stock; --",
    "P1001' OR '1'='1",
    "\u0000\u0007\u001b[31m",
    "ज़ैकेट 🧥 \u202e",
    "x" * 5000,
    10**40,
    -(10**40),
    -1,
    -0.01,
    1.5,
    True,
    None,
    [],
    {"$gt": ""},
]


@pytest.mark.parametrize("name,op_id", OPERATIONS)
def test_hostile_values_in_every_field_are_refused_or_handled(system, name, op_id):
    """Every top-level field gets each hostile value: the answer is a 4xx envelope (or a clean 2xx/404 when
    the value happens to be valid), never a 500."""
    op = load_contract(name).operation(op_id)
    client = system.client(name)
    example = op.examples[0]["request"]
    headers = op.examples[0].get("headers", {})
    for field in op.request_schema["properties"]:
        for value in HOSTILE_VALUES:
            body = {**example, field: value}
            reply = client.post(op.path, json=body, headers=headers)
            assert reply.status_code < 500, (field, value, reply.get_json())
            if reply.status_code >= 400:
                assert_error(reply, reply.status_code)
    # The injection-looking strings were data, not SQL: the tables are all still there and answering.
    assert client.get("/ready").get_json()["status"] == "ready"
    assert client.post(op.path, json=example, headers=headers).status_code < 500


@pytest.mark.parametrize("name", contract_names())
def test_ten_megabyte_body_is_413_before_anything_is_read(system, name):
    op = next(iter(load_contract(name).operations.values()))
    reply = system.client(name).post(
        op.path, data=b"{" + b" " * (10 * 1024 * 1024) + b"}", content_type="application/json"
    )
    assert_error(reply, 413)
