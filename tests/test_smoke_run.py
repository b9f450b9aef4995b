"""`make run`'s runner brings every agent up under gunicorn on loopback; each answers /health and its
first contract example over real HTTP; Ctrl-C (SIGINT) stops them all. Data survives a restart."""
from __future__ import annotations

import re

import pytest
import requests

from agentkit.contracts import load_contract
from agentkit.registry import agents, services

from support import free_port, runner_env, start_runner, stop, wait_for_line


def test_run_brings_every_service_up_and_ctrl_c_stops_them(tmp_path):
    ports = {name: free_port() for name in services()}
    proc = start_runner({**runner_env(tmp_path, ports), "LOG_LEVEL": "INFO"})
    try:
        wait_for_line(proc, "all agents healthy")
        for name in agents():
            base = f"http://127.0.0.1:{ports[name]}"
            assert requests.get(base + "/health", timeout=5).json()["status"] == "ok"
            op = next(iter(load_contract(name).operations.values()))
            example = op.examples[0]
            reply = requests.post(base + op.path, json=example["request"], headers=example.get("headers", {}), timeout=10)
            assert reply.status_code == example["response"]["status"], (name, reply.text)
            assert op.response_problems(reply.status_code, reply.json()) == []
        assert requests.get(f"http://127.0.0.1:{ports['sales']}/health", timeout=5).status_code == 200
    finally:
        assert stop(proc) == 0
    logs = proc.stdout.read()
    for name in agents():  # every agent's JSON request lines came out prefixed with its name
        assert re.search(rf"{re.escape(name)} \|\S* {{.*\"status\": 200", logs), name
    for port in ports.values():
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_inventory_data_survives_a_restart(tmp_path):
    ports = {"inventory": free_port()}
    env = runner_env(tmp_path, ports)
    base = f"http://127.0.0.1:{ports['inventory']}"
    restock = {"productId": "P1001", "size": "M", "color": "Black", "locationId": "WH-MUM", "quantity": 7,
               "reason": "smoke restart check"}
    proc = start_runner(env, ["inventory"])
    try:
        wait_for_line(proc, "all agents healthy")
        level = requests.post(base + "/restock", json=restock, timeout=10).json()["newLevel"]
    finally:
        stop(proc)
    proc = start_runner(env, ["inventory"])
    try:
        wait_for_line(proc, "all agents healthy")
        history = requests.post(base + "/get-stock-history", json={"productId": "P1001", "size": "M", "color": "Black"},
                                timeout=10).json()["entries"]
        assert history[0]["reason"] == "smoke restart check" and history[0]["newLevel"] == level
    finally:
        stop(proc)
