"""The checkout workflow: prepare (hold and price), place (placement.py's saga), cancel and recover, the same for
the chat (confirmed by the shopper through HumanInTheLoopMiddleware) and batch orders (``run``, confirmed by
themselves).

    prepare:  1. hold the stock (inventory createHold, 15 minutes)
              2. price it (pricing.py) and open a payment session (payment initiateCheckout)
              -> a quote, stored as the shopper's pending checkout
              3. the shopper confirms
    place:    4-8. pay, create the order, commit, gift-wrap, earn points (placement.py)
    recover:  undo placements a dead process left half-way, read back from the agents
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from agentkit import AgentCallError, clock

from ..cards import CardVault
from ..clients import Clients
from ..errors import ToolFailure, error_from_call
from ..store import SalesStore, new_checkout_id
from . import instrument, pricing, undo
from .destination import destination
from .failures import StepFailed, refund_owed
from .placement import Placement
from .undo import release_hold

log = logging.getLogger("agents.sales.checkout")

STALE_PLACING_SECONDS = 300  # a placement takes seconds; one "placing" for 5 minutes was interrupted


class CheckoutWorkflow:
    def __init__(self, clients: Clients, store: SalesStore, vault: CardVault, hold_ttl: int = 900):
        self.clients, self.store, self.vault, self.hold_ttl = clients, store, vault, hold_ttl
        vault.bind(clients, store)  # cards are tokenized by the payment agent; tokens kept in the sales database

    def prepare(
        self,
        user_id: str,
        *,
        payment_method: str = "card",
        card_ref: str | None = None,
        upi_id: str | None = None,
        fulfillment: str = "ship_to_home",
        store_id: str | None = None,
        items: list[dict] | None = None,
        address: dict | None = None,
        coupon: str | None = None,
        points: int | None = None,
        source: str = "chat",
    ) -> dict[str, Any]:
        """Hold and price; returns the quote or {"error": ...}. Nothing is held when it fails."""
        self.recover_stale(user_id)
        try:
            return self._prepare(
                user_id, payment_method, card_ref, upi_id, fulfillment, store_id, items, address, coupon, points, source
            )
        except ToolFailure as exc:
            return exc.as_result()
        except AgentCallError as exc:
            return {"error": error_from_call(exc)}

    def _prepare(
        self, user_id, payment_method, card_ref, upi_id, fulfillment, store_id, items, address, coupon, points, source
    ) -> dict[str, Any]:
        if fulfillment not in ("ship_to_home", "click_and_collect"):
            raise ToolFailure("invalid_argument", "fulfillment must be ship_to_home or click_and_collect.")
        if items is None:
            items, coupon, points = self._cart_items(user_id, coupon, points)
        if not items:
            raise ToolFailure("empty_cart", "The cart is empty.", suggestions=["Add something to the cart first."])
        if len(items) > 20:
            raise ToolFailure("too_many_lines", "At most 20 different items per order.")
        payment = instrument.choose(self.vault, user_id, payment_method, card_ref, upi_id)
        lines = pricing.price_lines(self.clients, items)
        pricing.price_wraps(self.clients, lines)
        where = destination(self.clients, user_id, fulfillment, store_id, address)

        # One pending checkout per shopper: a new quote replaces (and releases) the old one.
        for old in self.store.quoted_checkouts(user_id):
            self._cancel_one(old, "replaced by a new checkout")

        checkout_id = new_checkout_id()
        hold = self._hold(checkout_id, lines)
        try:
            quote = pricing.quote(self.clients, user_id, lines, coupon, int(points or 0), where)
            session = self.clients.call(
                "payment",
                "initiateCheckout",
                {
                    "userId": user_id,
                    "amount": pricing.json_amount(quote["_total"]),
                    "currency": "INR",
                    "orderReference": checkout_id,
                    "description": pricing.describe(lines)[:200],
                },
            )
        except (ToolFailure, AgentCallError):
            release_hold(self.clients, hold["holdId"])
            raise
        payment["checkoutSessionId"] = session["checkoutSessionId"]
        return self._keep_quote(user_id, checkout_id, source, hold, lines, quote, payment, where)

    def _cart_items(self, user_id: str, coupon: str | None, points: int | None) -> tuple[list[dict], Any, Any]:
        """The cart's lines as checkout items, with its coupon and points unless others were given."""
        cart = self.store.cart(user_id)
        items = [
            {k: line[k] for k in ("productId", "size", "color", "quantity")}
            | ({"giftWrap": line["giftWrap"]} if line.get("giftWrap") else {})
            for line in cart["lines"]
        ]
        coupon = cart["couponCode"] if coupon is None else coupon
        points = cart["redeemPoints"] if points is None else points
        return items, coupon, points

    def _keep_quote(
        self,
        user_id: str,
        checkout_id: str,
        source: str,
        hold: dict[str, Any],
        lines: list[dict],
        quote: dict[str, Any],
        payment: dict[str, Any],
        where: dict[str, Any],
    ) -> dict[str, Any]:
        """Store the quote as the shopper's pending checkout; the public part is what the shopper confirms."""
        public_quote = {k: v for k, v in quote.items() if not k.startswith("_")}
        public_quote.update(
            checkoutId=checkout_id,
            payment=instrument.public(payment),
            holdExpiresAt=hold["expiresAt"],
            status="awaiting_confirmation",
        )
        self.store.create_checkout(
            user_id,
            checkout_id=checkout_id,
            source=source,
            hold_id=hold["holdId"],
            items=lines,
            quote={
                **public_quote,
                "_discountCode": quote["_discountCode"],
                "_pointsToRedeem": quote["pointsRedeemed"],
                "_amountBeforePoints": pricing.json_amount(quote["_beforePoints"]),
            },
            payment=payment,
            fulfillment=where,
            ttl=self.hold_ttl,
        )
        public_quote["next"] = "Show the total to the shopper and call place_order; they are asked to confirm."
        return public_quote

    def _hold(self, checkout_id: str, lines: list[dict]) -> dict[str, Any]:
        body = {
            "items": [{k: ln[k] for k in ("productId", "size", "color", "quantity")} for ln in lines],
            "ttlSeconds": self.hold_ttl,
            "reference": checkout_id,
        }
        try:
            return self.clients.call("inventory", "createHold", body)
        except AgentCallError as exc:
            if exc.status == 409:
                raise ToolFailure(
                    exc.code or "out_of_stock",
                    exc.message,
                    agent="inventory",
                    operation="createHold",
                    suggestions=exc.extra.get("suggestions")
                    or ["Lower the quantity", "Pick another size or colour", "find_alternatives"],
                ) from None
            raise

    def place(self, user_id: str, checkout_id: str) -> dict[str, Any]:
        self.recover_stale(user_id)
        checkout = self.store.checkout(checkout_id)
        if checkout is None or checkout["userId"] != user_id:
            return ToolFailure("unknown_checkout", f"No checkout {checkout_id} for this shopper.").as_result()
        if checkout["status"] == "placed":
            return checkout["result"]  # placing twice answers the first result
        if checkout["status"] != "quoted":
            return ToolFailure(
                "checkout_closed",
                f"Checkout {checkout_id} is {checkout['status']}.",
                suggestions=["Call prepare_checkout again."],
            ).as_result()
        if checkout["expiresAt"] < clock.now_iso():
            if self.store.transition(checkout_id, "quoted", "failed"):
                release_hold(self.clients, checkout["holdId"])
            return ToolFailure(
                "checkout_expired",
                "The checkout expired and its stock hold was released.",
                suggestions=["Call prepare_checkout again."],
            ).as_result()
        payment = checkout["payment"]
        charged_with = instrument.charge(self.vault, user_id, payment)
        if "error" in charged_with:
            return charged_with
        if not self.store.transition(checkout_id, "quoted", "placing"):
            return ToolFailure("checkout_busy", "This checkout is already being placed.").as_result()
        result = Placement(self.clients, self.store, checkout, charged_with).execute()
        if result.get("unresolved") or refund_owed(result):
            self.store.set_result(checkout_id, result)  # still "placing": recover_stale settles it
            return result
        status = "placed" if "error" not in result else "failed"
        self.store.transition(checkout_id, "placing", status, result=result)
        if status == "placed":
            self._remember_order(user_id, checkout, result)
        return result

    def _remember_order(self, user_id: str, checkout: dict[str, Any], result: dict[str, Any]) -> None:
        """The shopper's last order, and the ordered lines out of the chat's cart."""
        self.store.set_last_order(
            user_id,
            result["orderId"],
            {
                "total": result["total"],
                "items": result["items"],
                "status": result["status"],
                "checkoutId": checkout["checkoutId"],
            },
        )
        if checkout["source"] == "chat":
            self.store.remove_ordered(user_id, {item["sku"] for item in checkout["items"]})

    def recover_stale(self, user_id: str | None, older_than: int = STALE_PLACING_SECONDS) -> list[dict[str, Any]]:
        """Undo checkouts left "placing" for longer than any placement takes (the process died mid-way).

        What happened is read back from the agents: an order paid by this checkout's payment session is
        cancelled (its stock goes back) and the loyalty effects reversed; a charge is refunded; a hold
        released. The checkout ends "failed" with the undo steps in its result. It runs for the shopper
        before each prepare/place, and for everyone with ``python -m sales_agent checkouts recover``.
        """
        cutoff = clock.iso(clock.now() - timedelta(seconds=older_than))
        recovered = []
        # "recovering" too: a recovery whose own process died is taken up again once it is as stale.
        for checkout in self.store.checkouts_in(("placing", "recovering"), user_id):
            if checkout["updatedAt"] > cutoff:
                continue
            if not self.store.claim_stale(checkout["checkoutId"], checkout["updatedAt"]):
                continue  # another worker took it, or it moved
            run = Placement(self.clients, self.store, checkout, {})
            try:
                run.reconstruct()
            except AgentCallError as exc:  # cannot see what happened yet: leave it for the next attempt
                self.store.transition(checkout["checkoutId"], "recovering", "placing")
                log.warning("cannot recover checkout %s yet: %s", checkout["checkoutId"], exc.code)
                continue
            result = undo.roll_back(
                run,
                StepFailed(
                    "recover",
                    None,
                    code="interrupted",
                    agent="sales",
                    message="The checkout was interrupted before it finished.",
                ),
            )
            # A refund that did not go through yet is tried again next time; nothing else ends the checkout open.
            settled = "placing" if refund_owed(result) else "failed"
            self.store.transition(checkout["checkoutId"], "recovering", settled, result=result)
            recovered.append({"checkoutId": checkout["checkoutId"], "userId": checkout["userId"], **result})
        self._credit_pending_points(user_id)
        return recovered

    def _credit_pending_points(self, user_id: str | None) -> None:
        """Earn the points of placed orders whose earnPoints failed (loyalty earns once per order)."""
        for checkout in self.store.checkouts_in(("placed",), user_id):
            result = checkout["result"] or {}
            if not result.get("pointsPending"):
                continue
            run = Placement(self.clients, self.store, checkout, {})
            run.order = {"orderId": result["orderId"]}
            earned = run.earn()
            if not earned.get("pointsPending"):
                self.store.set_result(
                    checkout["checkoutId"],
                    {k: v for k, v in {**result, **earned}.items() if k not in ("pointsPending", "pointsNote")},
                )

    def cancel(self, user_id: str, checkout_id: str | None = None) -> dict[str, Any]:
        targets = [self.store.checkout(checkout_id)] if checkout_id else self.store.quoted_checkouts(user_id)
        targets = [c for c in targets if c and c["userId"] == user_id and c["status"] == "quoted"]
        if not targets:
            return {"cancelled": [], "note": "There was no checkout waiting; nothing is held."}
        outcomes = [self._cancel_one(c, "cancelled by the shopper") for c in targets]
        return {
            "cancelled": [o["checkoutId"] for o in outcomes],
            "status": "cancelled",
            "holdReleased": all(o["holdReleased"] for o in outcomes),
            "details": outcomes,
        }

    def _cancel_one(self, checkout: dict[str, Any], why: str) -> dict[str, Any]:
        if not self.store.transition(checkout["checkoutId"], "quoted", "cancelled", result={"reason": why}):
            return {"checkoutId": checkout["checkoutId"], "holdReleased": False, "note": "already closed"}
        released = release_hold(self.clients, checkout["holdId"])
        return {"checkoutId": checkout["checkoutId"], "holdReleased": released["ok"], "detail": released["detail"]}

    def run(
        self,
        user_id: str,
        items: list[dict],
        *,
        address: dict | None = None,
        card: dict | None = None,
        upi_id: str | None = None,
        fulfillment: str = "ship_to_home",
        store_id: str | None = None,
        coupon: str | None = None,
        points: int = 0,
        source: str = "batch",
    ) -> dict[str, Any]:
        card_ref = None
        if card is not None:
            try:  # tokenized by the payment agent here; an invalid card is refused before anything is held
                card_ref = self.vault.put_card_dict(user_id, card).ref
            except ToolFailure as exc:
                return exc.as_result()
        quote = self.prepare(
            user_id,
            payment_method="upi" if upi_id and card is None else "card",
            card_ref=card_ref,
            upi_id=upi_id,
            fulfillment=fulfillment,
            store_id=store_id,
            items=items,
            address=address,
            coupon=coupon or "",
            points=points,
            source=source,
        )
        if "error" in quote:
            return quote
        return self.place(user_id, quote["checkoutId"])
