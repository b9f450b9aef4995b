"""Closed by default, one identity per caller: every operation of every agent, driven by the contracts, refuses a
call without a token (401) and from a caller its contract does not list (403 naming it), and serves the callers it
lists; in process and under gunicorn started by the runner with no AGENT_API_TOKEN (the secret it then makes
under var/ is private and used by every agent)."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from agentkit.auth import SECRET_FILE, ServiceAuth, ensure_secret_file, known_callers, service_secret
from agentkit.contracts import contract_names, load_contract
from agentkit.registry import agents
from agentkit.settings import KitSettings
from support import ROOT, WiredSystem, free_port, runner_env, start_runner, stop, wait_for_line

OPERATIONS = [(name, op_id) for name in contract_names() for op_id in load_contract(name).operations]


def outsiders(op) -> list[str]:
    return [caller for caller in known_callers() if caller not in op.callers]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestInProcess:
    """Every agent wired in process; the class scope ends its ``responses`` routing before the loopback tests."""

    @pytest.fixture(scope="class")
    def system(self, tmp_path_factory):
        wired = WiredSystem(tmp_path_factory.mktemp("auth"))
        yield wired
        wired.close()

    @pytest.mark.parametrize("name,op_id", OPERATIONS)
    def test_every_operation_needs_a_token_of_a_caller_it_lists(self, system, name, op_id):
        op = load_contract(name).operation(op_id)
        app = system.apps[name]
        example = op.examples[0]
        anonymous = app.test_client(caller=None)

        def post(headers: dict[str, str]):
            return anonymous.post(op.path, json=example["request"], headers={**example.get("headers", {}), **headers})

        for headers in ({}, bearer("operator.not-a-signature"), bearer(ServiceAuth("x" * 32).token_for(op.callers[0]))):
            refused = post(headers)
            assert refused.status_code == 401, (headers, refused.get_json())
            assert refused.get_json()["error"]["details"][0]["field"] == "Authorization"
        assert outsiders(op), f"{name}.{op_id} is open to every caller"
        for caller in outsiders(op):
            refused = post(bearer(app.auth.token_for(caller)))
            assert refused.status_code == 403, (caller, refused.get_json())
            error = refused.get_json()["error"]
            assert error["code"] == "forbidden" and f"'{caller}'" in error["message"]
        for caller in op.callers:
            served = post(bearer(app.auth.token_for(caller)))
            assert served.status_code not in (401, 403), (caller, served.get_json())


def test_the_callers_named_in_the_issue_have_what_they_need():
    def callers(agent: str, op_id: str) -> tuple[str, ...]:
        return load_contract(agent).operation(op_id).callers

    assert callers("fulfillment", "updateOrderStatus") == ("operator",)
    assert callers("fulfillment", "approveOrder") == ("operator",)
    assert callers("inventory", "restock")[0] == "operator" and "sales" not in callers("inventory", "restock")
    assert set(callers("loyalty", "earnPoints")) == {"sales", "fulfillment"}
    assert set(callers("payment", "refundPayment")) >= {"sales", "fulfillment", "post-purchase", "gift-wrapping"}
    assert "sales" not in callers("inventory", "getStockHistory")


def test_with_no_token_configured_nothing_opens(make_app, tmp_path, monkeypatch):
    """Reproduction 16 of issue 8: with no AGENT_API_TOKEN every operation of every agent answered anyone."""
    monkeypatch.delenv("AGENT_API_TOKEN", raising=False)
    for name in agents():
        app = make_app(name)
        client = FlaskClient(app, app.response_class)  # a plain client: sends only what it is told to
        for op in app.contract.operations.values():
            example = op.examples[0]
            reply = client.post(op.path, json=example["request"], headers=example.get("headers", {}))
            assert reply.status_code == 401, (name, op.op_id, reply.status_code)
        assert client.get("/health").status_code == 200
    secret = tmp_path / "var" / SECRET_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert service_secret(KitSettings()) == secret.read_text().strip()


def _race(path: str, barrier) -> str:
    barrier.wait()
    return ensure_secret_file(Path(path))


def test_the_secret_is_made_once_even_when_many_processes_start_together(tmp_path):
    path = tmp_path / "var" / SECRET_FILE
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(8)
        with context.Pool(8) as pool:
            secrets = pool.starmap(_race, [(str(path), barrier)] * 8)
    assert len(set(secrets)) == 1 and len(secrets[0]) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [SECRET_FILE]  # no candidate left behind


def test_a_secret_others_can_read_or_a_short_one_is_refused(tmp_path, monkeypatch):
    path = tmp_path / SECRET_FILE
    ensure_secret_file(path)
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        ensure_secret_file(path)
    monkeypatch.setenv("AGENT_API_TOKEN", "short")
    with pytest.raises(ValueError, match="at least 16"):
        service_secret(KitSettings())


def test_make_token_prints_a_token_for_a_known_caller_only(tmp_path):
    env = {**os.environ, "AGENT_API_TOKEN": "a-secret-for-this-test-only"}
    run = [sys.executable, "-m", "agentkit.token"]
    done = subprocess.run([*run, "operator"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == ServiceAuth(env["AGENT_API_TOKEN"]).token_for("operator")
    refused = subprocess.run([*run, "intern"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "unknown caller 'intern'" in refused.stderr and not refused.stdout


def test_under_the_runner_with_no_token_set_the_var_secret_is_made_private_and_used(tmp_path):
    ports = {name: free_port() for name in agents()}
    env = runner_env(tmp_path, ports)
    del env["AGENT_API_TOKEN"]  # the default: nothing configured
    runner = start_runner(env, list(agents()))
    try:
        wait_for_line(runner, "all agents healthy")
        secret = tmp_path / "var" / SECRET_FILE
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert f"service tokens derive from {secret}" in runner.output()
        auth = ServiceAuth(secret.read_text().strip())
        with requests.Session() as session:
            for name, op_id in OPERATIONS:
                op = load_contract(name).operation(op_id)
                example = op.examples[0]
                url = f"http://127.0.0.1:{ports[name]}{op.path}"

                def post(caller: str | None):
                    headers = {**example.get("headers", {}), **(bearer(auth.token_for(caller)) if caller else {})}
                    return session.post(url, json=example["request"], headers=headers, timeout=30)

                assert post(None).status_code == 401, (name, op_id)
                wrong = outsiders(op)[0]
                refused = post(wrong)
                assert refused.status_code == 403 and f"'{wrong}'" in refused.json()["error"]["message"], refused.text
                answered = post(op.callers[0])
                assert answered.status_code not in (401, 403), (name, op_id, answered.text)
        # An agent calling another while it serves a request does so as itself, with the same secret: alternatives
        # need inventory's getAvailability (a 503 without it), which recommendation may call and loyalty may not.
        alternatives = load_contract("recommendation").operation("getAlternatives").examples[0]
        answer = requests.post(
            f"http://127.0.0.1:{ports['recommendation']}/get-alternatives",
            json=alternatives["request"],
            headers=bearer(auth.token_for("sales")),
            timeout=30,
        )
        assert answer.status_code == alternatives["response"]["status"] == 200, answer.text
    finally:
        assert stop(runner) == 0
