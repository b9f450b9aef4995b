"""Issue 9's journey for a NEW shopper with an opaque id (web-7f3a2c: no profile, no address on file, no orders):
browse -> cart -> "ship it to <address>" -> pay -> track -> cancel (refunded, read back from the payment agent) ->
buy again -> return. Once with the offline model, once through the fake OpenAI-compatible server; the real agent
graph with its confirmation gate and the real agents in process, state read back from the agents after each step."""

from __future__ import annotations

import pytest

from sales_agent.cards import CardVault
from sales_agent.offline.model import OfflineChatModel
from sales_agent.testing import FakeOpenAIServer, session_for_tests
from support import WiredSystem, fresh_database_url

SHOPPER = "web-7f3a2c"
KOLKATA = "Flat 3, 14 Park Street, Kolkata 700016"
CARD = "card 4242 4242 4242 4242 exp 12/30 cvc 123"


@pytest.fixture
def shop(tmp_path):
    wired = WiredSystem(tmp_path, tag="nj")
    sessions = []

    def open_session(model):
        s = session_for_tests(
            tmp_path, model, database_url=fresh_database_url("sales", tmp_path, "nj"), vault=CardVault()
        )
        sessions.append(s)
        return s

    yield wired, open_session
    for s in sessions:
        s.close()
    wired.close()


def ops(turn) -> list[tuple[str, str]]:
    return [(c["agent"], c["operation"]) for c in turn.tool_calls]


class Agents:
    """The facts, read from the agents that own them."""

    def __init__(self, wired):
        self.wired = wired

    def orders(self) -> list[dict]:
        body = {"userId": SHOPPER, "limit": 50}
        return self.wired.client("fulfillment").post("/list-orders", json=body).get_json()["orders"]

    def order(self, order_id: str) -> dict:
        return self.wired.client("fulfillment").post("/get-order", json={"orderId": order_id}).get_json()

    def payment(self, payment_id: str) -> dict:
        return self.wired.client("payment").post("/check-payment-status", json={"paymentId": payment_id}).get_json()

    def deliver(self, order_id: str) -> None:
        operator = self.wired.apps["fulfillment"].test_client(caller="operator")
        for status in ("packed", "in_transit", "delivered"):
            moved = operator.post("/update-order-status", json={"orderId": order_id, "status": status})
            assert moved.status_code == 200, moved.get_json()


def test_a_new_shopper_buys_with_a_typed_address_cancels_is_refunded_buys_again_and_returns(shop):
    wired, open_session = shop
    agents = Agents(wired)
    s = open_session(OfflineChatModel())
    assert wired.client("recommendation").post("/get-shopper-profile", json={"userId": SHOPPER}).status_code == 404

    found = s.send(SHOPPER, "show me winter jackets under 6000", channel="web")
    assert ops(found) == [("recommendation", "searchProducts")] and "Alpine Puffer Jacket" in found.reply
    added = s.send(SHOPPER, "add the first one in M black", channel="web")
    assert added.cart["itemCount"] == 1 and added.cart["lines"][0]["sku"] == "P1001-BLACK-M"

    where = s.send(SHOPPER, f"ship it to {KOLKATA}", channel="web")
    assert ("recommendation", "searchProducts") not in ops(where)  # "Park Street" is an address, not a parka
    assert KOLKATA in where.reply and where.pending_confirmation is None  # no card yet: it asks how to pay

    quote = s.send(SHOPPER, CARD, channel="web")
    assert quote.pending_confirmation, quote.reply
    assert KOLKATA in quote.pending_confirmation["description"]  # the confirmation says where it goes
    assert agents.orders() == []  # held, not ordered

    placed = s.send(SHOPPER, "yes", channel="web")
    (first,) = agents.orders()
    assert first["orderId"] in placed.reply and first["shippingAddress"]["city"] == "Kolkata"
    assert (
        first["shippingAddress"]["postalCode"] == "700016"
        and first["shippingAddress"]["line1"] == "Flat 3, 14 Park Street"
    )
    assert agents.payment(first["paymentId"])["status"] == "succeeded"

    tracked = s.send(SHOPPER, "where is my order?", channel="web")
    assert ("post-purchase", "getOrderStatus") in ops(tracked) and first["orderId"] in tracked.reply

    history = s.send(SHOPPER, "list all my orders", channel="web")
    assert ops(history) == [("fulfillment", "listOrders")] and first["orderId"] in history.reply

    asked = s.send(SHOPPER, f"cancel my order {first['orderId']}", channel="web")
    assert ("fulfillment", "cancelOrder") not in ops(asked) and "refunded" in asked.reply and "(yes/no)" in asked.reply
    assert agents.order(first["orderId"])["status"] == "confirmed"  # nothing changes before the shopper's yes
    cancelled = s.send(SHOPPER, "yes", channel="web")
    assert ("fulfillment", "cancelOrder") in ops(cancelled) and "is cancelled" in cancelled.reply
    assert agents.order(first["orderId"])["status"] == "cancelled"
    refund = agents.payment(first["paymentId"])
    assert refund["status"] == "refunded" and refund["refundedAmount"] == first["total"]
    assert "₹4,999" in cancelled.reply

    # buy again: the address the shopper gave is what this checkout uses too
    s.send(SHOPPER, "show me winter jackets under 6000", channel="web")
    s.send(SHOPPER, "add the first one in M black", channel="web")
    again = s.send(SHOPPER, f"checkout with card ending 4242, ship it to {KOLKATA}", channel="web")
    assert again.pending_confirmation and KOLKATA in again.pending_confirmation["description"]
    s.send(SHOPPER, "yes", channel="web")
    second = next(o for o in agents.orders() if o["orderId"] != first["orderId"])
    assert second["status"] == "confirmed" and second["shippingAddress"]["city"] == "Kolkata"

    agents.deliver(second["orderId"])
    returned = s.send(SHOPPER, "I want to return it, it's too big", channel="web")
    assert ("post-purchase", "initiateReturn") in ops(returned), returned.reply
    status = (
        wired.client("post-purchase")
        .post("/get-order-status", json={"orderId": second["orderId"], "userId": SHOPPER})
        .get_json()
    )
    assert [r["status"] for r in status["returns"]] and status["returns"][0]["refundAmount"] == second["total"]


