"""Gift wraps in the checkout, against the real agents in process: the wrap is priced into the quote, the payment
and the order total, addGiftWrap is called once with the new order id, and a failure there is undone."""

from __future__ import annotations

import pytest
from shops import JACKET, USER, BreakableClients, WiredShop

from sales_agent import idempotency

GOOD_CARD = "4242 4242 4242 4242 exp 12/30 cvc 123"
PREMIUM = {
    "optionId": "premium",
    "optionName": "Premium gift box",
    "price": 149.0,
    "message": "Happy birthday Anu",
    "recipientName": "Anu",
}


class Shop(WiredShop):
    def __init__(self, tmp_path):
        super().__init__(tmp_path, "gw", BreakableClients(retries=0))
        self.vault.redact(USER, GOOD_CARD)

    def wraps(self, reference):
        return self.post("gift-wrapping", "/get-gift-wraps", {"orderReference": reference})["wraps"]

    def order(self, order_id):
        return next(
            o
            for o in self.post("fulfillment", "/list-orders", {"userId": USER, "limit": 100})["orders"]
            if o["orderId"] == order_id
        )

    def payment(self, payment_id):
        return next(
            p
            for p in self.post("payment", "/list-payments", {"userId": USER, "limit": 100})["payments"]
            if p["paymentId"] == payment_id
        )


@pytest.fixture
def shop(tmp_path):
    s = Shop(tmp_path)
    yield s
    s.close()


def wrapped_quote(shop, wrap=PREMIUM):
    shop.store.add_line(USER, dict(JACKET))
    shop.store.set_gift_wrap(USER, "P1001", dict(wrap))
    quote = shop.workflow.prepare(USER, card_ref="card_ending_4242")
    assert "error" not in quote, quote
    return quote


def test_the_wrap_is_in_the_quote_the_payment_and_the_order_and_is_ordered_once(shop):
    quote = wrapped_quote(shop)
    assert quote["giftWrapTotal"] == 149.0
    assert [(w["productId"], w["optionId"], w["price"], w["message"]) for w in quote["giftWraps"]] == [
        ("P1001", "premium", 149.0, "Happy birthday Anu")
    ]
    assert quote["total"] == quote["subtotal"] - quote["discount"] + quote["deliveryFee"] + 149.0
    assert shop.clients.made("gift-wrapping", "checkGiftWrapping") == [({"productId": "P1001"}, None)]

    result = shop.workflow.place(USER, quote["checkoutId"])
    assert "error" not in result, result
    order_id = result["orderId"]
    assert result["total"] == quote["total"] and result["giftWrapTotal"] == 149.0
    assert result["deliveryFee"] == quote["deliveryFee"]  # delivery only; the wrap is reported on its own
    assert [(w["optionId"], w["price"], w["status"]) for w in result["giftWraps"]] == [("premium", 149.0, "requested")]

    order = shop.order(order_id)
    assert (
        order["total"] == quote["total"] == round(order["subtotal"] - order["discount"] + quote["deliveryFee"] + 149, 2)
    )
    assert order["giftWrapFee"] == 149 and order["deliveryFee"] == quote["deliveryFee"]
    assert shop.payment(result["paymentId"])["amount"] == quote["total"]

    calls = shop.clients.made("gift-wrapping", "addGiftWrap")
    assert len(calls) == 1
    body, key = calls[0]
    assert body == {
        "orderReference": order_id,
        "userId": USER,
        "productId": "P1001",
        "sku": "P1001-BLACK-M",
        "optionId": "premium",
        "message": "Happy birthday Anu",
        "recipientName": "Anu",
    }
    assert key == idempotency.checkout_key(USER, quote["checkoutId"], "addGiftWrap:P1001")
    wraps = shop.wraps(order_id)
    assert [(w["productId"], w["optionId"], w["status"], w["price"]) for w in wraps] == [
        ("P1001", "premium", "requested", 149)
    ]
    assert shop.store.cart(USER)["lines"] == []  # the wrapped line went with the order

    again = shop.workflow.place(USER, quote["checkoutId"])
    assert again == result and len(shop.clients.made("gift-wrapping", "addGiftWrap")) == 1


