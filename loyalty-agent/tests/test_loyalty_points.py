"""Points: redeeming, earning (idempotent per order), tier promotion, reversals and surviving a restart."""

from __future__ import annotations

import threading

import pytest
from orders import place_order

from agentkit.registry import import_app_factory


@pytest.fixture
def app(make_app):
    return make_app("loyalty")


@pytest.fixture
def client(app):
    return app.test_client()


def member(client, user_id, **extra):
    reply = client.post("/get-member", json={"userId": user_id, **extra})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def post(client, path, status, **body):
    reply = client.post(path, json=body)
    assert reply.status_code == status, reply.get_json()
    return reply.get_json()


# --- getMember -----------------------------------------------------------------------------------


def test_member_shows_tier_points_value_and_next_tier(client):
    gold = member(client, "U1001")
    assert gold | {"recentActivity": []} == {
        "userId": "U1001",
        "name": "Priya Sharma",
        "tier": "gold",
        "pointsBalance": 6120,
        "pointsOwed": 0,
        "pointValue": 0.25,
        "pointsValue": 1530,
        "lifetimePoints": 8450,
        "earnRate": 3,
        "nextTier": "platinum",
        "pointsToNextTier": 1550,
        "minimumRedeemablePoints": 100,
        "joinedAt": "2022-03-14",
        "recentActivity": [],
    }
    assert gold["recentActivity"][0]["type"] == "earn"  # the seeded order ORD-100007
    top = member(client, "U1007")
    assert top["tier"] == "platinum" and top["nextTier"] is None and top["pointsToNextTier"] is None


def test_seeded_ledger_adds_up_to_the_balance(client):
    for user_id in ("U1001", "U1002", "U1006"):
        found = member(client, user_id, activityLimit=100)
        assert sum(e["points"] for e in found["recentActivity"]) == found["pointsBalance"]
        assert found["recentActivity"][0]["balanceAfter"] == found["pointsBalance"]


# --- redeem --------------------------------------------------------------------------------------


def test_redeem_deducts_and_the_balance_is_lower_after(client):
    body = post(client, "/redeem-loyalty-points", 200, userId="U1001", points=500, orderReference="ORD-900001")
    assert body["pointsRedeemed"] == 500 and body["discountAmount"] == 125 and body["pointsBalance"] == 5620
    assert body["redemptionId"].startswith("RDM-") and body["status"] == "active"
    after = member(client, "U1001")
    assert after["pointsBalance"] == 5620 and after["lifetimePoints"] == 8450  # spending never lowers lifetime points
    entry = after["recentActivity"][0]
    assert entry["type"] == "redeem" and entry["points"] == -500 and entry["reference"] == body["redemptionId"]


def test_redeem_more_than_the_balance_is_refused_and_changes_nothing(client):
    reply = client.post("/redeem-loyalty-points", json={"userId": "U1004", "points": 341})
    error = reply.get_json()["error"]
    assert reply.status_code == 422 and error["code"] == "insufficient_points"
    assert "340" in error["message"] and error["details"][0]["field"] == "points"
    assert member(client, "U1004")["pointsBalance"] == 340
    post(client, "/redeem-loyalty-points", 200, userId="U1004", points=340)  # exactly the balance is fine
    assert member(client, "U1004")["pointsBalance"] == 0


def test_redeem_below_the_minimum_is_refused(client):
    reply = client.post("/redeem-loyalty-points", json={"userId": "U1002", "points": 99})
    assert reply.status_code == 422 and reply.get_json()["error"]["code"] == "below_minimum_redemption"
    assert member(client, "U1002")["pointsBalance"] == 14250


def test_redeem_worth_more_than_the_cart_is_refused(client):
    reply = client.post("/redeem-loyalty-points", json={"userId": "U1002", "points": 5000, "cartAmount": 1000})
    error = reply.get_json()["error"]
    assert reply.status_code == 422 and error["code"] == "exceeds_cart_amount" and "at most 4000" in error["message"]
    post(client, "/redeem-loyalty-points", 200, userId="U1002", points=4000, cartAmount=1000)


