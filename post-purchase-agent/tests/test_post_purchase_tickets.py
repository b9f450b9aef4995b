"""Support tickets: the handoff to a person. Recorded with card numbers cut out, only about the shopper's own
orders, at most five open per shopper (however many arrive at once), read back and paged by cursor per shopper."""

from __future__ import annotations

import threading

import pytest
from orders import place_order

from support import WiredSystem

LONGEST = "x" * 50 + "@example.co.in"  # 64 characters


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    wired = WiredSystem(tmp_path_factory.mktemp("tickets"))
    yield wired
    wired.close()


@pytest.fixture
def pp(system):
    return system.client("post-purchase")


def post(client, path, status, **body):
    reply = client.post(path, json=body)
    assert reply.status_code == status, reply.get_json()
    return reply.get_json()


def create(client, user_id, status=201, **extra):
    body = {"userId": user_id, "subject": "Need a person", "summary": "Shopper wants to talk to someone.", **extra}
    return post(client, "/create-support-ticket", status, **body)


def listed(client, user_id, **extra):
    return post(client, "/list-support-tickets", 200, userId=user_id, **extra)


@pytest.mark.parametrize("user_id", ["alice@example.com", "web-7f3a2c", LONGEST])
def test_a_ticket_is_recorded_open_and_read_back(pp, user_id):
    assert len(LONGEST) == 64
    made = create(pp, user_id, subject="Delivery slot", summary="Wants the parcel after 6 pm.\nAsked twice.")
    assert made["ticketId"].startswith("TKT-") and made["status"] == "open" and made["closedAt"] is None
    assert (made["userId"], made["subject"], made["summary"], made["orderId"]) == (
        user_id,
        "Delivery slot",
        "Wants the parcel after 6 pm.\nAsked twice.",
        None,
    )
    assert post(pp, "/get-support-ticket", 200, ticketId=made["ticketId"], userId=user_id) == made
    assert made in listed(pp, user_id)["tickets"]


def test_card_numbers_and_security_codes_are_cut_out_before_anything_is_stored(pp):
    made = create(
        pp,
        "card-typer",
        subject="Charged twice on 4111-1111-1111-1111",
        summary="Paid with 4242 4242 4242 4242 cvv 123, and tried 5555555555554444 too (CVC: 9876).",
    )
    stored = post(pp, "/get-support-ticket", 200, ticketId=made["ticketId"], userId="card-typer")
    for text in (stored["subject"], stored["summary"]):
        assert "4242 4242" not in text and "1111-1111" not in text and "555555555555" not in text
        assert "123" not in text and "9876" not in text
    assert stored["subject"] == "Charged twice on card ending 1111"
    assert "card ending 4242" in stored["summary"] and "card ending 4444" in stored["summary"]
    assert "[security code removed]" in stored["summary"]


def test_order_ids_and_phone_numbers_are_left_alone(pp):
    made = create(pp, "keeps-numbers", summary="Order ORD-100001, call me on +91 98200 11001.")
    assert made["summary"] == "Order ORD-100001, call me on +91 98200 11001."


def test_a_ticket_about_the_shoppers_own_order(system, pp):
    order = place_order(system, "alice.orders@example.com", [("P1001", "M", "Black", 1)])
    made = create(pp, "alice.orders@example.com", orderId=order["orderId"])
    assert made["orderId"] == order["orderId"]


def test_another_shoppers_order_is_unknown_and_nothing_is_recorded(pp):
    reply = pp.post(
        "/create-support-ticket",
        json={"userId": "nosy@example.com", "subject": "Refund", "summary": "Wants a refund.", "orderId": "ORD-100001"},
    )
    assert reply.status_code == 404
    assert reply.get_json()["error"]["details"] == [{"field": "orderId", "message": "unknown order"}]
    assert listed(pp, "nosy@example.com")["tickets"] == []


def test_another_shoppers_ticket_is_unknown(pp):
    made = create(pp, "owner-1")
    reply = pp.post("/get-support-ticket", json={"ticketId": made["ticketId"], "userId": "owner-2"})
    assert reply.status_code == 404 and reply.get_json()["error"]["details"][0]["field"] == "ticketId"
    assert listed(pp, "owner-2")["tickets"] == []


