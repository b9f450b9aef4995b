"""The shop rigs the checkout suites share: the real sales checkout over every agent in process, or over fakes.

- ``WiredShop``: every agent as a Flask app in process (``support.WiredSystem``), a real ``CheckoutWorkflow``
  on a fresh sales database, and reads of the agents' own records.
- ``FakeShop``: the sales tools and checkout over contract-checked fakes (``responses``), for one tool's
  behaviour when an agent answers, refuses, times out or is down.
- ``BreakableClients``: real contract clients that remember every call and can break chosen operations.
- ``chat_app``: the chat API (its Flask app and sales session) over every agent in process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import responses

from agentkit import AgentCallError
from agentkit.registry import agents
from sales_agent.cards import CardVault
from sales_agent.checkout import CheckoutWorkflow
from sales_agent.clients import Clients
from sales_agent.entrypoints.app import create_app
from sales_agent.store import SalesStore
from sales_agent.testing import FakeAgents, invoke_tool, session_for_tests
from sales_agent.tools import SalesTools
from support import WiredSystem, fresh_database_url

USER = "U1001"  # Priya Sharma: gold, Mumbai, points to spend
JACKET = {  # the Alpine Puffer Jacket, M, Black, as a cart line
    "productId": "P1001",
    "sku": "P1001-BLACK-M",
    "name": "Alpine Puffer Jacket",
    "category": "jackets",
    "size": "M",
    "color": "Black",
    "quantity": 1,
    "unitPrice": 4999.0,
}


class BreakableClients(Clients):
    """Real clients that log every call (with its Idempotency-Key). An operation in ``broken`` fails as if its
    agent went down; one in ``answer_lost`` goes through, then times out on the way back."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.log: list[tuple[str, str, dict, str | None]] = []
        self.broken: set[tuple[str, str]] = set()
        self.answer_lost: set[tuple[str, str]] = set()

    def call(self, agent, operation, body, *, idempotency_key=None):
        self.log.append((agent, operation, body, idempotency_key))
        if (agent, operation) in self.broken:
            raise AgentCallError(agent, operation, None, "unavailable", f"The {agent} agent is not reachable.")
        result = super().call(agent, operation, body, idempotency_key=idempotency_key)
        if (agent, operation) in self.answer_lost:
            raise AgentCallError(agent, operation, None, "timeout", f"The {agent} agent timed out.")
        return result

    def made(self, agent: str, operation: str) -> list[tuple[dict, str | None]]:
        return [(body, key) for a, o, body, key in self.log if (a, o) == (agent, operation)]


class WiredShop:
    """Every agent in process behind a real checkout workflow on a fresh sales database."""

    def __init__(self, tmp_path: Path, tag: str, clients: Clients | None = None):
        self.wired = WiredSystem(tmp_path, tag=tag)
        self.store = SalesStore(fresh_database_url("sales", tmp_path, tag))
        self.vault = CardVault()
        self.clients = clients or Clients(retries=0)
        self.workflow = CheckoutWorkflow(self.clients, self.store, self.vault)

    def response(self, agent: str, path: str, body: dict, caller: str | None = None, headers: dict | None = None):
        """An agent's answer as it came (any status but a 500)."""
        client = self.wired.client(agent)
        reply = (client.as_caller(caller) if caller else client).post(path, json=body, headers=headers or {})
        assert reply.status_code < 500, (path, reply.get_json())
        return reply

    def post(
        self,
        agent: str,
        path: str,
        body: dict,
        caller: str | None = None,
        headers: dict | None = None,
        expect_ok: bool = False,
    ):
        """An agent's JSON answer (a refusal too, unless ``expect_ok``)."""
        reply = self.response(agent, path, body, caller, headers)
        assert not expect_ok or reply.status_code < 300, (path, reply.get_json())
        return reply.get_json()

    def order(self, order_id: str) -> dict:
        return self.post("fulfillment", "/get-order", {"orderId": order_id}, expect_ok=True)

    def payment(self, payment_id: str) -> dict:
        return self.post("payment", "/check-payment-status", {"paymentId": payment_id}, expect_ok=True)

    def stock(self, product_id: str = "P1001", size: str = "M", color: str = "Black") -> int:
        body = {"productId": product_id, "attributes": {"size": size, "color": color}}
        return self.post("inventory", "/check-inventory", body, expect_ok=True)["onlineStockLevel"]

    def place(self, user: str = USER, **prepare: Any) -> dict:
        """Prepare and place the checkout of ``user``'s cart; both must succeed."""
        quote = self.workflow.prepare(user, **prepare)
        assert "error" not in quote, quote
        placed = self.workflow.place(user, quote["checkoutId"])
        assert "error" not in placed, placed
        return placed

    def close(self) -> None:
        self.store.dispose()
        self.wired.close()


class FakeShop:
    """The sales tools over fakes of every agent, answering from their contracts' examples."""

    def __init__(self, tmp_path: Path, tag: str):
        self.rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.rsps.start()
        base_urls = {name: f"http://{name}.fake.test" for name in agents()}
        self.fake = FakeAgents(self.rsps, base_urls)
        self.store = SalesStore(fresh_database_url("sales", tmp_path, tag))
        self.vault = CardVault()
        self.clients = Clients(base_urls=base_urls, retries=1)
        self.workflow = CheckoutWorkflow(self.clients, self.store, self.vault)
        self.service = SalesTools(self.clients, self.store, self.workflow, self.vault)

    def run(self, name: str, **args: Any):
        return invoke_tool(self.service, name, USER, **args)

    def close(self) -> None:
        self.rsps.stop()
        self.rsps.reset()
        self.store.dispose()


@contextlib.contextmanager
def chat_app(tmp: Path, tag: str, model: Any = None, config: dict | None = None, **session: Any) -> Iterator[tuple]:
    """(the chat API's Flask app, its SalesSession) with ``model`` (None: the offline model), on fresh databases,
    every agent in process."""
    wired = WiredSystem(tmp, tag=tag)
    sales = session_for_tests(
        tmp, model, database_url=fresh_database_url("sales", tmp, tag), vault=CardVault(), **session
    )
    app = create_app(sales, config=config)
    app.testing = True
    try:
        yield app, sales
    finally:
        sales.close()
        wired.close()
