"""The shared kit on a tiny contract of its own: idempotency, auth, rate limits, enforcement, the client."""

from __future__ import annotations

import json
import threading

import pytest
import requests
import responses
import sqlalchemy as sa

from agentkit import AgentCallError, AgentClient, Database, create_agent_app
from agentkit.auth import ServiceAuth
from agentkit.client import CircuitBreaker
from agentkit.contracts import build_contract, load_contract
from agentkit.guards import RateLimiter

ECHO_CONTRACT = {
    "name": "kit-echo",
    "title": "Echo",
    "version": "1.0.0",
    "port": 5999,
    "description": "A contract the kit tests use to exercise every cross-cutting behaviour.",
    "operations": {
        "charge": {
            "method": "POST",
            "path": "/charge",
            "summary": "Charge once",
            "safe": False,
            "callers": ["sales", "fulfillment"],
            "description": "Counts how many times it really ran; idempotent by key.",
            "idempotencyKey": "required",
            "request": {
                "type": "object",
                "properties": {"amount": {"type": "integer", "minimum": 1}},
                "required": ["amount"],
                "additionalProperties": False,
            },
            "responses": {
                "201": {
                    "type": "object",
                    "properties": {"chargeNo": {"type": "integer"}, "amount": {"type": "integer"}},
                    "required": ["chargeNo", "amount"],
                    "additionalProperties": False,
                },
                "422": {"$ref": "common.json#/$defs/errorResponse"},
            },
            "examples": [
                {
                    "name": "charge",
                    "headers": {"Idempotency-Key": "example-key-1"},
                    "request": {"amount": 5},
                    "response": {"status": 201, "body": {"chargeNo": 1, "amount": 5}},
                }
            ],
        },
        "echo": {
            "method": "POST",
            "path": "/echo",
            "summary": "Echo",
            "safe": True,
            "callers": ["sales", "operator"],
            "description": "Answers with what the handler returns, right or wrong.",
            "request": {
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
                "additionalProperties": False,
            },
            "responses": {
                "200": {
                    "type": "object",
                    "properties": {"text": {"type": "string"}},
                    "required": ["text"],
                    "additionalProperties": False,
                }
            },
            "examples": [
                {"name": "echo", "request": {"text": "hi"}, "response": {"status": 200, "body": {"text": "hi"}}}
            ],
        },
    },
}


@pytest.fixture
def echo_app(tmp_path, monkeypatch):
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    from agentkit.contracts import contracts_dir

    for name in ("common.json", "meta-schema.json"):
        (contracts / name).write_text((contracts_dir() / name).read_text())
    (contracts / "kit-echo.json").write_text(json.dumps(ECHO_CONTRACT))
    monkeypatch.setenv("CONTRACTS_DIR", str(contracts))
    load_contract.cache_clear()
    ran = {"charges": 0}
    lock = threading.Lock()

    def charge(db, body):
        if body["amount"] == 13:
            from agentkit import BusinessRuleViolation

            raise BusinessRuleViolation("unlucky amount", details=[{"field": "amount", "message": "13"}])
        if body["amount"] == 500:
            raise RuntimeError("boom")
        with lock:
            ran["charges"] += 1
            return {"chargeNo": ran["charges"], "amount": body["amount"]}, 201

    def echo(db, body):
        return {"text": body["text"]} if body["text"] != "break" else {"text": 1}

    def build(**config):
        db = Database("kit-echo", sa.MetaData(), url=f"sqlite:///{tmp_path / 'echo.db'}")
        app = create_agent_app("kit-echo", db, {"charge": charge, "echo": echo}, config)
        app.testing = True
        return app

    yield build, ran
    load_contract.cache_clear()


def test_same_key_and_body_replays_and_charges_once(echo_app):
    build, ran = echo_app
    client = build().test_client()
    first = client.post("/charge", json={"amount": 5}, headers={"Idempotency-Key": "order-123-pay"})
    again = client.post("/charge", json={"amount": 5}, headers={"Idempotency-Key": "order-123-pay"})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() == {"chargeNo": 1, "amount": 5}
    assert again.headers["Idempotent-Replayed"] == "true"
    assert ran["charges"] == 1


def test_same_key_other_body_is_409(echo_app):
    build, ran = echo_app
    client = build().test_client()
    client.post("/charge", json={"amount": 5}, headers={"Idempotency-Key": "order-123-pay"})
    clash = client.post("/charge", json={"amount": 6}, headers={"Idempotency-Key": "order-123-pay"})
    assert clash.status_code == 409
    assert clash.get_json()["error"]["code"] == "idempotency_key_reused"
    assert ran["charges"] == 1