def test_the_same_journey_through_an_openai_compatible_model(shop, tmp_path, monkeypatch):
    wired, open_session = shop
    agents = Agents(wired)
    jacket = {"product_id": "P1001", "size": "M", "color": "Black"}
    replies = [
        {"tool_calls": [("search_products", {"query": "winter jacket", "max_price": 6000})]},
        {"content": "The Alpine Puffer Jacket is ₹4,999."},
        {"tool_calls": [("add_to_cart", jacket)]},
        {"content": "Added."},
        {"tool_calls": [("prepare_checkout", {"card_ref": "card_ending_4242", "address": KOLKATA})]},
        {"tool_calls": [("place_order", {})]},
        {"content": "Your order is placed."},
        {"tool_calls": [("order_status", {})]},
        {"content": "It is confirmed."},
        {"tool_calls": [("cancel_order", {"confirm": True})]},  # a model that jumps ahead gets the preview
        {"content": "Cancelling refunds ₹4,999 to your card. Shall I?"},
        {"tool_calls": [("cancel_order", {"confirm": True})]},
        {"content": "Cancelled and refunded."},
        {"tool_calls": [("add_to_cart", jacket)]},
        {"content": "Added again."},
        {"tool_calls": [("prepare_checkout", {"card_ref": "card_ending_4242", "address": KOLKATA})]},
        {"tool_calls": [("place_order", {})]},
        {"content": "Placed again."},
        {"tool_calls": [("return_item", {"reason": "wrong_size"})]},
        {"content": "Your return is booked."},
    ]
    with FakeOpenAIServer(replies) as server:
        monkeypatch.setenv("SALES_AGENT_MODEL", "openai:test-model")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        s = open_session(None)
        s.send(SHOPPER, "show me winter jackets under 6000", channel="web")
        assert s.send(SHOPPER, "add the black Alpine Puffer in M", channel="web").cart["itemCount"] == 1
        quote = s.send(SHOPPER, f"ship it to {KOLKATA}, pay with {CARD}", channel="web")
        assert quote.pending_confirmation and KOLKATA in quote.pending_confirmation["description"]
        s.confirm(SHOPPER, approve=True, channel="web")
        (first,) = agents.orders()
        assert first["shippingAddress"]["city"] == "Kolkata" and first["shippingAddress"]["postalCode"] == "700016"

        tracked = s.send(SHOPPER, "where is my order?", channel="web")
        assert ("post-purchase", "getOrderStatus") in ops(tracked)

        s.send(SHOPPER, "cancel my order", channel="web")
        assert agents.order(first["orderId"])["status"] == "confirmed"  # confirm=true before any yes: a preview
        preview = [m for m in server.requests[10]["messages"] if m["role"] == "tool"][-1]
        assert '"confirmationNeeded":true' in preview["content"]
        cancelled = s.send(SHOPPER, "yes, cancel it", channel="web")
        assert ("fulfillment", "cancelOrder") in ops(cancelled)
        assert agents.order(first["orderId"])["status"] == "cancelled"
        refund = agents.payment(first["paymentId"])
        assert refund["status"] == "refunded" and refund["refundedAmount"] == first["total"]

        s.send(SHOPPER, "add the black Alpine Puffer in M again", channel="web")
        again = s.send(SHOPPER, f"checkout, ship it to {KOLKATA}", channel="web")
        assert again.pending_confirmation
        s.confirm(SHOPPER, approve=True, channel="web")
        second = next(o for o in agents.orders() if o["orderId"] != first["orderId"])
        agents.deliver(second["orderId"])
        returned = s.send(SHOPPER, "I want to return it, it's too big", channel="web")
        assert ("post-purchase", "initiateReturn") in ops(returned)
    status = (
        wired.client("post-purchase")
        .post("/get-order-status", json={"orderId": second["orderId"], "userId": SHOPPER})
        .get_json()
    )
    assert status["returns"] and status["returns"][0]["refundAmount"] == second["total"]
    assert server.replies == []  # every scripted answer was asked for
    assert {r["model"] for r in server.requests} == {"test-model"}  # the turns went to the OpenAI-compatible server
