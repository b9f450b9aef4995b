"""`make bench`: check-inventory throughput on loopback, side by side under the same gunicorn settings.

Three servers, one at a time, in interleaved rounds (so drift on a shared machine hits all of them):
  bare        a Flask endpoint returning a fixed check-inventory-shaped body (no validation, no database)
  agent       the inventory agent: full request and response validation, real SQLite database
  agent-noval the inventory agent with CONTRACT_VALIDATION=off (database, no validation)
Prints requests/second per round, the medians and the ratios agent/bare and agent/agent-noval.
"""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from agentkit.auth import ServiceAuth
from benchmarks.loadgen import measure

ROOT = Path(__file__).resolve().parent.parent
BODY = {"productId": "P1001", "attributes": {"size": "M", "color": "Black"}, "locationContext": {"city": "Mumbai"}}
SECONDS = float(os.environ.get("BENCH_SECONDS", 8))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
# The agents are closed: every request carries the sales caller's token (the bare endpoint ignores it).
SECRET = secrets.token_urlsafe(32)
AUTH = {"Authorization": f"Bearer {ServiceAuth(SECRET).token_for('sales')}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(app: str, pythonpath: str, extra_env: dict[str, str], var_dir: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {
        **os.environ,
        "VAR_DIR": var_dir,
        "AGENT_API_TOKEN": SECRET,
        "RATE_LIMIT": "off",
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:agentkit.gunicorn_conf",
            "--chdir",
            str(ROOT),
            "--pythonpath",
            pythonpath,
            "--bind",
            f"127.0.0.1:{port}",
            app,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            reply = requests.post(f"http://127.0.0.1:{port}/check-inventory", json=BODY, headers=AUTH, timeout=1)
            if reply.status_code == 200:
                return proc, port
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{app} did not start")


def main() -> None:
    var_dir = tempfile.mkdtemp(prefix="bench-")
    agent_path = f"{ROOT},{ROOT / 'inventory-agent'}"
    setups = {
        "bare": ("benchmarks.bare_app:create_app()", str(ROOT), {}),
        "agent": ("inventory_agent.app:create_app()", agent_path, {}),
        "agent-noval": ("inventory_agent.app:create_app()", agent_path, {"CONTRACT_VALIDATION": "off"}),
    }
    results: dict[str, list[float]] = {name: [] for name in setups}
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    print(
        f"gunicorn: {workers} gthread workers x {os.environ.get('GUNICORN_THREADS', '4')} threads; "
        f"{ROUNDS} rounds x {SECONDS:.0f} s per server; 16 keep-alive connections; body {BODY}"
    )
    for round_no in range(1, ROUNDS + 1):
        for name, (app, path, env) in setups.items():
            proc, port = _serve(app, path, env, var_dir)
            try:
                measure(port, "/check-inventory", BODY, 1.0, headers=AUTH)  # warm-up
                rate, statuses = measure(port, "/check-inventory", BODY, SECONDS, headers=AUTH)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
            if set(statuses) != {200}:
                raise SystemExit(f"{name}: unexpected statuses {statuses}")
            results[name].append(rate)
            print(f"round {round_no}  {name:<12} {rate:8.0f} req/s")
    median = {name: statistics.median(rates) for name, rates in results.items()}
    print("\nmedian req/s: " + ", ".join(f"{name} {rate:.0f}" for name, rate in median.items()))
    print(f"check-inventory (validation + database) vs bare Flask endpoint: {median['agent'] / median['bare']:.2f}x")
    print(
        f"validation on vs off (same agent, same database):              {median['agent'] / median['agent-noval']:.2f}x"
    )


if __name__ == "__main__":
    main()
