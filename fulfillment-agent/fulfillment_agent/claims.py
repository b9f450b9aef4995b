"""Every claim a createOrder request makes, checked with the agent that owns the fact.

The caller says what was bought, at what price, how it was paid, what stock is held and what discount applies.
None of it is taken on trust: names and prices come from the catalog (recommendation getProduct), the payment
from the payment agent (checkPaymentStatus: succeeded, the shopper's, exactly the total, not another order's),
the hold from inventory (getHold: active, the same SKUs and quantities), the coupon use and the points from
loyalty. Fulfillment issues the order id, so it is fulfillment that records the coupon use (applyCoupon
commit=true) and the points redemption (redeemLoyaltyPoints) under that id: a redemption then always stands
behind ``pointsRedeemed``, and the order's undo (reversePoints with the order id) finds both. The amounts are
recomputed from what the owners answered; any difference is a 409 or 422 naming the field.

The checks are synchronous calls through the contract client (``agentkit.client``): each owner answers from its
own records at the moment the order is created, so there is no receipt to sign, verify or expire.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from agentkit import (
    AgentCallError,
    AgentClient,
    ApiError,
    BusinessRuleViolation,
    Conflict,
    DependencyUnavailable,
)
from agentkit.contracts import id_pattern
from agentkit.logs import get_logger, log

logger = get_logger("fulfillment")

CENT = Decimal("0.01")
SHIPPING_FEE = Decimal("99")
FREE_SHIPPING_ABOVE = Decimal("999")


@dataclass
class Owners:
    """The agents that own the facts an order is made of."""

    inventory: AgentClient
    catalog: AgentClient  # the recommendation agent
    payment: AgentClient
    loyalty: AgentClient


@dataclass
class Checked:
    """What the owners confirmed, for the order to be written from."""

    items: list[dict[str, Any]]
    categories: dict[str, str]
    subtotal: Decimal
    delivery_fee: Decimal
    payment: dict[str, Any]
    hold: dict[str, Any] | None
    coupon_discount: Decimal = Decimal(0)
    offer_discount: Decimal = Decimal(0)
    points_value: Decimal = Decimal(0)
    loyalty_committed: bool = False
    notes: list[str] = field(default_factory=list)


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def rupees(value: Decimal) -> str:
    return f"Rs {value.quantize(CENT)}"


def unavailable(exc: AgentCallError, doing: str) -> DependencyUnavailable:
    log(logger, logging.WARNING, "owner call failed", agent=exc.agent, operation=exc.operation, code=exc.code)
    return DependencyUnavailable(
        f"The {exc.agent} service is not answering, so we could not {doing}. No order was created; "
        f"please try again in a minute.",
        details=[{"field": "", "message": f"{exc.agent}.{exc.operation}: {exc.code}: {exc.message}"}],
        retryable=True,
    )


def _refused(exc: AgentCallError, doing: str, field_name: str, code: str) -> ApiError:
    """An owner said no (4xx): a 422 naming the field; anything else it could not answer is a 503."""
    if exc.status is None or exc.status >= 500 or exc.unavailable:
        return unavailable(exc, doing)
    return BusinessRuleViolation(
        f"{exc.message}", code=code, details=[{"field": field_name, "message": f"{exc.agent}: {exc.code}"}]
    )


# --- the catalog -----------------------------------------------------------------------------------


def _read_from_owner(
    owner: AgentClient, operation: str, request: dict[str, Any], *, doing: str, missing: str, code: str, field: str
) -> dict[str, Any]:
    """Read a fact from the agent that owns it: unknown to it is a refusal naming ``field``, unreachable a 503."""
    try:
        return owner.call(operation, request)
    except AgentCallError as exc:
        if exc.status == 404:
            raise BusinessRuleViolation(
                missing, code=code, details=[{"field": field, "message": f"unknown to the {owner.contract.name} agent"}]
            ) from None
        raise unavailable(exc, doing) from None


def _norm(text: str) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def check_items(catalog: AgentClient, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Each line against the catalog: the product and variant exist, the name and unit price are the catalog's."""
    products: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(items):
        pid = item["productId"]
        if pid not in products:
            try:
                products[pid] = catalog.call("getProduct", {"productId": pid})
            except AgentCallError as exc:
                if exc.status == 404:
                    raise BusinessRuleViolation(
                        f"Item {index + 1}: there is no product {pid} in the catalog.",
                        code="unknown_product",
                        details=[{"field": f"items.{index}.productId", "message": "not in the catalog"}],
                    ) from None
                raise unavailable(exc, "check the items with the catalog") from None
        product = products[pid]
        variant = next((v for v in product.get("variants", []) if v["sku"] == item["sku"]), None)
        if (
            variant is None
            or _norm(variant["size"]) != _norm(item["size"])
            or _norm(variant["color"]) != _norm(item["color"])
        ):
            raise BusinessRuleViolation(
                f"Item {index + 1}: {product['name']} does not come as {item['sku']} "
                f"(size {item['size']}, colour {item['color']}).",
                code="unknown_variant",
                details=[{"field": f"items.{index}.sku", "message": "not a variant in the catalog"}],
            )
        price = money(product["price"]).quantize(CENT)
        if money(item["unitPrice"]) != price:
            raise Conflict(
                f"Item {index + 1}: {product['name']} costs {rupees(price)} in the catalog, "
                f"not {rupees(money(item['unitPrice']))}.",
                code="price_mismatch",
                details=[{"field": f"items.{index}.unitPrice", "message": f"the catalog price is {price}"}],
            )
        if item["name"] != product["name"]:
            raise Conflict(
                f"Item {index + 1}: {pid} is called {product['name']!r} in the catalog, not {item['name']!r}.",
                code="name_mismatch",
                details=[{"field": f"items.{index}.name", "message": f"the catalog name is {product['name']}"}],
            )
    checked = [
        {k: item[k] for k in ("productId", "sku", "size", "color", "quantity")}
        | {"name": products[item["productId"]]["name"], "unitPrice": float(money(item["unitPrice"]))}
        for item in items
    ]
    categories = {pid: product["category"] for pid, product in products.items()}
    return checked, categories