def test_keys_are_scoped_to_the_authenticated_caller(echo_app):
    build, ran = echo_app
    app = build()
    for caller in ("sales", "fulfillment"):
        reply = app.test_client(caller=caller).post(
            "/charge", json={"amount": 5}, headers={"Idempotency-Key": "shared-key-1"}
        )
        assert reply.status_code == 201 and reply.headers["Idempotent-Replayed"] == "false"
    assert ran["charges"] == 2


def test_a_header_the_caller_picks_does_not_widen_the_key_scope(echo_app):
    """Reproduction 12 of issue 8: the same key and body with 10 X-Client-ID values used to charge 10 times."""
    build, ran = echo_app
    client = build().test_client()
    replies = [
        client.post(
            "/charge", json={"amount": 5}, headers={"Idempotency-Key": "shared-key-1", "X-Client-ID": f"shop-{n}"}
        )
        for n in range(10)
    ]
    assert [r.status_code for r in replies] == [201] * 10
    assert {r.get_json()["chargeNo"] for r in replies} == {1}
    assert [r.headers["Idempotent-Replayed"] for r in replies] == ["false"] + ["true"] * 9
    assert ran["charges"] == 1


def test_concurrent_duplicates_all_get_the_one_result(echo_app):
    build, ran = echo_app
    app = build()
    results = []

    def pay():
        reply = app.test_client().post("/charge", json={"amount": 9}, headers={"Idempotency-Key": "burst-key-1"})
        results.append((reply.status_code, reply.get_json()))

    threads = [threading.Thread(target=pay) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ran["charges"] == 1
    assert {json.dumps(r) for r in results} == {json.dumps((201, {"chargeNo": 1, "amount": 9}))}


def test_business_errors_replay_but_crashes_free_the_key(echo_app):
    build, ran = echo_app
    client = build().test_client()
    refused = [
        client.post("/charge", json={"amount": 13}, headers={"Idempotency-Key": "refused-key"}) for _ in range(2)
    ]
    assert [r.status_code for r in refused] == [422, 422]
    assert refused[1].headers["Idempotent-Replayed"] == "true"
    crashed = client.post("/charge", json={"amount": 500}, headers={"Idempotency-Key": "crash-key-1"})
    assert crashed.status_code == 500 and "Traceback" not in crashed.get_data(as_text=True)
    assert crashed.get_json()["error"]["code"] == "internal_error"
    again = client.post("/charge", json={"amount": 500}, headers={"Idempotency-Key": "crash-key-1"})
    assert again.status_code == 500 and again.headers.get("Idempotent-Replayed") is None


def test_missing_or_malformed_key_is_400(echo_app):
    build, _ = echo_app
    client = build().test_client()
    for headers in ({}, {"Idempotency-Key": "short"}, {"Idempotency-Key": "has spaces in it"}):
        reply = client.post("/charge", json={"amount": 5}, headers=headers)
        assert reply.status_code == 400
        assert reply.get_json()["error"]["details"][0]["field"] == "Idempotency-Key"


def test_token_required_on_operations_but_not_on_probes(echo_app):
    build, _ = echo_app
    app = build(AGENT_API_TOKEN="s3cret-token-of-the-test")
    client = app.test_client(caller=None)
    missing = client.post("/echo", json={"text": "hi"})
    assert missing.status_code == 401 and missing.get_json()["error"]["details"][0]["field"] == "Authorization"
    for wrong in ("Bearer nope", "Bearer sales.0000", "Basic c2FsZXM=", "Bearer " + app.auth.token_for("sales")[:-1]):
        reply = client.post("/echo", json={"text": "hi"}, headers={"Authorization": wrong})
        assert reply.status_code == 401 and reply.get_json()["error"]["code"] == "unauthorized", wrong
    other_secret = ServiceAuth("another-deployment-secret").token_for("sales")
    assert (
        client.post("/echo", json={"text": "hi"}, headers={"Authorization": f"Bearer {other_secret}"}).status_code
        == 401
    )
    ok = client.post("/echo", json={"text": "hi"}, headers={"Authorization": f"Bearer {app.auth.token_for('sales')}"})
    assert ok.status_code == 200
    for path in ("/health", "/ready", "/openapi.json", "/.well-known/agent-card.json"):
        assert client.get(path).status_code == 200, path


def test_a_caller_the_operation_does_not_list_is_403_naming_it(echo_app):
    build, ran = echo_app
    app = build()
    refused = app.test_client(caller="operator").post(
        "/charge", json={"amount": 5}, headers={"Idempotency-Key": "k-12345678"}
    )
    assert refused.status_code == 403
    error = refused.get_json()["error"]
    assert error["code"] == "forbidden" and "'operator'" in error["message"] and "charge" in error["message"]
    assert ran["charges"] == 0
    assert app.test_client(caller="operator").post("/echo", json={"text": "hi"}).status_code == 200
    # An unknown route still needs a token, then is an honest 404.
    assert app.test_client(caller=None).post("/nowhere", json={}).status_code == 401
    assert app.test_client(caller="operator").post("/nowhere", json={}).status_code == 404


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_rate_limit_answers_429_with_retry_after(echo_app, storage):
    build, _ = echo_app
    url = None
    if storage == "redis":
        import redis

        url = "redis://127.0.0.1:6379/15"
        try:
            redis.Redis.from_url(url).flushdb()
        except redis.ConnectionError:
            pytest.skip("no Redis on 127.0.0.1:6379")
    client = build(RATE_LIMITER=RateLimiter(3, 60, storage_url=url, namespace="kit-test")).test_client()
    statuses = [client.post("/echo", json={"text": "hi"}).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = client.post("/echo", json={"text": "hi"})
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.get_json()["error"]["retryAfter"] >= 1
    assert client.get("/health").status_code == 200


def test_response_that_breaks_the_contract(echo_app, caplog):
    build, _ = echo_app
    strict = build().test_client().post("/echo", json={"text": "break"})
    assert strict.status_code == 500 and strict.get_json()["error"]["code"] == "contract_violation"
    lenient = build(CONTRACT_ENFORCEMENT="log").test_client().post("/echo", json={"text": "break"})
    assert lenient.status_code == 200


def test_contract_errors_are_loud():
    bad = dict(
        ECHO_CONTRACT,
        operations={"echo": {**ECHO_CONTRACT["operations"]["echo"], "request": {"type": "object", "properties": {}}}},
    )
    with pytest.raises(Exception, match="meta-schema"):
        build_contract(bad)


@responses.activate
def test_client_retries_safe_calls_and_opens_the_breaker(echo_app):
    build, _ = echo_app
    build()  # loads the echo contract from the temp dir
    responses.add(
        responses.POST,
        "http://echo.test/echo",
        status=503,
        json={"error": {"code": "x", "message": "down", "details": []}},
    )
    breaker = CircuitBreaker(threshold=3, cooldown=60)
    client = AgentClient("kit-echo", "http://echo.test", retries=2, backoff=0, breaker=breaker)
    with pytest.raises(AgentCallError) as failure:
        client.call("echo", {"text": "hi"})
    assert failure.value.status == 503 and len(responses.calls) == 3
    with pytest.raises(AgentCallError) as fast:
        client.call("echo", {"text": "hi"})
    assert fast.value.code == "circuit_open" and len(responses.calls) == 3


@responses.activate
def test_client_retries_a_keyed_write_with_the_same_key(echo_app):
    build, _ = echo_app
    build()
    responses.add(responses.POST, "http://echo.test/charge", body=requests.ConnectionError("refused"))
    client = AgentClient("kit-echo", "http://echo.test", retries=2, backoff=0)
    with pytest.raises(AgentCallError) as failure:
        client.call("charge", {"amount": 5}, idempotency_key=None)
    # charge takes a key, so the client makes one up and may retry safely with it
    assert failure.value.code == "unavailable" and len(responses.calls) == 3
    assert len({call.request.headers["Idempotency-Key"] for call in responses.calls}) == 1


@responses.activate
def test_client_validates_both_ways(echo_app):
    build, _ = echo_app
    build()
    client = AgentClient("kit-echo", "http://echo.test", retries=0)
    with pytest.raises(AgentCallError) as bad_request:
        client.call("echo", {"txt": "hi"})
    assert bad_request.value.code == "invalid_request" and len(responses.calls) == 0
    responses.add(responses.POST, "http://echo.test/echo", json={"text": 42})
    with pytest.raises(AgentCallError) as bad_answer:
        client.call("echo", {"text": "hi"})
    assert bad_answer.value.code == "contract_violation"


def test_keys_are_kept_at_least_24_hours_then_purged(echo_app, monkeypatch):
    from datetime import timedelta

    from agentkit import clock

    build, ran = echo_app
    app = build()
    client = app.test_client()
    client.post("/charge", json={"amount": 5}, headers={"Idempotency-Key": "kept-key-1"})
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(hours=25))
    app.idempotency._last_purge = float("-inf")
    assert (
        client.post("/charge", json={"amount": 5}, headers={"Idempotency-Key": "kept-key-1"}).headers[
            "Idempotent-Replayed"
        ]
        == "true"
    )
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(hours=49))
    app.idempotency._last_purge = float("-inf")
    fresh = client.post("/charge", json={"amount": 5}, headers={"Idempotency-Key": "kept-key-1"})
    assert fresh.headers["Idempotent-Replayed"] == "false" and ran["charges"] == 2


