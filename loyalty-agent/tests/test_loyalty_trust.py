"""Issue 8, reproductions 3, 4, 6 and 7: loyalty checks what it is told and never loses track of points.

Every test reads the state back through the owning agents' APIs (the member's points from loyalty, the
order from fulfillment), with all agents wired in process.
"""

from __future__ import annotations

from orders import place_order


def call(client, path, **body):
    reply = client.post(path, json=body)
    return reply.status_code, reply.get_json()


def member(system, user_id):
    status, body = call(system.client("loyalty"), "/get-member", userId=user_id, activityLimit=50)
    assert status == 200, body
    return body


# --- 3: earnPoints trusts nothing it is sent -------------------------------------------------------


def test_repro_3_points_for_an_order_that_does_not_exist_are_refused(system):
    before = member(system, "U1006")
    status, body = call(
        system.client("loyalty"), "/earn-points", userId="U1006", orderId="ORD-999999", amount=100000000
    )
    assert status == 404, body
    assert body["error"]["details"] == [{"field": "orderId", "message": "unknown order"}]
    after = member(system, "U1006")
    assert after["pointsBalance"] == before["pointsBalance"] and after["tier"] == before["tier"] == "bronze"
    assert after["lifetimePoints"] == before["lifetimePoints"]


def test_repro_3_points_come_from_what_the_order_was_paid_never_from_the_amount_sent(system):
    loyalty = system.client("loyalty")
    order = place_order(system, "U1006", [("P1001", "M", "Black", 1)])  # paid ₹4,999
    before = member(system, "U1006")
    status, body = call(loyalty, "/earn-points", userId="U1006", orderId=order["orderId"], amount=100000000)
    assert status == 409 and body["error"]["code"] == "amount_mismatch", body
    assert body["error"]["details"][0]["field"] == "amount"
    assert member(system, "U1006")["pointsBalance"] == before["pointsBalance"]

    status, earned = call(loyalty, "/earn-points", userId="U1006", orderId=order["orderId"])
    assert status == 201, earned
    assert earned["amount"] == 4999 and earned["pointsEarned"] == 49  # bronze: floor(4999 / 100) × 1
    assert member(system, "U1006")["pointsBalance"] == before["pointsBalance"] + 49


def test_repro_3_another_shoppers_order_and_a_cancelled_order_earn_nothing(system):
    loyalty = system.client("loyalty")
    order = place_order(system, "U1001", [("P1017", "M", "White", 1)])
    before = member(system, "U1006")["pointsBalance"]
    status, body = call(loyalty, "/earn-points", userId="U1006", orderId=order["orderId"], amount=order["total"])
    assert status == 404 and body["error"]["details"][0]["field"] == "orderId", body

    status, cancelled = call(
        system.client("fulfillment").as_caller("sales"),
        "/cancel-order",
        orderId=order["orderId"],
        userId="U1001",
        reason="changed my mind",
    )
    assert status == 200 and cancelled["status"] == "cancelled", cancelled
    mine = member(system, "U1001")["pointsBalance"]
    status, body = call(loyalty, "/earn-points", userId="U1001", orderId=order["orderId"], amount=order["total"])
    # Cancelling the order already reversed its loyalty (fulfillment undoes an order with every owner), so the
    # refusal may name the reversal rather than the cancellation; either way nothing is earned.
    assert status == 409 and body["error"]["code"] in ("order_cancelled", "order_reversed"), body
    assert member(system, "U1001")["pointsBalance"] == mine and member(system, "U1006")["pointsBalance"] == before


# --- 4: a reversal of spent points leaves a debt, never a negative balance or a lost claim ----------


