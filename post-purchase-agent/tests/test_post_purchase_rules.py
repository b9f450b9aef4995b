"""Post-purchase business rules, with the real fulfillment, payment and inventory agents wired in process.

Time is frozen at 2026-11-21 10:00 IST (the seed's "today"), so the return window tests do not depend on
the date the suite runs.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest

from agentkit import AgentClient, clock
from agentkit.registry import import_app_factory

NOW = datetime(2026, 11, 21, 4, 30, tzinfo=timezone.utc)  # 10:00 in India
pytestmark = pytest.mark.usefixtures("frozen_clock")


def call(client, path, body, **headers):
    reply = client.post(path, json=body, headers=headers)
    return reply.status_code, reply.get_json()


def post_purchase(system):
    return system.client("post-purchase")


def refunded_amount(system, payment_id):
    status, body = call(system.client("payment"), "/check-payment-status", {"paymentId": payment_id})
    assert status == 200, body
    return body["refundedAmount"], body["refunds"]


def online_level(system, product_id, size, color):
    status, body = call(
        system.client("inventory"),
        "/check-inventory",
        {"productId": product_id, "attributes": {"size": size, "color": color}},
    )
    assert status == 200, body
    return body["onlineStockLevel"]


def sibling_app(system, **clients):
    """Another post-purchase process on the same database, with some dependencies swapped."""
    app = import_app_factory("post-purchase")(database_url=system.apps["post-purchase"].db.url, clients=clients)
    app.testing = True
    return app


def unreachable(agent):
    # No route is registered for this host, so `responses` refuses the connection: the agent is down.
    return AgentClient(agent, base_url=f"http://{agent}-down.agent.test", retries=0)


# --- where is my order -------------------------------------------------------------------------


def test_order_status_for_its_owner(system):
    status, body = call(post_purchase(system), "/get-order-status", {"orderId": "ORD-100001", "userId": "U1002"})
    assert status == 200, body
    assert body["status"] == "delivered"
    assert body["statusLabel"] == "Delivered on 16 Nov 2026 by BlueDart"
    assert body["trackingUrl"] == "https://www.bluedart.com/tracking?trackingNumber=74170352981"
    assert [step["status"] for step in body["timeline"]][-1] == "delivered"
    assert body["returnEligible"] is True
    delivered = clock.parse(body["deliveredAt"])
    assert clock.parse(body["returnWindowEndsAt"]) == delivered + timedelta(days=30)
    assert [(i["sku"], i["returnableQuantity"]) for i in body["items"]] == [
        ("P1001-BLACK-L", 1),
        ("P1045-GREY-ONESIZE", 1),
    ]
    assert body["returns"] == [] and body["exchanges"] == []


def test_order_status_labels_and_windows(system):
    client = post_purchase(system)
    _, in_transit = call(client, "/get-order-status", {"orderId": "ORD-100007", "userId": "U1001"})
    assert in_transit["statusLabel"].startswith("On its way with BlueDart")
    assert in_transit["returnEligible"] is False and in_transit["returnWindowEndsAt"] is None
    assert all(item["returnableQuantity"] == 0 for item in in_transit["items"])
    _, old = call(client, "/get-order-status", {"orderId": "ORD-100002", "userId": "U1001"})
    assert old["returnEligible"] is False and old["returnWindowEndsAt"].startswith("2026-11-11")
    _, collected = call(client, "/get-order-status", {"orderId": "ORD-100009", "userId": "U1008"})
    assert collected["statusLabel"].startswith("Collected on 6 Nov 2026")
    assert collected["trackingUrl"] is None


@pytest.mark.parametrize(
    "path,body",
    [
        ("/get-order-status", {"orderId": "ORD-100001", "userId": "U1001"}),
        ("/initiate-return", {"orderId": "ORD-100001", "userId": "U1001", "reason": "damaged"}),
        (
            "/initiate-exchange",
            {
                "orderId": "ORD-100001",
                "userId": "U1001",
                "sku": "P1001-BLACK-L",
                "newSize": "M",
                "reason": "wrong_size",
            },
        ),
        ("/submit-feedback", {"orderId": "ORD-100001", "userId": "U1001", "rating": 1}),
        ("/get-order-status", {"orderId": "ORD-999999", "userId": "U1002"}),
    ],
)
def test_another_shoppers_order_is_unknown(system, path, body):
    status, reply = call(post_purchase(system), path, body)
    assert status == 404, reply
    assert reply["error"]["details"] == [{"field": "orderId", "message": "unknown order"}]
    # Nothing about the order leaks into the answer.
    assert "U1002" not in str(reply) and "P1001" not in str(reply)
    assert refunded_amount(system, "PAY-7K3M9Q2X")[0] == 0


def test_fulfillment_down_is_503(system):
    app = sibling_app(system, fulfillment=unreachable("fulfillment"))
    status, body = call(app.test_client(), "/get-order-status", {"orderId": "ORD-100001", "userId": "U1002"})
    assert status == 503, body
    assert body["error"]["code"] == "dependency_unavailable"
    app.db.dispose()


# --- returns -----------------------------------------------------------------------------------


def test_return_refunds_the_item_value_once(system):
    client = post_purchase(system)
    request = {
        "orderId": "ORD-100001",
        "userId": "U1002",
        "reason": "wrong_size",
        "items": [{"sku": "P1001-BLACK-L", "quantity": 1}],
    }
    status, body = call(client, "/initiate-return", request)
    assert status == 201, body
    # 4999 of a 5898 subtotal, less its share of the 1180 discount: 4999 * 4718 / 5898.
    assert body["refundAmount"] == 3998.86
    assert body["status"] == "refunded" and body["refundId"].startswith("RFD-")
    assert re.fullmatch(r"RET-[0-9A-F]{8}", body["returnId"])
    assert body["pickupDate"] == "2026-11-22" and body["returnMethod"] == "pickup"
    assert refunded_amount(system, "PAY-7K3M9Q2X")[0] == 3998.86

    status, again = call(client, "/initiate-return", request)
    assert status == 422, again
    assert again["error"]["code"] == "exceeds_purchased"
    assert refunded_amount(system, "PAY-7K3M9Q2X")[0] == 3998.86

    status, same = call(client, "/get-return-status", {"returnId": body["returnId"], "userId": "U1002"})
    assert status == 200 and same == body
    status, _ = call(client, "/get-return-status", {"returnId": body["returnId"], "userId": "U1001"})
    assert status == 404


def test_partial_returns_add_up_to_exactly_what_was_paid(system):
    client = post_purchase(system)
    _, first = call(
        client,
        "/initiate-return",
        {
            "orderId": "ORD-100001",
            "userId": "U1002",
            "reason": "damaged",
            "items": [{"sku": "P1045-GREY-ONESIZE", "quantity": 1}],
        },
    )
    assert first["refundAmount"] == 719.14  # 899 * 4718 / 5898
    status, rest = call(
        client, "/initiate-return", {"orderId": "ORD-100001", "userId": "U1002", "reason": "changed_mind"}
    )
    assert status == 201, rest
    assert [(i["sku"], i["quantity"]) for i in rest["items"]] == [("P1001-BLACK-L", 1)]
    assert round(first["refundAmount"] + rest["refundAmount"], 2) == 4718
    amount, refunds = refunded_amount(system, "PAY-7K3M9Q2X")
    assert amount == 4718 and len(refunds) == 2

    status, nothing_left = call(
        client, "/initiate-return", {"orderId": "ORD-100001", "userId": "U1002", "reason": "other"}
    )
    assert status == 422 and nothing_left["error"]["code"] == "exceeds_purchased"
    _, order = call(client, "/get-order-status", {"orderId": "ORD-100001", "userId": "U1002"})
    assert order["returnEligible"] is False
    assert {r["returnId"] for r in order["returns"]} == {first["returnId"], rest["returnId"]}


def test_more_than_bought_and_items_not_in_the_order(system):
    client = post_purchase(system)
    status, body = call(
        client,
        "/initiate-return",
        {
            "orderId": "ORD-100001",
            "userId": "U1002",
            "reason": "damaged",
            "items": [{"sku": "P1001-BLACK-L", "quantity": 2}],
        },
    )
    assert status == 422 and body["error"]["code"] == "exceeds_purchased"
    assert body["error"]["details"][0]["field"] == "items.0.quantity"
    status, body = call(
        client,
        "/initiate-return",
        {
            "orderId": "ORD-100001",
            "userId": "U1002",
            "reason": "damaged",
            "items": [{"sku": "P1001-BLACK-M", "quantity": 1}],
        },
    )
    assert status == 422 and body["error"]["code"] == "not_in_order"
    assert refunded_amount(system, "PAY-7K3M9Q2X")[0] == 0


def test_outside_the_window_says_when_it_closed(system):
    status, body = call(
        post_purchase(system),
        "/initiate-return",
        {"orderId": "ORD-100002", "userId": "U1001", "reason": "changed_mind"},
    )
    assert status == 422, body
    assert body["error"]["code"] == "return_window_closed"
    assert "11 Nov 2026" in body["error"]["message"]
    assert refunded_amount(system, "PAY-4H8T2N6W")[0] == 0


def test_window_edges(system, monkeypatch):
    client = post_purchase(system)
    _, order = call(client, "/get-order-status", {"orderId": "ORD-100003", "userId": "U1003"})
    ends = clock.parse(order["returnWindowEndsAt"])
    monkeypatch.setattr(clock, "now", lambda: ends + timedelta(seconds=1))
    status, body = call(client, "/initiate-return", {"orderId": "ORD-100003", "userId": "U1003", "reason": "other"})
    assert status == 422 and body["error"]["code"] == "return_window_closed"
    monkeypatch.setattr(clock, "now", lambda: ends)
    status, body = call(client, "/initiate-return", {"orderId": "ORD-100003", "userId": "U1003", "reason": "other"})
    assert status == 201, body
    assert body["refundAmount"] == 3098


def test_the_window_length_comes_from_the_environment(system, monkeypatch):
    monkeypatch.setenv("RETURN_WINDOW_DAYS", "3")  # ORD-100001 was delivered five days ago
    client = post_purchase(system)
    status, body = call(client, "/initiate-return", {"orderId": "ORD-100001", "userId": "U1002", "reason": "other"})
    assert status == 422 and body["error"]["code"] == "return_window_closed"
    assert "(3 days after delivery on 16 Nov 2026)" in body["error"]["message"]
    _, order = call(client, "/get-order-status", {"orderId": "ORD-100001", "userId": "U1002"})
    assert order["returnEligible"] is False and order["returnWindowEndsAt"] == "2026-11-19T08:52:00Z"


def test_concurrent_returns_of_the_same_item_refund_once(system):
    client_app = system.apps["post-purchase"]
    request = {
        "orderId": "ORD-100001",
        "userId": "U1002",
        "reason": "damaged",
        "items": [{"sku": "P1001-BLACK-L", "quantity": 1}],
    }
    statuses = []
    start = threading.Barrier(6)

    def attempt():
        client = client_app.test_client()
        start.wait()
        statuses.append(client.post("/initiate-return", json=request).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [422] * 5
    amount, refunds = refunded_amount(system, "PAY-7K3M9Q2X")
    assert amount == 3998.86 and len(refunds) == 1


def test_not_delivered(system):
    status, body = call(
        post_purchase(system),
        "/initiate-return",
        {"orderId": "ORD-100007", "userId": "U1001", "reason": "late_delivery"},
    )
    assert status == 422 and body["error"]["code"] == "not_delivered"
    assert refunded_amount(system, "PAY-3N7W5B1T")[0] == 0


def test_click_and_collect_goes_back_to_its_store(system):
    status, body = call(
        post_purchase(system),
        "/initiate-return",
        {
            "orderId": "ORD-100009",
            "userId": "U1008",
            "reason": "not_as_described",
            "items": [{"sku": "P1047-BROWN-ONESIZE", "quantity": 1}],
        },
    )
    assert status == 201, body
    assert body["returnMethod"] == "store_drop_off" and body["storeId"] == "ST-DEL-01"
    assert body["pickupDate"] is None
    assert body["refundAmount"] == 1039.14  # 1299 * 7438 / 9298
    assert refunded_amount(system, "PAY-1M9P3S7D")[0] == 1039.14


def test_payment_down_records_refund_pending_then_retry_pays_once(system):
    down = sibling_app(system, payment=unreachable("payment"))
    request = {"orderId": "ORD-100003", "userId": "U1003", "reason": "damaged", "comment": "Torn seam"}
    status, body = call(down.test_client(), "/initiate-return", request)
    assert status == 201, body
    assert body["status"] == "refund_pending" and body["refundId"] is None and body["refundedAt"] is None
    assert body["refundAmount"] == 3098
    assert refunded_amount(system, "PAY-9B5R1C7Z")[0] == 0

    # The units are taken even though no money moved: a second return cannot claim them.
    client = post_purchase(system)
    status, again = call(client, "/initiate-return", request)
    assert status == 422 and again["error"]["code"] == "exceeds_purchased"

    status, still_down = call(down.test_client(), "/retry-refund", {"returnId": body["returnId"], "userId": "U1003"})
    assert status == 503, still_down
    assert refunded_amount(system, "PAY-9B5R1C7Z")[0] == 0

    status, done = call(client, "/retry-refund", {"returnId": body["returnId"], "userId": "U1003"})
    assert status == 200, done
    assert done["status"] == "refunded" and done["refundId"].startswith("RFD-")
    status, twice = call(client, "/retry-refund", {"returnId": body["returnId"], "userId": "U1003"})
    assert status == 200 and twice["refundId"] == done["refundId"]
    amount, refunds = refunded_amount(system, "PAY-9B5R1C7Z")
    assert amount == 3098 and len(refunds) == 1
    down.db.dispose()


def test_a_refund_whose_answer_was_lost_is_never_paid_twice(system):
    """The payment agent refunds, but every answer is lost on the way back (a 504)."""
    payment_app = system.apps["payment"]
    base = "http://payment-flaky.agent.test"

    def refund_then_lose_the_answer(request):
        path = urlsplit(request.url).path
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "host")}
        payment_app.test_client().open(path, method="POST", data=request.body, headers=headers)
        return (
            504,
            {"Content-Type": "application/json"},
            b'{"error": {"code": "gateway_timeout", "message": "lost", "details": []}}',
        )

    system.rsps.add_callback("POST", re.compile(re.escape(base) + r"/.*"), callback=refund_then_lose_the_answer)
    flaky = sibling_app(system, payment=AgentClient("payment", base_url=base, retries=2, backoff=0))
    status, body = call(
        flaky.test_client(),
        "/initiate-return",
        {
            "orderId": "ORD-100003",
            "userId": "U1003",
            "reason": "wrong_size",
            "items": [{"sku": "P1017-WHITE-S", "quantity": 1}],
        },
    )
    assert status == 201 and body["status"] == "refund_pending", body
    amount, refunds = refunded_amount(system, "PAY-9B5R1C7Z")
    assert len(refunds) == 1  # three attempts with the same key: one refund

    status, done = call(post_purchase(system), "/retry-refund", {"returnId": body["returnId"], "userId": "U1003"})
    assert status == 200 and done["status"] == "refunded"
    assert done["refundId"] == refunds[0]["refundId"]
    assert refunded_amount(system, "PAY-9B5R1C7Z") == (amount, refunds)
    flaky.db.dispose()


def test_a_refused_refund_leaves_nothing_behind(system):
    """Customer care refunds the whole payment directly while the return is on its way to the payment agent
    (after the return read what was left refundable): the payment agent then refuses ours."""
    payment_app = system.apps["payment"]
    base = "http://payment-racing.agent.test"

    def goodwill_refund_first(request):
        path = urlsplit(request.url).path
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "host")}
        if path == "/refund-payment":
            payment_app.test_client().post(
                "/refund-payment", json={"paymentId": "PAY-7K3M9Q2X", "reason": "goodwill refund by customer care"}
            )
        answer = payment_app.test_client(caller=None).open(path, method="POST", data=request.body, headers=headers)
        return answer.status_code, dict(answer.headers), answer.get_data()

    system.rsps.add_callback("POST", re.compile(re.escape(base) + r"/.*"), callback=goodwill_refund_first)
    racing = sibling_app(system, payment=AgentClient("payment", base_url=base, retries=0))
    status, body = call(
        racing.test_client(), "/initiate-return", {"orderId": "ORD-100001", "userId": "U1002", "reason": "damaged"}
    )
    assert status == 422, body
    assert body["error"]["code"] == "refund_refused"
    _, order = call(post_purchase(system), "/get-order-status", {"orderId": "ORD-100001", "userId": "U1002"})
    assert order["returns"] == []
    assert [i["returnableQuantity"] for i in order["items"]] == [1, 1]
    racing.db.dispose()


def test_the_same_idempotency_key_replays_the_return(system):
    client = post_purchase(system)
    request = {
        "orderId": "ORD-100001",
        "userId": "U1002",
        "reason": "wrong_size",
        "items": [{"sku": "P1001-BLACK-L", "quantity": 1}],
    }
    first = client.post("/initiate-return", json=request, headers={"Idempotency-Key": "shopper-retry-0001"})
    second = client.post("/initiate-return", json=request, headers={"Idempotency-Key": "shopper-retry-0001"})
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert refunded_amount(system, "PAY-7K3M9Q2X")[0] == 3998.86


def test_returns_survive_a_restart(system):
    status, body = call(
        post_purchase(system), "/initiate-return", {"orderId": "ORD-100003", "userId": "U1003", "reason": "other"}
    )
    assert status == 201
    system.apps["post-purchase"].db.dispose()
    again = sibling_app(system)
    status, same = call(again.test_client(), "/get-return-status", {"returnId": body["returnId"], "userId": "U1003"})
    assert status == 200 and same == body
    again.db.dispose()


# --- exchanges ---------------------------------------------------------------------------------


def test_exchange_holds_one_unit_of_the_new_size(system):
    before = online_level(system, "P1017", "M", "White")
    client = post_purchase(system)
    status, body = call(
        client,
        "/initiate-exchange",
        {"orderId": "ORD-100003", "userId": "U1003", "sku": "P1017-WHITE-S", "newSize": "M", "reason": "wrong_size"},
    )
    assert status == 201, body
    assert body["toSku"] == "P1017-WHITE-M" and body["status"] == "reserved"
    assert online_level(system, "P1017", "M", "White") == before - 1

    status, hold = call(system.client("inventory"), "/get-hold", {"holdId": body["holdId"]})
    assert status == 200 and hold["status"] == "active" and hold["reference"] == body["exchangeId"]
    assert hold["expiresAt"] == body["holdExpiresAt"]
    ttl_max = (
        system.apps["inventory"].contract.operation("createHold").request_schema["properties"]["ttlSeconds"]["maximum"]
    )
    assert clock.parse(hold["expiresAt"]) == NOW + timedelta(seconds=min(7 * 24 * 3600, ttl_max))

    status, same = call(client, "/get-exchange-status", {"exchangeId": body["exchangeId"], "userId": "U1003"})
    assert status == 200 and same == body
    # The exchanged unit can be neither exchanged again nor returned for money.
    status, again = call(
        client,
        "/initiate-exchange",
        {"orderId": "ORD-100003", "userId": "U1003", "sku": "P1017-WHITE-S", "newSize": "L", "reason": "wrong_size"},
    )
    assert status == 422 and again["error"]["code"] == "exceeds_purchased"
    status, refund = call(
        client,
        "/initiate-return",
        {
            "orderId": "ORD-100003",
            "userId": "U1003",
            "reason": "other",
            "items": [{"sku": "P1017-WHITE-S", "quantity": 1}],
        },
    )
    assert status == 422 and refund["error"]["code"] == "exceeds_purchased"
    _, order = call(client, "/get-order-status", {"orderId": "ORD-100003", "userId": "U1003"})
    assert [x["exchangeId"] for x in order["exchanges"]] == [body["exchangeId"]]


def test_exchange_out_of_stock_suggests_a_return(system):
    level = online_level(system, "P1017", "M", "White")
    chunks = [20] * (level // 20) + ([level % 20] if level % 20 else [])
    status, _ = call(
        system.client("inventory"),
        "/create-hold",
        {"items": [{"productId": "P1017", "size": "M", "color": "White", "quantity": n} for n in chunks]},
    )
    assert status == 201 and online_level(system, "P1017", "M", "White") == 0
    client = post_purchase(system)
    status, body = call(
        client,
        "/initiate-exchange",
        {"orderId": "ORD-100003", "userId": "U1003", "sku": "P1017-WHITE-S", "newSize": "M", "reason": "wrong_size"},
    )
    assert status == 409, body
    assert body["error"]["code"] == "exchange_unavailable"
    assert any("initiateReturn" in s for s in body["error"]["suggestions"])
    _, order = call(client, "/get-order-status", {"orderId": "ORD-100003", "userId": "U1003"})
    assert order["exchanges"] == [] and order["items"][0]["returnableQuantity"] == 1


@pytest.mark.parametrize(
    "change,code",
    [
        ({"newSize": "S"}, "same_variant"),
        ({"newSize": "XXXL"}, "variant_not_found"),
        ({"newColor": "Purple"}, "variant_not_found"),
    ],
)
def test_exchange_needs_another_real_variant(system, change, code):
    status, body = call(
        post_purchase(system),
        "/initiate-exchange",
        {"orderId": "ORD-100003", "userId": "U1003", "sku": "P1017-WHITE-S", "reason": "wrong_size", **change},
    )
    assert status == 422, body
    assert body["error"]["code"] == code


def test_exchange_follows_the_return_window(system):
    status, body = call(
        post_purchase(system),
        "/initiate-exchange",
        {
            "orderId": "ORD-100002",
            "userId": "U1001",
            "sku": "P1051-GOLD-ONESIZE",
            "newColor": "Silver",
            "reason": "changed_mind",
        },
    )
    assert status == 422 and body["error"]["code"] == "return_window_closed"


def test_exchange_with_inventory_down_is_503_and_writes_nothing(system):
    app = sibling_app(system, inventory=unreachable("inventory"))
    status, body = call(
        app.test_client(),
        "/initiate-exchange",
        {"orderId": "ORD-100003", "userId": "U1003", "sku": "P1017-WHITE-S", "newSize": "M", "reason": "wrong_size"},
    )
    assert status == 503, body
    _, order = call(post_purchase(system), "/get-order-status", {"orderId": "ORD-100003", "userId": "U1003"})
    assert order["exchanges"] == [] and order["items"][0]["returnableQuantity"] == 1
    app.db.dispose()


# --- feedback ----------------------------------------------------------------------------------


def test_one_feedback_per_order_and_product(system):
    client = post_purchase(system)
    request = {"orderId": "ORD-100003", "userId": "U1003", "rating": 4, "productId": "P1017"}
    status, body = call(client, "/submit-feedback", request)
    assert status == 201, body
    assert body["rating"] == 4 and body["productId"] == "P1017" and body["comment"] is None
    status, again = call(client, "/submit-feedback", {**request, "rating": 1})
    assert status == 409 and again["error"]["code"] == "feedback_exists"
    # Another product of the same order, and the order as a whole, are separate.
    assert call(client, "/submit-feedback", {**request, "productId": "P1025"})[0] == 201
    assert call(client, "/submit-feedback", {"orderId": "ORD-100003", "userId": "U1003", "rating": 5})[0] == 201
    assert call(client, "/submit-feedback", {"orderId": "ORD-100003", "userId": "U1003", "rating": 5})[0] == 409


def test_feedback_rules(system):
    client = post_purchase(system)
    status, body = call(
        client, "/submit-feedback", {"orderId": "ORD-100003", "userId": "U1003", "rating": 3, "productId": "P1001"}
    )
    assert status == 422 and body["error"]["code"] == "not_in_order"
    status, body = call(
        client, "/submit-feedback", {"orderId": "ORD-100007", "userId": "U1001", "rating": 3, "productId": "P1031"}
    )
    assert status == 422 and body["error"]["code"] == "not_delivered"
    status, body = call(
        client, "/submit-feedback", {"orderId": "ORD-100007", "userId": "U1001", "rating": 2, "comment": "Slow to ship"}
    )
    assert status == 201 and body["productId"] is None
    status, body = call(
        client, "/submit-feedback", {"orderId": "ORD-100009", "userId": "U1008", "rating": 1, "productId": "P1004"}
    )
    assert status == 409  # the seeded feedback
