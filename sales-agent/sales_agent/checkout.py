"""Checkout as a deterministic workflow, never a chain the model improvises.

    prepare:  1. hold the stock (inventory createHold, 15 minutes)
              2. price it: catalog prices, the best of the shopper's coupon and the applicable offers
                 (loyalty applyCoupon commit=false / getApplicableOffers), points as rupees off, the
                 delivery fee (fulfillment getDeliveryOptions); open a payment session (payment initiateCheckout)
              -> a quote, stored as the shopper's pending checkout
              3. the shopper confirms (HumanInTheLoopMiddleware in the chat; the batch confirms itself)
    place:    4. pay (payment processPayment: a retry never charges twice)
              5. create the order (fulfillment createOrder)
              6. commit the stock (inventory commitHold)
                 commit the coupon (loyalty applyCoupon commit=true) and redeem the points (redeemLoyaltyPoints)
              7. gift-wrap the wrapped lines (gift-wrapping addGiftWrap with the new order id)
              8. earn points (loyalty earnPoints)
    Every step that takes an Idempotency-Key (payment, order, points, gift wraps, refund) sends the one
    idempotency.checkout_key makes from the shopper, the checkout id (stored with the checkout) and the step.

Gift wraps: a wrap chosen in the chat is kept on its cart line (``giftWrap``). prepare re-prices it with
gift-wrapping checkGiftWrapping (so the price and the option are current; if that agent is down the checkout
is refused before anything is held, suggesting to try again or remove the wrap) and adds it to the quote:
``giftWraps`` and ``giftWrapTotal``, included in ``total`` and so in the payment amount and the confirmation.
The order carries it as ``giftWrapFee`` (fulfillment checks total = subtotal - discount + deliveryFee +
giftWrapFee). Discounts and points apply to the items only.
A failed addGiftWrap is undone like any other step (order cancelled, charge refunded, coupon/points given back,
and any wrap already recorded for the order cancelled), not recorded-and-reported: the shopper confirmed and paid
a total that includes the wrap, so an order quietly placed without it would break that promise, and a partial
refund of the wrap would be a second money movement to get right. addGiftWrap is idempotent per key, so a
retried placement never wraps twice; the shopper can try again or remove the wrap and check out without it.

Every failure undoes what was done, each undo step attempted even if an earlier one failed:
before payment the hold is released; after payment the order is cancelled (which gives the stock back),
the charge refunded, and the coupon/points given back (loyalty reversePoints); if the order could not
be cancelled the hold is released directly. The result lists every undo step and whether it worked.
Earning points is the one step that does not undo a paid order: earnPoints is idempotent per order, so
a failure there is reported (``pointsPending``) and can be credited later.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

from agentkit import AgentCallError, clock
from agentkit.contracts import id_pattern

from . import idempotency
from .cards import CardVault
from .cart import SalesStore, new_checkout_id
from .clients import Clients
from .errors import ToolFailure, error_from_call, is_down

log = logging.getLogger("agents.sales.checkout")

CENT = Decimal("0.01")
STALE_PLACING_SECONDS = 300  # a placement takes seconds; one "placing" for 5 minutes was interrupted
UPI_RE = re.compile(r"^[a-zA-Z0-9.\-_]{2,64}@[a-zA-Z]{2,64}$")
STORE_RE = re.compile(r"^ST-[A-Z]{3}-[0-9]{2}$")
DECLINE_SUGGESTIONS = {
    "insufficient_funds": ["Pay with another card", "Pay by UPI", "Remove something from the cart"],
    "expired_card": ["Use a card that has not expired", "Pay by UPI"],
    "processing_error": ["Try again in a moment (nothing was charged)", "Pay by UPI"],
    "upi_declined": ["Approve the request in your UPI app and try again", "Pay by card"],
}


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, ROUND_HALF_UP)


def rupees(value: Decimal) -> float:
    return float(value.quantize(CENT, ROUND_HALF_UP))


def _mask_upi(upi: str) -> str:
    name, _, bank = upi.partition("@")
    return f"{name[:2]}***@{bank}"


class CheckoutWorkflow:
    def __init__(self, clients: Clients, store: SalesStore, vault: CardVault, hold_ttl: int = 900):
        self.clients, self.store, self.vault, self.hold_ttl = clients, store, vault, hold_ttl
        vault.bind(clients, store)  # cards are tokenized by the payment agent; tokens kept in the sales database

    # =========================================================================================
    # prepare: steps 1-2
    # =========================================================================================
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
            cart = self.store.cart(user_id)
            items = [
                {k: line[k] for k in ("productId", "size", "color", "quantity")}
                | ({"giftWrap": line["giftWrap"]} if line.get("giftWrap") else {})
                for line in cart["lines"]
            ]
            coupon = cart["couponCode"] if coupon is None else coupon
            points = cart["redeemPoints"] if points is None else points
        if not items:
            raise ToolFailure("empty_cart", "The cart is empty.", suggestions=["Add something to the cart first."])
        if len(items) > 20:
            raise ToolFailure("too_many_lines", "At most 20 different items per order.")
        payment = self._instrument(user_id, payment_method, card_ref, upi_id)
        lines = self._price_lines(items)
        self._price_wraps(lines)
        destination = self._destination(user_id, fulfillment, store_id, address)

        # One pending checkout per shopper: a new quote replaces (and releases) the old one.
        for old in self.store.quoted_checkouts(user_id):
            self._cancel_one(old, "replaced by a new checkout")

        checkout_id = new_checkout_id()
        hold = self._hold(checkout_id, lines)
        try:
            quote = self._quote(user_id, checkout_id, lines, coupon, int(points or 0), destination)
            session = self.clients.call(
                "payment",
                "initiateCheckout",
                {
                    "userId": user_id,
                    "amount": rupees(quote["_total"]),
                    "currency": "INR",
                    "orderReference": checkout_id,
                    "description": _describe(lines)[:200],
                },
            )
        except (ToolFailure, AgentCallError):
            self._release(hold["holdId"])
            raise
        payment["checkoutSessionId"] = session["checkoutSessionId"]
        public_quote = {k: v for k, v in quote.items() if not k.startswith("_")}
        public_quote.update(
            checkoutId=checkout_id,
            payment=_public_payment(payment),
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
                "_amountBeforePoints": rupees(quote["_beforePoints"]),
            },
            payment=payment,
            fulfillment=destination,
            ttl=self.hold_ttl,
        )
        public_quote["next"] = "Show the total to the shopper and call place_order; they are asked to confirm."
        return public_quote

    def _instrument(self, user_id: str, method: str, card_ref: str | None, upi_id: str | None) -> dict[str, Any]:
        if method == "upi":
            upi = (upi_id or "").strip()
            if not UPI_RE.match(upi):
                raise ToolFailure(
                    "invalid_upi",
                    "A UPI id looks like name@bank, e.g. priya.sharma@okaxis.",
                    suggestions=["Ask the shopper for their UPI id."],
                )
            return {"method": "upi", "upiId": upi, "upiMasked": _mask_upi(upi)}
        if method != "card":
            raise ToolFailure("invalid_argument", "payment_method must be card or upi.")
        card = self.vault.get(user_id, card_ref)
        if card is None:
            raise ToolFailure(
                "card_not_on_file",
                "No card to charge: please type the card number with its expiry (MM/YY) and CVC "
                "in the chat. Only the last four digits are kept.",
                suggestions=["Type the card number, expiry and CVC", "Pay by UPI instead"],
            )
        if not card.luhn_valid:
            raise ToolFailure(
                "invalid_card",
                f"The card ending {card.last4} is not a valid card number.",
                suggestions=["Check the number and type it again", "Pay by UPI instead"],
            )
        if card.exp_year is not None and not 2000 <= card.exp_year <= 2099:
            raise ToolFailure(
                "invalid_card",
                f"The expiry year {card.exp_year} of the card ending {card.last4} is not valid.",
                suggestions=["Type the expiry as MM/YY, e.g. 12/28"],
            )
        if not card.complete:
            raise ToolFailure(
                "card_incomplete",
                f"The card ending {card.last4} also needs its "
                f"{' and '.join(card.missing())} (e.g. 'exp 12/28 cvv 123').",
                suggestions=["Type the expiry and CVC"],
            )
        return {"method": "card", "cardRef": card.ref, "brand": card.brand, "last4": card.last4}

    def _price_lines(self, items: list[dict]) -> list[dict[str, Any]]:
        products: dict[str, dict] = {}
        lines = []
        for item in items:
            pid = str(item.get("productId", "")).strip().upper()
            quantity = int(item.get("quantity") or 1)
            if not id_pattern("productId").fullmatch(pid):
                raise ToolFailure("invalid_argument", f"{pid!r} is not a product id like P1001.")
            if not 1 <= quantity <= 20:
                raise ToolFailure("invalid_argument", f"quantity for {pid} must be between 1 and 20.")
            if pid not in products:
                products[pid] = self.clients.call("recommendation", "getProduct", {"productId": pid})
            product = products[pid]
            variant = _variant(product, str(item.get("size", "")), str(item.get("color", "")))
            if variant is None:
                raise ToolFailure(
                    "no_such_variant",
                    f"{product['name']} does not come in size {item.get('size')} and colour {item.get('color')}.",
                    suggestions=[f"Sizes: {', '.join(product['sizes'])}", f"Colours: {', '.join(product['colors'])}"],
                )
            lines.append(
                {
                    "productId": pid,
                    "sku": variant["sku"],
                    "name": product["name"],
                    "category": product["category"],
                    "size": variant["size"],
                    "color": variant["color"],
                    "quantity": quantity,
                    "unitPrice": rupees(money(product["price"])),
                }
            )
            if item.get("giftWrap"):
                lines[-1]["giftWrap"] = dict(item["giftWrap"])
        merged: dict[str, dict] = {}
        wrapped: set[str] = set()
        for line in lines:
            wrap = line.pop("giftWrap", None)
            if wrap and line["productId"] not in wrapped:  # one wrap per product per order
                wrapped.add(line["productId"])
                line["giftWrap"] = wrap
            if line["sku"] in merged:
                merged[line["sku"]]["quantity"] = min(20, merged[line["sku"]]["quantity"] + line["quantity"])
                if wrap and "giftWrap" in line:
                    merged[line["sku"]]["giftWrap"] = wrap
            else:
                merged[line["sku"]] = line
        return list(merged.values())

    def _price_wraps(self, lines: list[dict]) -> None:
        """Check each chosen wrap is still offered and take its current price (checkGiftWrapping)."""
        for line in lines:
            wrap = line.get("giftWrap")
            if not wrap:
                continue
            try:
                check = self.clients.call("gift-wrapping", "checkGiftWrapping", {"productId": line["productId"]})
            except AgentCallError as exc:
                if is_down(exc):
                    raise ToolFailure(
                        "gift_wrap_unavailable",
                        f"The gift wrap for {line['name']} cannot be confirmed right now (the "
                        "gift-wrapping service is not answering). Nothing was held or charged.",
                        suggestions=[
                            "Try again in a moment",
                            "Remove the gift wrap and check out without it (remove_gift_wrap)",
                        ],
                        agent="gift-wrapping",
                        operation="checkGiftWrapping",
                    ) from None
                raise
            option = next((o for o in check["options"] if o["optionId"] == wrap.get("optionId")), None)
            if not check["wrappable"] or option is None:
                raise ToolFailure(
                    "option_unavailable",
                    f"{line['name']} can no longer have the "
                    f"{wrap.get('optionName') or wrap.get('optionId')}: "
                    f"{check['reason'] or check['note'] or 'not offered'}.",
                    suggestions=[f"Choose the {o['optionId']} wrap (₹{o['price']:,.0f})" for o in check["options"]]
                    + ["Remove the gift wrap"],
                    agent="gift-wrapping",
                    operation="checkGiftWrapping",
                )
            line["giftWrap"] = {
                "optionId": option["optionId"],
                "optionName": option["name"],
                "price": rupees(money(option["price"])),
                "message": wrap.get("message"),
                "recipientName": wrap.get("recipientName"),
            }

    def _destination(
        self, user_id: str, fulfillment: str, store_id: str | None, address: dict | None
    ) -> dict[str, Any]:
        if fulfillment == "click_and_collect":
            store = (store_id or "").strip().upper()
            city = (address or {}).get("city")
            if not STORE_RE.match(store):
                if not city:
                    profile = self.clients.shopper_profile(user_id)
                    city = profile["city"] if profile else None
                if not city:
                    raise ToolFailure("missing_store", "Which store should the order be collected from?")
                options = self.clients.call("fulfillment", "getDeliveryOptions", {"city": city})
                stores = [s for o in options["options"] if o["type"] == "click_and_collect" for s in o["stores"]]
                if not stores:
                    raise ToolFailure(
                        "no_store_in_city",
                        f"There is no store to collect from in {city}.",
                        suggestions=["Ship to home instead"],
                    )
                return {
                    "type": "click_and_collect",
                    "storeId": stores[0]["storeId"],
                    "storeName": stores[0]["name"],
                    "storeAddress": stores[0]["address"],
                    "city": city,
                }
            return {"type": "click_and_collect", "storeId": store, "city": city}
        if address is None:
            profile = self.clients.shopper_profile(user_id)
            if not profile or not profile.get("address"):
                raise ToolFailure(
                    "missing_address",
                    "There is no delivery address on file.",
                    suggestions=["Choose click and collect at a store"],
                )
            address = dict(profile["address"])
            address.setdefault("name", profile.get("name"))
        address = {k: v for k, v in address.items() if v not in (None, "")}
        for required in ("line1", "city", "postalCode"):
            if not address.get(required):
                raise ToolFailure("invalid_address", f"The delivery address needs {required}.")
        return {"type": "ship_to_home", "address": address, "city": address["city"]}

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

    def _quote(
        self, user_id: str, checkout_id: str, lines: list[dict], coupon: str | None, points: int, destination: dict
    ) -> dict[str, Any]:
        subtotal = sum((money(ln["unitPrice"]) * ln["quantity"] for ln in lines), Decimal("0"))
        notes: list[str] = []
        loyalty_fields = _loyalty_fields(lines)
        report = None
        try:
            report = self.clients.call(
                "loyalty", "getApplicableOffers", {"userId": user_id, "cartAmount": rupees(subtotal), **loyalty_fields}
            )
        except AgentCallError as exc:
            if exc.status == 404:
                notes.append("Not a loyalty member: no member offers or points.")
            elif is_down(exc):
                notes.append("Offers and points could not be checked right now; the price is without them.")
            else:
                raise

        # The one discount: the best of the shopper's coupon and the best applicable offer.
        candidates: list[dict[str, Any]] = []
        if coupon and report is not None:
            try:
                priced = self.clients.call(
                    "loyalty",
                    "applyCoupon",
                    {
                        "userId": user_id,
                        "couponCode": coupon,
                        "cartAmount": rupees(subtotal),
                        **loyalty_fields,
                        "commit": False,
                    },
                )
                candidates.append(
                    {
                        "kind": "coupon",
                        "code": priced["couponCode"],
                        "title": priced["description"],
                        "amount": money(priced["discountAmount"]),
                    }
                )
            except AgentCallError as exc:
                if is_down(exc):
                    raise
                notes.append(f"Coupon {coupon} cannot be used: {exc.message}")
        if report is not None and report.get("bestOffer"):
            best = next(
                (
                    o
                    for o in report["offers"]
                    if o["isApplicable"] and report["bestOffer"] in (o.get("code"), o.get("offerId"))
                ),
                None,
            )
            if best is not None:
                candidates.append(
                    {
                        "kind": "coupon" if best["kind"] == "coupon" else "offer",
                        "code": best.get("code"),
                        "offerId": best.get("offerId"),
                        "title": best["title"],
                        "amount": money(best["estimatedDiscount"]),
                    }
                )
        chosen = max(candidates, key=lambda c: c["amount"], default=None)
        discount = min(chosen["amount"], subtotal) if chosen else Decimal("0")
        if chosen and coupon and chosen.get("code") != str(coupon).upper():
            notes.append(f"{chosen['title']} saves more than coupon {coupon}, so it is used instead.")

        # Points: rupees off, at least ₹1 left to pay.
        points_used, points_value = 0, Decimal("0")
        if points > 0:
            if report is None:
                notes.append("Points could not be used right now.")
            else:
                value_per_point = Decimal(str(report["pointValue"]))
                usable = min(points, int(report["pointsBalance"]))
                room = subtotal - discount - 1
                if value_per_point > 0 and usable * value_per_point > room:
                    usable = int(max(room, Decimal("0")) / value_per_point)
                if usable < int(report["minimumRedeemablePoints"]):
                    notes.append(
                        f"Points not used: at least {report['minimumRedeemablePoints']} are needed "
                        f"and {usable} can be used on this cart."
                    )
                else:
                    if usable < points:
                        notes.append(f"Only {usable} of the {points} points can be used on this cart.")
                    points_used, points_value = usable, money(usable * value_per_point)

        fee, estimated = Decimal("0"), None
        try:
            if not destination.get("city"):
                raise AgentCallError("fulfillment", "getDeliveryOptions", 400, "no_city", "no city to ask about")
            options = self.clients.call(
                "fulfillment",
                "getDeliveryOptions",
                _clean(
                    {
                        "city": destination["city"],
                        "postalCode": (destination.get("address") or {}).get("postalCode"),
                        "cartValue": rupees(subtotal),
                    }
                ),
            )
            option = next((o for o in options["options"] if o["type"] == destination["type"]), None)
            if option is not None:
                fee, estimated = money(option["fee"]), option["estimatedDate"]
                # The store's name and address, so the confirmation names it (a shopper never reads its id).
                for store in option.get("stores") or []:
                    if store["storeId"] == destination.get("storeId"):
                        destination.update(storeName=store["name"], storeAddress=store["address"])
        except AgentCallError as exc:
            if not is_down(exc) and exc.status != 400:
                raise
            fee = Decimal("0") if subtotal > 999 or destination["type"] != "ship_to_home" else Decimal("99")
        wraps = [
            {"productId": ln["productId"], "sku": ln["sku"], "name": ln["name"], **ln["giftWrap"]}
            for ln in lines
            if ln.get("giftWrap")
        ]
        wrap_total = sum((money(w["price"]) for w in wraps), Decimal("0"))
        total = subtotal - discount - points_value + fee + wrap_total
        discounts = []
        if chosen:
            discounts.append({k: (rupees(v) if k == "amount" else v) for k, v in chosen.items() if v is not None})
        destination["estimatedDate"] = estimated
        return {
            "items": [
                {k: ln[k] for k in ("productId", "sku", "name", "size", "color", "quantity", "unitPrice")}
                | {"lineTotal": rupees(money(ln["unitPrice"]) * ln["quantity"])}
                for ln in lines
            ],
            "subtotal": rupees(subtotal),
            "discounts": discounts,
            "discount": rupees(discount + points_value),
            "pointsRedeemed": points_used,
            "pointsValue": rupees(points_value),
            "deliveryFee": rupees(fee),
            **({"giftWraps": wraps, "giftWrapTotal": rupees(wrap_total)} if wraps else {}),
            "total": rupees(total),
            "currency": "INR",
            "fulfillment": _clean(
                {
                    "type": destination["type"],
                    "storeId": destination.get("storeId"),
                    "storeName": destination.get("storeName"),
                    "storeAddress": destination.get("storeAddress"),
                    "addressLine": _address_line(destination.get("address")),
                    "city": destination["city"],
                    "estimatedDate": estimated,
                }
            ),
            "notes": notes,
            "_total": total,
            "_beforePoints": subtotal - discount,
            "_discountCode": chosen["code"] if chosen and chosen["kind"] == "coupon" else None,
        }

    # =========================================================================================
    # place: steps 4-7
    # =========================================================================================
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
                self._release(checkout["holdId"])
            return ToolFailure(
                "checkout_expired",
                "The checkout expired and its stock hold was released.",
                suggestions=["Call prepare_checkout again."],
            ).as_result()
        payment = checkout["payment"]
        instrument = self._charge_instrument(user_id, payment)
        if "error" in instrument:
            return instrument
        if not self.store.transition(checkout_id, "quoted", "placing"):
            return ToolFailure("checkout_busy", "This checkout is already being placed.").as_result()
        run = _Run(self, checkout, instrument)
        result = run.execute()
        if result.get("unresolved") or _refund_owed(result):
            self.store.set_result(checkout_id, result)  # still "placing": recover_stale settles it
            return result
        status = "placed" if "error" not in result else "failed"
        self.store.transition(checkout_id, "placing", status, result=result)
        if status == "placed":
            self.store.set_last_order(
                user_id,
                result["orderId"],
                {
                    "total": result["total"],
                    "items": result["items"],
                    "status": result["status"],
                    "checkoutId": checkout_id,
                },
            )
            if checkout["source"] == "chat":
                self.store.remove_ordered(user_id, {item["sku"] for item in checkout["items"]})
        return result

    def _charge_instrument(self, user_id: str, payment: dict[str, Any]) -> dict[str, Any]:
        if payment["method"] == "upi":
            return {"method": "upi", "upiId": payment["upiId"]}
        card = self.vault.get(user_id, payment["cardRef"])
        if card is None:
            return ToolFailure(
                "card_not_on_file",
                f"The card ending {payment['last4']} is no longer saved (a card's payment token is kept "
                "only for a short time). Please type the card number, expiry and CVC again, then "
                "confirm the order.",
                suggestions=["Type the card again", "Pay by UPI instead"],
            ).as_result()
        return {"method": "card", "paymentMethodToken": card.token}

    # =========================================================================================
    # recovery: a process that died in the middle of place()
    # =========================================================================================
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
            run = _Run(self, checkout, {})
            try:
                run.reconstruct()
            except AgentCallError as exc:  # cannot see what happened yet: leave it for the next attempt
                self.store.transition(checkout["checkoutId"], "recovering", "placing")
                log.warning("cannot recover checkout %s yet: %s", checkout["checkoutId"], exc.code)
                continue
            result = run._roll_back(
                _StepFailed(
                    "recover",
                    None,
                    code="interrupted",
                    agent="sales",
                    message="The checkout was interrupted before it finished.",
                )
            )
            # A refund that did not go through yet is tried again next time; nothing else ends the checkout open.
            settled = "placing" if _refund_owed(result) else "failed"
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
            run = _Run(self, checkout, {})
            run.order = {"orderId": result["orderId"]}
            earned = run._earn()
            if not earned.get("pointsPending"):
                self.store.set_result(
                    checkout["checkoutId"],
                    {k: v for k, v in {**result, **earned}.items() if k not in ("pointsPending", "pointsNote")},
                )

    # =========================================================================================
    # cancel
    # =========================================================================================
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
        released = self._release(checkout["holdId"])
        return {"checkoutId": checkout["checkoutId"], "holdReleased": released["ok"], "detail": released["detail"]}

    def _release(self, hold_id: str | None) -> dict[str, Any]:
        if not hold_id:
            return {"step": "releaseHold", "ok": True, "detail": "nothing held"}
        try:
            hold = self.clients.call("inventory", "releaseHold", {"holdId": hold_id})
            return {"step": "releaseHold", "ok": True, "detail": f"hold {hold_id} {hold['status']}"}
        except AgentCallError as exc:
            if exc.status == 409:  # already released or expired: the stock is back either way
                return {"step": "releaseHold", "ok": True, "detail": f"hold {hold_id}: {exc.message}"}
            log.warning("could not release hold %s: %s", hold_id, exc.code)
            return {
                "step": "releaseHold",
                "ok": False,
                "detail": f"hold {hold_id} not released ({exc.code}); it expires by itself within 15 minutes",
            }

    # =========================================================================================
    # batch: prepare + place without a model
    # =========================================================================================
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


class _Run:
    """One placement: the steps in order, and the undo list that grows as they succeed."""

    def __init__(self, workflow: CheckoutWorkflow, checkout: dict[str, Any], instrument: dict[str, Any]):
        self.w, self.c, self.instrument = workflow, checkout, instrument
        self.clients = workflow.clients
        self.quote = checkout["quote"]
        self.user_id = checkout["userId"]
        self.checkout_id = checkout["checkoutId"]
        self.undo: list[tuple[str, Callable[[], dict[str, Any]]]] = []
        self.payment: dict[str, Any] | None = None
        self.order: dict[str, Any] | None = None
        self.hold_committed = False
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
                self.w.store.touch(self.checkout_id)  # a heartbeat: the reconciler leaves a moving placement alone
        except _StepFailed as failed:
            return self._roll_back(failed)
        except _Unresolved as unresolved:
            return unresolved.result(self.checkout_id)
        except Exception as exc:  # a bug mid-way must not leave a charge without an order: undo, then report
            log.exception("checkout %s failed unexpectedly", self.checkout_id)
            return self._roll_back(
                _StepFailed(
                    "internal",
                    None,
                    code="internal_error",
                    agent="sales",
                    message=f"Something went wrong on our side ({type(exc).__name__}).",
                )
            )
        earned = self._earn()
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
                ("cancelOrder", self._cancel_order),
                ("reversePoints", self._reverse_loyalty),
                ("refundPayment", self._refund),
            ]
            if self.quote.get("giftWraps"):
                self.undo.append(("cancelGiftWrap", self._cancel_wraps))
        elif self.payment is not None:
            self.undo = [("releaseHold", lambda: self.w._release(self.c["holdId"])), ("refundPayment", self._refund)]
        else:
            self.undo = [("releaseHold", lambda: self.w._release(self.c["holdId"]))]

    def _key(self, step: str) -> str:
        return idempotency.checkout_key(self.user_id, self.checkout_id, step)

    # -- steps --------------------------------------------------------------------------------
    def _pay(self) -> None:
        body = {
            "checkoutSessionId": self.c["payment"]["checkoutSessionId"],
            "userId": self.user_id,
            "amount": self.quote["total"],
            "currency": "INR",
            **self.instrument,
        }
        try:
            payment = self.clients.call("payment", "processPayment", body, idempotency_key=self._key("processPayment"))
        except AgentCallError as exc:
            self.undo.append(("releaseHold", lambda: self.w._release(self.c["holdId"])))
            if exc.status == 402:
                decline = exc.extra.get("declineCode")
                suggestions = exc.extra.get("suggestions") or DECLINE_SUGGESTIONS.get(
                    decline or "", ["Try another card"]
                )
                raise _StepFailed("pay", exc, declineCode=decline, suggestions=suggestions) from None
            if is_down(exc):
                if not self._charged_anyway():
                    # Not seen yet is not the same as not charged (the charge may land after we asked):
                    # the reconciler reads the payments again later and refunds any that appears.
                    raise _StepFailed("pay", exc, charged=None) from None
                payment = self.paid  # it went through before the connection broke: carry on with it
            else:
                raise _StepFailed("pay", exc) from None
        if payment["status"] != "succeeded":
            self.undo.append(("releaseHold", lambda: self.w._release(self.c["holdId"])))
            raise _StepFailed(
                "pay",
                None,
                code="payment_failed",
                message=f"The payment {payment['status']}.",
                declineCode=payment.get("declineCode"),
            )
        self.payment = payment
        self.undo = [("releaseHold", lambda: self.w._release(self.c["holdId"])), ("refundPayment", self._refund)]

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
            self.order = self.clients.call("fulfillment", "createOrder", body, idempotency_key=self._key("createOrder"))
        except AgentCallError as exc:
            if not is_down(exc) or exc.code == "circuit_open":  # refused, or never sent: no order exists
                raise _StepFailed("createOrder", exc) from None
            # The answer was lost, not necessarily the order: fulfillment may have created it before it
            # went quiet. Ask; if it cannot say, leave the checkout to recover_stale instead of refunding
            # a payment whose order may exist.
            self.order = self._order_paid_by_this_payment()
            if self.order is None:
                raise _StepFailed("createOrder", exc) from None
        # From here the order owns the stock: cancelling it gives the stock back (release or restock).
        self.undo = [("cancelOrder", self._cancel_order), ("refundPayment", self._refund)]

    def _order_paid_by_this_payment(self) -> dict[str, Any] | None:
        try:
            orders = self.clients.call("fulfillment", "listOrders", {"userId": self.user_id, "limit": 50})["orders"]
        except AgentCallError as exc:
            raise _Unresolved(exc) from None
        return next((o for o in orders if o["paymentId"] == self.paid["paymentId"]), None)

    def _commit_hold(self) -> None:
        try:
            self.clients.call(
                "inventory", "commitHold", {"holdId": self.c["holdId"], "orderId": self.placed["orderId"]}
            )
        except AgentCallError as exc:
            if exc.status == 409 and self._hold_committed_to_order():
                return
            raise _StepFailed("commitHold", exc) from None

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
            self.undo.insert(1, ("reversePoints", self._reverse_loyalty))
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
                        **_loyalty_fields(lines),
                        "orderReference": order_id,
                        "commit": True,
                    },
                )
            except AgentCallError as exc:
                raise _StepFailed("applyCoupon", exc) from None
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
                    idempotency_key=self._key("redeemLoyaltyPoints"),
                )
            except AgentCallError as exc:
                raise _StepFailed("redeemLoyaltyPoints", exc) from None

    def _add_gift_wraps(self) -> None:
        wraps = self.quote.get("giftWraps") or []
        if not wraps:
            return
        order_id = self.placed["orderId"]
        self.undo.append(("cancelGiftWrap", self._cancel_wraps))
        for wrap in wraps:
            body = {
                "orderReference": order_id,
                "userId": self.user_id,  # gift-wrapping checks with fulfillment that the order is this shopper's
                "productId": wrap["productId"],
                "sku": wrap["sku"],
                "optionId": wrap["optionId"],
            }
            body.update(_clean({"message": wrap.get("message"), "recipientName": wrap.get("recipientName")}))
            try:
                made = self.clients.call(
                    "gift-wrapping", "addGiftWrap", body, idempotency_key=self._key(f"addGiftWrap:{wrap['productId']}")
                )
            except AgentCallError as exc:
                raise _StepFailed("addGiftWrap", exc) from None
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

    def _cancel_wraps(self) -> dict[str, Any]:
        """Cancel every wrap still requested for this order (read back, so a wrap whose answer was lost counts)."""
        order_id = self.placed["orderId"]
        try:
            listed = self.clients.call("gift-wrapping", "getGiftWraps", {"orderReference": order_id})["wraps"]
            cancelled = []
            for wrap in listed:
                if wrap["status"] == "requested":
                    self.clients.call("gift-wrapping", "cancelGiftWrap", {"wrapId": wrap["wrapId"]})
                    cancelled.append(wrap["wrapId"])
        except AgentCallError as exc:
            return {
                "step": "cancelGiftWrap",
                "ok": False,
                "detail": f"gift wraps of {order_id} not cancelled ({exc.code}); the order is cancelled, so "
                "they will not be made",
            }
        return {
            "step": "cancelGiftWrap",
            "ok": True,
            "detail": f"gift wraps cancelled: {', '.join(cancelled)}" if cancelled else "no gift wrap was recorded",
        }

    def _earn(self) -> dict[str, Any]:
        try:
            earned = self.clients.call(
                "loyalty",
                "earnPoints",
                {"userId": self.user_id, "orderId": self.placed["orderId"], "amount": self.quote["total"]},
                idempotency_key=self._key("earnPoints"),
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

    # -- undo ---------------------------------------------------------------------------------
    def _refund(self) -> dict[str, Any]:
        try:
            receipt = self.clients.call(
                "payment",
                "refundPayment",
                {"paymentId": self.paid["paymentId"], "reason": f"checkout {self.checkout_id} could not complete"},
                idempotency_key=self._key("refundPayment"),
            )
            return {
                "step": "refundPayment",
                "ok": True,
                "detail": f"₹{receipt['amount']:,.2f} refunded ({receipt['refundId']})",
            }
        except AgentCallError as exc:
            if self._refunded_in_full():  # an earlier attempt (or the order's own cancellation) refunded it
                return {"step": "refundPayment", "ok": True, "detail": f"{self.paid['paymentId']} already refunded"}
            return {
                "step": "refundPayment",
                "ok": False,
                "detail": f"refund of {self.paid['paymentId']} failed ({exc.code}); retried until it goes through",
            }

    def _refunded_in_full(self) -> bool:
        try:
            payment = self.clients.call("payment", "checkPaymentStatus", {"paymentId": self.paid["paymentId"]})
        except AgentCallError:
            return False
        return payment["status"] == "refunded"

    def _cancel_order(self) -> dict[str, Any]:
        try:
            self.clients.call(
                "fulfillment",
                "cancelOrder",
                {
                    "orderId": self.placed["orderId"],
                    "userId": self.user_id,
                    "reason": f"checkout {self.checkout_id} could not complete",
                },
            )
            return {
                "step": "cancelOrder",
                "ok": True,
                "detail": f"order {self.placed['orderId']} cancelled, stock returned",
            }
        except AgentCallError as exc:
            released = self.w._release(self.c["holdId"])
            return {
                "step": "cancelOrder",
                "ok": False,
                "detail": f"order {self.placed['orderId']} not cancelled ({exc.code}); {released['detail']}",
            }

    def _reverse_loyalty(self) -> dict[str, Any]:
        try:
            r = self.clients.call(
                "loyalty",
                "reversePoints",
                {
                    "userId": self.user_id,
                    "orderId": self.placed["orderId"],
                    "reason": f"checkout {self.checkout_id} could not complete",
                    "restoreRedeemed": True,
                },
            )
            return {
                "step": "reversePoints",
                "ok": True,
                "detail": f"{r['pointsRestored']} points restored, coupons released: {r['couponsReleased']}",
            }
        except AgentCallError as exc:
            return {"step": "reversePoints", "ok": False, "detail": f"loyalty not reversed ({exc.code})"}

    def _roll_back(self, failed: "_StepFailed") -> dict[str, Any]:
        undone: list[dict[str, Any]] = []
        for name, action in self.undo:
            if name == "refundPayment" and any(u["step"] == "cancelOrder" and not u["ok"] for u in undone):
                # The order still stands: refunding now would leave it shipped unpaid. The checkout stays open
                # and the reconciler cancels, then refunds, once fulfillment answers.
                undone.append({"step": name, "ok": False, "detail": "not refunded while the order stands; retried"})
                continue
            try:
                undone.append(action())
            except Exception as exc:  # every undo step is attempted; one failing must not stop the rest
                log.exception("undo step %s failed", name)
                undone.append({"step": name, "ok": False, "detail": f"{type(exc).__name__}"})
        charged = self.payment is not None
        refunded = any(u["step"] == "refundPayment" and u["ok"] for u in undone)
        uncertain = False
        error = failed.error
        error["failedStep"] = failed.step
        if charged:
            error["message"] += (
                " The payment was refunded."
                if refunded
                else " The refund did not go through yet; it is retried until it does."
            )
        elif (
            failed.extra.get("charged") is None
            and failed.step == "pay"
            and failed.exc is not None
            and is_down(failed.exc)
        ):
            uncertain = True
            error["message"] += (
                " It is not certain whether the payment went through; if a charge appears it will be refunded."
            )
        else:
            error["message"] += " Nothing was charged."
        return {
            "error": error,
            "checkoutId": self.checkout_id,
            "charged": charged,
            "refunded": refunded,
            **({"chargeUncertain": True} if uncertain else {}),
            "orderId": self.placed["orderId"] if self.order else None,
            "holdReleased": any(u["step"] in ("releaseHold", "cancelOrder") and u["ok"] for u in undone),
            "undo": undone,
        }


def _refund_owed(result: dict[str, Any]) -> bool:
    """A failed checkout that charged the shopper and could not refund yet, or may have charged them."""
    if "error" not in result:
        return False
    return bool(result.get("chargeUncertain")) or (bool(result.get("charged")) and not result.get("refunded"))


class _Unresolved(Exception):
    """Whether the order exists cannot be known now (fulfillment is unreachable after createOrder went
    out): nothing is undone, the checkout stays "placing", and recover_stale settles it once fulfillment
    answers again (cancelling the order and refunding if it was created, refunding if it was not)."""

    def __init__(self, exc: AgentCallError):
        super().__init__(exc.code)
        self.exc = exc

    def result(self, checkout_id: str) -> dict[str, Any]:
        return {
            "unresolved": True,
            "checkoutId": checkout_id,
            "charged": True,
            "refunded": False,
            "orderId": None,
            "error": {
                "agent": "fulfillment",
                "operation": "createOrder",
                "code": "order_unconfirmed",
                "failedStep": "createOrder",
                "message": "The payment went through but the order service stopped answering before it "
                "confirmed the order. It will be checked automatically within a few minutes: "
                "either the order stands or the payment is refunded in full.",
                "suggestions": ["Ask 'where is my order?' in a few minutes"],
            },
        }


class _StepFailed(Exception):
    def __init__(
        self,
        step: str,
        exc: AgentCallError | None,
        *,
        code: str | None = None,
        message: str | None = None,
        **extra: Any,
    ):
        super().__init__(step)
        self.step, self.exc = step, exc
        self.extra = extra
        if exc is not None:
            self.error = error_from_call(exc)
        else:
            self.error = {
                "agent": extra.pop("agent", "payment"),
                "operation": "processPayment" if step == "pay" else step,
                "code": code,
                "message": message,
            }
        for key in ("declineCode", "suggestions"):
            if extra.get(key) is not None:
                self.error[key] = extra[key]


def _variant(product: dict[str, Any], size: str, color: str) -> dict[str, Any] | None:
    def norm(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", str(text).lower())

    for variant in product.get("variants", []):
        if norm(variant["size"]) == norm(size) and norm(variant["color"]) == norm(color):
            return variant
    return None


def _loyalty_fields(lines: list[dict]) -> dict[str, Any]:
    items = [
        {
            "productId": ln["productId"],
            "category": ln["category"],
            "amount": rupees(money(ln["unitPrice"]) * ln["quantity"]),
        }
        for ln in lines
        if ln.get("category")
    ]
    if not items:
        return {}
    return {"items": items[:50], "categories": sorted({i["category"] for i in items})[:20]}


def _describe(lines: list[dict]) -> str:
    parts = [f"{ln['quantity']} x {ln['name']} ({ln['color']}, {ln['size']})" for ln in lines]
    return "; ".join(parts)


def _public_payment(payment: dict[str, Any]) -> dict[str, Any]:
    if payment["method"] == "upi":
        return {"method": "upi", "upiId": payment["upiMasked"]}
    return {"method": "card", "cardRef": payment["cardRef"], "brand": payment["brand"], "last4": payment["last4"]}


def _address_line(address: dict[str, Any] | None) -> str | None:
    """Where a delivery goes, in one line the shopper recognises ("12 MG Road, Bengaluru 560001")."""
    if not address:
        return None
    street = ", ".join(str(address[k]) for k in ("line1", "line2") if address.get(k))
    return f"{street}, {address['city']} {address['postalCode']}"


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
