"""Coupons and offers: each refusal with its code and reason, the offers list, and committed uses."""

from __future__ import annotations

import pytest

from loyalty_agent import storage


@pytest.fixture
def app(make_app):
    return make_app("loyalty")


@pytest.fixture
def client(app):
    return app.test_client()


def apply(client, **body):
    return client.post("/apply-coupon", json=body)


def offers(client, **body):
    reply = client.post("/get-applicable-offers", json=body)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def by_id(report, ident):
    return next(o for o in report["offers"] if ident in (o["code"], o["offerId"]))


def refusal(reply, status, code):
    body = reply.get_json()
    assert reply.status_code == status, body
    assert body["error"]["code"] == code, body
    assert body["error"]["details"], body
    return body["error"]


def times_used(app, code):
    with app.db.read() as conn:
        return storage.coupon(conn, code)["times_used"]


# --- applyCoupon: one test per refusal -----------------------------------------------------------


def test_unknown_coupon_is_404(client):
    error = refusal(apply(client, userId="U1001", couponCode="NOPE123", cartAmount=5000), 404, "coupon_not_found")
    assert error["details"][0]["field"] == "couponCode"


def test_min_cart_not_met_says_how_much_is_missing(client):
    error = refusal(apply(client, userId="U1003", couponCode="FLAT500", cartAmount=1500), 422, "min_cart_not_met")
    assert "Needs a cart of at least ₹2,999; yours is ₹1,500" in error["message"]
    assert error["suggestions"] == ["Add ₹1,499 more to the cart to use FLAT500."]


def test_tier_not_eligible(client):
    error = refusal(apply(client, userId="U1003", couponCode="GOLD15", cartAmount=5000), 422, "tier_not_eligible")
    assert "Only for gold and platinum members" in error["message"]
    error = refusal(apply(client, userId="U1001", couponCode="PLATINUM20", cartAmount=9000), 422, "tier_not_eligible")
    assert "Only for platinum members; you are gold" in error["message"]
    assert apply(client, userId="U1001", couponCode="GOLD15", cartAmount=5000).status_code == 200


def test_expired_coupon(client):
    error = refusal(
        apply(client, userId="U1001", couponCode="DIWALI25", cartAmount=9000, categories=["ethnicwear"]),
        422,
        "coupon_expired",
    )
    assert "Expired on 2025-11-05" in error["message"]


def test_not_yet_valid_coupon(app, client):
    with app.db.write() as conn:
        conn.execute(
            storage.coupons.update()
            .where(storage.coupons.c.code == "FLAT500")
            .values(valid_from="2027-01-01T00:00:00Z")
        )
    error = refusal(apply(client, userId="U1001", couponCode="FLAT500", cartAmount=5000), 422, "coupon_not_yet_valid")
    assert "Starts on 2027-01-01" in error["message"]


def test_usage_limit_reached(app, client):
    with app.db.write() as conn:
        conn.execute(storage.coupons.update().where(storage.coupons.c.code == "STYLE300").values(times_used=5000))
    error = refusal(apply(client, userId="U1001", couponCode="STYLE300", cartAmount=2000), 422, "usage_limit_reached")
    assert "5,000 uses" in error["message"]


def test_category_not_eligible(client):
    error = refusal(
        apply(client, userId="U1002", couponCode="RUN15", cartAmount=5000, categories=["jackets"]),
        422,
        "category_not_eligible",
    )
    assert "Only on activewear and footwear; your cart has none" in error["message"]
    assert error["details"][0]["field"] == "categories"
    # Without the cart's items a category rule cannot say what it discounts, so it is refused naming items.
    error = refusal(apply(client, userId="U1002", couponCode="RUN15", cartAmount=5000), 422, "items_required")
    assert "items" in error["message"] and error["details"][0]["field"] == "items"
    ok = apply(
        client,
        userId="U1002",
        couponCode="RUN15",
        cartAmount=5000,
        items=[{"category": "Footwear", "amount": 5000}],
    )
    assert ok.status_code == 200 and ok.get_json()["discountAmount"] == 750  # 15% capped at ₹750


