"""Idempotency-Keys the sales service sends (issue 14): one per shopper and intended action, the same for every
retry of that action, never the model's tool-call id.

The offline model numbers its tool calls by their place in the conversation, so two shoppers at the same point
of the same conversation (or one shopper after a reset) get the same tool-call ids; some servers give every
call the id ``call_0``. Each test runs real agents in process and reads what happened back from them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain.tools import ToolRuntime
from langchain_core.messages import AIMessage, ToolMessage

from sales_agent import idempotency
from sales_agent.bootstrap import build_session
from sales_agent.cards import CardVault
from sales_agent.clients import Clients
from sales_agent.context import SalesContext
from sales_agent.offline.model import OfflineChatModel
from sales_agent.session import SalesSession
from sales_agent.settings import Settings
from sales_agent.testing import FakeOpenAIServer, session_for_tests
from support import WiredSystem, fresh_database_url

JACKET, MUFFLER = "P1001-BLACK-M", "P1045-GREY-ONESIZE"
BUY = [
    "add the alpine puffer jacket in M black",
    "add the snowfall ribbed muffler in grey",
    "checkout with card 4242 4242 4242 4242 exp 12/28 cvv 123",
    "yes",
]
AFTER_SALE = [
    "I want to exchange the jacket for L",
    "return the muffler, it arrived damaged",
    "is the alpine puffer jacket in stock in M black in Mumbai?",
    "reserve it for me",
]


class CallZeroModel(OfflineChatModel):
    """The offline model, except that every tool call it makes has the id ``call_0``."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        result = super()._generate(messages, stop, run_manager, **kwargs)
        for generation in result.generations:
            for call in getattr(generation.message, "tool_calls", None) or []:
                call["id"] = "call_0"
        return result


MODELS = {"offline": OfflineChatModel, "offline-call_0": CallZeroModel}


class Crash(BaseException):
    """The process dies (nothing catches it)."""


