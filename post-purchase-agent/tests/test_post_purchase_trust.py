"""Issue 8, reproductions 5, 8 and 14: every undo after a sale is complete and shows in the owners' records.

A return refunds (payment), puts the goods back in stock with a ``return`` reason (inventory's stock history)
and takes back the points earned on them, pro rata (loyalty). A goodwill refund never makes a later return
fail. An exchange completes (the replacement's hold is committed to the order, the old unit restocked) or
expires cleanly (its hold released, the unit the shopper's again). Every assertion reads the owners' APIs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from orders import place_order

from agentkit import clock

NOW = datetime(2026, 11, 21, 4, 30, tzinfo=timezone.utc)  # 10:00 in India, the seed's "today"
pytestmark = pytest.mark.usefixtures("frozen_clock")


def call(client, path, body, status=None):
    reply = client.post(path, json=body)
    if status is not None:
        assert reply.status_code == status, (path, reply.get_json())
    return reply.status_code, reply.get_json()


def payment_of(system, payment_id):
    return call(system.client("payment"), "/check-payment-status", {"paymentId": payment_id}, 200)[1]


def online(system, product_id, size, color):
    body = {"productId": product_id, "attributes": {"size": size, "color": color}}
    return call(system.client("inventory"), "/check-inventory", body, 200)[1]["onlineStockLevel"]


def history(system, product_id, size, color):
    body = {"productId": product_id, "size": size, "color": color, "limit": 20}
    return call(system.client("inventory").as_caller("operator"), "/get-stock-history", body, 200)[1]["entries"]


def points(system, user_id):
    return call(system.client("loyalty"), "/get-member", {"userId": user_id, "activityLimit": 20}, 200)[1]


# --- 5: a return refunds, restocks with reason "return" and takes back the points -------------------


def test_repro_5_a_full_return_refunds_restocks_and_takes_back_the_points_earned(system):
    order = place_order(system, "U1003", [("P1017", "M", "White", 1), ("P1001", "M", "Black", 1)], deliver=True)
    oid, paid = order["orderId"], order["total"]  # ₹1,899 + ₹4,999 = ₹6,898
    before = points(system, "U1003")
    _, earned = call(
        system.client("loyalty").as_caller("sales"),
        "/earn-points",
        {"userId": "U1003", "orderId": oid, "amount": paid},
        201,
    )
    assert earned["pointsEarned"] == 68 * 2  # silver: floor(6898 / 100) × 2
    shirts, jackets = online(system, "P1017", "M", "White"), online(system, "P1001", "M", "Black")

    _, done = call(
        system.client("post-purchase"),
        "/initiate-return",
        {"orderId": oid, "userId": "U1003", "reason": "changed_mind"},
        201,
    )
    assert done["status"] == "refunded" and done["refundAmount"] == paid
    assert done["restocked"] is True and done["pointsTakenBack"] == 136

    refunded = payment_of(system, order["paymentId"])
    assert refunded["refundedAmount"] == paid and len(refunded["refunds"]) == 1  # money moved once
    assert online(system, "P1017", "M", "White") == shirts + 1 and online(system, "P1001", "M", "Black") == jackets + 1
    for product, size, color in (("P1017", "M", "White"), ("P1001", "M", "Black")):
        latest = history(system, product, size, color)[0]
        assert latest["change"] == 1 and latest["reason"].split()[0] == "return"
        assert done["returnId"] in latest["reason"] and oid in latest["reason"]
    after = points(system, "U1003")
    assert after["pointsBalance"] == before["pointsBalance"] and after["lifetimePoints"] == before["lifetimePoints"]
    assert after["pointsOwed"] == 0
    assert after["recentActivity"][0]["reference"] == done["returnId"]

    # Asking again finishes nothing twice: the stock and the points stay where they are.
    _, again = call(
        system.client("post-purchase"), "/retry-refund", {"returnId": done["returnId"], "userId": "U1003"}, 200
    )
    assert again == done
    assert (
        online(system, "P1017", "M", "White") == shirts + 1
        and points(system, "U1003")["pointsBalance"] == before["pointsBalance"]
    )


def test_repro_5_partial_returns_take_back_points_pro_rata_and_add_up_to_what_was_earned(system):
    # ORD-100001 (U1002, platinum) earned 235 points on a ₹5,898 subtotal: ₹4,999 jacket, ₹899 muffler.
    client = system.client("post-purchase")
    start = points(system, "U1002")["pointsBalance"]
    muffler_stock = online(system, "P1045", "One Size", "Grey")
    _, first = call(
        client,
        "/initiate-return",
        {
            "orderId": "ORD-100001",
            "userId": "U1002",
            "reason": "damaged",
            "items": [{"sku": "P1045-GREY-ONESIZE", "quantity": 1}],
        },
        201,
    )
    assert first["pointsTakenBack"] == 36  # 235 × 899 / 5898 = 35.8, half-up
    assert points(system, "U1002")["pointsBalance"] == start - 36
    assert online(system, "P1045", "One Size", "Grey") == muffler_stock + 1  # no hold on record: back to WH-MUM
    assert history(system, "P1045", "One Size", "Grey")[0]["locationId"] == "WH-MUM"

    _, rest = call(
        client, "/initiate-return", {"orderId": "ORD-100001", "userId": "U1002", "reason": "changed_mind"}, 201
    )
    assert rest["pointsTakenBack"] == 235 - 36  # everything returned: exactly what was earned
    assert points(system, "U1002")["pointsBalance"] == start - 235
    assert round(first["refundAmount"] + rest["refundAmount"], 2) == 4718
    assert payment_of(system, "PAY-7K3M9Q2X")["refundedAmount"] == 4718


# --- 8: a goodwill refund does not make a later return fail ---------------------------------------


def test_repro_8_after_a_goodwill_refund_the_return_refunds_what_is_left(system):
    status, goodwill = call(
        system.client("payment").as_caller("operator"),
        "/refund-payment",
        {"paymentId": "PAY-7K3M9Q2X", "amount": 100, "reason": "goodwill: late delivery"},
    )
    assert status == 201, goodwill
    status, done = call(
        system.client("post-purchase"),
        "/initiate-return",
        {"orderId": "ORD-100001", "userId": "U1002", "reason": "damaged"},
    )
    assert status == 201, done
    assert done["status"] == "refunded" and done["refundAmount"] == 4618  # 4718 paid, 100 already given back
    paid = payment_of(system, "PAY-7K3M9Q2X")
    assert paid["refundedAmount"] == 4718 and paid["status"] == "refunded" and len(paid["refunds"]) == 2
    assert done["restocked"] is True


def test_repro_8_after_a_goodwill_refund_of_everything_the_return_still_takes_the_goods_back(system):
    call(
        system.client("payment").as_caller("operator"),
        "/refund-payment",
        {"paymentId": "PAY-7K3M9Q2X", "reason": "goodwill refund by customer care"},
        201,
    )
    jackets = online(system, "P1001", "L", "Black")
    _, done = call(
        system.client("post-purchase"),
        "/initiate-return",
        {"orderId": "ORD-100001", "userId": "U1002", "reason": "damaged"},
        201,
    )
    assert done["refundAmount"] == 0 and done["status"] == "refunded" and done["restocked"] is True
    assert payment_of(system, "PAY-7K3M9Q2X")["refundedAmount"] == 4718  # nothing paid twice
    assert online(system, "P1001", "L", "Black") == jackets + 1


# --- 14: an exchange completes or expires cleanly ----------------------------------------------------

EXCHANGE = {"orderId": "ORD-100003", "userId": "U1003", "sku": "P1017-WHITE-S", "newSize": "M", "reason": "wrong_size"}


def test_repro_14_an_exchange_completes_the_replacement_ships_and_the_old_unit_is_restocked(system):
    client = system.client("post-purchase")
    old_units, new_units = online(system, "P1017", "S", "White"), online(system, "P1017", "M", "White")
    _, exchange = call(client, "/initiate-exchange", EXCHANGE, 201)
    assert online(system, "P1017", "M", "White") == new_units - 1

    operator = client.as_caller("operator")
    _, done = call(operator, "/complete-exchange", {"exchangeId": exchange["exchangeId"]}, 200)
    assert done["status"] == "completed" and done["closedAt"] is not None
    _, hold = call(system.client("inventory"), "/get-hold", {"holdId": exchange["holdId"]}, 200)
    assert hold["status"] == "committed" and hold["orderId"] == "ORD-100003"  # the replacement left for the order
    assert online(system, "P1017", "M", "White") == new_units - 1
    assert online(system, "P1017", "S", "White") == old_units + 1
    latest = history(system, "P1017", "S", "White")[0]
    assert latest["reason"].split()[0] == "return" and exchange["exchangeId"] in latest["reason"]

    _, again = call(operator, "/complete-exchange", {"exchangeId": exchange["exchangeId"]}, 200)
    assert again == done and online(system, "P1017", "S", "White") == old_units + 1
    _, seen = call(client, "/get-exchange-status", {"exchangeId": exchange["exchangeId"], "userId": "U1003"}, 200)
    assert seen["status"] == "completed"
    # Without an operator token, nobody completes an exchange.
    assert (
        client.as_caller("sales").post("/complete-exchange", json={"exchangeId": exchange["exchangeId"]}).status_code
        == 403
    )


def test_repro_14_an_exchange_whose_hold_ran_out_expires_and_gives_everything_back(system, monkeypatch):
    client = system.client("post-purchase")
    new_units = online(system, "P1017", "M", "White")
    _, exchange = call(client, "/initiate-exchange", EXCHANGE, 201)
    later = clock.parse(exchange["holdExpiresAt"]) + timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)

    _, seen = call(client, "/get-exchange-status", {"exchangeId": exchange["exchangeId"], "userId": "U1003"}, 200)
    assert seen["status"] == "expired" and seen["closedAt"] is not None
    _, hold = call(system.client("inventory"), "/get-hold", {"holdId": exchange["holdId"]}, 200)
    assert hold["status"] in ("expired", "released")
    assert online(system, "P1017", "M", "White") == new_units  # the held unit is on sale again

    status, refused = call(client.as_caller("operator"), "/complete-exchange", {"exchangeId": exchange["exchangeId"]})
    assert status == 409 and refused["error"]["code"] == "exchange_expired", refused
    # The unit is the shopper's again: it can be returned for its money.
    _, order = call(client, "/get-order-status", {"orderId": "ORD-100003", "userId": "U1003"}, 200)
    shirt = next(i for i in order["items"] if i["sku"] == "P1017-WHITE-S")
    assert shirt["returnableQuantity"] == 1 and order["exchanges"][0]["status"] == "expired"
    _, returned = call(
        client,
        "/initiate-return",
        {
            "orderId": "ORD-100003",
            "userId": "U1003",
            "reason": "other",
            "items": [{"sku": "P1017-WHITE-S", "quantity": 1}],
        },
        201,
    )
    assert returned["status"] == "refunded"


def test_repro_14_an_exchange_is_closed_when_the_order_is_read_after_its_hold_ran_out(system, monkeypatch):
    client = system.client("post-purchase")
    _, exchange = call(client, "/initiate-exchange", EXCHANGE, 201)
    monkeypatch.setattr(clock, "now", lambda: clock.parse(exchange["holdExpiresAt"]) + timedelta(seconds=1))
    _, order = call(client, "/get-order-status", {"orderId": "ORD-100003", "userId": "U1003"}, 200)
    assert [x["status"] for x in order["exchanges"]] == ["expired"]


def test_repro_5_a_return_gives_back_the_points_redeemed_on_what_came_back(system):
    order = place_order(system, "U1001", [("P1017", "M", "White", 1), ("P1001", "M", "Black", 1)], deliver=True)
    oid = order["orderId"]  # ₹6,898: 1,899 shirt + 4,999 jacket
    loyalty = system.client("loyalty").as_caller("sales")
    call(loyalty, "/redeem-loyalty-points", {"userId": "U1001", "points": 400, "orderReference": oid}, 200)
    _, earned = call(loyalty, "/earn-points", {"userId": "U1001", "orderId": oid, "amount": order["total"]}, 201)
    start = points(system, "U1001")["pointsBalance"]

    client = system.client("post-purchase")
    body = {
        "orderId": oid,
        "userId": "U1001",
        "reason": "wrong_size",
        "items": [{"sku": "P1017-WHITE-M", "quantity": 1}],
    }
    _, shirt = call(client, "/initiate-return", body, 201)
    given, taken = round(400 * 1899 / 6898), round(earned["pointsEarned"] * 1899 / 6898)  # 110 and 55
    assert shirt["pointsTakenBack"] == taken
    assert points(system, "U1001")["pointsBalance"] == start + given - taken

    _, rest = call(client, "/initiate-return", {"orderId": oid, "userId": "U1001", "reason": "changed_mind"}, 201)
    final = points(system, "U1001")
    assert final["pointsBalance"] == start + 400 - earned["pointsEarned"]  # all redeemed back, all earned taken
    status, again = call(loyalty, "/redeem-loyalty-points", {"userId": "U1001", "points": 100, "orderReference": oid})
    assert status == 200 and again["pointsRedeemed"] == 100  # the old redemption is settled, not still active