@responses.activate
def test_client_sends_its_own_callers_token(echo_app, monkeypatch):
    build, _ = echo_app
    app = build()
    monkeypatch.setenv("AGENT_API_TOKEN", "s3cret-token-of-the-test")
    auth = ServiceAuth("s3cret-token-of-the-test")
    responses.add(responses.POST, "http://echo.test/echo", json={"text": "hi"})
    AgentClient("kit-echo", "http://echo.test").call("echo", {"text": "hi"})
    monkeypatch.setenv("AGENT_CALLER", "post-purchase")
    AgentClient("kit-echo", "http://echo.test").call("echo", {"text": "hi"})
    AgentClient("kit-echo", "http://echo.test", caller="operator").call("echo", {"text": "hi"})
    with app.test_request_context("/echo"):  # serving a request: an agent calls as itself
        AgentClient("kit-echo", "http://echo.test").call("echo", {"text": "hi"})
    sent = [call.request.headers["Authorization"] for call in responses.calls]
    assert sent == [f"Bearer {auth.token_for(c)}" for c in ("sales", "post-purchase", "operator", "kit-echo")]


def test_agents_on_loopback_require_the_token_and_the_client_sends_it(tmp_path, monkeypatch):
    from support import served

    with served(tmp_path, ["inventory"], extra_env={"AGENT_API_TOKEN": "loopback-token-1234567"}) as urls:
        body = {"productId": "P1001"}
        assert requests.post(urls["inventory"] + "/check-inventory", json=body, timeout=10).status_code == 401
        assert requests.get(urls["inventory"] + "/openapi.json", timeout=10).status_code == 200
        monkeypatch.setenv("AGENT_API_TOKEN", "loopback-token-1234567")
        report = AgentClient("inventory", urls["inventory"]).call("checkInventory", body)
        assert report["productId"] == "P1001"
        with pytest.raises(AgentCallError) as refused:
            AgentClient("inventory", urls["inventory"], caller="loyalty").call("checkInventory", body)
        assert (refused.value.status, refused.value.code) == (403, "forbidden")


