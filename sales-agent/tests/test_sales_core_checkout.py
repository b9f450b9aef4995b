"""The checkout workflow against the real agents (in process): hold, price, pay, order, commit, earn,
and every failure undone."""

from __future__ import annotations

import pytest
from shops import BreakableClients, WiredShop

from sales_agent.store import checkouts

USER = "U1001"  # Priya, gold, Mumbai, 6120 points
JACKET = {"productId": "P1001", "size": "M", "color": "Black", "quantity": 1}
GOOD_CARD = "4242 4242 4242 4242 exp 12/28 cvc 123"
POOR_CARD = "4111 1111 1111 1111 exp 12/28 cvc 123"  # ...1111: insufficient funds


class Shop(WiredShop):
    def __init__(self, tmp_path):
        super().__init__(tmp_path, "co", BreakableClients(retries=0))

    def payments(self, user=USER):
        return self.post("payment", "/list-payments", {"userId": user, "limit": 100})["payments"]

    def orders(self, user=USER):
        return self.post("fulfillment", "/list-orders", {"userId": user, "limit": 100})["orders"]

    def points(self, user=USER):
        return self.post("loyalty", "/get-member", {"userId": user})["pointsBalance"]

    def cart(self, *lines, coupon=None, points=0):
        for line in lines:
            sku = f"{line['productId']}-{line['color'].upper()}-{line['size'].upper()}"
            self.store.add_line(USER, {**line, "sku": sku, "name": "x", "unitPrice": 1.0, "category": "jackets"})
        if coupon:
            self.store.set_coupon(USER, coupon)
        if points:
            self.store.set_redeem_points(USER, points)


@pytest.fixture
def shop(tmp_path):
    s = Shop(tmp_path)
    yield s
    s.close()


def prepared(shop, card=GOOD_CARD, **kwargs):
    shop.vault.redact(USER, card)
    quote = shop.workflow.prepare(USER, **kwargs)
    assert "error" not in quote, quote
    return quote


def test_happy_path_places_one_order_and_charges_once(shop):
    stock, payments, orders, points = shop.stock(), len(shop.payments()), len(shop.orders()), shop.points()
    shop.cart(JACKET)
    quote = prepared(shop)
    assert quote["status"] == "awaiting_confirmation" and quote["payment"]["last4"] == "4242"
    assert quote["subtotal"] == 4999.0 and quote["discounts"][0]["code"] == "WINTER20"  # best offer: 20% off jackets
    assert quote["total"] == 3999.2
    assert shop.stock() == stock - 1  # held

    result = shop.workflow.place(USER, quote["checkoutId"])
    assert "error" not in result, result
    assert result["orderId"].startswith("ORD-") and result["status"] == "confirmed" and result["total"] == 3999.2
    assert result["pointsEarned"] == 3 * 39  # gold: 3 points per ₹100
    assert shop.stock() == stock - 1  # committed, not released
    assert len(shop.payments()) == payments + 1 and len(shop.orders()) == orders + 1
    assert shop.points() == points + result["pointsEarned"]
    assert shop.store.cart(USER)["lines"] == []
    assert shop.store.last_order(USER)["orderId"] == result["orderId"]

    again = shop.workflow.place(USER, quote["checkoutId"])
    assert again == result and len(shop.payments()) == payments + 1  # placing twice never charges twice


def test_declined_card_releases_the_hold_and_creates_nothing(shop):
    stock, orders = shop.stock(), len(shop.orders())
    shop.cart(JACKET)
    quote = prepared(shop, card=POOR_CARD)
    result = shop.workflow.place(USER, quote["checkoutId"])
    error = result["error"]
    assert error["declineCode"] == "insufficient_funds" and error["suggestions"]
    assert error["failedStep"] == "pay" and "Nothing was charged" in error["message"]
    assert result["charged"] is False and [u["step"] for u in result["undo"]] == ["releaseHold"]
    assert shop.stock() == stock and len(shop.orders()) == orders
    assert shop.store.checkout(quote["checkoutId"])["status"] == "failed"
    assert shop.store.cart(USER)["lines"], "the cart stays so the shopper can pay another way"


