"""Durability: kill -9 every process of an agent in the middle of a burst of writes, restart it on the
same database; every acknowledged write is there and nothing is half-written."""

from __future__ import annotations

import threading
import time

import requests

from support import auth_headers, free_port, runner_env, start_runner, stop, wait_for_line

VARIANT = {"productId": "P1001", "size": "L", "color": "Navy"}


def history(base: str) -> list[dict]:
    reply = requests.post(
        f"{base}/get-stock-history", json={**VARIANT, "limit": 500}, headers=auth_headers("operator"), timeout=10
    )
    return reply.json()["entries"]


def warehouse_level(base: str, warehouse: str) -> int:
    report = requests.post(
        f"{base}/check-inventory",
        json={"productId": "P1001", "attributes": {"size": "L", "color": "Navy"}},
        headers=auth_headers("operator"),
        timeout=10,
    ).json()
    return {w["warehouseId"]: w["stockLevel"] for w in report["warehouses"]}[warehouse]


def test_kill_9_mid_burst_loses_no_acknowledged_write(tmp_path):
    ports = {"inventory": free_port()}
    env = runner_env(tmp_path, ports)
    base = f"http://127.0.0.1:{ports['inventory']}"
    proc = start_runner(env, ["inventory"])
    wait_for_line(proc, "all agents healthy")
    start_level = warehouse_level(base, "WH-KOL")
    acknowledged: list[str] = []
    stop_writing = threading.Event()
    operator = auth_headers("operator")

    def writer(worker: int) -> None:
        for n in range(10_000):
            if stop_writing.is_set():
                return
            reason = f"burst w{worker} n{n}"
            try:
                reply = requests.post(
                    f"{base}/restock",
                    json={**VARIANT, "locationId": "WH-KOL", "quantity": 1, "reason": reason},
                    headers=operator,
                    timeout=5,
                )
            except requests.RequestException:
                return
            if reply.status_code == 200:
                acknowledged.append(reason)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill_group()
    stop_writing.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acknowledged) >= 150

    proc = start_runner(env, ["inventory"])
    try:
        wait_for_line(proc, "all agents healthy")
        entries = [e for e in history(base) if e["locationId"] == "WH-KOL"]
        recorded = {e["reason"] for e in entries}
        assert set(acknowledged) <= recorded, sorted(set(acknowledged) - recorded)[:5]
        burst = [e for e in entries if e["reason"].startswith("burst ")]
        # Nothing half-written: each audit row came with its stock change, and the level adds up.
        assert warehouse_level(base, "WH-KOL") == start_level + len(burst)
        assert sorted(e["newLevel"] for e in burst) == list(range(start_level + 1, start_level + len(burst) + 1))
    finally:
        stop(proc)