def test_repro_4_earn_spend_reverse_leaves_points_owed_that_block_redeeming_until_paid(system):
    loyalty = system.client("loyalty")
    order = place_order(system, "U1004", [("P1004", "M", "Charcoal", 3)])  # ₹23,997: 239 points at bronze
    lifetime = member(system, "U1004")["lifetimePoints"]
    status, earned = call(loyalty, "/earn-points", userId="U1004", orderId=order["orderId"], amount=order["total"])
    assert status == 201 and earned["pointsEarned"] == 239 and earned["pointsBalance"] == 340 + 239
    status, spent = call(loyalty, "/redeem-loyalty-points", userId="U1004", points=579, orderReference="ORD-OTHER")
    assert status == 200 and spent["pointsBalance"] == 0, spent

    status, undone = call(loyalty, "/reverse-points", userId="U1004", orderId=order["orderId"], reason="order refunded")
    assert status == 200, undone
    assert undone["pointsReversed"] == 0 and undone["pointsShortfall"] == 239 and undone["pointsOwed"] == 239
    now = member(system, "U1004")
    assert now["pointsBalance"] == 0 and now["pointsOwed"] == 239  # never negative, never forgotten
    assert now["lifetimePoints"] == lifetime  # the reversed order's points no longer count for the tier

    # Nothing can be redeemed while points are owed.
    status, refused = call(loyalty, "/redeem-loyalty-points", userId="U1004", points=100)
    assert status == 422 and refused["error"]["code"] == "points_owed", refused
    assert refused["error"]["details"][0]["field"] == "points"

    # The next orders pay the debt first: ₹4,999 earns 49, all owed; ₹31,996 earns 319, 190 of it owed.
    small = place_order(system, "U1004", [("P1001", "M", "Black", 1)])
    status, first = call(loyalty, "/earn-points", userId="U1004", orderId=small["orderId"], amount=small["total"])
    assert status == 201 and first["pointsEarned"] == 49 and first["pointsBalance"] == 0, first
    assert member(system, "U1004")["pointsOwed"] == 190
    big = place_order(system, "U1004", [("P1004", "M", "Charcoal", 4)])
    status, second = call(loyalty, "/earn-points", userId="U1004", orderId=big["orderId"], amount=big["total"])
    assert status == 201 and second["pointsEarned"] == 319 and second["pointsBalance"] == 129, second
    now = member(system, "U1004")
    assert now["pointsOwed"] == 0 and now["pointsBalance"] == 129
    assert sum(e["points"] for e in now["recentActivity"]) == 129  # the whole ledger adds up to the balance
    status, redeemed = call(loyalty, "/redeem-loyalty-points", userId="U1004", points=100)
    assert status == 200 and redeemed["pointsBalance"] == 29, redeemed


# --- 6: a category coupon applies only to its items, and needs them --------------------------------


def test_repro_6_a_category_coupon_without_items_is_refused_naming_items(system):
    loyalty = system.client("loyalty")
    status, body = call(
        loyalty, "/apply-coupon", userId="U1003", couponCode="WINTER20", cartAmount=9000, categories=["jackets", "tops"]
    )
    assert status == 422, body
    assert body["error"]["code"] == "items_required" and body["error"]["details"][0]["field"] == "items"

    status, priced = call(
        loyalty,
        "/apply-coupon",
        userId="U1003",
        couponCode="WINTER20",
        cartAmount=9000,
        items=[{"category": "jackets", "amount": 4000}, {"category": "tops", "amount": 5000}],
    )
    assert status == 200 and priced["discountAmount"] == 800 and priced["finalAmount"] == 8200, priced  # 20 % of 4000

    status, offers = call(
        loyalty, "/get-applicable-offers", userId="U1003", cartAmount=9000, categories=["jackets", "tops"]
    )
    winter = next(o for o in offers["offers"] if o["code"] == "WINTER20")
    assert (
        winter["isApplicable"] is False
        and winter["reasonCode"] == "items_required"
        and winter["estimatedDiscount"] == 0
    )


# --- 7: percentages round half-up to the paisa ------------------------------------------------------


def test_repro_7_twenty_percent_of_4999_is_999_80(system):
    loyalty = system.client("loyalty")
    items = [{"productId": "P1001", "category": "jackets", "amount": 4999}]
    status, priced = call(loyalty, "/apply-coupon", userId="U1003", couponCode="WINTER20", cartAmount=4999, items=items)
    assert status == 200, priced
    assert priced["discountAmount"] == 999.8 and priced["finalAmount"] == 3999.2
    status, offers = call(loyalty, "/get-applicable-offers", userId="U1003", cartAmount=4999, items=items)
    by_code = {o["code"] or o["offerId"]: o for o in offers["offers"]}
    assert by_code["WINTER20"]["estimatedDiscount"] == 999.8
    assert by_code["OFF-WINTER15"]["estimatedDiscount"] == 749.85  # 15 % of 4999 = 749.85 exactly