def test_failure_after_payment_refunds_and_releases(shop):
    stock, orders = shop.stock(), len(shop.orders())
    shop.cart(JACKET)
    quote = prepared(shop)
    shop.clients.broken.add(("fulfillment", "createOrder"))
    result = shop.workflow.place(USER, quote["checkoutId"])
    assert result["error"]["failedStep"] == "createOrder"
    assert result["charged"] is True and result["refunded"] is True
    assert [u["step"] for u in result["undo"]] == ["releaseHold", "refundPayment"]
    assert all(u["ok"] for u in result["undo"])
    assert shop.stock() == stock and len(shop.orders()) == orders
    paid = [
        p
        for p in shop.payments()
        if p["checkoutSessionId"] == shop.store.checkout(quote["checkoutId"])["payment"]["checkoutSessionId"]
    ]
    assert [p["status"] for p in paid] == ["refunded"]


def test_failure_after_the_order_cancels_it_and_gives_back_points_and_coupon(shop):
    stock, points = shop.stock(), shop.points()
    shop.cart(JACKET, coupon="FLAT500", points=400)
    quote = prepared(shop)
    assert quote["pointsRedeemed"] == 400 and quote["pointsValue"] == 100.0
    shop.clients.broken.add(("loyalty", "redeemLoyaltyPoints"))
    result = shop.workflow.place(USER, quote["checkoutId"])
    assert result["error"]["failedStep"] == "redeemLoyaltyPoints"
    steps = {u["step"]: u["ok"] for u in result["undo"]}
    assert steps == {"cancelOrder": True, "reversePoints": True, "refundPayment": True}
    order = shop.post("fulfillment", "/get-order", {"orderId": result["orderId"]})
    assert order["status"] == "cancelled"
    assert shop.stock() == stock and shop.points() == points
    # the coupon commit was released: WINTER20 (not single use) / the chosen code can be used again
    offers = shop.post(
        "loyalty",
        "/get-applicable-offers",
        {"userId": USER, "cartAmount": 4999, "items": [{"category": "jackets", "amount": 4999}]},
    )
    assert any(o["code"] == quote["discounts"][0].get("code") and o["isApplicable"] for o in offers["offers"])


def test_every_undo_step_is_tried_even_when_one_fails(shop):
    stock = shop.stock()
    shop.cart(JACKET)
    quote = prepared(shop)
    shop.clients.broken |= {("fulfillment", "createOrder"), ("payment", "refundPayment")}
    result = shop.workflow.place(USER, quote["checkoutId"])
    steps = {u["step"]: u["ok"] for u in result["undo"]}
    assert steps == {"releaseHold": True, "refundPayment": False}
    assert result["charged"] is True and result["refunded"] is False
    assert "refund did not go through" in result["error"]["message"]
    assert shop.stock() == stock


def test_commit_hold_failure_cancels_the_order_and_refunds(shop):
    stock = shop.stock()
    shop.cart(JACKET)
    quote = prepared(shop)
    shop.clients.broken.add(("inventory", "commitHold"))
    result = shop.workflow.place(USER, quote["checkoutId"])
    assert result["error"]["failedStep"] == "commitHold"
    assert {u["step"]: u["ok"] for u in result["undo"]} == {"cancelOrder": True, "refundPayment": True}
    assert shop.stock() == stock


def test_earn_points_failure_keeps_the_paid_order(shop):
    shop.cart(JACKET)
    quote = prepared(shop)
    shop.clients.broken.add(("loyalty", "earnPoints"))
    result = shop.workflow.place(USER, quote["checkoutId"])
    assert "error" not in result and result["pointsPending"] is True and result["orderId"]


