"""The chat tools for what a shopper asks after buying (issue 9), each against the real agents in process: the
requests they send, what they answer, and the state read back from the agents that own it."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from sales_agent.cards import CardVault
from sales_agent.offline.model import OfflineChatModel
from sales_agent.testing import invoke_tool, session_for_tests
from sales_agent.tools import TOOL_NAMES, TOOL_OPERATIONS
from support import WiredSystem, fresh_database_url

NEW = "web-7f3a2c"  # a new shopper: no profile, no orders, an opaque id
KOLKATA = "Flat 3, 14 Park Street, Kolkata 700016"


@pytest.fixture
def shop(tmp_path):
    wired = WiredSystem(tmp_path, tag="ct")
    session = session_for_tests(
        tmp_path, OfflineChatModel(), database_url=fresh_database_url("sales", tmp_path, "ct"), vault=CardVault()
    )
    yield wired, session
    session.close()
    wired.close()


def run(session, tool: str, user: str = "U1001", **args):
    result, calls = invoke_tool(session.service, tool, user, **args)
    return result, [(c["agent"], c["operation"]) for c in calls]


def buy(session, user: str, address: str | None = KOLKATA, product: str = "P1001") -> dict:
    """A real order through the tools and the checkout workflow: the cart, a typed card, prepare and place."""
    added, _ = run(session, "add_to_cart", user, product_id=product, size="M", color="Black")
    assert "error" not in added, added
    session.service.vault.redact(user, "card 4242 4242 4242 4242 exp 12/30 cvc 123")
    quote, _ = run(session, "prepare_checkout", user, card_ref="card_ending_4242", address=address)
    assert "error" not in quote, quote
    placed = session.service.workflow.place(user, quote["checkoutId"])
    assert placed.get("orderId"), placed
    return placed


def test_every_new_tool_is_declared_with_the_operations_it_calls():
    new = {
        "list_orders",
        "cancel_order",
        "cancel_reservation",
        "change_order_address",
        "wrap_placed_order",
        "delivery_options",
        "find_stores",
        "get_policy",
        "contact_human",
        "save_address",
        "list_addresses",
    }
    assert new <= set(TOOL_NAMES)
    assert ("fulfillment", "updateOrderAddress") in TOOL_OPERATIONS["change_order_address"]
    assert ("post-purchase", "createSupportTicket") in TOOL_OPERATIONS["contact_human"]
    assert ("fulfillment", "listAddresses") in TOOL_OPERATIONS["prepare_checkout"]


def test_list_orders_pages_with_the_cursor_and_says_when_there_are_more(shop):
    wired, session = shop
    for _ in range(6):
        buy(session, "U1003", address="12 Anna Salai, Chennai 600002")
    first, calls = run(session, "list_orders", "U1003")
    assert calls == [("fulfillment", "listOrders")]
    assert len(first["orders"]) == 5 and first["more"] is True and first["nextCursor"]
    rest, _ = run(session, "list_orders", "U1003", cursor=first["nextCursor"])
    seen = [o["orderId"] for o in first["orders"] + rest["orders"]]
    everything = wired.client("fulfillment").post("/list-orders", json={"userId": "U1003", "limit": 100}).get_json()
    assert sorted(seen) == sorted(o["orderId"] for o in everything["orders"]) and len(set(seen)) == len(seen)
    assert rest["more"] is False and rest["nextCursor"] is None
    nothing, _ = run(session, "list_orders", NEW)
    assert nothing == {"orders": [], "more": False, "nextCursor": None, "first": True}


def test_cancel_order_previews_first_and_cancels_only_after_the_shopper_answered(shop):
    wired, session = shop
    placed = buy(session, "U1002")
    oid = placed["orderId"]
    preview, calls = run(session, "cancel_order", "U1002", order_id=oid, confirm=True)  # no preview answered yet
    assert preview["confirmationNeeded"] is True and preview["total"] == placed["total"]
    assert ("fulfillment", "cancelOrder") not in calls
    order = wired.client("fulfillment").post("/get-order", json={"orderId": oid}).get_json()
    assert order["status"] == "confirmed"

    # The shopper saw the preview and answered: confirm=true cancels, and the payment agent shows the refund.
    state = {
        "messages": [
            AIMessage("", tool_calls=[{"name": "cancel_order", "args": {"order_id": oid}, "id": "c1"}]),
            ToolMessage(
                content=f'{{"confirmationNeeded":true,"orderId":"{oid}"}}', tool_call_id="c1", name="cancel_order"
            ),
            HumanMessage("yes, cancel it"),
        ]
    }
    done = _invoke_with_state(session, "cancel_order", "U1002", state, order_id=oid, confirm=True)
    assert done["status"] == "cancelled" and done["refunded"] == placed["total"] and "refunded" in done["note"]
    payment = wired.client("payment").post("/check-payment-status", json={"paymentId": placed["paymentId"]}).get_json()
    assert payment["status"] in ("refunded", "partially_refunded") and payment["refundedAmount"] == placed["total"]
    again, _ = run(session, "cancel_order", "U1002", order_id=oid)
    assert again["alreadyCancelled"] is True


def _invoke_with_state(session, tool_name: str, user: str, state: dict, **args) -> dict:
    """Run a tool with the conversation so far in its runtime state (invoke_tool runs it with none)."""
    import json
    import uuid

    from langchain.tools import ToolRuntime

    from sales_agent.context import SalesContext
    from sales_agent.tools import build_tools

    tool = {t.name: t for t in build_tools()}[tool_name]
    call_id = f"call_{uuid.uuid4().hex[:8]}"
    runtime = ToolRuntime(
        state=state,
        context=SalesContext(user, "test", session.service),
        config={},
        stream_writer=lambda _chunk: None,
        tool_call_id=call_id,
        store=None,
    )
    message = tool.invoke({"type": "tool_call", "name": tool_name, "id": call_id, "args": {**args, "runtime": runtime}})
    return json.loads(message.content)


def test_a_shipped_order_cannot_be_cancelled_and_another_shoppers_is_unknown(shop):
    _, session = shop
    shipped, _ = run(session, "cancel_order", "U1001", order_id="ORD-100007")  # in transit in the seed
    assert shipped["error"]["code"] == "cannot_cancel"
    theirs, _ = run(session, "cancel_order", "U1001", order_id="ORD-100005")  # U1002's
    assert theirs["error"]["code"] == "not_found"


def test_change_order_address_by_written_address_and_refused_once_shipped(shop):
    wired, session = shop
    placed = buy(session, "U1002", address=None)  # to the profile's address in Bengaluru
    changed, calls = run(session, "change_order_address", "U1002", order_id=placed["orderId"], address=KOLKATA)
    assert ("fulfillment", "updateOrderAddress") in calls
    assert changed["deliverTo"] == "Flat 3, 14 Park Street, Kolkata 700016"
    kept = wired.client("fulfillment").post("/get-order", json={"orderId": placed["orderId"]}).get_json()
    assert kept["shippingAddress"]["city"] == "Kolkata" and kept["shippingAddress"]["name"] == "Arjun Mehta"
    refused, _ = run(session, "change_order_address", "U1001", order_id="ORD-100007", address=KOLKATA)
    assert refused["error"]["code"] == "already_shipped"
    nowhere, _ = run(
        session,
        "change_order_address",
        "U1002",
        order_id=placed["orderId"],
        address="12 Police Bazaar, Shillong 793001",
    )
    assert nowhere["error"]["code"] == "city_not_delivered"
    unreadable, _ = run(session, "change_order_address", "U1002", order_id=placed["orderId"], address="near the temple")
    assert unreadable["error"]["code"] == "invalid_address"


def test_wrap_placed_order_adds_a_wrap_the_gift_wrapping_agent_keeps(shop):
    wired, session = shop
    placed = buy(session, "U1004", address="C-56, Lajpat Nagar II, New Delhi 110024")
    wrapped, calls = run(
        session, "wrap_placed_order", "U1004", order_id=placed["orderId"], option="premium", message="Happy birthday"
    )
    assert calls[-1] == ("gift-wrapping", "addGiftWrap"), wrapped
    assert wrapped["giftWrap"]["productId"] == "P1001" and wrapped["giftWrap"]["message"] == "Happy birthday"
    kept = wired.client("gift-wrapping").post("/get-gift-wraps", json={"orderReference": placed["orderId"]}).get_json()
    assert [w["productId"] for w in kept["wraps"]] == ["P1001"]
    shipped, _ = run(session, "wrap_placed_order", "U1001", order_id="ORD-100007", product_id="P1004")
    assert "error" in shipped


def test_delivery_options_and_store_finder_answer_from_fulfillment(shop):
    _, session = shop
    pune, calls = run(session, "delivery_options", NEW, city="Poona")
    assert calls == [("fulfillment", "getDeliveryOptions")] and pune["city"] == "Pune"
    home = next(o for o in pune["options"] if o["type"] == "ship_to_home")
    assert home["fee"] == 99 and home["freeAbove"] == 999 and home["estimatedDays"] == {"min": 2, "max": 3}
    nowhere, _ = run(session, "delivery_options", NEW, city="Shillong")
    assert nowhere["error"]["code"] == "city_not_delivered"
    no_city, _ = run(session, "delivery_options", NEW)  # a new shopper has no city on file
    assert no_city["error"]["code"] == "missing_city"
    stores, _ = run(session, "find_stores", NEW, city="Bangalore")
    assert stores["city"] == "Bengaluru" and {s["storeId"] for s in stores["stores"]} >= {"ST-BLR-01", "ST-BLR-02"}
    none, _ = run(session, "find_stores", NEW, city="Nagpur")
    assert none["stores"] == []


def test_policy_and_a_person_come_from_the_post_purchase_agent(shop):
    wired, session = shop
    returns, calls = run(session, "get_policy", NEW, topic="returns")
    assert calls == [("post-purchase", "getPolicy")] and returns["policies"][0]["facts"]["returnWindowDays"] == 30
    payment, _ = run(session, "get_policy", NEW, topic="payment")
    assert payment["topic"] == "payment" and payment["policies"][0]["summary"]
    state = {"messages": [HumanMessage("my parcel came torn"), AIMessage("Sorry to hear that.")]}
    ticket = _invoke_with_state(session, "contact_human", NEW, state, subject="Parcel arrived torn")
    assert ticket["ticketId"].startswith("TKT-") and ticket["status"] == "open"
    kept = (
        wired.client("post-purchase")
        .post("/get-support-ticket", json={"ticketId": ticket["ticketId"], "userId": NEW})
        .get_json()
    )
    assert kept["subject"] == "Parcel arrived torn" and "my parcel came torn" in kept["summary"]


def test_cancel_reservation_finds_the_one_open_reservation(shop):
    wired, session = shop
    reserved, _ = run(session, "reserve_in_store", "U1001", product_id="P1001", size="M", color="Black", city="Mumbai")
    assert reserved.get("reservationId"), reserved
    cancelled, calls = run(session, "cancel_reservation", "U1001")
    assert calls == [("fulfillment", "listReservations"), ("fulfillment", "cancelReservation")]
    assert cancelled["status"] == "cancelled" and cancelled["reservationId"] == reserved["reservationId"]
    none, _ = run(session, "cancel_reservation", "U1001")
    assert none["error"]["code"] == "no_reservations"
    bad, _ = run(session, "cancel_reservation", "U1001", reservation_id="nope")
    assert bad["error"]["code"] == "invalid_argument"


def test_address_book_and_checkout_by_address_or_address_id_for_a_new_shopper(shop):
    wired, session = shop
    nameless, _ = run(session, "save_address", NEW, address=KOLKATA)
    assert nameless["error"]["code"] == "missing_name"  # a new shopper has no profile to take the name from
    saved = _invoke_with_state(session, "save_address", NEW, {}, address=KOLKATA, name="Alice Example", label="Home")
    assert saved["address"]["postalCode"] == "700016" and saved["address"]["name"] == "Alice Example"
    listed, _ = run(session, "list_addresses", NEW)
    assert [a["addressId"] for a in listed["addresses"]] == [saved["addressId"]]

    run(session, "add_to_cart", NEW, product_id="P1001", size="M", color="Black")
    session.service.vault.redact(NEW, "card 4242 4242 4242 4242 exp 12/30 cvc 123")
    quote, _ = run(session, "prepare_checkout", NEW, card_ref="card_ending_4242", address_id=saved["addressId"])
    assert quote["fulfillment"]["address"] == "Flat 3, 14 Park Street, Kolkata 700016", quote
    inline, _ = run(
        session, "prepare_checkout", NEW, card_ref="card_ending_4242", address="22 MG Road, Bangalore 560001"
    )
    assert (
        inline["fulfillment"]["city"] == "Bangalore"
        and inline["fulfillment"]["address"] == "22 MG Road, Bangalore 560001"
    )
    unknown, _ = run(session, "prepare_checkout", NEW, card_ref="card_ending_4242", address_id="ADR-0000000000")
    assert unknown["error"]["code"] == "unknown_address"
