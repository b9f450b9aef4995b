"""`make run`'s runner brings every agent up under gunicorn on loopback; each answers /health and its
first contract example over real HTTP; Ctrl-C (SIGINT) stops them all. Data survives a restart."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
import requests

from agentkit.contracts import load_contract
from agentkit.registry import agents, services
from support import auth_headers, free_port, runner_env, start_runner, stop, wait_for_line


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
            headers = {**auth_headers(op.callers[0]), **example.get("headers", {})}
            reply = requests.post(base + op.path, json=example["request"], headers=headers, timeout=10)
            assert reply.status_code == example["response"]["status"], (name, reply.text)
            assert op.response_problems(reply.status_code, reply.json()) == []
        assert requests.get(f"http://127.0.0.1:{ports['sales']}/health", timeout=5).status_code == 200
    finally:
        assert stop(proc) == 0  # within the runner's own 8 s stop deadline, not the helper's kill
    logs = proc.output()
    for name in agents():  # every agent's JSON request lines came out prefixed with its name
        assert re.search(rf"{re.escape(name)} \|\S* {{.*\"status\": 200", logs), name
    for port in ports.values():
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_inventory_data_survives_a_restart(tmp_path):
    ports = {"inventory": free_port()}
    env = runner_env(tmp_path, ports)
    base = f"http://127.0.0.1:{ports['inventory']}"
    restock = {
        "productId": "P1001",
        "size": "M",
        "color": "Black",
        "locationId": "WH-MUM",
        "quantity": 7,
        "reason": "smoke restart check",
    }
    proc = start_runner(env, ["inventory"])
    try:
        wait_for_line(proc, "all agents healthy")
        level = requests.post(base + "/restock", json=restock, headers=auth_headers(), timeout=10).json()["newLevel"]
    finally:
        stop(proc)
    proc = start_runner(env, ["inventory"])
    try:
        wait_for_line(proc, "all agents healthy")
        history = requests.post(
            base + "/get-stock-history",
            json={"productId": "P1001", "size": "M", "color": "Black"},
            headers=auth_headers(),
            timeout=10,
        ).json()["entries"]
        assert history[0]["reason"] == "smoke restart check" and history[0]["newLevel"] == level
    finally:
        stop(proc)


def _master_pids(runner) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"started (\S+) \(pid (\d+)\)", runner.output())}


@pytest.mark.parametrize("group", [True, False], ids=["ctrl-c-to-the-group", "sigint-to-the-runner-alone"])
def test_ctrl_c_stops_everything_within_10_s_even_a_frozen_service(tmp_path, group):
    """One gunicorn master is frozen (SIGSTOP) and another is busy: the runner still ends them all in time."""
    names = ["inventory", "loyalty", "gift-wrapping"]
    ports = {name: free_port() for name in names}
    proc = start_runner(runner_env(tmp_path, ports), names)
    try:
        wait_for_line(proc, "all agents healthy")
        masters = _master_pids(proc)
        os.kill(masters["loyalty"], signal.SIGSTOP)
        started = time.monotonic()
        code = proc.stop(timeout=10, group=group)
        elapsed = time.monotonic() - started
    finally:
        proc.stop()
    assert code == 0 and elapsed < 10, (code, elapsed, proc.output()[-2000:])
    for pid in masters.values():
        assert not _alive(pid), pid
    for port in ports.values():
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_a_service_that_dies_is_started_again_and_the_others_keep_answering(tmp_path):
    names = ["inventory", "gift-wrapping"]
    ports = {name: free_port() for name in names}
    proc = start_runner(runner_env(tmp_path, ports), names)
    try:
        healthy = len(wait_for_line(proc, "all agents healthy"))
        victim = _master_pids(proc)["inventory"]
        os.killpg(os.getpgid(victim), 0)  # still ours
        for pid in [victim, *_children(victim)]:
            os.kill(pid, signal.SIGKILL)
        proc.wait_for("inventory exited with code", start=healthy)
        # the other service never went away
        assert requests.get(f"http://127.0.0.1:{ports['gift-wrapping']}/health", timeout=5).status_code == 200
        proc.wait_for("started inventory (pid", start=healthy)
        deadline = time.monotonic() + 120
        while True:  # an event, not a sleep: the restarted service answering
            try:
                if requests.get(f"http://127.0.0.1:{ports['inventory']}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, proc.output()[-3000:]
            time.sleep(0.2)
        assert _master_pids(proc)["inventory"] != victim
    finally:
        assert proc.stop() == 0


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except OSError:
            continue
    return out