def test_cancel_and_superseded_checkouts_release_their_holds(shop):
    stock = shop.stock()
    shop.cart(JACKET)
    first = prepared(shop)
    second = prepared(shop)
    assert shop.stock() == stock - 1  # the first hold was released when the second was made
    assert shop.store.checkout(first["checkoutId"])["status"] == "cancelled"
    result = shop.workflow.cancel(USER)
    assert result["cancelled"] == [second["checkoutId"]] and result["holdReleased"] is True
    assert shop.stock() == stock
    assert "error" in shop.workflow.place(USER, second["checkoutId"])


def test_expired_checkout_is_refused_and_released(shop):
    stock = shop.stock()
    shop.cart(JACKET)
    quote = prepared(shop)
    with shop.store.db.write() as conn:
        conn.execute(checkouts.update().values(expires_at="2000-01-01T00:00:00Z"))
    result = shop.workflow.place(USER, quote["checkoutId"])
    assert result["error"]["code"] == "checkout_expired" and shop.stock() == stock


def test_out_of_stock_is_refused_before_anything_is_held(shop):
    shop.cart({"productId": "P1006", "size": "M", "color": "Mustard", "quantity": 1})
    shop.vault.redact(USER, GOOD_CARD)
    quote = shop.workflow.prepare(USER)
    assert quote["error"]["agent"] == "inventory" and quote["error"]["suggestions"]
    assert shop.store.pending_checkout(USER) is None


def test_upi_and_click_and_collect(shop):
    shop.cart(JACKET)
    quote = shop.workflow.prepare(
        USER, payment_method="upi", upi_id="priya.sharma@okaxis", fulfillment="click_and_collect", store_id="ST-MUM-01"
    )
    assert "error" not in quote, quote
    assert quote["payment"] == {"method": "upi", "upiId": "pr***@okaxis"}
    assert quote["fulfillment"]["type"] == "click_and_collect" and quote["deliveryFee"] == 0
    result = shop.workflow.place(USER, quote["checkoutId"])
    assert "error" not in result, result
    assert result["fulfillmentType"] == "click_and_collect" and result["storeId"] == "ST-MUM-01"


def test_card_lost_from_memory_keeps_the_checkout_open(shop):
    shop.cart(JACKET)
    quote = prepared(shop)
    shop.vault.forget(USER)
    result = shop.workflow.place(USER, quote["checkoutId"])
    assert result["error"]["code"] == "card_not_on_file"
    assert shop.store.checkout(quote["checkoutId"])["status"] == "quoted"
    shop.vault.redact(USER, GOOD_CARD)
    assert "error" not in shop.workflow.place(USER, quote["checkoutId"])


def test_no_card_number_is_stored_in_the_sales_database(shop):
    shop.cart(JACKET)
    quote = prepared(shop)
    shop.workflow.place(USER, quote["checkoutId"])
    with shop.store.db.read() as conn:
        rows = [
            str(tuple(r))
            for table in ("sales_checkouts", "sales_carts", "sales_last_orders")
            for r in conn.exec_driver_sql(f"SELECT * FROM {table}")
        ]
    dump = " ".join(rows)
    assert "4242424242424242" not in dump and "4242 4242" not in dump and "card_ending_4242" in dump