def test_an_unwrapped_cart_never_calls_the_gift_wrapping_agent(shop):
    shop.store.add_line(USER, dict(JACKET))
    quote = shop.workflow.prepare(USER, card_ref="card_ending_4242")
    result = shop.workflow.place(USER, quote["checkoutId"])
    assert "error" not in result and "giftWraps" not in quote and "giftWraps" not in result
    assert [op for a, op, _, _ in shop.clients.log if a == "gift-wrapping"] == []


def test_a_failed_add_gift_wrap_is_undone_like_any_other_step(shop):
    stock = shop.stock()
    quote = wrapped_quote(shop)
    shop.clients.broken.add(("gift-wrapping", "addGiftWrap"))
    result = shop.workflow.place(USER, quote["checkoutId"])
    error = result["error"]
    assert error["failedStep"] == "addGiftWrap" and error["agent"] == "gift-wrapping"
    assert result["charged"] is True and result["refunded"] is True and "refunded" in error["message"]
    steps = {u["step"]: u["ok"] for u in result["undo"]}
    assert steps == {"cancelOrder": True, "reversePoints": True, "refundPayment": True, "cancelGiftWrap": True}
    assert shop.order(result["orderId"])["status"] == "cancelled"
    assert shop.stock() == stock  # the order's stock went back
    assert shop.wraps(result["orderId"]) == []
    assert shop.store.cart(USER)["lines"][0]["giftWrap"]["optionId"] == "premium"  # still in the cart to retry


def test_a_wrap_recorded_before_a_later_failure_is_cancelled(shop):
    quote = wrapped_quote(shop)
    shop.clients.answer_lost.add(("gift-wrapping", "addGiftWrap"))
    result = shop.workflow.place(USER, quote["checkoutId"])
    assert result["error"]["failedStep"] == "addGiftWrap"  # it was recorded, the answer was lost
    assert {u["step"]: u["ok"] for u in result["undo"]}["cancelGiftWrap"] is True
    assert [w["status"] for w in shop.wraps(result["orderId"])] == ["cancelled"]


def test_gift_wrapping_down_at_prepare_holds_nothing(shop):
    stock = shop.stock()
    shop.store.add_line(USER, dict(JACKET))
    shop.store.set_gift_wrap(USER, "P1001", dict(PREMIUM))
    shop.clients.broken.add(("gift-wrapping", "checkGiftWrapping"))
    quote = shop.workflow.prepare(USER, card_ref="card_ending_4242")
    assert quote["error"]["code"] == "gift_wrap_unavailable" and quote["error"]["suggestions"]
    assert shop.stock() == stock and shop.clients.made("inventory", "createHold") == []


def test_prepare_takes_the_current_price_and_refuses_an_option_no_longer_offered(shop):
    stale = {**PREMIUM, "price": 99.0}
    quote = wrapped_quote(shop, stale)
    assert quote["giftWraps"][0]["price"] == 149.0 and quote["giftWrapTotal"] == 149.0
    shop.workflow.cancel(USER)
    shop.store.clear_cart(USER)
    boots = {
        "productId": "P1038",
        "sku": "P1038-BLACK-9",
        "name": "Ridge Leather Chelsea Boots",
        "category": "footwear",
        "size": "9",
        "color": "Black",
        "quantity": 1,
        "unitPrice": 1.0,
    }
    shop.store.add_line(USER, boots)
    shop.store.set_gift_wrap(USER, "P1038", dict(PREMIUM))
    refused = shop.workflow.prepare(USER, card_ref="card_ending_4242")
    assert refused["error"]["code"] == "option_unavailable"
    assert any("standard" in s for s in refused["error"]["suggestions"])
