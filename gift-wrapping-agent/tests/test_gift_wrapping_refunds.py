"""Cancelling a paid gift wrap refunds its fee through the payment agent (issue 8, repro 13), against every agent
in process: a real checkout with a wrap (sales workflow), then the wrap cancelled, with the money read back from
the payment agent and the order from the fulfillment agent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from shops import JACKET, USER, WiredShop

from agentkit import audit

CARD = "4242 4242 4242 4242 exp 12/30 cvc 123"
PREMIUM = {"optionId": "premium", "optionName": "Premium gift box", "price": 149.0, "message": "For Anu"}


class Shop(WiredShop):
    def __init__(self, tmp_path):
        super().__init__(tmp_path, "gwr")
        self.vault.redact(USER, CARD)

    def place_wrapped_order(self) -> dict:
        self.store.add_line(USER, dict(JACKET))
        self.store.set_gift_wrap(USER, "P1001", dict(PREMIUM))
        return self.place(card_ref="card_ending_4242")

    def cancel(self, wrap_id):
        return self.response("gift-wrapping", "/cancel-gift-wrap", {"wrapId": wrap_id})


@pytest.fixture
def shop(tmp_path):
    s = Shop(tmp_path)
    yield s
    s.close()


def test_cancelling_a_paid_wrap_refunds_its_fee_once(shop):
    placed = shop.place_wrapped_order()
    order = shop.order(placed["orderId"])
    assert order["giftWrapFee"] == 149 and order["status"] == "confirmed"
    paid = shop.payment(placed["paymentId"])
    assert paid["amount"] == order["total"] and paid["refundedAmount"] == 0
    [wrap] = placed["giftWraps"]

    cancelled = shop.cancel(wrap["wrapId"])
    assert cancelled.status_code == 200, cancelled.get_json()
    body = cancelled.get_json()
    assert body["status"] == "cancelled" and body["refundedAmount"] == 149 and body["refundId"]

    after = shop.payment(placed["paymentId"])  # the money, as the payment agent has it
    assert after["refundedAmount"] == 149 and after["status"] == "partially_refunded"
    assert [(r["refundId"], r["amount"]) for r in after["refunds"]] == [(body["refundId"], 149)]
    assert wrap["wrapId"] in after["refunds"][0]["reason"]
    assert shop.order(placed["orderId"])["status"] == "confirmed"  # the order itself stands

    again = shop.cancel(wrap["wrapId"])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_cancelled"
    assert shop.payment(placed["paymentId"])["refundedAmount"] == 149  # money moved once
    assert audit.audit(audit.collect()) == []  # every owner's records still agree


def test_racing_cancels_refund_once(shop):
    placed = shop.place_wrapped_order()
    [wrap] = placed["giftWraps"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(lambda _: shop.cancel(wrap["wrapId"]).status_code, range(4)))
    assert statuses[0] == 200 and set(statuses[1:]) == {409}
    after = shop.payment(placed["paymentId"])
    assert after["refundedAmount"] == 149 and len(after["refunds"]) == 1
    assert audit.audit(audit.collect()) == []


def test_a_wrap_of_a_cancelled_order_refunds_nothing_itself(shop):
    """The order's cancellation owns its refund; the wrap never refunds on top of it."""
    placed = shop.place_wrapped_order()
    [wrap] = placed["giftWraps"]
    cancelled = shop.response(
        "fulfillment", "/cancel-order", {"orderId": placed["orderId"], "userId": USER, "reason": "changed my mind"}
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    before = shop.payment(placed["paymentId"])["refundedAmount"]
    body = shop.cancel(wrap["wrapId"]).get_json()
    assert body["status"] == "cancelled" and body["refundedAmount"] == 0 and body["refundId"] is None
    assert shop.payment(placed["paymentId"])["refundedAmount"] == before
