"""Gift wrapping: who can be wrapped and how, one wrap per product per order, totals, cancelling, restarts,
and the orders checked with the fulfillment agent.

The app is built with ``gift_wrapping_agent.app.create_app`` directly, on a fresh SQLite file or (with
TEST_DATABASE=postgres) a fresh PostgreSQL database, wired to the real fulfillment and payment agents in process
(through ``responses``). The seeded orders are used: ORD-100011 is U1003's, confirmed, with P1026 and P1019.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import responses
import sqlalchemy as sa

from agentkit import AgentClient
from agentkit.registry import import_app_factory
from gift_wrapping_agent import storage
from gift_wrapping_agent.app import create_app
from support import fresh_database_url, route_to_app

SEED = Path(storage.__file__).parent / "seed"
ORDER, USER = "ORD-100011", "U1003"  # confirmed: P1026-GREEN-S, P1019-WHITE-S
SEEDED_CHECKOUT = "CO-5F2A9C7E1B3D"
FULFILLMENT_URL, PAYMENT_URL = "http://fulfillment.agent.test", "http://payment.agent.test"


def clients() -> dict:
    return {
        "fulfillment": AgentClient("fulfillment", base_url=FULFILLMENT_URL, retries=0),
        "payment": AgentClient("payment", base_url=PAYMENT_URL, retries=0),
    }


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def owners(tmp_path, monkeypatch, rsps):
    """The real fulfillment and payment agents, answering at their fake URLs."""
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    built = {}
    for name, url in (("fulfillment", FULFILLMENT_URL), ("payment", PAYMENT_URL)):
        built[name] = import_app_factory(name)(database_url=fresh_database_url(name, tmp_path))
        built[name].testing = True
        route_to_app(rsps, url, built[name])
    yield {name: a.test_client() for name, a in built.items()}
    for a in built.values():
        a.db.dispose()


@pytest.fixture
def app(tmp_path, owners):
    built = create_app(database_url=fresh_database_url("gift-wrapping", tmp_path), clients=clients())
    built.testing = True
    yield built
    built.db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def check(client, product_id):
    return client.post("/check-gift-wrapping", json={"productId": product_id})


def add(client, product_id, option_id, reference=ORDER, headers=None, user=USER, **extra):
    body = {"orderReference": reference, "userId": user, "productId": product_id, "optionId": option_id, **extra}
    return client.post("/add-gift-wrap", json=body, headers=headers or {})


def wraps(client, reference=ORDER):
    reply = client.post("/get-gift-wraps", json={"orderReference": reference})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def error_of(reply, status):
    body = reply.get_json()
    assert reply.status_code == status, body
    return body["error"]


# --- eligibility -------------------------------------------------------------------------------


def test_a_wrappable_product_offers_every_option_with_its_price(client):
    reply = check(client, "P1031")
    assert reply.status_code == 200
    found = reply.get_json()
    assert found["wrappable"] is True and found["reason"] is None and found["category"] == "dresses"
    assert [(o["optionId"], o["price"], o["currency"]) for o in found["options"]] == [
        ("standard", 49, "INR"),
        ("premium", 149, "INR"),
        ("festive", 199, "INR"),
    ]
    assert all(o["messageCardIncluded"] is True for o in found["options"])
    assert "all year" in found["options"][2]["description"]


@pytest.mark.parametrize(
    "product_id,words",
    [
        ("P1002", "oversized"),  # Everest Down Parka
        ("P1065", "garment bag"),  # Jodhpur Bandhgala Set
        ("P1043", "mesh bag"),  # Splash Pool Slides (giftable: false in the catalog)
        ("P1057", "hygiene"),  # Studio Support Sports Bra (giftable: false)
        ("P1014", "not offered as a gift"),  # Essential Crew Tee (giftable: false)
    ],
)
def test_a_product_that_can_never_be_wrapped_says_why(client, product_id, words):
    found = check(client, product_id).get_json()
    assert found["wrappable"] is False and found["options"] == []
    assert words in found["reason"]
    error = error_of(add(client, product_id, "standard"), 422)
    assert error["code"] == "not_wrappable" and words in error["message"]
    assert error["details"] == [{"field": "productId", "message": found["reason"]}]
    assert wraps(client)["wraps"] == []


def test_an_unknown_product_is_404_naming_the_field(client):
    error = error_of(check(client, "P9999"), 404)
    assert error["details"] == [{"field": "productId", "message": "unknown product"}]
    assert error_of(add(client, "P9999", "standard"), 404)["details"][0]["field"] == "productId"


def test_every_catalog_product_has_a_category_rule(client):
    catalog = json.loads((SEED / "products.json").read_text(encoding="utf-8"))["products"]
    assert [p["productId"] for p in catalog] == [f"P{n}" for n in range(1001, 1067)]
    never = {x["productId"] for x in json.loads((SEED / "wrapping.json").read_text(encoding="utf-8"))["neverWrappable"]}
    for product in catalog:
        found = check(client, product["productId"]).get_json()
        assert found["category"] == product["category"] and found["productName"] == product["name"]
        offered = [o["optionId"] for o in found["options"]]
        if product["productId"] in never:
            assert not found["wrappable"] and offered == [], product
        elif product["category"] == "footwear":
            assert found["wrappable"] and offered == ["standard"], product
        else:
            assert found["wrappable"] and offered == ["standard", "premium", "festive"], product


def test_footwear_has_the_standard_wrap_only(client):
    found = check(client, "P1038").get_json()  # Ridge Leather Chelsea Boots
    assert found["wrappable"] is True and [o["optionId"] for o in found["options"]] == ["standard"]
    assert "shoe box" in found["note"]
    for option_id in ("premium", "festive"):
        error = error_of(add(client, "P1038", option_id), 422)
        assert error["code"] == "option_unavailable" and error["details"][0]["field"] == "optionId"
        assert "shoe box" in error["message"] and "Standard wrap (standard, ₹49)" in error["message"]
    assert wraps(client)["wraps"] == []
    # ORD-100005 is U1002's, confirmed, with P1036 sneakers in size 10.
    created = add(client, "P1036", "standard", reference="ORD-100005", user="U1002", sku="P1036-BLACK-10")
    assert created.status_code == 201 and created.get_json()["price"] == 49


# --- adding, listing, totals -------------------------------------------------------------------


def test_add_then_list_with_the_total(client):
    first = add(
        client, "P1026", "premium", sku="P1026-GREEN-S", message="  Happy birthday, Kavya!  ", recipientName="Kavya"
    )
    assert first.status_code == 201
    wrap = first.get_json()
    assert wrap["wrapId"].startswith("GW-") and wrap["status"] == "requested" and wrap["cancelledAt"] is None
    assert (wrap["optionName"], wrap["price"], wrap["currency"]) == ("Premium gift box", 149, "INR")
    assert wrap["message"] == "Happy birthday, Kavya!" and wrap["recipientName"] == "Kavya"
    assert wrap["sku"] == "P1026-GREEN-S" and wrap["orderReference"] == ORDER
    assert wrap["refundId"] is None and wrap["refundedAmount"] == 0
    add(client, "P1019", "festive", message="   ")  # a blank message means no card text

    listed = wraps(client)
    assert [(w["productId"], w["optionId"], w["price"]) for w in listed["wraps"]] == [
        ("P1026", "premium", 149),
        ("P1019", "festive", 199),
    ]
    assert listed["wraps"][0] == wrap and listed["wraps"][1]["message"] is None
    assert listed["total"] == 149 + 199 and listed["currency"] == "INR"
    assert wraps(client, "ORD-100001") == {"orderReference": "ORD-100001", "wraps": [], "total": 0, "currency": "INR"}


def test_the_seeded_checkout_has_two_wraps(client):
    listed = wraps(client, SEEDED_CHECKOUT)
    assert [w["wrapId"] for w in listed["wraps"]] == ["GW-5EED0001", "GW-5EED0002"]
    assert listed["total"] == 348


def test_a_second_wrap_for_the_same_product_and_order_is_409(client):
    first = add(client, "P1019", "standard").get_json()
    error = error_of(add(client, "P1019", "premium"), 409)
    assert error["code"] == "already_wrapped" and first["wrapId"] in error["message"]
    assert error["details"] == [{"field": "productId", "message": "already wrapped for this order"}]
    assert [w["wrapId"] for w in wraps(client)["wraps"]] == [first["wrapId"]]
    # Another order is another wrap (ORD-100004 is U1004's, pending, with P1022 jeans).
    assert add(client, "P1022", "premium", reference="ORD-100004", user="U1004").status_code == 201


def test_a_retry_with_the_same_idempotency_key_replays_the_first_answer(client):
    headers = {"Idempotency-Key": "wrap-P1026-retry-1"}
    first = add(client, "P1026", "festive", headers=headers)
    again = add(client, "P1026", "festive", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(wraps(client)["wraps"]) == 1
    assert error_of(add(client, "P1026", "standard", headers=headers), 409)["code"] == "idempotency_key_reused"


def test_racing_requests_for_the_same_product_make_one_wrap(app):
    def attempt(_):
        return add(app.test_client(), "P1026", "premium").status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(attempt, range(12)))
    assert statuses == [201] + [409] * 11
    assert len(wraps(app.test_client())["wraps"]) == 1


# --- bad input ---------------------------------------------------------------------------------


def test_a_message_longer_than_200_characters_is_400_naming_message(client):
    error = error_of(add(client, "P1026", "premium", message="x" * 201), 400)
    assert "message" in [d["field"] for d in error["details"]]
    assert add(client, "P1026", "premium", message="é" * 200).status_code == 201  # 200 characters, not bytes
    assert wraps(client)["wraps"][0]["message"] == "é" * 200


@pytest.mark.parametrize(
    "field,value",
    [
        ("message", "Love,\nAsha"),
        ("message", "beep\u0007"),
        ("recipientName", "Ria\u0000"),
        ("recipientName", "x" * 101),
    ],
)
def test_control_characters_and_overlong_names_are_400_naming_the_field(client, field, value):
    error = error_of(add(client, "P1026", "premium", **{field: value}), 400)
    assert field in [d["field"] for d in error["details"]]
    assert wraps(client)["wraps"] == []


def test_a_sku_of_another_product_is_400_naming_sku(client):
    error = error_of(add(client, "P1026", "premium", sku="P1001-BLACK-M"), 400)
    assert error["code"] == "sku_mismatch" and error["details"][0]["field"] == "sku"


def test_bad_references_and_options_are_400(client):
    for reference in ("100011", SEEDED_CHECKOUT):  # a checkout is not an order: nothing to check it against
        error = error_of(add(client, "P1026", "premium", reference=reference), 400)
        assert "orderReference" in [d["field"] for d in error["details"]]
    assert "optionId" in [d["field"] for d in error_of(add(client, "P1026", "gold-foil"), 400)["details"]]
    no_id = add(client, "P1026", "premium", user="Priya Sharma")  # a space is in no shopper id
    assert "userId" in [d["field"] for d in error_of(no_id, 400)["details"]]


# --- cancelling --------------------------------------------------------------------------------


def test_a_cancelled_wrap_is_listed_but_not_in_the_total(client):
    keep = add(client, "P1026", "premium").get_json()
    drop = add(client, "P1019", "festive").get_json()
    assert wraps(client)["total"] == 348
    cancelled = client.post("/cancel-gift-wrap", json={"wrapId": drop["wrapId"]})
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled" and cancelled.get_json()["cancelledAt"] is not None
    listed = wraps(client)
    assert [(w["wrapId"], w["status"]) for w in listed["wraps"]] == [
        (keep["wrapId"], "requested"),
        (drop["wrapId"], "cancelled"),
    ]
    assert listed["total"] == 149


def test_cancelling_twice_is_409_and_an_unknown_wrap_is_404(client):
    wrap_id = add(client, "P1026", "standard").get_json()["wrapId"]
    assert client.post("/cancel-gift-wrap", json={"wrapId": wrap_id}).status_code == 200
    error = error_of(client.post("/cancel-gift-wrap", json={"wrapId": wrap_id}), 409)
    assert error["code"] == "already_cancelled" and error["details"][0]["field"] == "wrapId"
    missing = error_of(client.post("/cancel-gift-wrap", json={"wrapId": "GW-000000"}), 404)
    assert missing["details"] == [{"field": "wrapId", "message": "unknown gift wrap"}]


def test_after_cancelling_the_product_can_be_wrapped_again(client):
    first = add(client, "P1026", "standard").get_json()
    client.post("/cancel-gift-wrap", json={"wrapId": first["wrapId"]})
    second = add(client, "P1026", "premium")
    assert second.status_code == 201 and second.get_json()["wrapId"] != first["wrapId"]
    listed = wraps(client)
    assert [w["status"] for w in listed["wraps"]] == ["cancelled", "requested"] and listed["total"] == 149
    assert error_of(add(client, "P1026", "festive"), 409)["code"] == "already_wrapped"


def test_a_wrap_keeps_the_price_it_was_sold_at(app, client):
    wrap_id = add(client, "P1026", "premium").get_json()["wrapId"]
    with app.db.write() as conn:
        conn.execute(
            storage.wrap_options.update()
            .where(storage.wrap_options.c.option_id == "premium")
            .values(price=179, name="Premium keepsake box")
        )
    assert check(client, "P1031").get_json()["options"][1]["price"] == 179
    listed = wraps(client)
    assert listed["wraps"][0]["wrapId"] == wrap_id
    assert (listed["wraps"][0]["price"], listed["wraps"][0]["optionName"]) == (149, "Premium gift box")
    assert listed["total"] == 149


# --- restart -----------------------------------------------------------------------------------


def test_wraps_and_cancellations_survive_a_restart(app, client):
    kept = add(client, "P1026", "premium", message="For Meera").get_json()
    dropped = add(client, "P1019", "festive").get_json()
    client.post("/cancel-gift-wrap", json={"wrapId": dropped["wrapId"]})
    before = wraps(client)
    app.db.dispose()

    restarted = create_app(database_url=app.db.url, clients=clients())
    restarted.testing = True
    try:
        again = restarted.test_client()
        assert wraps(again) == before and before["total"] == 149
        assert wraps(again)["wraps"][0]["message"] == "For Meera"
        assert error_of(add(again, "P1026", "standard"), 409)["code"] == "already_wrapped"
        assert (
            error_of(again.post("/cancel-gift-wrap", json={"wrapId": dropped["wrapId"]}), 409)["code"]
            == "already_cancelled"
        )
        with restarted.db.read() as conn:  # the seed was loaded once, not again on the restart
            assert conn.execute(sa.select(sa.func.count()).select_from(storage.products)).scalar() == 66
            assert conn.execute(sa.select(sa.func.count()).select_from(storage.gift_wraps)).scalar() == 4
        assert kept["wrapId"] in [w["wrapId"] for w in wraps(again)["wraps"]]
    finally:
        restarted.db.dispose()


# --- the order, checked with the fulfillment agent (issue 8, repro 13) -----------------------------


def order_status(owners, order_id):
    reply = owners["fulfillment"].post("/get-order", json={"orderId": order_id})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["status"]


@pytest.mark.parametrize(
    "reference,user,product_id,status,code,field",
    [
        ("ORD-999999", USER, "P1026", 404, "not_found", "orderReference"),  # no such order
        (ORDER, "U1001", "P1026", 404, "not_found", "orderReference"),  # Priya's claim on Ananya's order
        ("ORD-100008", "U1006", "P1049", 409, "order_not_wrappable", "orderReference"),  # cancelled
        ("ORD-100003", USER, "P1017", 409, "order_not_wrappable", "orderReference"),  # delivered
        ("ORD-100007", "U1001", "P1031", 409, "order_not_wrappable", "orderReference"),  # in transit
        ("ORD-100006", "U1007", "P1044", 409, "order_not_wrappable", "orderReference"),  # packed: too late
        (ORDER, USER, "P1031", 422, "not_in_order", "productId"),  # wrappable, but not in this order
    ],
)
def test_a_wrap_needs_a_real_order_of_the_shopper_that_can_still_be_wrapped(
    client, owners, reference, user, product_id, status, code, field
):
    """Before, a wrap was accepted for a cancelled order and for an order that does not exist."""
    error = error_of(add(client, product_id, "standard", reference=reference, user=user), status)
    assert error["code"] == code and error["details"][0]["field"] == field
    assert wraps(client, reference)["wraps"] == []  # nothing recorded
    if reference == "ORD-100008":
        assert order_status(owners, reference) == "cancelled"  # as the owner of the order says


def test_a_sku_that_is_not_the_one_ordered_is_422(client):
    error = error_of(add(client, "P1026", "premium", sku="P1026-GREEN-M"), 422)
    assert error["code"] == "not_in_order" and error["details"][0]["field"] == "sku"
    assert wraps(client)["wraps"] == []


def test_fulfillment_down_is_503_and_records_nothing(tmp_path, rsps):
    rsps.add(responses.POST, FULFILLMENT_URL + "/get-order", body=requests.ConnectionError("refused"))
    built = create_app(database_url=fresh_database_url("gift-wrapping", tmp_path, "down"), clients=clients())
    built.testing = True
    try:
        client = built.test_client()
        error = error_of(add(client, "P1026", "premium"), 503)
        assert error["code"] == "dependency_unavailable" and error["retryable"] is True
        assert wraps(client)["wraps"] == []
    finally:
        built.db.dispose()


def test_a_wrap_on_an_order_that_paid_nothing_for_wrapping_refunds_nothing(client, owners):
    """ORD-100011 was placed without a wrap (giftWrapFee 0): a wrap added later was never charged, so cancelling
    it gives nothing back, and the order's payment is untouched, as the payment agent reports."""
    order = owners["fulfillment"].post("/get-order", json={"orderId": ORDER}).get_json()
    assert order["giftWrapFee"] == 0
    wrap = add(client, "P1026", "premium").get_json()
    cancelled = client.post("/cancel-gift-wrap", json={"wrapId": wrap["wrapId"]}).get_json()
    assert cancelled["status"] == "cancelled" and cancelled["refundId"] is None and cancelled["refundedAmount"] == 0
    paid = owners["payment"].post("/check-payment-status", json={"paymentId": order["paymentId"]}).get_json()
    assert paid["refundedAmount"] == 0 and paid["refunds"] == []


def test_a_wrap_of_an_order_gone_with_the_carrier_cannot_be_cancelled(client, owners):
    wrap = add(client, "P1026", "premium").get_json()
    operator = owners["fulfillment"].as_caller("operator")
    for status in ("packed", "in_transit"):
        moved = operator.post("/update-order-status", json={"orderId": ORDER, "status": status})
        assert moved.status_code == 200, moved.get_json()
    error = error_of(client.post("/cancel-gift-wrap", json={"wrapId": wrap["wrapId"]}), 409)
    assert error["code"] == "wrap_shipped"
    assert [w["status"] for w in wraps(client)["wraps"]] == ["requested"]
