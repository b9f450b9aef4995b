"""SalesSession over the real agents with a scripted model: the confirmation gate, memory across restarts,
users and channels, no card number in memory or logs, and an agent that stops mid-conversation."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from sales_agent.cards import CardVault
from sales_agent.clients import Clients
from sales_agent.testing import ScriptedChatModel, call, last_tool_result, session_for_tests
from support import USE_POSTGRES, WiredSystem, fake_base_url, fresh_database_url, route_to_app

CARD_TEXT = "pay with my card 4242 4242 4242 4242 exp 12/28 cvv 123"
FULL_NUMBERS = ("4242424242424242", "4242 4242 4242 4242")


def add_first_result(messages):
    found = last_tool_result(messages, "search_products")
    product = found["products"][0]
    return [call("add_to_cart", product_id=product["productId"], size="M", color=product["colors"][0])]


def recall(messages):
    asked = [m.content for m in messages if m.type == "human"]
    return f"(scripted) you said {len(asked) - 1} things before; first: {asked[0]!r}"


def script():
    return ScriptedChatModel(
        rules=[
            (
                r"jacket",
                [
                    [call("search_products", query="winter jacket", max_price=6000)],
                    add_first_result,
                    "Added the first jacket.",
                ],
            ),
            (r"jeans", [[call("search_products", query="jeans")], "Here are jeans."]),
            (
                r"stock|available",
                [
                    [call("check_stock", product_id="P1001", size="M", color="Black", city="Mumbai")],
                    lambda m: f"(scripted) stock: {json.dumps(last_tool_result(m))[:200]}",
                ],
            ),
            (r"cart", [[call("view_cart")], "Here is your cart."]),
            (
                r"pay|checkout",
                [
                    [call("prepare_checkout", payment_method="card", card_ref="card_ending_4242")],
                    [call("place_order")],
                    lambda m: f"(scripted) order: {json.dumps(last_tool_result(m))}",
                ],
            ),
            (r"just place", [[call("place_order")], "(scripted) placed?"]),
            (r"remember", [recall]),
        ]
    )


def memory_url(tmp_path, tag=""):
    return fresh_database_url("salesmem", tmp_path, tag) if USE_POSTGRES else str(tmp_path / f"memory{tag}.db")


class World:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.wired = WiredSystem(tmp_path, tag="s")
        self.database_url = fresh_database_url("sales", tmp_path, "s")
        self.memory_url = memory_url(tmp_path)
        self.vault = CardVault()
        self.sessions = []

    def session(self, model=None, clients=None):
        s = session_for_tests(
            self.tmp,
            model or script(),
            database_url=self.database_url,
            memory_url=self.memory_url,
            vault=self.vault,
            clients=clients,
        )
        self.sessions.append(s)
        return s

    def stock(self):
        return (
            self.wired.client("inventory")
            .post("/check-inventory", json={"productId": "P1001", "attributes": {"size": "M", "color": "Black"}})
            .get_json()["onlineStockLevel"]
        )

    def orders(self, user="U1001"):
        return self.wired.client("fulfillment").post("/list-orders", json={"userId": user}).get_json()["orders"]

    def close(self):
        for s in self.sessions:
            s.close()
        self.wired.close()


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.close()


def test_checkout_waits_for_confirmation_and_approve_places_the_order(world):
    s = world.session()
    orders = len(world.orders())
    s.send("U1001", "show me winter jackets")
    turn = s.send("U1001", CARD_TEXT)
    pending = turn.pending_confirmation
    assert pending and pending["total"] == 3999.2 and pending["paymentMethod"] == "card ending 4242"
    assert pending["items"][0]["name"] == "Alpine Puffer Jacket" and "Confirm?" in turn.reply
    assert [c["operation"] for c in turn.tool_calls if c["tool"] == "prepare_checkout"][-1] == "initiateCheckout"
    assert len(world.orders()) == orders  # nothing placed before the shopper says yes

    # anything but yes/no is answered with a reminder, without running the model
    reminder = s.send("U1001", "what colours does it come in?")
    assert "waiting for your confirmation" in reminder.reply and reminder.tool_calls == []

    done = s.confirm("U1001", approve=True)
    assert done.pending_confirmation is None
    assert "ORD-" in done.reply and [c["operation"] for c in done.tool_calls][:2] == ["processPayment", "createOrder"]
    assert s.last_order("U1001")["orderId"] in done.reply
    assert s.cart("U1001")["lines"] == []
    assert len(world.orders()) == orders + 1
    assert s.confirm("U1001", approve=True).reply.startswith("There is no order waiting")


def test_saying_no_releases_the_hold_and_charges_nothing(world):
    s = world.session()
    stock = world.stock()
    s.send("U1001", "show me winter jackets")
    assert s.send("U1001", CARD_TEXT).pending_confirmation
    assert world.stock() == stock - 1
    turn = s.send("U1001", "no")
    assert turn.pending_confirmation is None
    assert world.stock() == stock and s.last_order("U1001") is None
    assert s.cart("U1001")["lines"], "the cart stays"
    assert any(c["tool"] == "place_order" and not c["ok"] for c in turn.tool_calls)


def test_typing_yes_confirms(world):
    s = world.session()
    s.send("U1001", "show me winter jackets")
    s.send("U1001", CARD_TEXT)
    turn = s.send("U1001", "Yes please!")
    assert turn.pending_confirmation is None and s.last_order("U1001") is not None


def test_place_order_without_a_checkout_is_refused_without_asking(world):
    s = world.session()
    turn = s.send("U1001", "just place it")
    assert turn.pending_confirmation is None and s.pending_confirmation("U1001") is None
    assert s.last_order("U1001") is None


def test_memory_survives_a_restart_and_is_shared_across_channels(world):
    first = world.session()
    first.send("U1001", "show me winter jackets", channel="terminal")
    cart = first.cart("U1001")
    first.close()
    world.sessions.remove(first)

    second = world.session()  # a new process: same databases
    assert second.cart("U1001") == cart and cart["itemCount"] == 1
    turn = second.send("U1001", "do you remember what I asked?", channel="whatsapp")
    assert "you said 1 things before" in turn.reply and "winter jackets" in turn.reply
    history = second.history("U1001")
    assert [h["role"] for h in history][:2] == ["user", "assistant"] and len(history) == 4


def test_users_do_not_share_memory_or_carts(world):
    s = world.session()
    s.send("U1001", "show me winter jackets")
    other = s.send("U1002", "do you remember what I asked?")
    assert "you said 0 things before" in other.reply
    assert s.cart("U1002")["lines"] == [] and s.cart("U1001")["itemCount"] == 1


def test_a_pending_confirmation_survives_a_restart(world):
    first = world.session()
    first.send("U1001", "show me winter jackets")
    first.send("U1001", CARD_TEXT)
    first.close()
    world.sessions.remove(first)
    second = world.session()
    assert second.pending_confirmation("U1001")["total"] == 3999.2
    done = second.send("U1001", "yes")
    assert "ORD-" in done.reply


def test_reset_forgets_the_conversation_and_releases_the_hold(world):
    s = world.session()
    stock = world.stock()
    s.send("U1001", "show me winter jackets")
    s.send("U1001", CARD_TEXT)
    s.reset("U1001")
    assert world.stock() == stock and s.pending_confirmation("U1001") is None
    assert s.history("U1001") == [] and s.cart("U1001")["lines"] == []


def _capture_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(), logging.getLogger("agents")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)

    def stop():
        for lg, level in saved:
            lg.removeHandler(handler)
            lg.setLevel(level)
        return stream.getvalue()

    return stop


def _memory_bytes(world) -> bytes:
    if USE_POSTGRES:
        import psycopg

        chunks = []
        with psycopg.connect(world.memory_url) as conn:
            for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
                for row in conn.execute(f"SELECT * FROM {table}"):
                    chunks.append(repr(row).encode())
        return b"\n".join(chunks)
    return b"".join(p.read_bytes() for p in Path(world.memory_url).parent.glob(Path(world.memory_url).name + "*"))


def test_no_full_card_number_in_memory_database_or_logs(world):
    stop = _capture_logs()
    try:
        s = world.session()
        s.send("U1001", "show me winter jackets")
        s.send("U1001", CARD_TEXT)
        done = s.send("U1001", "yes")
        assert "ORD-" in done.reply
    finally:
        logs = stop()
    memory = _memory_bytes(world)
    assert b"card ending 4242" in memory  # the conversation is there...
    for number in FULL_NUMBERS:  # ...the card number is not
        assert number.encode() not in memory
        assert number not in logs
    with s.store.db.read() as conn:
        dump = " ".join(
            str(tuple(r))
            for t in ("sales_checkouts", "sales_carts", "sales_last_orders")
            for r in conn.exec_driver_sql(f"SELECT * FROM {t}")
        )
    assert all(number not in dump for number in FULL_NUMBERS)
    assert "cvv 123" not in memory.decode("utf-8", "replace") and "cvv 123" not in logs


# -- an agent stops mid-conversation ------------------------------------------------------------
def _pattern(name):
    return re.compile(re.escape(fake_base_url(name)) + r"/.*")


def stop_agent(wired, name):
    def refuse(request):
        raise requests.ConnectionError(f"connection refused by {name} (stopped)")

    for method in ("POST", "GET"):
        wired.rsps.remove(method, _pattern(name))
    wired.rsps.add_callback("POST", _pattern(name), callback=refuse)


def start_agent(wired, name):
    for method in ("POST", "GET"):
        wired.rsps.remove(method, _pattern(name))
    route_to_app(wired.rsps, fake_base_url(name), wired.apps[name])


def test_agent_stopped_mid_conversation_then_back(world):
    s = world.session()
    first = s.send("U1001", "show me jeans")
    assert all(c["ok"] for c in first.tool_calls)

    stop_agent(world.wired, "recommendation")
    down = s.send("U1001", "show me jeans")
    assert down.reply and [c["ok"] for c in down.tool_calls] == [False]
    assert (
        s.graph.get_state({"configurable": {"thread_id": "U1001"}})
        .values["messages"][-2]
        .content.count("temporarily unavailable")
        == 1
    )
    stock = s.send("U1001", "is it available?")  # other agents still answer
    assert stock.tool_calls[0]["agent"] == "inventory" and stock.tool_calls[0]["ok"]

    start_agent(world.wired, "recommendation")
    back = s.send("U1001", "show me jeans")
    assert [c["ok"] for c in back.tool_calls] == [True] and back.reply == "Here are jeans."


class HungServer:
    """Accepts connections and never answers: an agent that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.conns = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        self.running = False
        for conn in self.conns:
            conn.close()
        self.sock.close()


