"""Fulfillment agent order rules: totals, approval, delivery estimates, the checked lifecycle, cancellation."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta, timezone

import pytest
from order_owners import error_of, fields

from agentkit.registry import import_app_factory
from fulfillment_agent import domain, storage

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)  # 15:30 in India
pytestmark = pytest.mark.usefixtures("frozen_clock")

# The lifecycle as the brief states it, written out here independently of the code under test.
LEGAL = {
    "pending_approval": {"cancelled"},  # confirming it is approveOrder's job
    "pending": {"confirmed", "cancelled"},
    "confirmed": {"packed", "cancelled"},
    "packed": {"in_transit", "cancelled"},
    "in_transit": {"delivered"},
    "delivered": set(),
    "cancelled": set(),
}
STATUSES = list(LEGAL)
ADDRESS = {
    "name": "Priya Sharma",
    "line1": "Flat 1202, Sea Breeze Towers",
    "city": "Mumbai",
    "state": "Maharashtra",
    "postalCode": "400053",
    "country": "IN",
}
payment_numbers = itertools.count(100000)


@pytest.fixture
def inventory_app(owners):
    return owners.apps["inventory"]


def jacket(quantity: int = 1, price: float = 4999, color: str = "Black", size: str = "M") -> dict:
    return {
        "productId": "P1001",
        "sku": f"P1001-{color.upper()}-{size}",
        "name": "Alpine Puffer Jacket",
        "size": size,
        "color": color,
        "quantity": quantity,
        "unitPrice": price,
    }


def order_body(items=None, discount=0, **overrides) -> dict:
    items = items or [jacket()]
    subtotal = round(sum(i["quantity"] * i["unitPrice"] for i in items), 2)
    body = {
        "userId": "U1001",
        "items": items,
        "fulfillmentType": "ship_to_home",
        "shippingAddress": ADDRESS,
        "paymentId": f"PAY-T{next(payment_numbers)}",
        "subtotal": subtotal,
        "discount": discount,
        "total": round(subtotal - discount, 2),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def create(client, **overrides) -> dict:
    """An order the owners stand behind: paid for its total (unless a paymentId is given)."""
    body = order_body(**overrides)
    if "paymentId" not in overrides:
        body["paymentId"] = client.application.owners.pay(body["userId"], body["total"])["paymentId"]
    reply = client.post("/create-order", json=body)
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def move(client, order_id: str, status: str, **extra):
    return client.post("/update-order-status", json={"orderId": order_id, "status": status, **extra})


PATHS = {  # how a fresh order reaches each status through the API
    "confirmed": [],
    "packed": ["packed"],
    "in_transit": ["packed", "in_transit"],
    "delivered": ["packed", "in_transit", "delivered"],
    "cancelled": ["cancelled"],
}


def order_in(app, client, status: str) -> str:
    if status == "pending_approval":
        return create(client, items=[jacket(quantity=11)])["orderId"]  # 54,989 > 50,000
    order_id = create(client)["orderId"]
    if status == "pending":
        # Nothing creates "pending" orders any more (only the seed has one), so put one there directly.
        with app.db.write() as conn:
            assert storage.move_order(conn, order_id, "confirmed", "pending")
        return order_id
    for step in PATHS[status]:
        assert move(client, order_id, step).status_code == 200
    return order_id


# --- the lifecycle -------------------------------------------------------------------------------


@pytest.mark.parametrize("current", STATUSES)
def test_every_transition_is_checked(app, client, current):
    for target in STATUSES:
        order_id = order_in(app, client, current)
        reply = move(client, order_id, target, note=f"{current} to {target}")
        if target in LEGAL[current]:
            order = reply.get_json()
            assert reply.status_code == 200, order
            assert order["status"] == target
            assert order["statusHistory"][-1]["status"] == target
            assert order["statusHistory"][-1]["note"].startswith(f"{current} to {target}")
            assert set(order["nextStatuses"]) == LEGAL[target]
        else:
            error = error_of(reply, 409, "invalid_transition")
            assert current in error["message"] and target in error["message"]
            for allowed in LEGAL[current]:
                assert allowed in error["message"]
            if not LEGAL[current]:
                assert "final" in error["message"]
            assert fields(error) == ["status"]
            after = client.post("/get-order", json={"orderId": order_id}).get_json()
            assert after["status"] == current, "a refused move must change nothing"


def test_seed_orders_follow_the_same_rules(client):
    assert move(client, "ORD-100004", "confirmed").status_code == 200  # pending -> confirmed
    assert move(client, "ORD-100006", "in_transit").status_code == 200  # packed -> in_transit
    error = error_of(move(client, "ORD-100008", "confirmed"), 409, "invalid_transition")
    assert "cancelled is final" in error["message"]
    error = error_of(move(client, "ORD-100007", "packed"), 409, "invalid_transition")
    assert "in_transit" in error["message"] and "delivered" in error["message"]


def test_in_transit_assigns_carrier_and_tracking_and_delivered_records_the_time(client, frozen_clock):
    order_id = order_in(None, client, "packed")
    packed = client.post("/get-order", json={"orderId": order_id}).get_json()
    assert packed["carrier"] is None and packed["trackingNumber"] is None
    shipped = move(client, order_id, "in_transit").get_json()
    assert shipped["carrier"] == "BlueDart"  # Mumbai is a metro
    assert shipped["trackingNumber"] and shipped["trackingNumber"].isdigit()
    assert shipped["deliveredAt"] is None
    frozen_clock["now"] = NOW + timedelta(days=2)
    delivered = move(client, order_id, "delivered").get_json()
    assert delivered["deliveredAt"] == "2026-11-23T10:00:00Z"
    assert delivered["trackingNumber"] == shipped["trackingNumber"]
    assert delivered["nextStatuses"] == []


def test_a_preassigned_carrier_is_kept(client):
    move(client, "ORD-100005", "packed")
    shipped = move(client, "ORD-100005", "in_transit").get_json()
    assert shipped["carrier"] == "BlueDart" and shipped["trackingNumber"]


def test_click_and_collect_travels_to_the_store_without_a_carrier(client):
    order_id = create(client, fulfillmentType="click_and_collect", shippingAddress=None, storeId="ST-MUM-02")["orderId"]
    for step in ("packed", "in_transit"):
        order = move(client, order_id, step).get_json()
    assert order["status"] == "in_transit" and order["carrier"] is None and order["trackingNumber"] is None


def test_two_concurrent_updates_cannot_both_win(app):
    order_id = order_in(app, app.test_client(), "confirmed")
    barrier = threading.Barrier(2)
    statuses = []

    def pack():
        client = app.test_client()
        barrier.wait()
        statuses.append(move(client, order_id, "packed").status_code)

    threads = [threading.Thread(target=pack) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    history = app.test_client().post("/get-order", json={"orderId": order_id}).get_json()["statusHistory"]
    assert [h["status"] for h in history].count("packed") == 1


def test_the_status_update_is_guarded_by_the_expected_status(app):
    with app.db.write() as conn:
        assert storage.move_order(conn, "ORD-100005", "confirmed", "packed")
        assert not storage.move_order(conn, "ORD-100005", "confirmed", "cancelled")  # stale: it is packed now
    assert app.test_client().post("/get-order", json={"orderId": "ORD-100005"}).get_json()["status"] == "packed"


def test_unknown_order_is_404_naming_orderid(client):
    error = error_of(move(client, "ORD-999999", "packed"), 404, "not_found")
    assert fields(error) == ["orderId"]


# --- cancelling ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["in_transit", "delivered"])
def test_cancel_after_it_ships_is_409_and_points_to_returns(app, client, status):
    order_id = order_in(app, client, status)
    reply = client.post("/cancel-order", json={"orderId": order_id, "userId": "U1001", "reason": "Changed my mind"})
    error = error_of(reply, 409, "cannot_cancel")
    assert status in error["message"] and "returned" in error["message"]
    assert client.post("/get-order", json={"orderId": order_id}).get_json()["status"] == status


def test_seed_in_transit_order_cannot_be_cancelled(client):
    reply = client.post("/cancel-order", json={"orderId": "ORD-100007", "userId": "U1001", "reason": "Too slow"})
    assert "returned" in error_of(reply, 409, "cannot_cancel")["message"]


@pytest.mark.parametrize("status", ["pending_approval", "pending", "confirmed", "packed"])
def test_cancel_before_it_ships(app, client, status):
    order_id = order_in(app, client, status)
    reply = client.post("/cancel-order", json={"orderId": order_id, "userId": "U1001", "reason": "Found it cheaper"})
    order = reply.get_json()
    assert reply.status_code == 200, order
    assert order["status"] == "cancelled"
    assert order["statusHistory"][-1]["note"].startswith("Cancelled by the shopper: Found it cheaper")
    again = client.post("/cancel-order", json={"orderId": order_id, "userId": "U1001", "reason": "again"})
    assert again.status_code == 200 and again.get_json()["statusHistory"] == order["statusHistory"]


def test_only_the_owner_can_cancel(client):
    reply = client.post("/cancel-order", json={"orderId": "ORD-100005", "userId": "U1001", "reason": "not mine"})
    assert fields(error_of(reply, 404, "not_found")) == ["orderId"]
    assert client.post("/get-order", json={"orderId": "ORD-100005"}).get_json()["status"] == "confirmed"


def online_level(inventory_app, size="M", color="Black") -> int:
    reply = inventory_app.test_client().post(
        "/check-inventory", json={"productId": "P1001", "attributes": {"size": size, "color": color}}
    )
    return reply.get_json()["onlineStockLevel"]


def hold(inventory_app, quantity=2) -> str:
    reply = inventory_app.test_client().post(
        "/create-hold",
        json={
            "items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": quantity}],
            "reference": "checkout",
        },
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["holdId"]


def test_cancelling_gives_committed_stock_back(client, inventory_app):
    before = online_level(inventory_app)
    hold_id = hold(inventory_app)
    order = create(client, items=[jacket(quantity=2)], holdId=hold_id)
    commit = inventory_app.test_client().post("/commit-hold", json={"holdId": hold_id, "orderId": order["orderId"]})
    assert commit.status_code == 200 and online_level(inventory_app) == before - 2
    reply = client.post(
        "/cancel-order", json={"orderId": order["orderId"], "userId": "U1001", "reason": "No longer needed"}
    )
    assert reply.status_code == 200
    assert online_level(inventory_app) == before
    assert "Stock returned" in reply.get_json()["statusHistory"][-1]["note"]


def test_cancelling_releases_an_active_hold(client, inventory_app):
    before = online_level(inventory_app)
    hold_id = hold(inventory_app, quantity=1)
    order = create(client, holdId=hold_id)
    assert online_level(inventory_app) == before - 1
    reply = move(client, order["orderId"], "cancelled", note="Warehouse could not find it")
    assert reply.status_code == 200
    assert online_level(inventory_app) == before
    status = inventory_app.test_client().post("/get-hold", json={"holdId": hold_id}).get_json()["status"]
    assert status == "released"


def test_cancel_still_works_when_inventory_is_down_and_cancelling_again_finishes_it(make_app, owners):
    clients = owners.clients()
    app = make_app("fulfillment", tag="down", clients=clients)
    app.owners = owners
    client = app.test_client()
    before = online_level(owners.apps["inventory"])
    hold_id = hold(owners.apps["inventory"], quantity=1)
    order = create(client, holdId=hold_id)
    clients["inventory"].base_url = "http://inventory.down.test"  # nothing answers there: connection refused
    reply = client.post("/cancel-order", json={"orderId": order["orderId"], "userId": "U1001", "reason": "Oops"})
    assert reply.status_code == 200
    assert reply.get_json()["status"] == "cancelled"
    assert "Stock not returned yet" in reply.get_json()["statusHistory"][-1]["note"]
    assert owners.payment(order["paymentId"])["status"] == "refunded"  # the other owners were undone anyway
    assert owners.hold_status(hold_id) == "active"
    clients["inventory"].base_url = owners.urls["inventory"]
    again = client.post("/cancel-order", json={"orderId": order["orderId"], "userId": "U1001", "reason": "Oops"})
    assert again.status_code == 200 and "Held stock released" in again.get_json()["statusHistory"][-1]["note"]
    assert owners.hold_status(hold_id) == "released" and online_level(owners.apps["inventory"]) == before
    payment = owners.payment(order["paymentId"])
    assert len(payment["refunds"]) == 1 and payment["refundedAmount"] == order["total"]  # refunded once


# --- approval ------------------------------------------------------------------------------------


def test_orders_above_the_threshold_wait_for_approval(make_app, owners):
    app = make_app("fulfillment", tag="t", clients=owners.clients(), config={"ORDER_APPROVAL_THRESHOLD": "49990"})
    app.owners = owners
    client = app.test_client()
    at_threshold = create(client, items=[jacket(quantity=10)])
    assert at_threshold["total"] == 49990 and at_threshold["status"] == "confirmed"
    above = create(client, items=[jacket(quantity=11)])
    assert above["status"] == "pending_approval"
    assert "approval threshold" in above["statusHistory"][0]["note"]
    assert above["nextStatuses"] == ["cancelled"]  # only approveOrder confirms it


def test_threshold_from_config_and_environment(make_app, owners, monkeypatch):
    from fulfillment_agent.app import approval_threshold

    monkeypatch.setenv("ORDER_APPROVAL_THRESHOLD", "1000")
    assert str(approval_threshold({})) == "1000"
    assert str(approval_threshold({"ORDER_APPROVAL_THRESHOLD": 20000})) == "20000"
    monkeypatch.setenv("ORDER_APPROVAL_THRESHOLD", "lots")
    with pytest.raises(ValueError, match="ORDER_APPROVAL_THRESHOLD"):
        approval_threshold({})
    monkeypatch.setenv("ORDER_APPROVAL_THRESHOLD", "4000")
    app = make_app("fulfillment", tag="low", clients=owners.clients())
    app.owners = owners
    assert create(app.test_client())["status"] == "pending_approval"  # 4999 > 4000


def test_approve_and_reject(client):
    first = create(client, items=[jacket(quantity=11)])["orderId"]
    reply = client.post(
        "/approve-order",
        json={"orderId": first, "approver": "Kavita Rao", "approve": True, "note": "Called the shopper"},
    )
    order = reply.get_json()
    assert reply.status_code == 200 and order["status"] == "confirmed"
    assert order["statusHistory"][-1]["note"] == "Approved by Kavita Rao: Called the shopper"
    second = create(client, items=[jacket(quantity=11)])["orderId"]
    rejected = client.post("/approve-order", json={"orderId": second, "approver": "Kavita Rao", "approve": False})
    assert rejected.get_json()["status"] == "cancelled"
    assert rejected.get_json()["statusHistory"][-1]["note"].startswith("Rejected by Kavita Rao.")
    again = client.post("/approve-order", json={"orderId": first, "approver": "Kavita Rao", "approve": True})
    assert "confirmed" in error_of(again, 409, "not_pending_approval")["message"]
    unknown = client.post("/approve-order", json={"orderId": "ORD-999999", "approver": "K", "approve": True})
    error_of(unknown, 404, "not_found")


# --- creating orders -----------------------------------------------------------------------------


MUFFLER = {
    "productId": "P1045",
    "sku": "P1045-GREY-ONESIZE",
    "name": "Snowfall Ribbed Muffler",
    "size": "One Size",
    "color": "Grey",
    "quantity": 2,
    "unitPrice": 899,
}


def test_created_order_has_every_field(app, client, owners):
    items = [jacket(), MUFFLER]
    coupon = owners.coupon_price("U1001", "WINTER20", items)  # as loyalty prices it for this cart
    points_value = 200 * owners.member("U1001")["pointValue"]
    discount = round(coupon + points_value, 2)
    hold_id = owners.hold(items)
    body = order_body(items=items, discount=discount, couponCode="winter20", pointsRedeemed=200, holdId=hold_id)
    body["paymentId"] = owners.pay("U1001", body["total"])["paymentId"]
    reply = client.post("/create-order", json=body)
    order = reply.get_json()
    assert reply.status_code == 201, order
    assert order["orderId"] == "ORD-100012"  # after the seed's ORD-100011
    assert (order["subtotal"], order["discount"], order["total"]) == (6797, discount, round(6797 - discount, 2))
    assert order["couponCode"] == "WINTER20" and order["pointsRedeemed"] == 200 and order["holdId"] == hold_id
    assert order["shippingAddress"] == ADDRESS and order["storeId"] is None and order["storeName"] is None
    assert order["status"] == "confirmed" and order["createdAt"] == "2026-11-21T10:00:00Z"
    assert order["statusHistory"] == [
        {"status": "confirmed", "at": "2026-11-21T10:00:00Z", "note": f"Payment {body['paymentId']} received."}
    ]
    assert client.post("/get-order", json={"orderId": "ORD-100012", "userId": "U1001"}).get_json() == order


@pytest.mark.parametrize(
    "change,field",
    [
        ({"subtotal": 4998}, "subtotal"),
        ({"total": 4998.99}, "total"),
        ({"discount": 100}, "total"),  # total no longer equals subtotal - discount
        ({"discount": 5000, "total": 0}, "discount"),
        ({"deliveryFee": 99}, "total"),
    ],
)
def test_totals_must_add_up_to_the_paisa(client, change, field):
    body = {**order_body(), **change}
    error = error_of(client.post("/create-order", json=body), 422, "totals_mismatch")
    assert fields(error) == [field]
    assert field in error["message"]


def test_paise_arithmetic_is_exact(client):
    items = [jacket(quantity=3, price=0.1)]  # 3 x 0.1 is 0.30000000000000004 in floating point
    domain._check_amounts(order_body(items=items, subtotal=0.3, discount=0.1, total=0.2))  # adds up: no error
    with_fee = create(client, items=[{**MUFFLER, "quantity": 1}], deliveryFee=99, total=998)
    assert with_fee["deliveryFee"] == 99 and with_fee["total"] == 998


def test_amounts_below_a_paisa_are_refused(client):
    error = error_of(
        client.post("/create-order", json=order_body(items=[jacket(price=4999.005)])), 422, "invalid_amount"
    )
    assert fields(error) == ["items.0.unitPrice"]


def test_ship_to_home_needs_an_address(client):
    error = error_of(
        client.post("/create-order", json=order_body(shippingAddress=None)), 422, "shipping_address_required"
    )
    assert fields(error) == ["shippingAddress"] and "shippingAddress" in error["message"]


def test_click_and_collect_needs_a_known_store_and_no_address(client):
    base = {"fulfillmentType": "click_and_collect", "shippingAddress": None}
    error = error_of(client.post("/create-order", json=order_body(**base)), 422, "store_required")
    assert fields(error) == ["storeId"]
    error = error_of(client.post("/create-order", json=order_body(**base, storeId="ST-GOA-01")), 404, "not_found")
    assert fields(error) == ["storeId"]
    with_address = order_body(fulfillmentType="click_and_collect", storeId="ST-MUM-01")
    assert fields(error_of(client.post("/create-order", json=with_address), 422)) == ["shippingAddress"]
    order = create(client, **base, storeId="ST-KOL-01")
    assert order["storeName"] == "South City Mall, Jodhpur Park" and order["shippingAddress"] is None


def test_sku_must_match_product_colour_and_size(client):
    wrong = {**jacket(), "sku": "P1001-NAVY-M"}
    error = error_of(client.post("/create-order", json=order_body(items=[wrong])), 422, "sku_mismatch")
    assert fields(error) == ["items.0.sku"]


def test_a_payment_or_hold_pays_for_one_order_only(client, owners):
    hold_id = owners.hold([jacket()])
    first = create(client, holdId=hold_id)
    again = order_body(paymentId=first["paymentId"])
    error = error_of(client.post("/create-order", json=again), 409, "payment_already_used")
    assert first["orderId"] in error["message"] and fields(error) == ["paymentId"]
    error = error_of(client.post("/create-order", json=order_body(holdId=hold_id)), 409, "hold_already_used")
    assert fields(error) == ["holdId"]


@pytest.mark.parametrize(
    "city,expected",
    [
        ("Mumbai", "2026-11-24T14:30:00Z"),  # metro: 3 days, by 20:00 in India
        ("New Delhi", "2026-11-24T14:30:00Z"),  # the postal name of a metro
        ("Nashik", "2026-11-27T14:30:00Z"),  # elsewhere: 6 days
    ],
)
def test_estimated_delivery_by_city(client, city, expected):
    order = create(client, shippingAddress={**ADDRESS, "city": city})
    assert order["estimatedDelivery"] == expected


def test_click_and_collect_is_ready_the_next_day(client):
    order = create(client, fulfillmentType="click_and_collect", shippingAddress=None, storeId="ST-PUN-01")
    assert order["estimatedDelivery"] == "2026-11-22T06:30:00Z"  # 12:00 in India


def test_a_slot_from_the_delivery_options_sets_the_estimate(client):
    options = client.post("/get-delivery-options", json={"city": "Mumbai"}).get_json()["options"]
    slot = options[0]["slots"][-1]
    order = create(client, deliverySlot=slot["slotId"])
    assert order["deliverySlot"] == slot
    assert order["estimatedDelivery"] == "2026-11-26T15:30:00Z"  # 26 Nov, 18:00-21:00 ends 21:00 in India
    error = error_of(
        client.post("/create-order", json=order_body(deliverySlot="SL-20261122-1014")), 422, "slot_unavailable"
    )
    assert fields(error) == ["deliverySlot"]
    error = error_of(client.post("/create-order", json=order_body(deliverySlot="SL-20261399-1014")), 422)
    assert fields(error) == ["deliverySlot"]


# --- delivery options ----------------------------------------------------------------------------


@pytest.mark.parametrize("cart,fee", [(None, 99), (999, 99), (999.01, 0), (4999, 0)])
def test_shipping_fee_is_free_above_999(client, cart, fee):
    body = {"city": "Pune"} if cart is None else {"city": "Pune", "cartValue": cart}
    home = client.post("/get-delivery-options", json=body).get_json()["options"][0]
    assert home["type"] == "ship_to_home" and home["fee"] == fee and home["freeAbove"] == 999


def test_delivery_options_by_city(client):
    mumbai = client.post("/get-delivery-options", json={"city": "bombay", "postalCode": "400053"}).get_json()
    assert mumbai["city"] == "Mumbai" and mumbai["metro"] and mumbai["postalCode"] == "400053"
    home, collect = mumbai["options"]
    assert home["estimatedDays"] == {"min": 2, "max": 3} and home["estimatedDate"] == "2026-11-24"
    assert home["slots"][0] == {"slotId": "SL-20261124-1014", "date": "2026-11-24", "window": "10:00-14:00"}
    assert collect["type"] == "click_and_collect" and collect["fee"] == 0
    assert [s["storeId"] for s in collect["stores"]] == ["ST-MUM-01", "ST-MUM-02"]
    assert collect["estimatedDate"] == "2026-11-22"
    town = client.post("/get-delivery-options", json={"city": "Nashik"}).get_json()
    assert not town["metro"] and [o["type"] for o in town["options"]] == ["ship_to_home"]
    assert town["options"][0]["estimatedDays"] == {"min": 4, "max": 6}


# --- reading -------------------------------------------------------------------------------------


def test_get_order_hides_other_shoppers_orders(client):
    assert client.post("/get-order", json={"orderId": "ORD-100001", "userId": "U1002"}).status_code == 200
    error = error_of(client.post("/get-order", json={"orderId": "ORD-100001", "userId": "U1001"}), 404)
    assert fields(error) == ["orderId"]


def test_seed_orders_read_back_in_utc(client):
    order = client.post("/get-order", json={"orderId": "ORD-100001"}).get_json()
    # 14:22 in India on 16 Nov in the seed; the seed moves with the calendar, and NOW is 5 h 30 min after the
    # seed's reference time (10:00 in India on 21 Nov), so it reads back 5 h 30 min later, in UTC.
    assert order["deliveredAt"] == "2026-11-16T14:22:00Z"
    assert [h["status"] for h in order["statusHistory"]] == [
        "pending",
        "confirmed",
        "packed",
        "in_transit",
        "delivered",
    ]
    collect = client.post("/get-order", json={"orderId": "ORD-100006"}).get_json()
    assert collect["storeName"] == "South City Mall, Jodhpur Park" and collect["shippingAddress"] is None


def test_list_orders_newest_first_with_filter_and_limit(client):
    created = create(client)["orderId"]
    everything = client.post("/list-orders", json={"userId": "U1001"}).get_json()
    assert everything["orders"][0]["orderId"] == created
    assert everything["count"] == len(everything["orders"]) == 3  # ORD-100002, ORD-100007 and the new one
    in_transit = client.post("/list-orders", json={"userId": "U1001", "status": "in_transit"}).get_json()
    assert [o["orderId"] for o in in_transit["orders"]] == ["ORD-100007"]
    assert client.post("/list-orders", json={"userId": "U1001", "limit": 1}).get_json()["count"] == 1
    assert client.post("/list-orders", json={"userId": "U9999"}).get_json() == {
        "userId": "U9999",
        "count": 0,
        "orders": [],
        "nextCursor": None,
    }


def test_orders_survive_a_restart(app, client):
    order_id = create(client)["orderId"]
    move(client, order_id, "packed")
    app.db.dispose()
    again = import_app_factory("fulfillment")(database_url=app.db.url, clients=app.owners.clients())
    again.owners = app.owners
    try:
        order = again.test_client().post("/get-order", json={"orderId": order_id}).get_json()
        assert order["status"] == "packed" and len(order["statusHistory"]) == 2
        second = create(again.test_client())
        assert second["orderId"] == f"ORD-{int(order_id[4:]) + 1:06d}"  # the counter survived too
    finally:
        again.db.dispose()


def test_control_characters_in_free_text_are_a_400_naming_the_field(client):
    reply = move(client, "ORD-100005", "packed", note="packed\u0000")
    assert fields(error_of(reply, 400, "validation_error")) == ["note"]
    reply = client.post("/cancel-order", json={"orderId": "ORD-100005", "userId": "U1002", "reason": "\u001b[31m"})
    assert fields(error_of(reply, 400, "validation_error")) == ["reason"]
    reply = client.post("/get-delivery-options", json={"city": "Mum\u0000bai"})
    assert fields(error_of(reply, 400, "validation_error")) == ["city"]
    ok = move(client, "ORD-100005", "packed", note="Packed by Ravi\nBox 2 of 2 \u2014 ज़ैकेट")
    assert ok.status_code == 200 and ok.get_json()["statusHistory"][-1]["note"].endswith("ज़ैकेट")


def test_a_hold_inventory_does_not_know_makes_no_order(client, owners):
    paid = owners.pay("U1001", 4999)
    reply = client.post("/create-order", json=order_body(holdId="HLD-NOSUCH01", paymentId=paid["paymentId"]))
    assert fields(error_of(reply, 422, "hold_not_found")) == ["holdId"]
    assert client.post("/list-orders", json={"userId": "U1001"}).get_json()["count"] == 2  # the seed's two
