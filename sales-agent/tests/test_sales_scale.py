"""Several chat workers, no sticky routing: one shopper's turns go to different worker processes (two chat
API replicas under the runner, each its own gunicorn, on the same databases) and the checkout still works:
the card typed on one, "yes" on the other. Two turns of one shopper sent to both at once run one after
the other (the turn lock lives in the database), so the conversation stays consistent. An agent killed under
the runner comes back by itself while the chat keeps answering what does not need it."""

from __future__ import annotations

import threading

import requests

from agentkit.registry import agents
from sales_agent.testing import session_headers
from support import free_port, runner_env, start_runner, stop, wait_for_line


def chat(base: str, text: str) -> dict:
    reply = requests.post(f"{base}/chat", json={"message": text}, headers=session_headers("U1003"), timeout=120)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_one_shoppers_turns_on_different_workers(tmp_path):
    ports = {name: free_port() for name in [*agents(), "sales"]}
    env = {**runner_env(tmp_path, ports, workers=1), "SALES_AGENT_MODEL": "offline", "SALES_TURNS_PER_MINUTE": "0"}
    env.pop("OPENAI_API_KEY", None)
    first = start_runner(env)
    second = None
    try:
        wait_for_line(first, "all agents healthy")
        other_port = free_port()
        second = start_runner({**env, "SALES_PORT": str(other_port)}, ["sales"])
        wait_for_line(second, "all agents healthy")
        a, b = f"http://127.0.0.1:{ports['sales']}", f"http://127.0.0.1:{other_port}"
        payment = f"http://127.0.0.1:{ports['payment']}"

        added = chat(a, "add the Alpine Puffer Jacket in black size M to my cart")
        assert added["cart"]["itemCount"] == 1, added
        quote = chat(b, "checkout with card 4242 4242 4242 4242 exp 12/29 cvv 123")
        assert quote.get("pendingConfirmation"), quote["reply"]
        placed = chat(a, "yes")
        assert "pendingConfirmation" not in placed and "ORD-" in placed["reply"], placed["reply"]
        state = requests.get(f"{b}/chat/state", headers=session_headers("U1003"), timeout=10).json()
        assert state["lastOrder"]["orderId"] in placed["reply"]

        from support import auth_headers

        payments = requests.post(
            f"{payment}/list-payments", json={"userId": "U1003"}, headers=auth_headers("sales"), timeout=10
        ).json()["payments"]
        assert payments[0]["cardLast4"] == "4242" and payments[0]["status"] == "succeeded"
        assert sum(1 for p in payments if p["orderReference"] == state["lastOrder"]["orderId"]) <= 1

        # the same shopper on both workers at once: the turns queue, the history keeps both, in order
        answers: list[dict] = []
        threads = [
            threading.Thread(target=lambda base=base, text=text: answers.append(chat(base, text)))
            for base, text in ((a, "hi"), (b, "what offers do I have?"))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 2
        history = requests.get(f"{a}/chat/state", headers=session_headers("U1003"), timeout=10).json()["history"]
        users = [h["text"] for h in history if h["role"] == "user"][-2:]
        assert sorted(users) == ["hi", "what offers do I have?"]
        roles = [h["role"] for h in history[-4:]]
        assert roles == ["user", "assistant", "user", "assistant"], history[-4:]

        # one agent dies under the runner: the chat keeps answering what does not need it, and it comes back
        import os
        import signal
        import time

        from test_smoke_run import _children, _master_pids

        seen = len(first.lines)
        victim = _master_pids(first)["inventory"]
        for pid in [victim, *_children(victim)]:
            os.kill(pid, signal.SIGKILL)
        first.wait_for("inventory exited with code", start=seen)
        offers = chat(b, "what offers do I have?")
        assert [(c["agent"], c["operation"], c["ok"]) for c in offers["toolCalls"]] == [
            ("loyalty", "getApplicableOffers", True)
        ] and "points" in offers["reply"], offers
        first.wait_for("started inventory (pid", start=seen)
        deadline = time.monotonic() + 120
        while "inventory" in requests.get(f"{a}/ready", timeout=30).json()["agentsDown"]:  # an event, not a sleep
            assert time.monotonic() < deadline
            time.sleep(0.2)
        stock = chat(a, "is the Alpine Puffer Jacket available in size M in Mumbai?")
        assert "checkInventory" in [c["operation"] for c in stock["toolCalls"]], stock
    finally:
        if second is not None:
            stop(second)
        stop(first)
