"""`make bench`, part two: what checking every claim with its owner costs one checkout, before against after.

Two trees side by side in one run: this one ("after") and the same code as it was before the agents checked
each other (``BENCH_BEFORE``, default 85db2bb: fulfillment took prices, payments and holds on trust, loyalty
credited any amount). For each, every agent runs under gunicorn on loopback with fresh SQLite databases, and
the same orders go through the same entry point, ``python -m sales_agent orders process`` (hold, price, pay,
create the order, commit, earn points). A process's start-up is taken out by timing a file of one order and
a file of 1 + N orders: (T(1+N) - T(1)) / N is one checkout. Two figures: wall-clock time, and CPU time
(the batch process plus every agent process, read from /proc), which a shared, busy machine disturbs far
less. Rounds alternate between the two trees, so drift hits both; the medians and their ratios are printed.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

import requests

TICKS = os.sysconf("SC_CLK_TCK")

ROOT = Path(__file__).resolve().parent.parent
BEFORE = os.environ.get("BENCH_BEFORE", "85db2bb")
CHECKOUTS = int(os.environ.get("BENCH_CHECKOUTS", 20))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
USERS = [f"U10{n:02d}" for n in range(1, 9)]
CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"}
SECRET = secrets.token_urlsafe(32)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unpack(rev: str, into: Path) -> Path:
    """The tree at ``rev``, from this repository's history (nothing downloaded)."""
    archive = into / "before.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev], stdout=out, check=True)
    tree = into / "tree-before"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _variants(count: int) -> list[dict]:
    """The SKUs with the most warehouse stock: every round's orders can be filled on both sides."""
    stock = json.loads((ROOT / "inventory-agent/inventory_agent/seed/stock.json").read_text())["stock"]
    online = [(sum(v for k, v in s["levels"].items() if k.startswith("WH-")), s) for s in stock]
    online.sort(key=lambda pair: -pair[0])
    return [{"productId": s["productId"], "size": s["size"], "color": s["color"]} for _, s in online[:count]]


class Side:
    """One tree's agents under its own runner, and its batch entry point."""

    def __init__(self, name: str, tree: Path, work: Path):
        self.name, self.tree, self.work = name, tree, work / name
        self.work.mkdir()
        config = tomllib.loads((tree / "agents.toml").read_text())["agents"]
        self.agents = [n for n in config if n != "sales"]
        folders = [str(tree / config[n]["folder"]) for n in self.agents] + [str(tree / "sales-agent")]
        self.env = {
            **os.environ,
            # This tree's code first on the path, ahead of the editable install of the current one.
            "PYTHONPATH": os.pathsep.join([str(tree), *folders]),
            "AGENT_API_TOKEN": SECRET,
            "AGENT_CALLER": "sales",
            "VAR_DIR": str(self.work / "var"),
            "RATE_LIMIT": "off",
            "LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": "2",
            "SALES_DATABASE_URL": f"sqlite:///{self.work / 'sales.db'}",
            "SALES_RECONCILE_SECONDS": "0",
        }
        self.ports = {n: _free_port() for n in self.agents}
        for agent, port in self.ports.items():
            prefix = agent.upper().replace("-", "_")
            self.env[f"{prefix}_PORT"] = str(port)
            self.env[f"{prefix}_AGENT_URL"] = f"http://127.0.0.1:{port}"
            self.env[f"{prefix}_DATABASE_URL"] = f"sqlite:///{self.work / agent}.db"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.work / "agents.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentkit.run", "up", "--only", ",".join(self.agents)],
            cwd=self.tree,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        for port in self.ports.values():
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name}: agents did not come up; see {self.work / 'agents.log'}")
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def agents_cpu(self) -> float:
        """CPU seconds used so far by the runner and every gunicorn process it started (its session)."""
        assert self.proc is not None
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended while we looked
                continue
            if int(fields[3]) == self.proc.pid:  # field 6, the session id (fields here start at field 3)
                total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return total / TICKS

    def place(self, orders: list[dict], tag: str) -> tuple[float, float]:
        """(wall seconds, CPU seconds of the batch and the agents) for one batch process placing ``orders``."""
        path = self.work / f"{tag}.json"
        path.write_text(json.dumps(orders))
        cpu_before = self.agents_cpu() + _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "sales_agent", "orders", "process", str(path), "--json"],
            cwd=self.tree,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        cpu = self.agents_cpu() + _children_cpu() - cpu_before
        rows = json.loads(done.stdout)
        failed = [r for r in rows if not r.get("ok")]
        if done.returncode != 0 or failed:
            raise RuntimeError(
                f"{self.name}: {len(failed)} of {len(rows)} orders failed: {failed[:2]} {done.stderr[-500:]}"
            )
        return elapsed, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the batch processes this one has waited for
    return usage.ru_utime + usage.ru_stime


def _orders(variants: list[dict], start: int, count: int) -> list[dict]:
    return [
        {
            "userId": USERS[(start + i) % len(USERS)],
            "items": [{**variants[(start + i) % len(variants)], "quantity": 1}],
            "card": CARD,
        }
        for i in range(count)
    ]


def main() -> None:
    variants = _variants(40)
    with tempfile.TemporaryDirectory(prefix="bench-checkout-") as tmp:
        work = Path(tmp)
        sides = [Side("before", _unpack(BEFORE, work), work), Side("after", ROOT, work)]
        try:
            for side in sides:
                side.start()
            wall: dict[str, list[float]] = {side.name: [] for side in sides}
            cpu: dict[str, list[float]] = {side.name: [] for side in sides}
            start = 0
            for round_ in range(1, ROUNDS + 1):
                for side in sides if round_ % 2 else reversed(sides):
                    one = side.place(_orders(variants, start, 1), f"r{round_}-one")
                    many = side.place(_orders(variants, start + 1, 1 + CHECKOUTS), f"r{round_}-many")
                    wall[side.name].append((many[0] - one[0]) / CHECKOUTS * 1000)
                    cpu[side.name].append((many[1] - one[1]) / CHECKOUTS * 1000)
                start += 2 + CHECKOUTS
                print(
                    f"round {round_}: "
                    + "  ".join(f"{n} {wall[n][-1]:.1f} ms wall, {cpu[n][-1]:.1f} ms CPU" for n in wall)
                )
            for label, values in (("wall-clock", wall), ("CPU (batch + agents)", cpu)):
                median = {name: statistics.median(v) for name, v in values.items()}
                print(
                    f"one checkout, {label}, medians of {ROUNDS} rounds of {CHECKOUTS}: "
                    f"before ({BEFORE}, claims taken on trust) {median['before']:.1f} ms, "
                    f"after (every claim checked with its owner) {median['after']:.1f} ms: "
                    f"{median['after'] / median['before']:.2f}x"
                )
        finally:
            for side in sides:
                side.stop()


if __name__ == "__main__":
    main()