def test_at_most_five_open_and_closing_one_frees_a_place(pp):
    made = [create(pp, "busy-shopper") for _ in range(5)]
    refused = create(pp, "busy-shopper", status=422)["error"]
    assert refused["code"] == "too_many_open_tickets" and refused["details"][0]["field"] == "userId"
    assert len(listed(pp, "busy-shopper")["tickets"]) == 5
    operator = pp.as_caller("operator")
    closed = post(operator, "/close-support-ticket", 200, ticketId=made[0]["ticketId"], userId="busy-shopper")
    assert closed["status"] == "closed" and closed["closedAt"] is not None
    again = post(operator, "/close-support-ticket", 200, ticketId=made[0]["ticketId"], userId="busy-shopper")
    assert again == closed  # closing twice frees one place only
    create(pp, "busy-shopper")
    create(pp, "busy-shopper", status=422)
    read = post(pp, "/get-support-ticket", 200, ticketId=made[0]["ticketId"], userId="busy-shopper")
    assert read["status"] == "closed"


def test_many_at_once_still_make_exactly_five(system):
    app = system.apps["post-purchase"]
    barrier, statuses = threading.Barrier(8), []

    def one():
        barrier.wait()
        reply = app.test_client().post(
            "/create-support-ticket", json={"userId": "racer", "subject": "Help", "summary": "Now."}
        )
        statuses.append(reply.status_code)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] * 5 + [422] * 3
    assert len(listed(app.test_client(), "racer")["tickets"]) == 5


def test_listing_pages_newest_first_by_cursor_without_gaps_or_repeats(pp):
    operator, made = pp.as_caller("operator"), []
    for _ in range(2):
        for _ in range(5):
            made.append(create(pp, "pager")["ticketId"])
        for ticket_id in made[-5:]:
            post(operator, "/close-support-ticket", 200, ticketId=ticket_id, userId="pager")
    assert len(listed(pp, "pager")["tickets"]) == 10  # the default page
    seen, cursor, pages = [], None, 0
    while True:
        page = listed(pp, "pager", limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [t["ticketId"] for t in page["tickets"]]
        pages, cursor = pages + 1, page["nextCursor"]
        if cursor is None:
            break
    assert pages == 4 and seen == list(reversed(made))
    # a cursor only moves within the shopper it is used for
    first = listed(pp, "pager", limit=3)
    assert listed(pp, "someone-else", cursor=first["nextCursor"])["tickets"] == []
    assert listed(operator, "pager", limit=50)["tickets"][0]["ticketId"] == made[-1]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"userId": "a" * 65}, "userId"),
        ({"userId": "alice smith"}, "userId"),
        ({"subject": "x" * 121}, "subject"),
        ({"subject": "a\u0007b"}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"summary": "y" * 4001}, "summary"),
        ({"summary": ""}, "summary"),
        ({"orderId": "12"}, "orderId"),
    ],
)
def test_bad_fields_are_a_400_naming_the_field(pp, body, field):
    full = {"userId": "validator", "subject": "Help", "summary": "Please.", **body}
    reply = pp.post("/create-support-ticket", json=full)
    assert reply.status_code == 400, reply.get_json()
    assert reply.get_json()["error"]["details"][0]["field"] == field
    if field != "userId":
        assert listed(pp, "validator")["tickets"] == []


def test_bad_listing_requests_name_the_field(pp):
    for body, field in (({"limit": 51}, "limit"), ({"limit": 0}, "limit"), ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor")):
        reply = pp.post("/list-support-tickets", json={"userId": "validator", **body})
        assert reply.status_code == 400 and reply.get_json()["error"]["details"][0]["field"] == field


def test_only_the_callers_the_contract_lists(pp):
    body = {"userId": "web-7f3a2c", "subject": "Help", "summary": "Please."}
    for caller in ("operator", "loyalty", "fulfillment"):
        reply = pp.as_caller(caller).post("/create-support-ticket", json=body)
        assert reply.status_code == 403 and f"'{caller}'" in reply.get_json()["error"]["message"]
    assert pp.as_caller(None).post("/create-support-ticket", json=body).status_code == 401
    assert (
        pp.as_caller("sales").post("/close-support-ticket", json={"ticketId": "TKT-000000", "userId": "u"}).status_code
        == 403
    )
    for path in ("/get-support-ticket", "/list-support-tickets", "/get-policy"):
        assert pp.as_caller(None).post(path, json={}).status_code == 401
        assert pp.as_caller("gift-wrapping").post(path, json={}).status_code == 403