def test_the_same_redemption_for_an_order_is_not_deducted_twice(client):
    first = post(client, "/redeem-loyalty-points", 200, userId="U1001", points=300, orderReference="ORD-900002")
    again = post(client, "/redeem-loyalty-points", 200, userId="U1001", points=300, orderReference="ORD-900002")
    assert again == first and member(client, "U1001")["pointsBalance"] == 6120 - 300
    reply = client.post(
        "/redeem-loyalty-points", json={"userId": "U1001", "points": 400, "orderReference": "ORD-900002"}
    )
    assert reply.status_code == 409 and reply.get_json()["error"]["code"] == "already_redeemed_for_order"


def test_a_retried_redemption_with_the_same_idempotency_key_deducts_once(client):
    headers = {"Idempotency-Key": "checkout-U1005-attempt-1"}
    first = client.post("/redeem-loyalty-points", json={"userId": "U1005", "points": 200}, headers=headers)
    again = client.post("/redeem-loyalty-points", json={"userId": "U1005", "points": 200}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert member(client, "U1005")["pointsBalance"] == 4380 - 200


def test_cancel_redemption_gives_the_points_back_once(client):
    redeemed = post(client, "/redeem-loyalty-points", 200, userId="U1003", points=1000)
    first = post(
        client,
        "/cancel-redemption",
        200,
        userId="U1003",
        redemptionId=redeemed["redemptionId"],
        reason="payment failed",
    )
    assert first["pointsRestored"] == 1000 and first["pointsBalance"] == 1870 and first["alreadyCancelled"] is False
    second = post(client, "/cancel-redemption", 200, userId="U1003", redemptionId=redeemed["redemptionId"])
    assert second["alreadyCancelled"] is True and second["pointsBalance"] == 1870
    assert member(client, "U1003")["pointsBalance"] == 1870
    # somebody else's redemption is not found
    assert (
        client.post(
            "/cancel-redemption", json={"userId": "U1001", "redemptionId": redeemed["redemptionId"]}
        ).status_code
        == 404
    )


def test_concurrent_redemptions_never_overdraw(app):
    # U1002 has 14,250 points: of twenty 1,000-point redemptions at once exactly fourteen can succeed.
    statuses = []

    def redeem():
        reply = app.test_client().post("/redeem-loyalty-points", json={"userId": "U1002", "points": 1000})
        statuses.append(reply.status_code)

    threads = [threading.Thread(target=redeem) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 14 + [422] * 6
    assert member(app.test_client(), "U1002")["pointsBalance"] == 250


# --- earn: on real orders, read from the fulfillment agent ----------------------------------------


def test_earn_uses_the_tier_rate_and_the_same_order_earns_once(system):
    client = system.client("loyalty")
    order = place_order(system, "U1001", [("P1001", "M", "Black", 1)])  # ₹4,999
    first = post(client, "/earn-points", 201, userId="U1001", orderId=order["orderId"])
    assert first["amount"] == 4999 and first["pointsEarned"] == 147  # floor(4999 / 100) = 49 × 3 (gold)
    assert first["pointsBalance"] == 6120 + 147 and first["replayed"] is False and first["tierChanged"] is False
    again = post(client, "/earn-points", 200, userId="U1001", orderId=order["orderId"], amount=4999)
    assert again == first | {"replayed": True}
    assert member(client, "U1001")["pointsBalance"] == 6120 + 147
    assert member(client, "U1001")["lifetimePoints"] == 8450 + 147


def test_seeded_orders_have_already_earned(system):
    client = system.client("loyalty")
    replay = post(client, "/earn-points", 200, userId="U1002", orderId="ORD-100001", amount=4718)
    assert replay["replayed"] is True and replay["pointsEarned"] == 235
    assert member(client, "U1002")["pointsBalance"] == 14250


def test_earn_for_another_members_order_is_unknown_or_a_conflict(system):
    client = system.client("loyalty")
    order = place_order(system, "U1001", [("P1017", "M", "White", 1)])
    reply = client.post("/earn-points", json={"userId": "U1003", "orderId": order["orderId"]})
    assert reply.status_code == 404 and reply.get_json()["error"]["details"][0]["field"] == "orderId"
    post(client, "/earn-points", 201, userId="U1001", orderId=order["orderId"])
    reply = client.post("/earn-points", json={"userId": "U1003", "orderId": order["orderId"]})
    assert reply.status_code == 409 and reply.get_json()["error"]["code"] == "order_of_another_member"


def test_lifetime_points_promote_the_tier(system):
    client = system.client("loyalty")
    # U1003 is silver with 2,960 lifetime points; gold starts at 5,000. 13 × ₹7,999 = ₹1,03,987: 1,039 × 2 = 2,078.
    order = place_order(system, "U1003", [("P1004", "M", "Charcoal", 13)])
    earned = post(client, "/earn-points", 201, userId="U1003", orderId=order["orderId"])
    assert earned["pointsEarned"] == 2078 and earned["tier"] == "gold" and earned["previousTier"] == "silver"
    assert earned["tierChanged"] is True
    now = member(client, "U1003")
    assert now["tier"] == "gold" and now["earnRate"] == 3 and now["nextTier"] == "platinum"
    assert now["lifetimePoints"] == 5038
    assert "promoted to gold" in now["recentActivity"][0]["description"]
    # the next order earns at the gold rate: ₹1,899 -> 18 × 3
    second = place_order(system, "U1003", [("P1017", "M", "White", 1)])
    assert post(client, "/earn-points", 201, userId="U1003", orderId=second["orderId"])["pointsEarned"] == 54


# --- reverse -------------------------------------------------------------------------------------


def test_reverse_takes_back_earned_points_and_is_idempotent(system):
    client = system.client("loyalty")
    order = place_order(system, "U1001", [("P1001", "M", "Black", 1)])
    oid = order["orderId"]
    post(client, "/earn-points", 201, userId="U1001", orderId=oid)
    first = post(client, "/reverse-points", 200, userId="U1001", orderId=oid, reason="order cancelled")
    assert first["pointsReversed"] == 147 and first["pointsBalance"] == 6120 and first["lifetimePoints"] == 8450
    assert first["alreadyReversed"] is False and first["pointsOwed"] == 0 and first["returnId"] is None
    second = post(client, "/reverse-points", 200, userId="U1001", orderId=oid, reason="order cancelled")
    assert second == first | {"alreadyReversed": True}
    assert member(client, "U1001")["pointsBalance"] == 6120
    # a reversed order cannot earn again
    reply = client.post("/earn-points", json={"userId": "U1001", "orderId": oid})
    assert reply.status_code == 409 and reply.get_json()["error"]["code"] == "order_reversed"


def test_reversing_the_order_that_promoted_a_member_takes_the_tier_back(system):
    client = system.client("loyalty")
    order = place_order(system, "U1003", [("P1004", "M", "Charcoal", 13)])
    post(client, "/earn-points", 201, userId="U1003", orderId=order["orderId"])
    reversed_ = post(client, "/reverse-points", 200, userId="U1003", orderId=order["orderId"], reason="refunded")
    assert reversed_["tier"] == "silver" and reversed_["previousTier"] == "gold" and reversed_["tierChanged"] is True
    assert member(client, "U1003")["tier"] == "silver"


def test_reverse_restores_redeemed_points_and_releases_the_coupon(system):
    client = system.client("loyalty")
    order = place_order(system, "U1004", [("P1045", "One Size", "Grey", 3)])  # ₹2,697: 26 points at bronze
    oid = order["orderId"]
    post(
        client,
        "/apply-coupon",
        200,
        userId="U1004",
        couponCode="WELCOME10",
        cartAmount=3000,
        orderReference=oid,
        commit=True,
    )
    post(client, "/redeem-loyalty-points", 200, userId="U1004", points=300, orderReference=oid)
    post(client, "/earn-points", 201, userId="U1004", orderId=oid)
    assert member(client, "U1004")["pointsBalance"] == 340 - 300 + 26
    undone = post(client, "/reverse-points", 200, userId="U1004", orderId=oid, reason="order cancelled")
    assert undone["pointsRestored"] == 300 and undone["pointsReversed"] == 26 and undone["pointsShortfall"] == 0
    assert undone["couponsReleased"] == ["WELCOME10"] and undone["pointsBalance"] == 340
    # the single-use coupon can be used again on a new order
    post(
        client,
        "/apply-coupon",
        200,
        userId="U1004",
        couponCode="WELCOME10",
        cartAmount=3000,
        orderReference="ORD-900013",
        commit=True,
    )


def test_reverse_of_an_order_that_never_earned_changes_nothing(client):
    undone = post(client, "/reverse-points", 200, userId="U1005", orderId="ORD-900015", reason="payment failed")
    assert undone["pointsReversed"] == 0 and undone["pointsRestored"] == 0 and undone["pointsBalance"] == 4380


# --- every operation: unknown member -------------------------------------------------------------


@pytest.mark.parametrize(
    "path,body",
    [
        ("/get-member", {}),
        ("/get-applicable-offers", {"cartAmount": 100}),
        ("/apply-coupon", {"couponCode": "FLAT500", "cartAmount": 5000}),
        ("/redeem-loyalty-points", {"points": 100}),
        ("/cancel-redemption", {"redemptionId": "RDM-ABCDEF1234"}),
        ("/reverse-points", {"orderId": "ORD-900016", "reason": "cancelled"}),
    ],
)
def test_unknown_member_is_404_everywhere(client, path, body):
    """Except earnPoints, which enrols a new shopper on a real order (test_loyalty_new_members.py)."""
    reply = client.post(path, json={"userId": "U9999", **body})
    error = reply.get_json()["error"]
    assert reply.status_code == 404 and error["code"] == "not_found"
    assert error["details"] == [{"field": "userId", "message": "unknown member"}]


# --- restart -------------------------------------------------------------------------------------


def test_points_and_coupon_uses_survive_a_restart(system):
    app, client = system.apps["loyalty"], system.client("loyalty")
    order = place_order(system, "U1002", [("P1001", "M", "Black", 2)])  # ₹9,998 at platinum: 99 × 5
    post(client, "/redeem-loyalty-points", 200, userId="U1001", points=1000, orderReference="ORD-900017")
    post(client, "/earn-points", 201, userId="U1002", orderId=order["orderId"])
    post(
        client,
        "/apply-coupon",
        200,
        userId="U1003",
        couponCode="WELCOME10",
        cartAmount=1500,
        orderReference="ORD-900019",
        commit=True,
    )
    app.db.dispose()

    restarted = import_app_factory("loyalty")(database_url=app.db.url)
    restarted.testing = True
    try:
        again = restarted.test_client()
        assert member(again, "U1001")["pointsBalance"] == 5120
        assert member(again, "U1002")["pointsBalance"] == 14250 + 495
        assert post(again, "/earn-points", 200, userId="U1002", orderId=order["orderId"])["replayed"] is True
        reply = again.post(
            "/apply-coupon",
            json={
                "userId": "U1003",
                "couponCode": "WELCOME10",
                "cartAmount": 1500,
                "orderReference": "ORD-900020",
                "commit": True,
            },
        )
        assert reply.status_code == 422 and reply.get_json()["error"]["code"] == "coupon_already_used"
    finally:
        restarted.db.dispose()
