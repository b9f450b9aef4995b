"""Benchmark (not part of CI): how long an offline chat turn takes, and what connection reuse buys.

    .venv/bin/python sales-agent/bench_chat.py [--turns 40] [--calls 300]

Starts every agent on a loopback port (real HTTP, temporary SQLite databases), then prints p50/p95 of
1. an offline chat turn with two tool calls ("is the Alpine Puffer Jacket in stock in size M in Mumbai?":
   search_products then check_stock) through SalesSession, the agent graph and the checkpointer;
2. one tool call (check_stock -> inventory checkInventory) over loopback, with the pooled session the sales
   agent uses (connection reuse) and with a new connection per call;
3. the offline model's language side: loading the embedding model and embedding every skill's examples (in a
   fresh process), and reading one message (parse: rules, slots, meaning) over the held-out phrasings;
4. offline chat turns over a mix of shopper messages (browse, budgets, Hinglish, cart, orders, small talk).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = (len(ordered) - 1) * p
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def report(name: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    print(
        f"{name:<58} n={len(ms):<4} p50={percentile(ms, 0.5):8.2f} ms  p95={percentile(ms, 0.95):8.2f} ms"
        f"  mean={statistics.fmean(ms):8.2f} ms"
    )


def start_agents(var: Path) -> list:
    """Every agent in agents.toml on 127.0.0.1:<free port>, served by werkzeug threads."""
    import logging

    from werkzeug.serving import WSGIRequestHandler, make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    class KeepAlive(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"  # keep connections open, as gunicorn's gthread workers do

    from agentkit.registry import agents, import_app_factory

    servers = []
    for name, entry in agents().items():
        app = import_app_factory(name)(database_url=f"sqlite:///{var / (name + '.db')}")
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=KeepAlive)
        os.environ[f"{entry.env_prefix()}_AGENT_URL"] = f"http://127.0.0.1:{server.server_port}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers


LOAD_SNIPPET = """
import time
from agentkit import embeddings  # the kit itself (Flask and all) is not the model: imported first
import sales_agent.offline.classifier as classifier
started = time.perf_counter()
embeddings.model()  # wordllama imported, weights and tokenizer read from the wheel
loaded = time.perf_counter() - started
classifier.index()  # every skill's examples embedded
print(loaded, time.perf_counter() - started)
"""
MIXED = [
    "show me winter jackets under 6000",
    "koi achhi jacket hai kya 3000 ke andar?",
    "add the first one in black size M",
    "what's in my cart?",
    "actually just one",
    "mera order kahan hai?",
    "anniversary present for my wife under 3000",
    "are you a bot?",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("RATE_LIMIT", "off")
    var = Path(tempfile.mkdtemp(prefix="bench-"))
    os.environ["VAR_DIR"] = str(var)
    servers = start_agents(var)

    import requests

    from agentkit import AgentClient
    from sales_agent.cards import CardVault
    from sales_agent.offline.model import OfflineChatModel
    from sales_agent.testing import session_for_tests

    # 1. an offline chat turn with two tool calls
    session = session_for_tests(var, OfflineChatModel(), vault=CardVault())
    text = "is the Alpine Puffer Jacket in stock in size M in Mumbai?"
    first = session.send("U1001", text)
    tools = [c["tool"] for c in first.tool_calls]
    assert tools == ["search_products", "check_stock"], tools
    turns = []
    for i in range(args.turns + 3):
        session.reset("U1001")  # the same short conversation each time (not timed)
        started = time.perf_counter()
        session.send("U1001", text)
        if i >= 3:  # warm-up
            turns.append(time.perf_counter() - started)
    session.close()

    # 2. one tool call over loopback: reused connection vs a new one per call
    body = {"productId": "P1001", "attributes": {"size": "M", "color": "Black"}, "locationContext": {"city": "Mumbai"}}
    # interleaved, so that warm-up and background noise fall on both alike
    reused_client = AgentClient("inventory", retries=0)
    reused, fresh = [], []
    for i in range(args.calls + 5):
        started = time.perf_counter()
        reused_client.call("checkInventory", body)
        if i >= 5:
            reused.append(time.perf_counter() - started)
        client = AgentClient("inventory", retries=0, session=requests.Session())
        started = time.perf_counter()
        client.call("checkInventory", body)
        if i >= 5:
            fresh.append(time.perf_counter() - started)
        client.session.close()

    # 3. the language side: model load in a fresh process, then one message read
    import subprocess

    load = subprocess.run(
        [sys.executable, "-c", LOAD_SNIPPET], capture_output=True, text=True, check=True, env=dict(os.environ)
    ).stdout.split()
    from sales_agent.offline import report as nlu
    from sales_agent.offline.intents import parse

    texts = [text for _, text in nlu.load("heldout")]
    memory = nlu.memory()
    parse(texts[0], memory)
    parses = []
    for text in texts * 3:
        started = time.perf_counter()
        parse(text, memory)
        parses.append(time.perf_counter() - started)

    # 4. offline turns over a mix of shopper messages
    mixed = []
    session = session_for_tests(var, OfflineChatModel(), vault=CardVault())
    for round_no in range(max(1, args.turns // len(MIXED))):
        session.reset("U1002")
        for text in MIXED:
            started = time.perf_counter()
            session.send("U1002", text)
            if round_no or text != MIXED[0]:
                mixed.append(time.perf_counter() - started)
    session.close()

    print(f"sales agent benchmark (loopback, SQLite, {os.cpu_count()} CPUs)")
    report("offline chat turn, 2 tool calls (search + stock)", turns)
    report(f"offline chat turn, mixed shopper messages ({len(MIXED)})", mixed)
    report("offline model: read one message (parse)", parses)
    print(f"{'offline model load: the embedding model (fresh process)':<58} {float(load[0]) * 1000:8.1f} ms")
    print(f"{'offline model load: + every skill example embedded':<58} {float(load[1]) * 1000:8.1f} ms")
    report("tool call inventory.checkInventory, connection reused", reused)
    report("tool call inventory.checkInventory, new connection per call", fresh)
    for server in servers:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
