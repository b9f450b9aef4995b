"""What shoppers ask after buying (issue 9), in the offline model's words: the real agent graph and the real agents
in process, each reply checked against the agents' own records."""

from __future__ import annotations

import pytest

from sales_agent.cards import CardVault
from sales_agent.offline.model import OfflineChatModel
from sales_agent.testing import session_for_tests
from support import WiredSystem, fresh_database_url


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("aftersale")
    wired = WiredSystem(tmp_path, tag="as")
    session = session_for_tests(
        tmp_path, OfflineChatModel(), database_url=fresh_database_url("sales", tmp_path, "as"), vault=CardVault()
    )
    yield wired, session
    session.close()
    wired.close()


@pytest.fixture
def say(shop):
    wired, session = shop

    def send(user: str, text: str):
        return session.send(user, text, channel="web")

    for user in ("U1001", "U1002", "U1005"):
        session.reset(user)
    return send


def ops(turn) -> list[tuple[str, str]]:
    return [(c["agent"], c["operation"]) for c in turn.tool_calls]


def test_stores_in_a_city_are_listed_with_addresses_not_a_product_question(say):
    turn = say("U1001", "which stores do you have in Bengaluru?")
    assert ops(turn) == [("fulfillment", "listStores")]
    assert "Phoenix Marketcity, Whitefield" in turn.reply and "Orion Mall, Rajajinagar" in turn.reply
    assert "560048" in turn.reply and "Which product" not in turn.reply
    none = say("U1001", "is there a store in Nagpur")
    assert "no store in Nagpur" in none.reply


def test_delivery_time_and_cost_to_a_city(say):
    turn = say("U1001", "how much is delivery to Pune and how long")
    assert ops(turn) == [("fulfillment", "getDeliveryOptions")]
    assert "Pune" in turn.reply and "2–3 days" in turn.reply and "₹99" in turn.reply and "₹999" in turn.reply
    nowhere = say("U1001", "do you deliver to Shillong")
    assert "do not deliver to Shillong" in nowhere.reply


def test_policy_answers_are_the_post_purchase_agents_words(shop, say):
    wired, _ = shop
    published = wired.client("post-purchase").post("/get-policy", json={"topic": "payment"}).get_json()
    turn = say("U1001", "which payment methods do you take")
    assert ops(turn) == [("post-purchase", "getPolicy")]
    assert published["policies"][0]["summary"] in turn.reply
    returns = say("U1001", "what is your return policy")
    assert "30 days" in returns.reply and ("post-purchase", "getPolicy") in ops(returns)


def test_a_person_is_a_support_ticket_with_the_conversation(shop, say):
    wired, _ = shop
    say("U1001", "show me winter jackets under 6000")
    turn = say("U1001", "how do I contact customer care?")
    assert ops(turn) == [("post-purchase", "createSupportTicket")]
    ticket_id = next(w for w in turn.reply.replace("*", " ").split() if w.startswith("TKT-"))
    kept = (
        wired.client("post-purchase")
        .post("/get-support-ticket", json={"ticketId": ticket_id, "userId": "U1001"})
        .get_json()
    )
    assert kept["status"] == "open" and "winter jackets" in kept["summary"]


def test_order_history_pages_and_show_more_goes_on(shop, say):
    wired, _ = shop
    first = say("U1001", "list all my orders")
    assert ops(first) == [("fulfillment", "listOrders")]
    assert "ORD-100007" in first.reply and "ORD-100002" in first.reply
    more = say("U1001", "show more")
    assert ops(more) in ([], [("fulfillment", "listOrders")]) and "no older" in more.reply.lower()


def test_cancel_a_confirmed_order_after_a_yes_and_a_shipped_one_is_refused(shop, say):
    wired, _ = shop
    refused = say("U1005", "cancel my order ORD-100010")
    assert "in transit" in refused.reply and ("fulfillment", "cancelOrder") not in ops(refused)
    asked = say("U1002", "cancel my order ORD-100005")
    assert "(yes/no)" in asked.reply and "₹5,498" in asked.reply
    no = say("U1002", "no")
    assert ("fulfillment", "cancelOrder") not in ops(no)
    order = wired.client("fulfillment").post("/get-order", json={"orderId": "ORD-100005"}).get_json()
    assert order["status"] == "confirmed"