def test_single_use_coupon_refused_on_second_committed_use(app, client):
    first = apply(
        client, userId="U1004", couponCode="WELCOME10", cartAmount=2000, orderReference="ORD-900001", commit=True
    )
    assert first.status_code == 200, first.get_json()
    assert first.get_json() | {"committedAt": None} == {
        "couponCode": "WELCOME10",
        "userId": "U1004",
        "description": "10% off your first order, up to Rs 500.",
        "cartAmount": 2000,
        "discountAmount": 200,
        "finalAmount": 1800,
        "committed": True,
        "orderReference": "ORD-900001",
        "committedAt": None,
    }
    error = refusal(
        apply(
            client, userId="U1004", couponCode="welcome10", cartAmount=2000, orderReference="ORD-900002", commit=True
        ),
        422,
        "coupon_already_used",
    )
    assert "Already used" in error["message"]
    # Pricing without commit is refused too, and another member can still use it.
    refusal(apply(client, userId="U1004", couponCode="WELCOME10", cartAmount=2000), 422, "coupon_already_used")
    assert apply(client, userId="U1005", couponCode="WELCOME10", cartAmount=2000).status_code == 200
    assert times_used(app, "WELCOME10") == 1


# --- applyCoupon: pricing and committing ---------------------------------------------------------


def test_code_is_case_insensitive_and_pricing_records_nothing(app, client):
    for _ in range(3):
        reply = apply(client, userId="U1004", couponCode=" welcome10 ".strip(), cartAmount=9999)
        body = reply.get_json()
        assert reply.status_code == 200, body
        assert body["couponCode"] == "WELCOME10" and body["committed"] is False and body["committedAt"] is None
        assert body["discountAmount"] == 500 and body["finalAmount"] == 9499  # 10% capped at ₹500
    assert times_used(app, "WELCOME10") == 0


def test_committing_again_for_the_same_order_counts_once(app, client):
    before = times_used(app, "STYLE300")
    request = dict(userId="U1001", couponCode="STYLE300", cartAmount=2000, orderReference="ORD-900010", commit=True)
    first = apply(client, **request).get_json()
    second = apply(client, **request).get_json()
    assert first == second and first["committed"] is True and first["discountAmount"] == 300
    assert times_used(app, "STYLE300") == before + 1
    apply(client, **{**request, "orderReference": "ORD-900011"})
    assert times_used(app, "STYLE300") == before + 2


def test_commit_needs_an_order_reference(client):
    reply = apply(client, userId="U1001", couponCode="FLAT500", cartAmount=5000, commit=True)
    assert reply.status_code == 400
    assert "orderReference" in [d["field"] for d in reply.get_json()["error"]["details"]]


def test_category_discount_counts_only_its_own_lines(client):
    jackets_short = apply(
        client,
        userId="U1001",
        couponCode="WINTER20",
        cartAmount=5000,
        items=[{"category": "jackets", "amount": 2000}, {"category": "tops", "amount": 3000}],
    )
    error = refusal(jackets_short, 422, "min_cart_not_met")
    assert "Needs at least ₹2,499 of jackets or accessories; your cart has ₹2,000 of them" in error["message"]
    ok = apply(
        client,
        userId="U1001",
        couponCode="WINTER20",
        cartAmount=5000,
        items=[{"productId": "P1001", "category": "jackets", "amount": 3000}, {"category": "tops", "amount": 2000}],
    )
    assert ok.get_json()["discountAmount"] == 600  # 20% of the ₹3,000 of jackets, not of the whole cart


def test_items_cannot_add_up_to_more_than_the_cart(client):
    reply = apply(
        client, userId="U1001", couponCode="FLAT500", cartAmount=3000, items=[{"category": "tops", "amount": 4000}]
    )
    assert reply.status_code == 400 and reply.get_json()["error"]["details"][0]["field"] == "items"