def test_a_hung_agent_gives_a_graceful_answer_within_the_client_timeout(world):
    hung = HungServer()
    world.wired.rsps.add_passthru(hung.url)
    read_timeout, retries = 0.5, 1
    clients = Clients(base_urls={"inventory": hung.url}, read_timeout=read_timeout, retries=retries)
    try:
        s = world.session(clients=clients)
        started = time.monotonic()
        turn = s.send("U1001", "is it available?")
        elapsed = time.monotonic() - started
        assert turn.reply and turn.tool_calls[0]["ok"] is False
        result = json.loads(s.graph.get_state({"configurable": {"thread_id": "U1001"}}).values["messages"][-2].content)
        assert result["error"]["code"] == "timeout" and result["error"]["retryable"] is True
        # (1 + retries) attempts of read_timeout each, plus the backoff; generous slack for a slow machine
        assert elapsed < (1 + retries) * read_timeout + 0.2 + 10
        assert s.send("U1001", "show me jeans").tool_calls[0]["ok"]  # the rest still works
    finally:
        hung.close()


@pytest.mark.parametrize("cut_at", ["before-the-model-answered", "before-the-tool-answered"])
def test_a_turn_cut_short_is_closed_in_memory_before_the_next_turn(world, cut_at):
    """Ctrl-C or a crash mid-turn leaves the shopper's message unanswered, or a tool call without its result."""
    from langchain_core.messages import AIMessage, HumanMessage

    from sales_agent.session import INTERRUPTED_REPLY

    s = world.session()
    s.send("U1001", "show me some jeans")
    config = {"configurable": {"thread_id": "U1001"}}
    dangling = [HumanMessage("show me winter jackets")]
    if cut_at == "before-the-tool-answered":
        dangling.append(
            AIMessage("", tool_calls=[{"name": "view_cart", "args": {}, "id": "call_cut", "type": "tool_call"}])
        )
    s.graph.update_state(config, {"messages": dangling}, as_node="model")

    turn = s.send("U1001", "show me some jeans")
    assert "jeans" in turn.reply.lower()
    roles = [(t["role"], t["text"]) for t in s.history("U1001")]
    assert [r for r, _ in roles] == ["user", "assistant"] * 3
    assert roles[2:4] == [("user", "show me winter jackets"), ("assistant", INTERRUPTED_REPLY)]
    messages = s.graph.get_state(config).values["messages"]
    calls = {c["id"] for m in messages if getattr(m, "tool_calls", None) for c in m.tool_calls}
    answered = {m.tool_call_id for m in messages if m.type == "tool"}
    assert calls <= answered  # no tool call is left without its result
    assert s.repair("U1001") is False  # nothing left to close