def test_change_the_address_of_an_order_not_yet_shipped(shop, say):
    wired, _ = shop
    turn = say("U1002", "change the delivery address of ORD-100005 to Flat 3, 14 Park Street, Kolkata 700016")
    assert ("fulfillment", "updateOrderAddress") in ops(turn), turn.reply
    assert "Flat 3, 14 Park Street, Kolkata 700016" in turn.reply
    order = wired.client("fulfillment").post("/get-order", json={"orderId": "ORD-100005"}).get_json()
    assert order["shippingAddress"]["city"] == "Kolkata" and order["shippingAddress"]["name"] == "Arjun Mehta"
    asked = say("U1002", "I want to change the address on my order")
    assert "PIN code" in asked.reply
    given = say("U1002", "22 MG Road, Bangalore 560001")
    assert ("fulfillment", "updateOrderAddress") in ops(given)
    order = wired.client("fulfillment").post("/get-order", json={"orderId": "ORD-100005"}).get_json()
    assert order["shippingAddress"]["postalCode"] == "560001"


def test_gift_wrap_a_placed_order_names_the_item_and_the_gift_wrapping_agent_keeps_it(shop, say):
    wired, _ = shop
    which = say("U1002", "gift wrap my order ORD-100005")
    assert ("gift-wrapping", "addGiftWrap") not in ops(which)  # two products in it: which one is the gift?
    assert "Velocity Runner Sneakers" in which.reply and "Pace Dri-Fit Running Tee" in which.reply
    wrapped = say("U1002", "gift wrap the sneakers in my order ORD-100005")
    assert ("gift-wrapping", "addGiftWrap") in ops(wrapped), wrapped.reply
    assert "Velocity Runner Sneakers" in wrapped.reply and "ORD-100005" in wrapped.reply
    kept = wired.client("gift-wrapping").post("/get-gift-wraps", json={"orderReference": "ORD-100005"}).get_json()
    assert [w["productId"] for w in kept["wraps"]] == ["P1036"]


def test_cancel_the_one_open_reservation(shop, say):
    wired, _ = shop
    say("U1001", "show me winter jackets under 6000")
    reserved = say("U1001", "reserve the first one in M black in Mumbai")
    assert ("fulfillment", "reserveInStore") in ops(reserved), reserved.reply
    cancelled = say("U1001", "cancel my reservation")
    assert ops(cancelled) == [("fulfillment", "listReservations"), ("fulfillment", "cancelReservation")]
    assert "is cancelled" in cancelled.reply and "Alpine Puffer Jacket" in cancelled.reply
    listed = wired.client("fulfillment").post("/list-reservations", json={"userId": "U1001", "status": "active"})
    assert listed.get_json()["reservations"] == []


def test_show_more_asks_for_the_next_page_with_the_cursor_the_last_page_gave():
    import json

    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    from sales_agent.tools import build_tools

    model = OfflineChatModel().bind_tools(build_tools())
    page = {"orders": [], "more": True, "nextCursor": "c2VlIHRoZSBuZXh0", "first": True}
    messages = [
        HumanMessage("list all my orders"),
        AIMessage("", tool_calls=[{"name": "list_orders", "args": {}, "id": "c1", "type": "tool_call"}]),
        ToolMessage(json.dumps(page), tool_call_id="c1", name="list_orders"),
        AIMessage("Your orders…", additional_kwargs={"offline": {"intent": "order_history", "slots": {}}}),
        HumanMessage("show more"),
    ]
    step, state = model.respond(messages)
    assert state["intent"] == "order_history"
    assert [(c["name"], c["args"]) for c in step.calls] == [("list_orders", {"cursor": "c2VlIHRoZSBuZXh0"})]
    page["nextCursor"], page["more"] = None, False
    messages[2] = ToolMessage(json.dumps(page), tool_call_id="c1", name="list_orders")
    last, _ = model.respond(messages)
    assert not last.calls and "no older" in last.reply
