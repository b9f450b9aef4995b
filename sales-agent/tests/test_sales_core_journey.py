"""The scripted offline journey, end to end through SalesSession: the offline model, the real agent graph
with its confirmation gate, the real agents in process, and state checked after every step."""

from __future__ import annotations

import pytest

from sales_agent.cards import CardVault
from sales_agent.offline.model import OfflineChatModel
from sales_agent.testing import session_for_tests
from support import USE_POSTGRES, WiredSystem, fresh_database_url


@pytest.fixture
def journey(tmp_path):
    wired = WiredSystem(tmp_path, tag="j")
    memory = fresh_database_url("salesmem", tmp_path, "j") if USE_POSTGRES else str(tmp_path / "memory.db")
    database = fresh_database_url("sales", tmp_path, "j")
    vault = CardVault()
    sessions = []

    def open_session():
        s = session_for_tests(tmp_path, OfflineChatModel(), database_url=database, memory_url=memory, vault=vault)
        sessions.append(s)
        return s

    yield wired, open_session
    for s in sessions:
        s.close()
    wired.close()


def ops(turn):
    return [(c["agent"], c["operation"]) for c in turn.tool_calls]


def test_offline_journey_from_hello_to_a_tracked_order(journey):
    wired, open_session = journey

    def stock():
        return (
            wired.client("inventory")
            .post("/check-inventory", json={"productId": "P1001", "attributes": {"size": "M", "color": "Black"}})
            .get_json()["onlineStockLevel"]
        )

    def payments():
        return wired.client("payment").post("/list-payments", json={"userId": "U1001"}).get_json()["payments"]

    before_stock, before_payments = stock(), len(payments())
    s = open_session()

    hello = s.send("U1001", "hi")
    assert "offline mode" in hello.reply and "Priya" in hello.reply

    found = s.send("U1001", "show me winter jackets under 6000")
    assert ops(found) == [("recommendation", "searchProducts")]
    assert "Alpine Puffer Jacket" in found.reply and "₹4,999" in found.reply

    where = s.send("U1001", "is the first one available in size M in Mumbai?")
    assert ("inventory", "checkInventory") in ops(where) and "Phoenix Palladium" in where.reply

    added = s.send("U1001", "add it in black size M to my cart")
    assert ("recommendation", "getProduct") in ops(added) and added.cart["itemCount"] == 1
    assert added.cart["lines"][0]["sku"] == "P1001-BLACK-M"

    # the same shopper continues on WhatsApp after a restart: same cart, same conversation
    s.close()
    s = open_session()
    offers = s.send("U1001", "what offers do I have?", channel="whatsapp")
    assert ops(offers) == [("loyalty", "getApplicableOffers")] and "WINTER20" in offers.reply

    quote = s.send("U1001", "checkout with card 4242 4242 4242 4242 exp 12/28 cvv 123", channel="whatsapp")
    assert quote.pending_confirmation and quote.pending_confirmation["total"] == 3999.2
    assert "card ending 4242" in quote.reply and "4242 4242" not in quote.reply
    assert stock() == before_stock - 1 and len(payments()) == before_payments  # held, not charged

    placed = s.send("U1001", "yes", channel="whatsapp")
    order_id = s.last_order("U1001")["orderId"]
    assert order_id in placed.reply and placed.pending_confirmation is None
    assert ("payment", "processPayment") in ops(placed) and ("loyalty", "earnPoints") in ops(placed)
    assert stock() == before_stock - 1 and len(payments()) == before_payments + 1
    assert placed.cart["lines"] == []

    tracked = s.send("U1001", "where is my order?", channel="web")
    assert ops(tracked) == [("post-purchase", "getOrderStatus")] and order_id in tracked.reply


def test_offline_journey_decline_then_pay_by_upi(journey):
    wired, open_session = journey
    s = open_session()
    s.send("U1002", "show me winter jackets under 6000")
    s.send("U1002", "add the first one in black size M")
    s.send("U1002", "checkout with card 4111 1111 1111 1111 exp 12/28 cvv 123")
    declined = s.send("U1002", "yes")
    assert declined.pending_confirmation is None and s.last_order("U1002") is None
    assert any(c["operation"] == "processPayment" and not c["ok"] for c in declined.tool_calls)
    assert "insufficient" in declined.reply.lower() or "declined" in declined.reply.lower()
    assert declined.cart["itemCount"] == 1  # nothing lost
    retry = s.send("U1002", "checkout with upi arjun.mehta@okhdfcbank")
    assert retry.pending_confirmation and retry.pending_confirmation["paymentMethod"].startswith("UPI")
    placed = s.send("U1002", "yes")
    assert s.last_order("U1002")["orderId"] in placed.reply
