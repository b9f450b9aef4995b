"""The gift-wrap journey in the OFFLINE chat, end to end through SalesSession (offline model, the real agent graph
with its confirmation gate, the real agents in process): search, add, "it's a gift", choose the wrap with a note,
check out, confirm; the order's total includes the wrap and the gift-wrapping agent holds the wrap for that order."""

from __future__ import annotations

import pytest

from sales_agent.cards import CardVault
from sales_agent.offline.model import OfflineChatModel
from sales_agent.testing import session_for_tests
from support import USE_POSTGRES, WiredSystem, fresh_database_url

USER = "U1001"


@pytest.fixture
def chat(tmp_path):
    wired = WiredSystem(tmp_path, tag="gj")
    memory = fresh_database_url("salesmem", tmp_path, "gj") if USE_POSTGRES else str(tmp_path / "memory.db")
    session = session_for_tests(
        tmp_path,
        OfflineChatModel(),
        database_url=fresh_database_url("sales", tmp_path, "gj"),
        memory_url=memory,
        vault=CardVault(),
    )
    yield wired, session
    session.close()
    wired.close()


def ops(turn):
    return [(c["agent"], c["operation"]) for c in turn.tool_calls]


def tools(turn):
    return [c["tool"] for c in turn.tool_calls]


def test_offline_gift_wrap_journey(chat):
    wired, s = chat

    found = s.send(USER, "show me winter jackets under 6000")
    assert "Alpine Puffer Jacket" in found.reply

    added = s.send(USER, "add the first one in black size M to my cart")
    assert added.cart["lines"][0]["sku"] == "P1001-BLACK-M", added.reply
    items = added.cart["subtotal"]

    options = s.send(USER, "it's a gift for my sister")
    assert ops(options) == [("gift-wrapping", "checkGiftWrapping")], options.reply
    assert "Alpine Puffer Jacket" in options.reply
    for text in ("Standard wrap** — ₹49", "Premium gift box** — ₹149", "Festive wrap** — ₹199"):
        assert text in options.reply, options.reply
    assert "giftWrap" not in options.cart["lines"][0]

    wrapped = s.send(USER, "premium please with a note Happy birthday")
    assert tools(wrapped) == ["add_gift_wrap"], wrapped.reply
    assert "Premium gift box" in wrapped.reply and "₹149" in wrapped.reply and "Happy birthday" in wrapped.reply
    line = wrapped.cart["lines"][0]
    assert line["giftWrap"]["optionId"] == "premium" and line["giftWrap"]["message"] == "Happy birthday"
    assert wrapped.cart["giftWrapTotal"] == 149.0

    quote = s.send(USER, "checkout with card 4242 4242 4242 4242 exp 12/30 cvc 123")
    pending = quote.pending_confirmation
    assert pending, quote.reply
    checkout = s.store.pending_checkout(USER)["quote"]
    assert checkout["giftWrapTotal"] == 149.0
    assert pending["total"] == round(items - checkout["discount"] + checkout["deliveryFee"] + 149.0, 2)
    assert "premium gift box gift wrap" in pending["description"] and "₹149" in pending["description"]
    assert "₹149.00" not in pending["description"]  # agentkit.money: paise only when there are any
    assert "Happy birthday" in quote.reply and "4242 4242" not in quote.reply

    placed = s.send(USER, "yes")
    order_id = s.last_order(USER)["orderId"]
    assert order_id in placed.reply and "Premium gift box" in placed.reply
    assert ("gift-wrapping", "addGiftWrap") in ops(placed)

    order = wired.client("fulfillment").post("/get-order", json={"orderId": order_id}).get_json()
    assert order["total"] == pending["total"]
    assert order["total"] == round(order["subtotal"] - order["discount"] + checkout["deliveryFee"] + 149.0, 2)
    wraps = wired.client("gift-wrapping").post("/get-gift-wraps", json={"orderReference": order_id}).get_json()["wraps"]
    assert [(w["productId"], w["sku"], w["optionId"], w["price"], w["message"], w["status"]) for w in wraps] == [
        ("P1001", "P1001-BLACK-M", "premium", 149, "Happy birthday", "requested")
    ]


@pytest.mark.parametrize("phrase", ["can you gift wrap it", "it's a gift", "wrap it please, it's a present"])
def test_gift_phrases_show_the_options(chat, phrase):
    _, s = chat
    s.send(USER, "show me winter jackets under 6000")
    s.send(USER, "add the first one in black size M to my cart")
    reply = s.send(USER, phrase)
    assert tools(reply) == ["check_gift_wrapping"], reply.reply
    assert "₹149" in reply.reply


def test_wrap_in_one_go_then_remove_it(chat):
    _, s = chat
    s.send(USER, "show me winter jackets under 6000")
    s.send(USER, "add the first one in black size M to my cart")
    wrapped = s.send(USER, "wrap it in premium with a note 'Happy birthday Anu'")
    assert tools(wrapped) == ["add_gift_wrap"], wrapped.reply
    assert wrapped.cart["lines"][0]["giftWrap"]["message"] == "Happy birthday Anu"
    festive = s.send(USER, "make it the festive wrap instead")
    assert festive.cart["lines"][0]["giftWrap"]["optionId"] == "festive", festive.reply
    assert festive.cart["lines"][0]["giftWrap"]["message"] == "Happy birthday Anu"
    removed = s.send(USER, "actually, no gift wrap")
    assert tools(removed) == ["remove_gift_wrap"], removed.reply
    assert "giftWrap" not in removed.cart["lines"][0]