def delivery_fee(fulfillment_type: str, subtotal: Decimal) -> Decimal:
    """The fee getDeliveryOptions quotes: Rs 99 to ship, free above Rs 999; click and collect is free."""
    if fulfillment_type != "ship_to_home" or subtotal > FREE_SHIPPING_ABOVE:
        return Decimal(0)
    return SHIPPING_FEE


# --- the payment -----------------------------------------------------------------------------------


def check_payment(payments: AgentClient, body: dict[str, Any], total: Decimal) -> dict[str, Any]:
    """The payment exists, succeeded, is the shopper's, is exactly the total and pays for no other order."""
    payment_id = body["paymentId"]
    payment = _read_from_owner(
        payments,
        "checkPaymentStatus",
        {"paymentId": payment_id},
        doing="check the payment",
        missing=f"There is no payment {payment_id}.",
        code="payment_not_found",
        field="paymentId",
    )
    if payment["userId"] != body["userId"]:
        raise BusinessRuleViolation(
            f"Payment {payment_id} was not made by {body['userId']}.",
            code="payment_not_shoppers",
            details=[{"field": "paymentId", "message": "belongs to another shopper"}],
        )
    if payment["status"] != "succeeded":
        why = f" ({payment['declineCode']})" if payment.get("declineCode") else ""
        raise BusinessRuleViolation(
            f"Payment {payment_id} is {payment['status']}{why}, so it pays for nothing.",
            code="payment_not_succeeded",
            details=[{"field": "paymentId", "message": f"status is {payment['status']}"}],
        )
    paid = money(payment["amount"])
    if paid != total:
        raise BusinessRuleViolation(
            f"Payment {payment_id} is {rupees(paid)} but the order total is {rupees(total)}.",
            code="payment_amount_mismatch",
            details=[{"field": "total", "message": f"the payment is {paid.quantize(CENT)}"}],
        )
    reference = payment.get("orderReference") or ""
    if id_pattern("orderId").fullmatch(reference):
        raise Conflict(
            f"Payment {payment_id} already paid for order {reference}.",
            code="payment_already_used",
            details=[{"field": "paymentId", "message": f"used by {reference}"}],
        )
    return payment


# --- the hold --------------------------------------------------------------------------------------


