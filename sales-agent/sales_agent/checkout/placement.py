"""Placing a confirmed checkout: the saga of steps 4-8, each with the agent that owns it, and the undo list that
grows as they succeed (undo.py runs it when a step fails).

    4. pay (payment processPayment: a retry never charges twice)
    5. create the order (fulfillment createOrder)
    6. commit the stock (inventory commitHold), the coupon (loyalty applyCoupon commit=true) and the points
       (redeemLoyaltyPoints)
    7. gift-wrap the wrapped lines (gift-wrapping addGiftWrap with the new order id)
    8. earn points (loyalty earnPoints): the one step that does not undo a paid order; it is idempotent per
       order, so a failure is reported (``pointsPending``) and credited later

Every step that takes an Idempotency-Key sends the one ``step_key`` gets from idempotency.checkout_key (the
shopper, the checkout id and the step).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from agentkit import AgentCallError

from .. import idempotency
from ..errors import is_down
from . import undo
from .failures import StepFailed, Unresolved
from .pricing import clean, loyalty_fields
from .undo import release_hold

log = logging.getLogger("agents.sales.checkout")

DECLINE_SUGGESTIONS = {
    "insufficient_funds": ["Pay with another card", "Pay by UPI", "Remove something from the cart"],
    "expired_card": ["Use a card that has not expired", "Pay by UPI"],
    "processing_error": ["Try again in a moment (nothing was charged)", "Pay by UPI"],
    "upi_declined": ["Approve the request in your UPI app and try again", "Pay by card"],
}


class Placement:
    """One placement of a checkout: the steps in order, and the undo list that grows as they succeed."""

    def __init__(self, clients: Any, store: Any, checkout: dict[str, Any], instrument: dict[str, Any]):
        self.clients, self.store = clients, store
        self.c, self.instrument = checkout, instrument
        self.quote = checkout["quote"]
        self.user_id = checkout["userId"]
        self.checkout_id = checkout["checkoutId"]
        self.undo: list[tuple[str, Callable[[], dict[str, Any]]]] = []
        self.payment: dict[str, Any] | None = None
        self.order: dict[str, Any] | None = None
        self.wraps: list[dict[str, Any]] = []

    def execute(self) -> dict[str, Any]:
        try:
            for step in (
                self._pay,
                self._create_order,
                self._commit_hold,
                self._commit_discounts,
                self._add_gift_wraps,
            ):
                step()
                self.store.touch(self.checkout_id)  # a heartbeat: the reconciler leaves a moving placement alone
        except StepFailed as failed:
            return undo.roll_back(self, failed)
        except Unresolved as unresolved:
            return unresolved.result(self.checkout_id)
        except Exception as exc:  # a bug mid-way must not leave a charge without an order: undo, then report
            log.exception("checkout %s failed unexpectedly", self.checkout_id)
            return undo.roll_back(
                self,
                StepFailed(
                    "internal",
                    None,
                    code="internal_error",
                    agent="sales",
                    message=f"Something went wrong on our side ({type(exc).__name__}).",
                ),
            )
        return self._result(self.earn())

    def _result(self, earned: dict[str, Any]) -> dict[str, Any]:
        """The placed order as the shopper sees it."""
        order = self.order or {}
        result = {
            "orderId": order["orderId"],
            "status": order["status"],
            "checkoutId": self.checkout_id,
            "items": [
                {k: i[k] for k in ("productId", "sku", "name", "size", "color", "quantity", "unitPrice")}
                for i in order["items"]
            ],
            "subtotal": order["subtotal"],
            "discount": order["discount"],
            "deliveryFee": order["deliveryFee"],
            **({"giftWraps": self.wraps, "giftWrapTotal": self.quote["giftWrapTotal"]} if self.wraps else {}),
            "total": order["total"],
            "couponCode": order.get("couponCode"),
            "pointsRedeemed": order.get("pointsRedeemed", 0),
            "paymentId": self.paid["paymentId"],
            "paymentMethod": self.paid["method"],
            "cardLast4": self.paid.get("cardLast4"),
            "fulfillmentType": order["fulfillmentType"],
            "storeId": order.get("storeId"),
            "estimatedDelivery": order.get("estimatedDelivery"),
            **earned,
        }
        if order["status"] == "pending_approval":
            result["note"] = "The order is above the approval limit; a store manager will confirm it shortly."
        return result

    @property
    def paid(self) -> dict[str, Any]:
        """The payment, for the steps that run only after paying (or recovery finding it)."""
        if self.payment is None:
            raise RuntimeError(f"checkout {self.checkout_id}: a step needing the payment ran before it")
        return self.payment

    @property
    def placed(self) -> dict[str, Any]:
        """The order, for the steps that run only after it was created (or recovery finding it)."""
        if self.order is None:
            raise RuntimeError(f"checkout {self.checkout_id}: a step needing the order ran before it")
        return self.order

    def reconstruct(self) -> None:
        """For recovery: find this checkout's payment and order, and set up the undo list to match."""
        session = self.c["payment"].get("checkoutSessionId")
        payments = self.clients.call("payment", "listPayments", {"userId": self.user_id, "limit": 50})["payments"]
        self.payment = next(
            (
                p
                for p in payments
                if p.get("checkoutSessionId") == session and p["status"] in ("succeeded", "partially_refunded")
            ),
            None,
        )
        if self.payment is not None:
            orders = self.clients.call("fulfillment", "listOrders", {"userId": self.user_id, "limit": 50})["orders"]
            self.order = next(
                (o for o in orders if o["paymentId"] == self.paid["paymentId"] and o["status"] != "cancelled"), None
            )
        if self.order is not None:
            self.undo = [
                ("cancelOrder", lambda: undo.cancel_order(self)),
                ("reversePoints", lambda: undo.reverse_loyalty(self)),
                ("refundPayment", lambda: undo.refund(self)),
            ]
            if self.quote.get("giftWraps"):
                self.undo.append(("cancelGiftWrap", lambda: undo.cancel_wraps(self)))
        elif self.payment is not None:
            self.undo = [("releaseHold", self._release), ("refundPayment", lambda: undo.refund(self))]
        else:
            self.undo = [("releaseHold", self._release)]

    def step_key(self, step: str) -> str:
        return idempotency.checkout_key(self.user_id, self.checkout_id, step)

    def _release(self) -> dict[str, Any]:
        return release_hold(self.clients, self.c["holdId"])

    def _pay(self) -> None:
        body = {
            "checkoutSessionId": self.c["payment"]["checkoutSessionId"],
            "userId": self.user_id,
            "amount": self.quote["total"],
            "currency": "INR",
            **self.instrument,
        }
        try:
            payment = self.clients.call(
                "payment", "processPayment", body, idempotency_key=self.step_key("processPayment")
            )
        except AgentCallError as exc:
            self.undo.append(("releaseHold", self._release))
            if exc.status == 402:
                decline = exc.extra.get("declineCode")
                suggestions = exc.extra.get("suggestions") or DECLINE_SUGGESTIONS.get(
                    decline or "", ["Try another card"]
                )
                raise StepFailed("pay", exc, declineCode=decline, suggestions=suggestions) from None
            if is_down(exc):
                if not self._charged_anyway():
                    # Not seen yet is not the same as not charged (the charge may land after we asked):
                    # the reconciler reads the payments again later and refunds any that appears.
                    raise StepFailed("pay", exc, charged=None) from None
                payment = self.paid  # it went through before the connection broke: carry on with it
            else:
                raise StepFailed("pay", exc) from None
        if payment["status"] != "succeeded":
            self.undo.append(("releaseHold", self._release))
            raise StepFailed(
                "pay",
                None,
                code="payment_failed",
                message=f"The payment {payment['status']}.",
                declineCode=payment.get("declineCode"),
            )
        self.payment = payment
        self.undo = [("releaseHold", self._release), ("refundPayment", lambda: undo.refund(self))]

    def _charged_anyway(self) -> bool | None:
        """After a timeout: did the payment go through? None when the payment agent cannot tell us."""
        try:
            listed = self.clients.call("payment", "listPayments", {"userId": self.user_id, "limit": 10})
        except AgentCallError:
            return None
        session = self.c["payment"]["checkoutSessionId"]
        paid = next(
            (p for p in listed["payments"] if p.get("checkoutSessionId") == session and p["status"] == "succeeded"),
            None,
        )
        if paid is not None:
            self.payment = paid
            return True
        return False

    def _create_order(self) -> None:
        f = self.c["fulfillment"]
        body = {
            "userId": self.user_id,
            "items": [
                {k: i[k] for k in ("productId", "sku", "name", "size", "color", "quantity", "unitPrice")}
                for i in self.c["items"]
            ],
            "fulfillmentType": f["type"],
            "paymentId": self.paid["paymentId"],
            "holdId": self.c["holdId"],
            "subtotal": self.quote["subtotal"],
            "discount": self.quote["discount"],
            "deliveryFee": self.quote["deliveryFee"],
            "giftWrapFee": self.quote.get("giftWrapTotal", 0),
            "total": self.quote["total"],
        }
        if f["type"] == "ship_to_home":
            body["shippingAddress"] = f["address"]
        else:
            body["storeId"] = f["storeId"]
        if self.quote.get("_discountCode"):
            body["couponCode"] = self.quote["_discountCode"]
        if self.quote.get("_pointsToRedeem"):
            body["pointsRedeemed"] = self.quote["_pointsToRedeem"]
        try:
            self.order = self.clients.call(
                "fulfillment", "createOrder", body, idempotency_key=self.step_key("createOrder")
            )
        except AgentCallError as exc:
            if not is_down(exc) or exc.code == "circuit_open":  # refused, or never sent: no order exists
                raise StepFailed("createOrder", exc) from None
            # The answer was lost, not necessarily the order: fulfillment may have created it before it
            # went quiet. Ask; if it cannot say, leave the checkout to recover_stale instead of refunding
            # a payment whose order may exist.
            self.order = self._order_paid_by_this_payment()
            if self.order is None:
                raise StepFailed("createOrder", exc) from None
        # From here the order owns the stock: cancelling it gives the stock back (release or restock).
        self.undo = [("cancelOrder", lambda: undo.cancel_order(self)), ("refundPayment", lambda: undo.refund(self))]

    def _order_paid_by_this_payment(self) -> dict[str, Any] | None:
        try:
            orders = self.clients.call("fulfillment", "listOrders", {"userId": self.user_id, "limit": 50})["orders"]
        except AgentCallError as exc:
            raise Unresolved(exc) from None
        return next((o for o in orders if o["paymentId"] == self.paid["paymentId"]), None)

    def _commit_hold(self) -> None:
        try:
            self.clients.call(
                "inventory", "commitHold", {"holdId": self.c["holdId"], "orderId": self.placed["orderId"]}
            )
        except AgentCallError as exc:
            if exc.status == 409 and self._hold_committed_to_order():
                return
            raise StepFailed("commitHold", exc) from None

    def _hold_committed_to_order(self) -> bool:
        try:
            hold = self.clients.call("inventory", "getHold", {"holdId": self.c["holdId"]})
        except AgentCallError:
            return False
        return hold["status"] == "committed" and hold.get("orderId") == self.placed["orderId"]

    def _commit_discounts(self) -> None:
        order_id = self.placed["orderId"]
        code = self.quote.get("_discountCode")
        points = int(self.quote.get("_pointsToRedeem") or 0)
        if code or points:
            self.undo.insert(1, ("reversePoints", lambda: undo.reverse_loyalty(self)))
        if code:
            lines = self.c["items"]
            try:
                self.clients.call(
                    "loyalty",
                    "applyCoupon",
                    {
                        "userId": self.user_id,
                        "couponCode": code,
                        "cartAmount": self.quote["subtotal"],
                        **loyalty_fields(lines),
                        "orderReference": order_id,
                        "commit": True,
                    },
                )
            except AgentCallError as exc:
                raise StepFailed("applyCoupon", exc) from None
        if points:
            try:
                self.clients.call(
                    "loyalty",
                    "redeemLoyaltyPoints",
                    {
                        "userId": self.user_id,
                        "points": points,
                        "orderReference": order_id,
                        "cartAmount": self.quote["_amountBeforePoints"],
                    },
                    idempotency_key=self.step_key("redeemLoyaltyPoints"),
                )
            except AgentCallError as exc:
                raise StepFailed("redeemLoyaltyPoints", exc) from None

    def _add_gift_wraps(self) -> None:
        wraps = self.quote.get("giftWraps") or []
        if not wraps:
            return
        order_id = self.placed["orderId"]
        self.undo.append(("cancelGiftWrap", lambda: undo.cancel_wraps(self)))
        for wrap in wraps:
            body = {
                "orderReference": order_id,
                "userId": self.user_id,  # gift-wrapping checks with fulfillment that the order is this shopper's
                "productId": wrap["productId"],
                "sku": wrap["sku"],
                "optionId": wrap["optionId"],
            }
            body.update(clean({"message": wrap.get("message"), "recipientName": wrap.get("recipientName")}))
            try:
                made = self.clients.call(
                    "gift-wrapping",
                    "addGiftWrap",
                    body,
                    idempotency_key=self.step_key(f"addGiftWrap:{wrap['productId']}"),
                )
            except AgentCallError as exc:
                raise StepFailed("addGiftWrap", exc) from None
            self.wraps.append(
                {
                    k: made[k]
                    for k in (
                        "wrapId",
                        "productId",
                        "optionId",
                        "optionName",
                        "price",
                        "message",
                        "recipientName",
                        "status",
                    )
                }
            )

    def earn(self) -> dict[str, Any]:
        try:
            earned = self.clients.call(
                "loyalty",
                "earnPoints",
                {"userId": self.user_id, "orderId": self.placed["orderId"], "amount": self.quote["total"]},
                idempotency_key=self.step_key("earnPoints"),
            )
            out = {
                "pointsEarned": earned["pointsEarned"],
                "pointsBalance": earned["pointsBalance"],
                "tier": earned["tier"],
            }
            if earned.get("tierChanged"):
                out["tierChangedFrom"] = earned["previousTier"]
            return out
        except AgentCallError as exc:
            if exc.status == 404:
                return {"pointsEarned": 0, "pointsNote": "Not a loyalty member, so no points were earned."}
            log.warning("earnPoints failed for %s: %s", self.placed["orderId"], exc.code)
            return {
                "pointsEarned": 0,
                "pointsPending": True,
                "pointsNote": "Points for this order will be credited shortly.",
            }
