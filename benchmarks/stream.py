"""`make bench`, part three: how soon a shopper sees the web chat move, on loopback.

Every agent and the sales service run under gunicorn (``agentkit.run up``, the settings `make run` uses) on free
loopback ports with fresh SQLite databases and the offline model. Each turn is one ``POST /chat/stream`` of
"show me winter jackets under 6000" (a catalog search, then the reply in chunks) by a new guest, read
as the events arrive; the figures are the time from sending the request to the first complete event (``start``),
to the first ``token`` and to ``final``, beside the same turn on ``POST /chat``. Warm-up turns first (each
worker reads the embedding model on its first offline turn), then ``BENCH_STREAM_TURNS`` timed ones (default
40). The target is a first event within 100 ms p50.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
TURNS = int(os.environ.get("BENCH_STREAM_TURNS", 40))
WARMUP = 6
MESSAGE = "show me winter jackets under 6000"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = (len(ordered) - 1) * p
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def start(work: Path) -> tuple[subprocess.Popen, str]:
    """Every service of agents.toml under its runner; the sales service's base URL once all answer /health."""
    names = list(tomllib.loads((ROOT / "agents.toml").read_text())["agents"]) + ["sales"]
    env = {
        **os.environ,
        "AGENT_API_TOKEN": secrets.token_urlsafe(32),
        "VAR_DIR": str(work / "var"),
        "RATE_LIMIT": "off",
        "LOG_LEVEL": "WARNING",
        "SALES_AGENT_MODEL": "offline",
        "SALES_RECONCILE_SECONDS": "0",
        "SALES_TURNS_PER_MINUTE": "0",
        "SALES_DATABASE_URL": f"sqlite:///{work / 'sales.db'}",
        "SALES_MEMORY_URL": str(work / "sales-memory.db"),
    }
    ports = {name: _free_port() for name in names}
    for name, port in ports.items():
        prefix = name.upper().replace("-", "_")
        env[f"{prefix}_PORT"] = str(port)
        env[f"{prefix}_AGENT_URL"] = f"http://127.0.0.1:{port}"
        if name != "sales":
            env[f"{prefix}_DATABASE_URL"] = f"sqlite:///{work / name}.db"
    log = (work / "services.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentkit.run", "up"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    for port in ports.values():
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                stop(proc)
                raise RuntimeError(f"the services did not come up; see {work / 'services.log'}")
            time.sleep(0.2)
    return proc, f"http://127.0.0.1:{ports['sales']}"


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def guest(http: requests.Session, base: str) -> dict[str, str]:
    """A new guest's session, as the page starts one (not timed)."""
    answer = http.post(base + "/sessions/guest", json={}, timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def one_turn(http: requests.Session, base: str, headers: dict[str, str]) -> tuple[float, float, float]:
    """Seconds from sending to the first event, the first token and the final event."""
    first = token = None
    sent = time.perf_counter()
    with http.post(
        base + "/chat/stream", json={"message": MESSAGE}, headers=headers, stream=True, timeout=60
    ) as response:
        response.raise_for_status()
        buffer = ""
        for piece in response.iter_content(chunk_size=None, decode_unicode=True):
            buffer += piece
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                now = time.perf_counter() - sent
                kind = block.split("\n", 1)[0].removeprefix("event: ")
                if first is None:
                    first = now
                if kind == "token" and token is None:
                    token = now
                if kind == "final":
                    assert first is not None and token is not None, "a turn without a start or a token"
                    return first, token, now
                if kind == "error":
                    raise RuntimeError(f"the turn failed: {block}")
    raise RuntimeError("the stream ended without a final event")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        proc, base = start(Path(tmp))
        try:
            http = requests.Session()
            for _ in range(WARMUP):
                one_turn(http, base, guest(http, base))
            samples, whole = [], []
            for _ in range(TURNS):  # interleaved with the same turn on POST /chat, so load hits both alike
                samples.append(one_turn(http, base, guest(http, base)))
                headers = guest(http, base)
                sent = time.perf_counter()
                http.post(base + "/chat", json={"message": MESSAGE}, headers=headers, timeout=60).raise_for_status()
                whole.append(time.perf_counter() - sent)
        finally:
            stop(proc)
    print(f"web chat stream (offline model, gunicorn on loopback, SQLite, {os.cpu_count()} CPUs, {TURNS} turns)")
    for i, name in enumerate(("first event (start)", "first token", "final event")):
        ms = [s[i] * 1000 for s in samples]
        print(
            f"  POST /chat/stream, time to the {name:<20} p50={percentile(ms, 0.5):7.1f} ms  "
            f"p95={percentile(ms, 0.95):7.1f} ms  mean={statistics.fmean(ms):7.1f} ms"
        )
    ms = [s * 1000 for s in whole]
    print(
        f"  POST /chat (the same turn, one JSON answer)         p50={percentile(ms, 0.5):7.1f} ms  "
        f"p95={percentile(ms, 0.95):7.1f} ms  mean={statistics.fmean(ms):7.1f} ms"
    )


if __name__ == "__main__":
    main()