def check_hold(inventory: AgentClient, hold_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The hold exists, is active and holds exactly the order's SKUs and quantities."""
    hold = _read_from_owner(
        inventory,
        "getHold",
        {"holdId": hold_id},
        doing="check the stock hold",
        missing=f"There is no stock hold {hold_id}.",
        code="hold_not_found",
        field="holdId",
    )
    if hold["status"] != "active":
        raise Conflict(
            f"Stock hold {hold_id} is {hold['status']}, so it holds nothing for this order.",
            code="hold_not_active",
            details=[{"field": "holdId", "message": f"status is {hold['status']}"}],
        )
    held: Counter[str] = Counter()
    for line in hold["lines"]:
        held[line["sku"]] += line["quantity"]
    wanted: Counter[str] = Counter()
    for item in items:
        wanted[item["sku"]] += item["quantity"]
    if held != wanted:
        differ = [sku for sku in sorted(set(held) | set(wanted)) if held[sku] != wanted[sku]]
        what = ", ".join(f"{sku}: held {held[sku]}, ordered {wanted[sku]}" for sku in differ)
        raise Conflict(
            f"Stock hold {hold_id} does not hold what the order lists ({what}).",
            code="hold_mismatch",
            details=[{"field": "holdId", "message": what}],
        )
    return hold


# --- loyalty ---------------------------------------------------------------------------------------


def _loyalty_cart(items: list[dict[str, Any]], categories: dict[str, str]) -> dict[str, Any]:
    lines = [
        {
            "productId": item["productId"],
            "category": categories[item["productId"]],
            "amount": float(money(item["unitPrice"]) * item["quantity"]),
        }
        for item in items
    ]
    return {"items": lines[:50], "categories": sorted({line["category"] for line in lines})[:20]}


def price_discount(loyalty: AgentClient, body: dict[str, Any], checked: Checked) -> None:
    """What loyalty stands behind, asked read-only before anything is recorded: the coupon's discount on this cart
    (applyCoupon, commit false), the points' value at the member's pointValue (and that the balance covers them),
    and, without a coupon, an automatic offer for the rest. The claimed discount must be exactly that sum."""
    code, points = body.get("couponCode"), int(body.get("pointsRedeemed") or 0)
    claimed = money(body["discount"])
    if not code and not points and claimed == 0:
        return
    cart = _loyalty_cart(checked.items, checked.categories)
    report = None
    if points or not code:
        try:
            report = loyalty.call(
                "getApplicableOffers", {"userId": body["userId"], "cartAmount": float(checked.subtotal), **cart}
            )
        except AgentCallError as exc:
            if exc.status != 404:
                raise unavailable(exc, "check the discount with loyalty") from None
            field_name = "pointsRedeemed" if points else "couponCode" if code else "discount"
            raise BusinessRuleViolation(
                f"{body['userId']} is not a loyalty member, so no coupon, points or offer stands behind the discount.",
                code="not_a_member",
                details=[{"field": field_name, "message": "not a loyalty member"}],
            ) from None
    if code:
        try:
            priced = loyalty.call(
                "applyCoupon",
                {"userId": body["userId"], "couponCode": code, "cartAmount": float(checked.subtotal), **cart},
            )
        except AgentCallError as exc:
            raise _refused(exc, "check the coupon", "couponCode", exc.code or "coupon_refused") from None
        checked.coupon_discount = money(priced["discountAmount"])
    if points:
        assert report is not None
        if points > report["pointsBalance"]:
            raise BusinessRuleViolation(
                f"{body['userId']} has {report['pointsBalance']} points, not the {points} claimed.",
                code="insufficient_points",
                details=[{"field": "pointsRedeemed", "message": f"the balance is {report['pointsBalance']}"}],
            )
        checked.points_value = (points * money(report["pointValue"])).quantize(CENT, ROUND_HALF_UP)
    offer = claimed - checked.coupon_discount - checked.points_value
    if offer == 0:
        return
    if code or offer < 0 or report is None:
        raise _discount_mismatch(body, checked)
    if not any(
        o["kind"] == "automatic" and o["isApplicable"] and money(o["estimatedDiscount"]) == offer
        for o in report["offers"]
    ):
        raise _discount_mismatch(body, checked)
    checked.offer_discount = offer


def record_discount(loyalty: AgentClient, body: dict[str, Any], order_id: str, checked: Checked) -> None:
    """Record the coupon use and redeem the points under ``order_id``; loyalty must record exactly what it priced.
    On a refusal the caller undoes what was recorded (``undo_loyalty``: reversePoints for the order id)."""
    code, points = body.get("couponCode"), int(body.get("pointsRedeemed") or 0)
    if not code and not points:
        return
    cart = _loyalty_cart(checked.items, checked.categories)
    checked.loyalty_committed = True
    if code:
        try:
            used = loyalty.call(
                "applyCoupon",
                {
                    "userId": body["userId"],
                    "couponCode": code,
                    "cartAmount": float(checked.subtotal),
                    **cart,
                    "orderReference": order_id,
                    "commit": True,
                },
            )
        except AgentCallError as exc:
            raise _refused(exc, "record the coupon", "couponCode", exc.code or "coupon_refused") from None
        if money(used["discountAmount"]) != checked.coupon_discount:
            raise _discount_mismatch(body, checked)
    if points:
        try:
            redeemed = loyalty.call(
                "redeemLoyaltyPoints",
                {
                    "userId": body["userId"],
                    "points": points,
                    "orderReference": order_id,
                    "cartAmount": float(max(checked.subtotal - checked.coupon_discount, Decimal(0))),
                },
            )
        except AgentCallError as exc:
            raise _refused(exc, "redeem the points", "pointsRedeemed", exc.code or "points_refused") from None
        if redeemed["pointsRedeemed"] != points or money(redeemed["discountAmount"]) != checked.points_value:
            raise Conflict(
                f"Loyalty redeemed {redeemed['pointsRedeemed']} points worth "
                f"{rupees(money(redeemed['discountAmount']))} for {order_id}, not {points} worth "
                f"{rupees(checked.points_value)}.",
                code="points_mismatch",
                details=[{"field": "pointsRedeemed", "message": f"redeemed {redeemed['pointsRedeemed']}"}],
            )


def undo_loyalty(loyalty: AgentClient, user_id: str, order_id: str, reason: str) -> bool:
    """Give back what was recorded for ``order_id`` (points redeemed, coupon uses; earned points taken back)."""
    try:
        loyalty.call(
            "reversePoints", {"userId": user_id, "orderId": order_id, "reason": reason, "restoreRedeemed": True}
        )
        return True
    except AgentCallError as exc:
        if exc.status == 404:
            return True  # not a member: nothing was recorded
        log(logger, logging.ERROR, "loyalty not undone", orderId=order_id, code=exc.code, status=exc.status)
        return False


def _discount_mismatch(body: dict[str, Any], checked: Checked) -> BusinessRuleViolation:
    known = checked.coupon_discount + checked.points_value
    parts = []
    if body.get("couponCode"):
        parts.append(f"coupon {body['couponCode'].upper()} {rupees(checked.coupon_discount)}")
    if body.get("pointsRedeemed"):
        parts.append(f"{body['pointsRedeemed']} points {rupees(checked.points_value)}")
    behind = " + ".join(parts) or "no coupon, points or applicable offer"
    return BusinessRuleViolation(
        f"discount is {rupees(money(body['discount']))} but loyalty stands behind {rupees(known)} ({behind}).",
        code="discount_mismatch",
        details=[{"field": "discount", "message": f"expected {known.quantize(CENT)}"}],
    )


def check_order(owners: Owners, body: dict[str, Any]) -> Checked:
    """Every check, read-only, before anything is recorded anywhere."""
    items, categories = check_items(owners.catalog, body["items"])
    subtotal = sum((money(i["unitPrice"]) * i["quantity"] for i in items), Decimal(0))
    fee = delivery_fee(body["fulfillmentType"], subtotal)
    if money(body.get("deliveryFee", 0)) != fee:
        raise BusinessRuleViolation(
            f"deliveryFee is {rupees(money(body.get('deliveryFee', 0)))} but delivery for a "
            f"{rupees(subtotal)} {body['fulfillmentType']} order costs {rupees(fee)}.",
            code="totals_mismatch",
            details=[{"field": "deliveryFee", "message": f"expected {fee.quantize(CENT)}"}],
        )
    hold = check_hold(owners.inventory, body["holdId"], items) if "holdId" in body else None
    payment = check_payment(owners.payment, body, money(body["total"]))
    checked = Checked(
        items=items, categories=categories, subtotal=subtotal, delivery_fee=fee, payment=payment, hold=hold
    )
    price_discount(owners.loyalty, body, checked)
    return checked
