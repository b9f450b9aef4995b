"""Issue 8, reproductions 1, 2 and 9: createOrder checks every claim with the agent that owns it, cancelling or
rejecting an order undoes it with every owner (once), and ids have room to grow.

Everything is read back from the owners' own APIs: the payment and its refunds, stock levels and holds, points
balances and coupon uses. Each test fails on the main these were reproduced on.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from order_owners import JACKET_LINE, POOR_CARD

from agentkit import AgentCallError, AgentClient, clock, load_contract
from fulfillment_agent import storage

USER = "U1003"  # Kavya, silver, 1870 points
ADDRESS = {"name": "Kavya Iyer", "line1": "12 Marina Road", "city": "Chennai", "postalCode": "600004", "country": "IN"}
PUFFER = JACKET_LINE


def body_for(items=None, discount=0.0, fee=0.0, **extra) -> dict:
    items = items or [PUFFER]
    subtotal = round(sum(i["quantity"] * i["unitPrice"] for i in items), 2)
    body = {
        "userId": USER,
        "items": items,
        "fulfillmentType": "ship_to_home",
        "shippingAddress": ADDRESS,
        "paymentId": "PAY-NOSUCH0001",
        "subtotal": subtotal,
        "discount": discount,
        "deliveryFee": fee,
        "total": round(subtotal - discount + fee, 2),
    }
    body.update(extra)
    return body


def paid_body(owners, **kwargs) -> dict:
    body = body_for(**kwargs)
    body["paymentId"] = owners.pay(body["userId"], body["total"])["paymentId"]
    return body


def refused(reply, status: int, code: str) -> list[str]:
    error = reply.get_json()["error"]
    assert reply.status_code == status and error["code"] == code, reply.get_json()
    return [d["field"] for d in error["details"]]


def orders_of(client, user=USER) -> list[dict]:
    """The shopper's orders created by the test (the seed's run up to ORD-100011)."""
    orders = client.post("/list-orders", json={"userId": user, "limit": 100}).get_json()["orders"]
    return [o for o in orders if int(o["orderId"][4:]) > 100011]


# --- reproduction 1: every claim checked with its owner ------------------------------------------------


def test_a_total_of_zero_is_refused_and_nothing_is_recorded(client, owners):
    points = owners.points(USER)
    claim = body_for(discount=4999, paymentId=owners.pay(USER, 1)["paymentId"])  # total 0: no payment is for 0
    assert claim["total"] == 0
    assert refused(client.post("/create-order", json=claim), 422, "payment_amount_mismatch") == ["total"]
    claim = paid_body(owners, discount=100)  # paid in full for a discount nobody gave
    assert refused(client.post("/create-order", json=claim), 422, "discount_mismatch") == ["discount"]
    assert orders_of(client) == [] and owners.points(USER) == points


def test_a_unit_price_that_is_not_the_catalogs_is_refused(client, owners):
    cheap = {**PUFFER, "unitPrice": 1}
    claim = body_for(items=[cheap], paymentId=owners.pay(USER, 1)["paymentId"])
    reply = client.post("/create-order", json=claim)
    assert refused(reply, 409, "price_mismatch") == ["items.0.unitPrice"]
    assert "4999.00" in reply.get_json()["error"]["message"]
    renamed = body_for(items=[{**PUFFER, "name": "Free Jacket"}], paymentId=owners.pay(USER, 4999)["paymentId"])
    assert refused(client.post("/create-order", json=renamed), 409, "name_mismatch") == ["items.0.name"]
    unknown = body_for(items=[{**PUFFER, "sku": "P1001-GOLD-M", "color": "Gold"}])
    assert refused(client.post("/create-order", json=unknown), 422, "unknown_variant") == ["items.0.sku"]
    assert orders_of(client) == []


def test_a_payment_that_does_not_exist_or_failed_pays_for_nothing(client, owners):
    assert refused(client.post("/create-order", json=body_for()), 422, "payment_not_found") == ["paymentId"]
    declined = owners.pay(USER, 4999, card=POOR_CARD)
    assert declined["status"] == "failed" and declined["declineCode"] == "insufficient_funds"
    reply = client.post("/create-order", json=body_for(paymentId=declined["paymentId"]))
    assert refused(reply, 422, "payment_not_succeeded") == ["paymentId"]
    assert orders_of(client) == []


def test_the_payment_must_be_the_shoppers_and_exactly_the_total(client, owners):
    someone_else = owners.pay("U1001", 4999)
    reply = client.post("/create-order", json=body_for(paymentId=someone_else["paymentId"]))
    assert refused(reply, 422, "payment_not_shoppers") == ["paymentId"]
    short = owners.pay(USER, 4998.99)
    reply = client.post("/create-order", json=body_for(paymentId=short["paymentId"]))
    assert refused(reply, 422, "payment_amount_mismatch") == ["total"]
    assert orders_of(client) == [] and orders_of(client, "U1001") == []


def test_a_hold_that_does_not_exist_is_not_active_or_holds_other_things_is_refused(client, owners):
    claim = paid_body(owners, holdId="HLD-NOSUCH0001")
    assert refused(client.post("/create-order", json=claim), 422, "hold_not_found") == ["holdId"]
    two = owners.hold([{**PUFFER, "quantity": 2}])
    claim["holdId"] = two
    assert refused(client.post("/create-order", json=claim), 409, "hold_mismatch") == ["holdId"]
    released = owners.hold([PUFFER])
    owners.ok("inventory", "/release-hold", {"holdId": released})
    claim["holdId"] = released
    assert refused(client.post("/create-order", json=claim), 409, "hold_not_active") == ["holdId"]
    assert orders_of(client) == [] and owners.hold_status(two) == "active"


def test_points_no_redemption_stands_behind_are_refused_and_the_balance_is_unchanged(client, owners):
    points = owners.points(USER)  # 1870
    claim = paid_body(owners, pointsRedeemed=2000)  # more than the balance, and nothing off the total
    assert refused(client.post("/create-order", json=claim), 422, "insufficient_points") == ["pointsRedeemed"]
    claim = paid_body(owners, pointsRedeemed=400)  # affordable, but the discount does not include them
    assert refused(client.post("/create-order", json=claim), 422, "discount_mismatch") == ["discount"]
    assert owners.points(USER) == points and orders_of(client) == []  # the redemption was given back


def test_a_coupon_claim_is_recorded_with_loyalty_and_must_match_the_discount(client, owners):
    assert owners.coupon_usable(USER, "WELCOME10", 4999)
    claim = paid_body(owners, couponCode="WELCOME10", discount=999)  # 10 % of 4999 is not 999
    assert refused(client.post("/create-order", json=claim), 422, "discount_mismatch") == ["discount"]
    assert owners.coupon_usable(USER, "WELCOME10", 4999)  # the use was given back
    real = owners.coupon_price(USER, "WELCOME10", [PUFFER])
    points_value = 400 * owners.member(USER)["pointValue"]
    points = owners.points(USER)
    claim = paid_body(owners, couponCode="WELCOME10", pointsRedeemed=400, discount=round(real + points_value, 2))
    reply = client.post("/create-order", json=claim)
    assert reply.status_code == 201, reply.get_json()
    order = reply.get_json()
    assert not owners.coupon_usable(USER, "WELCOME10", 4999)  # single use: loyalty recorded it for this order
    assert owners.points(USER) == points - 400
    redeemed = [e for e in owners.member(USER)["recentActivity"] if e["type"] == "redeem"]
    assert redeemed and redeemed[0]["points"] == -400 and order["orderId"] in str(redeemed[0])


def test_an_automatic_offer_stands_behind_a_discount_without_a_coupon(client, owners):
    offers = owners.ok(
        "loyalty",
        "/get-applicable-offers",
        {"userId": USER, "cartAmount": 4999, "items": [{"productId": "P1001", "category": "jackets", "amount": 4999}]},
    )
    automatic = next(o for o in offers["offers"] if o["kind"] == "automatic" and o["isApplicable"])
    claim = paid_body(owners, discount=automatic["estimatedDiscount"])
    assert client.post("/create-order", json=claim).status_code == 201
    claim = paid_body(owners, discount=automatic["estimatedDiscount"] + 1)
    assert refused(client.post("/create-order", json=claim), 422, "discount_mismatch") == ["discount"]


def test_the_delivery_fee_is_the_delivery_rules(client, owners):
    muffler = {
        "productId": "P1045",
        "sku": "P1045-GREY-ONESIZE",
        "name": "Snowfall Ribbed Muffler",
        "size": "One Size",
        "color": "Grey",
        "quantity": 1,
        "unitPrice": 899,
    }
    claim = paid_body(owners, items=[muffler])  # Rs 899 ships for Rs 99
    assert refused(client.post("/create-order", json=claim), 422, "totals_mismatch") == ["deliveryFee"]
    assert client.post("/create-order", json=paid_body(owners, items=[muffler], fee=99)).status_code == 201


# --- reproduction 2: cancel and reject undo everything, once ---------------------------------------------


def placed(client, owners, user=USER, quantity=1, coupon=None, points=0) -> dict:
    """An order as the checkout places it: held, paid, created, the hold committed, points earned."""
    items = [{**PUFFER, "quantity": quantity}]
    discount = owners.coupon_price(user, coupon, items) if coupon else 0
    discount = round(discount + points * owners.member(user)["pointValue"], 2)
    hold_id = owners.hold(items)
    claim = body_for(items=items, discount=discount, holdId=hold_id, userId=user)
    if coupon:
        claim["couponCode"] = coupon
    if points:
        claim["pointsRedeemed"] = points
    claim["paymentId"] = owners.pay(user, claim["total"])["paymentId"]
    reply = client.post("/create-order", json=claim)
    assert reply.status_code == 201, reply.get_json()
    order = reply.get_json()
    owners.ok("inventory", "/commit-hold", {"holdId": hold_id, "orderId": order["orderId"]})
    earned = owners.ok(
        "loyalty", "/earn-points", {"userId": user, "orderId": order["orderId"], "amount": order["total"]}
    )
    assert earned["pointsEarned"] > 0
    return order


def test_cancelling_refunds_restocks_and_gives_points_and_coupon_back_once(client, owners):
    stock, points = owners.stock(), owners.points(USER)
    order = placed(client, owners, coupon="WELCOME10", points=400)
    assert owners.stock() == stock - 1 and owners.points(USER) != points
    assert not owners.coupon_usable(USER, "WELCOME10", 4999)
    cancel = {"orderId": order["orderId"], "userId": USER, "reason": "Ordered the wrong size"}
    reply = client.post("/cancel-order", json=cancel)
    assert reply.status_code == 200 and reply.get_json()["status"] == "cancelled"
    payment = owners.payment(order["paymentId"])
    assert payment["status"] == "refunded" and payment["refundedAmount"] == order["total"]
    assert len(payment["refunds"]) == 1
    assert owners.stock() == stock  # the committed stock was put back
    assert owners.points(USER) == points  # earned points taken back, redeemed points given back
    assert owners.coupon_usable(USER, "WELCOME10", 4999)  # the single-use coupon is free again
    again = client.post("/cancel-order", json=cancel)
    assert again.status_code == 200
    payment = owners.payment(order["paymentId"])
    assert len(payment["refunds"]) == 1 and payment["refundedAmount"] == order["total"]  # money moved once
    assert owners.stock() == stock and owners.points(USER) == points


def test_rejecting_an_order_waiting_for_approval_refunds_it_once(client, owners):
    user = "U1002"  # the reproduction: Rs 62,495 stayed charged on a rejected order
    saree = {
        "productId": "P1059",
        "sku": "P1059-MAROON-ONESIZE",
        "name": "Varanasi Zari Banarasi Saree",
        "size": "One Size",
        "color": "Maroon",
        "quantity": 5,
        "unitPrice": owners.ok("recommendation", "/get-product", {"productId": "P1059"})["price"],
    }
    stock = owners.stock("P1059", "One Size", "Maroon")
    hold_id = owners.hold([saree])
    claim = body_for(items=[saree], holdId=hold_id, userId=user)
    claim["paymentId"] = owners.pay(user, claim["total"])["paymentId"]
    order = client.post("/create-order", json=claim).get_json()
    assert order["status"] == "pending_approval", order
    reject = {"orderId": order["orderId"], "approver": "Kavita Rao", "approve": False, "note": "Suspicious"}
    assert client.post("/approve-order", json=reject).get_json()["status"] == "cancelled"
    payment = owners.payment(order["paymentId"])
    assert payment["status"] == "refunded" and payment["refundedAmount"] == order["total"] == 62495
    assert owners.hold_status(hold_id) == "released" and owners.stock("P1059", "One Size", "Maroon") == stock
    assert client.post("/approve-order", json=reject).status_code == 200  # rejecting again changes nothing
    assert len(owners.payment(order["paymentId"])["refunds"]) == 1


def test_an_operator_cancel_undoes_the_order_too(client, owners):
    stock, points = owners.stock(), owners.points(USER)
    order = placed(client, owners, points=200)
    reply = client.post("/update-order-status", json={"orderId": order["orderId"], "status": "cancelled"})
    assert reply.status_code == 200
    assert owners.payment(order["paymentId"])["status"] == "refunded"
    assert owners.stock() == stock and owners.points(USER) == points


# --- reproduction 9: ids with room to grow ----------------------------------------------------------------


def set_counter(app, name: str, value: int) -> None:
    with app.db.write() as conn:
        conn.execute(storage.counters.update().where(storage.counters.c.name == name).values(value=value))


def test_the_order_after_ord_999999_is_ord_1000000(app, client, owners):
    set_counter(app, "order", 999999)
    reply = client.post("/create-order", json=paid_body(owners))
    assert reply.status_code == 201, reply.get_json()
    order_id = reply.get_json()["orderId"]
    assert order_id == "ORD-1000000"
    assert client.post("/get-order", json={"orderId": order_id}).get_json()["orderId"] == order_id
    assert client.post("/cancel-order", json={"orderId": order_id, "userId": USER, "reason": "x"}).status_code == 200
    assert owners.payment(reply.get_json()["paymentId"])["status"] == "refunded"


def test_an_order_id_that_cannot_be_issued_is_a_clean_error_and_nothing_is_written(app, client, owners):
    set_counter(app, "order", storage.COUNTER_LIMIT)
    points = owners.points(USER)
    claim = paid_body(owners, pointsRedeemed=400, discount=400 * owners.member(USER)["pointValue"])
    claim["total"] = round(claim["subtotal"] - claim["discount"], 2)
    claim["paymentId"] = owners.pay(USER, claim["total"])["paymentId"]
    reply = client.post("/create-order", json=claim)
    assert reply.status_code == 503 and reply.get_json()["error"]["code"] == "id_unavailable", reply.get_json()
    assert reply.get_json()["error"]["retryable"] is False
    assert orders_of(client) == [] and owners.points(USER) == points
    with app.db.read() as conn:
        assert storage.next_number(conn, "order") is None  # the counter did not move past its limit


def test_a_reservation_id_that_cannot_be_issued_holds_nothing(app, client, owners):
    set_counter(app, "reservation", 999999)  # RSV- ids are six digits by the contract
    stock = owners.stock()
    reserve = {"userId": USER, "productId": "P1001", "size": "M", "color": "Black", "storeId": "ST-CHE-01"}
    reply = client.post("/reserve-in-store", json=reserve)
    assert reply.status_code == 503 and reply.get_json()["error"]["code"] == "id_unavailable"
    assert owners.stock() == stock
    assert client.post("/list-reservations", json={"userId": USER}).get_json()["reservations"] == []


@pytest.mark.parametrize("user,product", [("U10000", "P10000"), ("U1000000000", "P1000000000")])
def test_shopper_product_and_order_ids_have_no_fixed_width(client, owners, user, product):
    contract = load_contract("fulfillment")
    item = {**PUFFER, "productId": product, "sku": f"{product}-BLACK-M"}
    body = body_for(items=[item], userId=user)
    assert contract.operation("createOrder").request_validator.problems(body) == []
    assert contract.operation("getOrder").request_validator.is_valid({"orderId": "ORD-1000000000", "userId": user})
    # the agents store and answer them: a payment by a shopper with a long id, an order lookup for one
    assert owners.pay(user, 10)["userId"] == user
    assert client.post("/list-orders", json={"userId": user}).get_json() == {
        "userId": user,
        "count": 0,
        "orders": [],
        "nextCursor": None,
    }
    reply = client.post("/create-order", json=body)  # an unknown product: a clean 422, not a 500
    assert refused(reply, 422, "unknown_product") == ["items.0.productId"]


class BreakingClient(AgentClient):
    """A real contract client, except the operations told to fail as if the agent went down."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.broken: set[str] = set()

    def call(self, op_id, body, **kwargs):
        if op_id in self.broken:
            raise AgentCallError(self.contract.name, op_id, None, "unavailable", "not reachable")
        return super().call(op_id, body, **kwargs)


def test_a_discount_recorded_for_an_order_never_written_is_given_back_later(make_app, owners, monkeypatch):
    clients = owners.clients()
    loyalty = clients["loyalty"] = BreakingClient("loyalty", base_url=owners.urls["loyalty"], retries=0)
    client = make_app("fulfillment", tag="abandoned", clients=clients).test_client()
    points = owners.points(USER)
    value = 400 * owners.member(USER)["pointValue"]
    coupon = owners.coupon_price(USER, "WELCOME10", [PUFFER])
    loyalty.broken = {"redeemLoyaltyPoints", "reversePoints"}  # loyalty goes down after the coupon is recorded
    claim = paid_body(owners, couponCode="WELCOME10", pointsRedeemed=400, discount=round(coupon + value, 2))
    reply = client.post("/create-order", json=claim)
    assert reply.status_code == 503 and orders_of(client) == []
    assert not owners.coupon_usable(USER, "WELCOME10", 4999)  # recorded, and could not be given back yet
    loyalty.broken = set()
    later = clock.now() + timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.post("/create-order", json=paid_body(owners)).status_code == 201  # settles what was left
    assert owners.coupon_usable(USER, "WELCOME10", 4999) and owners.points(USER) == points