class RecordingClients(Clients):
    """Real clients that remember each write's Idempotency-Key, and can die right after an agent acted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.keys: list[tuple[str, str | None]] = []
        self.crash_after: str | None = None

    def call(self, agent, operation, body, *, idempotency_key=None):
        self.keys.append((operation, idempotency_key))
        result = super().call(agent, operation, body, idempotency_key=idempotency_key)
        if operation == self.crash_after:
            self.crash_after = None
            raise Crash()  # the agent acted; its answer never reached the checkpoint
        return result

    def sent(self, operation):
        return [key for op, key in self.keys if op == operation]


class Shop:
    def __init__(self, wired: WiredSystem):
        self.wired = wired
        self.payments_before = {u: len(self.payments(u)) for u in ("U1002", "U1003")}
        self.store_stock_before = self.mumbai_store_stock()

    def post(self, agent: str, path: str, body: dict[str, Any], caller: str | None = None) -> dict[str, Any]:
        client = self.wired.client(agent)
        client = client.as_caller(caller) if caller else client
        response = client.post(path, json=body)
        assert response.status_code < 300, response.get_json()
        return response.get_json()

    def payments(self, user_id: str) -> list[dict]:
        return self.post("payment", "/list-payments", {"userId": user_id})["payments"]

    def deliver(self, order_id: str) -> None:
        for status in ("packed", "in_transit", "delivered"):
            self.post("fulfillment", "/update-order-status", {"orderId": order_id, "status": status}, "operator")

    def order(self, user_id: str, order_id: str) -> dict[str, Any]:
        return self.post("post-purchase", "/get-order-status", {"orderId": order_id, "userId": user_id})

    def reservations(self, user_id: str) -> list[dict]:
        return self.post("fulfillment", "/list-reservations", {"userId": user_id})["reservations"]

    def mumbai_store_stock(self) -> int:
        report = self.post(
            "inventory",
            "/check-inventory",
            {
                "productId": "P1001",
                "attributes": {"size": "M", "color": "Black"},
                "locationContext": {"city": "Mumbai"},
            },
        )
        return sum(s["stockLevel"] for s in report["availableStores"] if s["city"] == "Mumbai")

    def assert_after_sale_once(self, user_id: str, order_id: str) -> None:
        """The order's return, exchange and the shopper's reservations, each taking effect exactly once."""
        order = self.order(user_id, order_id)
        assert [[i["sku"] for i in r["items"]] for r in order.get("returns", [])] == [[MUFFLER]], order
        assert [(x["fromSku"], x["toSku"]) for x in order.get("exchanges", [])] == [(JACKET, "P1001-BLACK-L")]


def buy_and_use(session: SalesSession, shop: Shop, user_id: str, after_sale: list[str] = AFTER_SALE) -> str:
    """The shared conversation: buy a jacket and a muffler, then (delivered) exchange, return and reserve."""
    for text in BUY:
        turn = session.send(user_id, text)
    order_id = session.last_order(user_id)["orderId"]
    assert order_id in turn.reply
    shop.deliver(order_id)
    replies = [session.send(user_id, text).reply for text in after_sale]
    assert not any("Idempotency-Key" in r for r in replies), replies
    return order_id


def tool_call_ids(session: SalesSession, user_id: str) -> list[str]:
    return [c["id"] for m in session._messages(user_id) if isinstance(m, AIMessage) for c in m.tool_calls]


@pytest.fixture
def wired(tmp_path):
    w = WiredSystem(tmp_path, tag="ik")
    yield w
    w.close()


@pytest.fixture
def make_session(tmp_path):
    sessions: list[SalesSession] = []

    def make(model, clients=None):
        session = session_for_tests(
            tmp_path, model, database_url=fresh_database_url("sales", tmp_path, "ik"), clients=clients
        )
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()


# --- the offline model -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", sorted(MODELS))
def test_two_shoppers_in_identical_conversations_each_return_exchange_and_reserve(wired, make_session, model):
    shop = Shop(wired)
    session = make_session(MODELS[model]())
    orders = {user_id: buy_and_use(session, shop, user_id) for user_id in ("U1002", "U1003")}
    assert tool_call_ids(session, "U1002") == tool_call_ids(session, "U1003")  # the model's ids collide
    for user_id, order_id in orders.items():
        shop.assert_after_sale_once(user_id, order_id)
        assert [(r["sku"], r["status"]) for r in shop.reservations(user_id)] == [(JACKET, "active")]
        assert len(shop.payments(user_id)) == shop.payments_before[user_id] + 1
    assert shop.mumbai_store_stock() == shop.store_stock_before - 2


@pytest.mark.parametrize("model", sorted(MODELS))
def test_one_shopper_after_a_reset_returns_exchanges_and_reserves_again(wired, make_session, model):
    shop = Shop(wired)
    session = make_session(MODELS[model]())
    first = buy_and_use(session, shop, "U1002")
    ids = tool_call_ids(session, "U1002")
    session.reset("U1002")
    second = buy_and_use(session, shop, "U1002")
    assert tool_call_ids(session, "U1002") == ids and first != second
    for order_id in (first, second):
        shop.assert_after_sale_once("U1002", order_id)
    assert [r["status"] for r in shop.reservations("U1002")] == ["active", "active"]
    assert len(shop.payments("U1002")) == shop.payments_before["U1002"] + 2
    assert shop.mumbai_store_stock() == shop.store_stock_before - 2


# --- a tool call delivered twice -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation,text",
    [
        ("initiateExchange", AFTER_SALE[0]),
        ("initiateReturn", AFTER_SALE[1]),
        ("reserveInStore", AFTER_SALE[3]),
    ],
)
def test_a_tool_call_delivered_again_takes_effect_once(wired, make_session, operation, text):
    shop = Shop(wired)
    clients = RecordingClients()
    session = make_session(CallZeroModel(), clients=clients)
    for line in BUY:
        session.send("U1002", line)
    order_id = session.last_order("U1002")["orderId"]
    shop.deliver(order_id)
    for line in AFTER_SALE[: AFTER_SALE.index(text)]:
        session.send("U1002", line)

    clients.crash_after = operation
    with pytest.raises(Crash):  # the agent acted, then the process died before the tool's answer was saved
        session.send("U1002", text)
    assert session.graph.get_state(session._config("U1002")).next == ("tools",)
    # LangGraph delivers the same tool call of the same model answer again
    state = session.graph.invoke(None, session._config("U1002"), context=session._context("U1002", "terminal"))

    first, again = clients.sent(operation)
    assert first == again and first.startswith("sales-") and "call_0" not in first
    result = json.loads(next(m for m in reversed(state["messages"]) if isinstance(m, ToolMessage)).content)
    assert "error" not in result, result
    order = shop.order("U1002", order_id)
    if operation == "initiateExchange":
        assert [x["exchangeId"] for x in order.get("exchanges", [])] == [result["exchangeId"]]
    elif operation == "initiateReturn":
        assert [r["returnId"] for r in order.get("returns", [])] == [result["returnId"]]
    else:
        assert [r["reservationId"] for r in shop.reservations("U1002")] == [result["reservationId"]]
        assert shop.mumbai_store_stock() == shop.store_stock_before - 1


# --- through langchain-openai and a fake OpenAI-compatible server -------------------------------------


def openai_replies() -> list[dict[str, Any]]:
    """One shopper's conversation, as the model's answers: two answers in one turn, then two calls in one answer."""
    return [
        {"tool_calls": [("add_to_cart", {"product_id": "P1001", "size": "M", "color": "Black"})]},
        {"tool_calls": [("add_to_cart", {"product_id": "P1045", "size": "One Size", "color": "Grey"})]},
        {"content": "Added both."},
        {"tool_calls": [("prepare_checkout", {"payment_method": "card", "card_ref": "card_ending_4242"})]},
        {"tool_calls": [("place_order", {})]},
        {"content": "Your order is placed."},
        {
            "tool_calls": [
                ("exchange_item", {"sku": JACKET, "new_size": "L", "reason": "wrong_size"}),
                ("return_item", {"sku": MUFFLER, "reason": "damaged"}),
            ]
        },
        {"content": "The exchange and the return are set up."},
        {
            "tool_calls": [
                ("reserve_in_store", {"product_id": "P1001", "size": "M", "color": "Black", "city": "Mumbai"})
            ]
        },
        {"content": "Reserved."},
    ]


def openai_conversation(session: SalesSession, shop: Shop, user_id: str) -> str:
    assert session.send(user_id, "add the black Alpine Puffer in M and the grey muffler").cart["itemCount"] == 2
    turn = session.send(user_id, "buy them with 4242 4242 4242 4242 exp 12/28 cvc 123")
    assert turn.pending_confirmation, turn.reply
    assert session.confirm(user_id, approve=True).reply == "Your order is placed."
    order_id = session.last_order(user_id)["orderId"]
    shop.deliver(order_id)
    turn = session.send(user_id, "exchange the jacket for L, and return the muffler, it arrived damaged")
    assert [c["ok"] for c in turn.tool_calls] == [True, True], turn.tool_calls
    turn = session.send(user_id, "put the jacket aside for me in Mumbai")
    assert [c["operation"] for c in turn.tool_calls if c["ok"]][-1] == "reserveInStore", turn.tool_calls
    return order_id


@pytest.mark.parametrize("tool_call_id", [None, "call_0"])
def test_through_an_openai_server_every_action_of_every_shopper_takes_effect_once(
    tmp_path, wired, monkeypatch, tool_call_id
):
    shop = Shop(wired)
    with FakeOpenAIServer(openai_replies() * 3, tool_call_id=tool_call_id) as server:
        monkeypatch.setenv("SALES_AGENT_MODEL", "openai:test-model")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        settings = Settings(
            database_url=fresh_database_url("sales", tmp_path, "ikoa"), memory_url=str(tmp_path / "memory.db")
        )
        session = build_session(settings, vault=CardVault())
        try:
            first = openai_conversation(session, shop, "U1002")
            other = openai_conversation(session, shop, "U1003")
            session.reset("U1002")
            second = openai_conversation(session, shop, "U1002")
        finally:
            session.close()
    for user_id, order_id in (("U1002", first), ("U1003", other), ("U1002", second)):
        shop.assert_after_sale_once(user_id, order_id)
    assert len(shop.reservations("U1002")) == 2 and len(shop.reservations("U1003")) == 1
    assert len(shop.payments("U1002")) == shop.payments_before["U1002"] + 2
    assert len(shop.payments("U1003")) == shop.payments_before["U1003"] + 1
    assert shop.mumbai_store_stock() == shop.store_stock_before - 3


# --- the keys themselves --------------------------------------------------------------------------------


def runtime_for(user_id: str, thread: str, messages: list, call_id: str = "call_0") -> ToolRuntime:
    return ToolRuntime(
        state={"messages": messages},
        context=SalesContext(user_id, "test"),
        config={"configurable": {"thread_id": thread}},
        stream_writer=lambda _chunk: None,
        tool_call_id=call_id,
        store=None,
    )


def answer(*calls: dict[str, Any]) -> AIMessage:
    message = AIMessage(content="", tool_calls=[{"id": "call_0", "type": "tool_call", **c} for c in calls])
    return idempotency.stamp_answer(message)


def test_a_tool_call_key_names_the_shopper_the_answer_and_the_call_never_the_model_id_alone():
    args = {"order_id": None, "reason": "damaged", "sku": MUFFLER}
    one = answer({"name": "return_item", "args": args})

    def key(user_id="U1002", thread="U1002", messages=(one,), **changed):
        runtime = runtime_for(user_id, thread, list(messages))
        return idempotency.tool_call_key(runtime, user_id, "return_item", {**args, **changed})

    same = key()
    assert key() == same  # delivered again: the same action
    assert len(same) <= 255 and "call_0" not in same and "U1002" not in same
    later = answer({"name": "return_item", "args": args})  # the same call id and arguments in a later answer
    assert len({same, key(messages=(one, later)), key("U1003", "U1003"), key(thread="U1002-b"), key(sku=JACKET)}) == 5
    # outside the sales graph (no stamped answer holds the call) nothing tells a repeat from a new action
    unstamped = AIMessage(
        content="", id="chatcmpl-0", tool_calls=[{"id": "call_0", "name": "return_item", "args": args}]
    )
    assert key(messages=(unstamped,)) != key(messages=(unstamped,))
    assert key(messages=()) != key(messages=())


def test_checkout_keys_are_per_shopper_checkout_and_step():
    keys = {
        idempotency.checkout_key(user, checkout, step)
        for user in ("U1002", "U1003")
        for checkout in ("CO-1", "CO-2")
        for step in ("processPayment", "createOrder", "addGiftWrap:P1001", "addGiftWrap:P1045", "earnPoints")
    }
    assert len(keys) == 20
    assert idempotency.checkout_key("U1002", "CO-1", "processPayment") == idempotency.checkout_key(
        "U1002", "CO-1", "processPayment"
    )


def test_no_tool_makes_its_own_key():
    """Every Idempotency-Key in the sales code comes from idempotency.py (through ``action_key`` for tool calls,
    ``Placement.step_key`` for checkout steps) or is passed on unchanged: none is built from a tool-call id or a
    string."""
    import ast
    from pathlib import Path

    import sales_agent

    allowed = {"action_key", "step_key"}
    found = []
    for path in sorted(Path(sales_agent.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            for kw in getattr(node, "keywords", []) if isinstance(node, ast.Call) else []:
                if kw.arg != "idempotency_key":
                    continue
                value = kw.value
                name = (
                    value.func.attr if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) else None
                )
                name = value.func.id if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) else name
                passed_on = isinstance(value, ast.Name) and value.id == "idempotency_key"
                found.append((path.name, name or ("passed on" if passed_on else ast.unparse(value))))
    assert found and all(what in allowed or what == "passed on" for _, what in found), found
    assert {f for f, what in found if what in allowed} == {
        "fulfillment.py",
        "gift_wrapping.py",  # wrap_placed_order
        "post_purchase.py",
        "placement.py",
        "undo.py",
    }