def test_a_guest_can_click_and_collect(shop):
    from sales_agent.guests import Identities

    guest = Identities(shop.store.db).resolve("whatsapp", "447700900999")  # a sender nobody knows: a new guest
    shop.store.add_line(guest, {**JACKET, "name": "x", "unitPrice": 1.0, "category": "jackets"})
    no_address = shop.workflow.prepare(guest, payment_method="upi", upi_id="guest@okaxis")
    assert no_address["error"]["code"] == "missing_address" and no_address["error"]["suggestions"]
    quote = shop.workflow.prepare(
        guest, payment_method="upi", upi_id="guest@okaxis", fulfillment="click_and_collect", store_id="ST-MUM-01"
    )
    assert "error" not in quote, quote
    assert any("Not a loyalty member" in n for n in quote["notes"]) and quote["discounts"] == []
    result = shop.workflow.place(guest, quote["checkoutId"])
    assert "error" not in result, result
    # The first real order makes the guest a bronze member (loyalty's earnPoints enrols a new shopper).
    assert result["pointsEarned"] == int(quote["total"] // 100), result
    member = shop.clients.call("loyalty", "getMember", {"userId": guest})
    assert member["tier"] == "bronze" and member["pointsBalance"] == result["pointsEarned"]


class Crash(BaseException):
    """The process dies (not an error any handler would catch)."""


class CrashingClients(BreakableClients):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.crash_at: tuple[str, str] | None = None
        self.bug_at: tuple[str, str] | None = None

    def call(self, agent, operation, body, *, idempotency_key=None):
        if (agent, operation) == self.crash_at:
            raise Crash()
        if (agent, operation) == self.bug_at:
            raise RuntimeError("a bug")
        return super().call(agent, operation, body, idempotency_key=idempotency_key)


@pytest.mark.parametrize(
    "crash_at,expected_steps",
    [
        (("fulfillment", "createOrder"), ["releaseHold", "refundPayment"]),
        (("inventory", "commitHold"), ["cancelOrder", "reversePoints", "refundPayment"]),
        (("payment", "processPayment"), ["releaseHold"]),
    ],
)
def test_a_checkout_interrupted_by_a_crash_is_undone_later(shop, crash_at, expected_steps):
    shop.workflow.clients = shop.clients = CrashingClients(retries=0)
    stock = shop.stock()
    shop.cart(JACKET)
    quote = prepared(shop)
    shop.clients.crash_at = crash_at
    with pytest.raises(Crash):
        shop.workflow.place(USER, quote["checkoutId"])
    shop.clients.crash_at = None
    assert shop.store.checkout(quote["checkoutId"])["status"] == "placing"
    assert shop.workflow.recover_stale(USER) == []  # too recent: it may still be running
    with shop.store.db.write() as conn:
        conn.execute(checkouts.update().values(updated_at="2000-01-01T00:00:00Z"))
    recovered = shop.workflow.recover_stale(None)  # everyone's (python -m sales_agent checkouts recover)
    assert recovered[0]["checkoutId"] == quote["checkoutId"] and recovered[0]["userId"] == USER
    assert [u["step"] for u in recovered[0]["undo"]] == expected_steps and all(u["ok"] for u in recovered[0]["undo"])
    assert shop.store.checkout(quote["checkoutId"])["status"] == "failed"
    assert shop.stock() == stock
    assert not [
        p
        for p in shop.payments()
        if p["status"] == "succeeded"
        and p["checkoutSessionId"] == shop.store.checkout(quote["checkoutId"])["payment"]["checkoutSessionId"]
    ]


def test_an_unexpected_bug_mid_checkout_is_rolled_back(shop):
    shop.workflow.clients = shop.clients = CrashingClients(retries=0)
    stock = shop.stock()
    shop.cart(JACKET)
    quote = prepared(shop)
    shop.clients.bug_at = ("fulfillment", "createOrder")
    result = shop.workflow.place(USER, quote["checkoutId"])
    assert result["error"]["code"] == "internal_error" and result["refunded"] is True
    assert shop.stock() == stock and shop.store.checkout(quote["checkoutId"])["status"] == "failed"


def test_the_confirmation_reads_money_as_every_reply_does():
    from sales_agent.graph import describe_quote

    quote = {
        "items": [{"quantity": 1, "name": "Sofa", "color": "Grey", "size": "L"}],
        "total": 124990.0,
        "discount": 500.5,
        "deliveryFee": 99,
        "payment": {"method": "card", "last4": "4242"},
        "fulfillment": {"type": "ship_to_home", "city": "Pune"},
    }
    assert describe_quote(quote) == (
        "Place order: 1 x Sofa (Grey, L). Total ₹1,24,990 (you save ₹500.50, delivery ₹99), paid by card ending "
        "4242, deliver to Pune. Confirm?"
    )
    upi = {**quote, "payment": {"method": "upi", "upiId": "pr***@okaxis"}, "discount": 0, "deliveryFee": 0}
    assert describe_quote(upi).endswith("Total ₹1,24,990, paid by UPI pr***@okaxis, deliver to Pune. Confirm?")
