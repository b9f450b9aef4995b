"""Changing where an order goes before it ships (updateOrderAddress): by an address from the book or inline, only
the shopper's own ship_to_home order, only before in_transit; status codes, error fields, and the order read back."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from order_owners import JACKET_LINE

from fulfillment_agent import storage

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.usefixtures("frozen_clock")
HOME = {
    "name": "Priya Sharma",
    "line1": "Flat 1202, Sea Breeze Towers",
    "city": "Mumbai",
    "postalCode": "400053",
}
KOLKATA = {"name": "Priya Sharma", "line1": "Flat 3, 14 Park Street", "city": "Kolkata", "postalCode": "700016"}
JACKET = JACKET_LINE


def order(client, owners, user: str = "U1001", **fields) -> dict:
    body = {
        "userId": user,
        "items": [JACKET],
        "fulfillmentType": "ship_to_home",
        "shippingAddress": HOME,
        "subtotal": 4999,
        "discount": 0,
        "total": 4999,
        "paymentId": owners.pay(user, 4999)["paymentId"],
        **fields,
    }
    reply = client.post("/create-order", json={k: v for k, v in body.items() if v is not None})
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def change(client, order_id: str, user: str = "U1001", **where):
    return client.post("/update-order-address", json={"orderId": order_id, "userId": user, **where})


def read(client, order_id: str) -> dict:
    return client.post("/get-order", json={"orderId": order_id}).get_json()


def error_of(reply, status: int, code: str) -> list[str]:
    body = reply.get_json()
    assert reply.status_code == status and body["error"]["code"] == code, body
    return [d["field"] for d in body["error"]["details"]]


def test_an_inline_address_replaces_the_old_one_and_a_farther_city_moves_the_estimate_later(client, owners):
    placed = order(client, owners)
    assert placed["status"] == "confirmed" and placed["estimatedDelivery"] == "2026-11-24T14:30:00Z"
    reply = change(client, placed["orderId"], shippingAddress={**KOLKATA, "line1": "  Flat 3,  14 Park Street "})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["shippingAddress"] == {**KOLKATA, "country": "IN"}  # spaces tidied, country IN
    kept = read(client, placed["orderId"])
    assert kept["shippingAddress"] == {**KOLKATA, "country": "IN"} and kept["status"] == "confirmed"
    assert kept["estimatedDelivery"] == placed["estimatedDelivery"]  # Kolkata is a metro too: 3 days
    lucknow = {**KOLKATA, "city": "Lucknow", "postalCode": "226001"}
    assert change(client, placed["orderId"], shippingAddress=lucknow).status_code == 200
    assert read(client, placed["orderId"])["estimatedDelivery"] == "2026-11-27T14:30:00Z"  # 6 days elsewhere
    assert change(client, placed["orderId"], shippingAddress=KOLKATA).status_code == 200
    assert read(client, placed["orderId"])["estimatedDelivery"] == "2026-11-27T14:30:00Z"  # never earlier again
    nameless = {k: v for k, v in KOLKATA.items() if k != "name"}  # as createOrder, a name is not required
    assert change(client, placed["orderId"], shippingAddress=nameless).get_json()["shippingAddress"] == {
        **nameless,
        "country": "IN",
    }


def test_an_address_from_the_book_and_another_shoppers_address_or_order_is_unknown(client, owners):
    placed = order(client, owners)
    saved = client.post("/save-address", json={"userId": "U1001", "label": "Work", "address": KOLKATA}).get_json()
    reply = change(client, placed["orderId"], addressId=saved["addressId"])
    assert reply.status_code == 200, reply.get_json()
    assert read(client, placed["orderId"])["shippingAddress"] == saved["address"]
    theirs = client.post("/save-address", json={"userId": "U1002", "address": HOME}).get_json()
    assert error_of(change(client, placed["orderId"], addressId=theirs["addressId"]), 404, "not_found") == ["addressId"]
    assert error_of(change(client, placed["orderId"], "U1002", shippingAddress=HOME), 404, "not_found") == ["orderId"]
    assert read(client, placed["orderId"])["shippingAddress"] == saved["address"]  # neither changed it


def test_a_packed_order_can_still_move_but_once_shipped_it_is_a_409_naming_the_order(client, owners):
    placed = order(client, owners)
    operator = client.application.test_client(caller="operator")
    assert (
        operator.post("/update-order-status", json={"orderId": placed["orderId"], "status": "packed"}).status_code
        == 200
    )
    assert change(client, placed["orderId"], shippingAddress=KOLKATA).status_code == 200
    assert (
        operator.post("/update-order-status", json={"orderId": placed["orderId"], "status": "in_transit"}).status_code
        == 200
    )
    reply = change(client, placed["orderId"], shippingAddress=HOME)
    assert error_of(reply, 409, "already_shipped") == ["orderId"]
    assert "in_transit" in reply.get_json()["error"]["message"]
    assert read(client, placed["orderId"])["shippingAddress"]["city"] == "Kolkata"


def test_a_cancelled_order_cannot_move(client, owners):
    placed = order(client, owners)
    cancelled = client.post(
        "/cancel-order", json={"orderId": placed["orderId"], "userId": "U1001", "reason": "changed my mind"}
    )
    assert cancelled.status_code == 200
    reply = change(client, placed["orderId"], shippingAddress=KOLKATA)
    assert error_of(reply, 409, "cannot_change_address") == ["orderId"]
    assert read(client, placed["orderId"])["shippingAddress"]["city"] == "Mumbai"


def test_refusals_name_the_field_and_change_nothing(client, owners):
    placed = order(client, owners)
    oid = placed["orderId"]
    shillong = {**KOLKATA, "city": "Shillong", "postalCode": "793001"}
    assert error_of(change(client, oid, shippingAddress=shillong), 422, "city_not_delivered") == [
        "shippingAddress.city"
    ]
    assert error_of(change(client, oid, shippingAddress={**KOLKATA, "name": "  "}), 422, "blank_field") == [
        "shippingAddress.name"
    ]
    saved = client.post("/save-address", json={"userId": "U1001", "address": KOLKATA}).get_json()
    both = change(client, oid, shippingAddress=KOLKATA, addressId=saved["addressId"])
    assert error_of(both, 422, "address_ambiguous") == ["addressId"]
    assert error_of(change(client, oid), 422, "shipping_address_required") == ["shippingAddress"]
    bad_pin = change(client, oid, shippingAddress={**KOLKATA, "postalCode": "70001"})
    assert error_of(bad_pin, 400, "validation_error") == ["shippingAddress.postalCode"]
    assert read(client, oid)["shippingAddress"] == HOME  # as createOrder kept it


def test_a_click_and_collect_order_has_no_address_to_change(client, owners):
    placed = order(client, owners, fulfillmentType="click_and_collect", storeId="ST-MUM-01", shippingAddress=None)
    reply = change(client, placed["orderId"], shippingAddress=KOLKATA)
    assert error_of(reply, 422, "shipping_address_not_expected") == ["shippingAddress"]
    assert read(client, placed["orderId"])["shippingAddress"] is None


def test_the_change_is_guarded_by_the_status_it_read(client, owners):
    placed = order(client, owners)
    db = client.application.db
    with db.write() as conn:  # a move to in_transit won the race: the change for "confirmed" writes nothing
        assert not storage.set_order_address(conn, placed["orderId"], "packed", KOLKATA, "2026-11-30T00:00:00Z", "x")
    assert read(client, placed["orderId"])["shippingAddress"]["city"] == "Mumbai"