def test_unknown_member_is_404(client):
    reply = apply(client, userId="U9999", couponCode="FLAT500", cartAmount=5000)
    assert reply.status_code == 404 and reply.get_json()["error"]["details"][0]["field"] == "userId"


# --- getApplicableOffers -------------------------------------------------------------------------


def test_offers_list_gives_the_reason_each_offer_does_not_apply(client):
    report = offers(client, userId="U1003", cartAmount=1500, categories=["tops"])
    flat = by_id(report, "FLAT500")
    assert flat["isApplicable"] is False and flat["estimatedDiscount"] == 0
    assert flat["reason"] == "Needs a cart of at least ₹2,999; yours is ₹1,500"
    assert flat["reasonCode"] == "min_cart_not_met" and flat["amountToQualify"] == 1499
    gold = by_id(report, "GOLD15")
    assert gold["reason"].startswith("Only for gold and platinum members") and gold["reasonCode"] == "tier_not_eligible"
    diwali = by_id(report, "DIWALI25")
    assert diwali["reason"] == "Expired on 2025-11-05" and diwali["reasonCode"] == "expired"
    run = by_id(report, "RUN15")
    assert run["reasonCode"] == "category_not_eligible" and "activewear and footwear" in run["reason"]
    style = by_id(report, "STYLE300")
    assert style["isApplicable"] is True and style["reason"] is None and style["estimatedDiscount"] == 300
    assert report["bestOffer"] == "STYLE300" and report["bestOfferDiscount"] == 300
    # applicable first, then the rest
    flags = [o["isApplicable"] for o in report["offers"]]
    assert flags == sorted(flags, reverse=True)


def test_offers_list_includes_automatic_offers_and_picks_the_biggest(client):
    report = offers(client, userId="U1002", cartAmount=9000, items=[{"category": "jackets", "amount": 9000}])
    assert report["tier"] == "platinum"
    kinds = {o["kind"] for o in report["offers"]}
    assert kinds == {"coupon", "automatic"}
    platinum5 = by_id(report, "OFF-PLATINUM5")
    assert platinum5["isApplicable"] is True and platinum5["estimatedDiscount"] == 450 and platinum5["code"] is None
    assert by_id(report, "PLATINUM20")["estimatedDiscount"] == 1800
    assert by_id(report, "OFF-WINTER15")["estimatedDiscount"] == 1350
    # WINTER20 and PLATINUM20 both give ₹1,800; a tie goes to the first code alphabetically
    assert report["bestOffer"] == "PLATINUM20" and report["bestOfferDiscount"] == 1800
    applicable = [o for o in report["offers"] if o["isApplicable"]]
    assert report["bestOfferDiscount"] == max(o["estimatedDiscount"] for o in applicable)
    # the platinum-only offer is refused to a gold member
    gold = offers(client, userId="U1001", cartAmount=9000)
    assert by_id(gold, "OFF-PLATINUM5")["reason"] == "Only for platinum members; you are gold"


def test_offers_list_shows_a_used_single_use_coupon_as_already_used(client):
    apply(client, userId="U1006", couponCode="WELCOME10", cartAmount=1200, orderReference="ORD-900020", commit=True)
    welcome = by_id(offers(client, userId="U1006", cartAmount=1200), "WELCOME10")
    assert welcome["isApplicable"] is False and welcome["reasonCode"] == "already_used"
    assert welcome["reason"].startswith("Already used")


def test_offers_report_points_value_and_redeemable_points(client):
    report = offers(client, userId="U1001", cartAmount=1000)
    assert report["pointsBalance"] == 6120 and report["pointValue"] == 0.25 and report["pointsValue"] == 1530
    assert report["minimumRedeemablePoints"] == 100
    assert report["redeemablePoints"] == 4000  # ₹1,000 cart / ₹0.25 a point, less than the balance


def test_offers_for_unknown_member_is_404(client):
    assert client.post("/get-applicable-offers", json={"userId": "U9999", "cartAmount": 10}).status_code == 404