def test_a_column_added_in_code_is_added_to_an_existing_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'grow.db'}"
    old = sa.MetaData()
    sa.Table("orders", old, sa.Column("id", sa.Integer, primary_key=True), sa.Column("total", sa.Numeric(12, 2)))
    first = Database(
        "grow", old, seed=lambda conn: conn.execute(sa.text("INSERT INTO orders (id, total) VALUES (1, 10)")), url=url
    )
    first.initialise()
    first.dispose()
    new = sa.MetaData()
    orders = sa.Table(
        "orders",
        new,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("total", sa.Numeric(12, 2)),
        sa.Column("gift_wrap_fee", sa.Numeric(12, 2), nullable=False, server_default="0"),
    )
    second = Database("grow", new, url=url)
    second.initialise()
    with second.read() as conn:
        assert conn.execute(sa.select(orders.c.gift_wrap_fee)).scalar_one() == 0
    second.dispose()


def test_a_string_column_widened_in_code_is_widened_in_an_existing_database(tmp_path):
    from support import fresh_database_url

    url = fresh_database_url("widen", tmp_path)
    old = sa.MetaData()
    sa.Table("members", old, sa.Column("user_id", sa.String(24), primary_key=True))
    first = Database(
        "widen", old, seed=lambda conn: conn.execute(sa.text("INSERT INTO members VALUES ('U1001')")), url=url
    )
    first.initialise()
    first.dispose()
    new = sa.MetaData()
    members = sa.Table("members", new, sa.Column("user_id", sa.String(64), primary_key=True))
    second = Database("widen", new, url=url)
    second.initialise()
    long_id = "a" * 64
    with second.write() as conn:
        conn.execute(members.insert().values(user_id=long_id))
    with second.read() as conn:
        assert sorted(conn.execute(sa.select(members.c.user_id)).scalars()) == ["U1001", long_id]
        if conn.dialect.name == "postgresql":
            assert sa.inspect(conn).get_columns("members")[0]["type"].length == 64
    second.dispose()


@responses.activate
def test_circuit_open_means_nothing_was_sent_and_a_cut_off_retry_reports_the_real_failure(echo_app):
    build, _ = echo_app
    build()
    responses.add(responses.POST, "http://echo.test/echo", body=requests.ConnectTimeout("slow"))
    client = AgentClient(
        "kit-echo", "http://echo.test", retries=3, backoff=0, breaker=CircuitBreaker(threshold=2, cooldown=60)
    )
    with pytest.raises(AgentCallError) as cut_off:
        client.call("echo", {"text": "hi"})
    assert cut_off.value.code == "timeout" and len(responses.calls) == 2  # the breaker stopped the third try
    with pytest.raises(AgentCallError) as refused:
        client.call("echo", {"text": "hi"})
    assert refused.value.code == "circuit_open" and len(responses.calls) == 2
