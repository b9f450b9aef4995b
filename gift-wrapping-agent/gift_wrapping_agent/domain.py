"""Gift-wrapping rules: which products can be wrapped and how, one wrap per product per order, cancelling.

Eligibility, in order:
1. a product on the never-wrappable list (oversized, garment bag, hygiene seal...) cannot be wrapped, with its reason;
2. otherwise its category's rule decides which options it may have (footwear: standard only);
3. a category without a rule is not wrappable, so a new catalog category is refused until someone decides.
A wrap keeps the option's name and price as sold. The message card is free.

Orders are the fulfillment agent's: a new wrap is only for an order it confirms exists, is that shopper's, has the
product in it and has not gone too far to wrap (``WRAPPABLE_STATUSES``), asked with getOrder as this agent.
Money is the payment agent's: cancelling a wrap of a paid order refunds the wrap's fee on the order's payment
(refundPayment, with an idempotency key per wrap, so a retried cancel never refunds twice), but never more than
the order paid for wrapping (its giftWrapFee less what earlier cancelled wraps refunded) nor more than is left on
the payment. A cancelled order is refunded whole by its cancellation, so its wraps refund nothing themselves.
The refund is made before the wrap is marked cancelled: if the payment agent cannot be reached the wrap stays
requested and the cancel can be retried.
"""

from __future__ import annotations

import secrets
import unicodedata
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from agentkit import (
    AgentCallError,
    BusinessRuleViolation,
    Conflict,
    Database,
    DependencyUnavailable,
    NotFound,
    ValidationFailed,
    clock,
)

from . import storage

MESSAGE_MAX = 200
RECIPIENT_MAX = 100
# Wrapping happens when the order is packed: before that a wrap can be added.
WRAPPABLE_STATUSES = ("pending_approval", "pending", "confirmed")
# Gone with the carrier or delivered: the wrap was made and shipped, so it can no longer be cancelled.
SHIPPED_STATUSES = ("in_transit", "delivered")
ORDER_ID_PREFIX = "ORD-"
CENT = Decimal("0.01")


def _rupees(value: Any) -> float:
    return round(float(value), 2)


def _price_text(value: Any) -> str:
    amount = Decimal(value)
    return f"₹{amount:,.0f}" if amount == amount.to_integral_value() else f"₹{amount:,.2f}"


# --- eligibility -------------------------------------------------------------------------------


def _product_or_404(conn: Connection, product_id: str) -> dict[str, Any]:
    found = storage.product(conn, product_id)
    if found is None:
        raise NotFound.of("product", product_id, "productId")
    return found


def _eligibility(conn: Connection, product: dict[str, Any]) -> dict[str, Any]:
    """{wrappable, reason, note, options} for one product, from the exclusions and its category's rule."""
    excluded = storage.exclusion_reason(conn, product["product_id"])
    if excluded is not None:
        return {"wrappable": False, "reason": excluded, "note": None, "options": []}
    rule = storage.category_rule(conn, product["category"])
    options = storage.options_for_category(conn, product["category"]) if rule else []
    if not options:
        return {
            "wrappable": False,
            "note": None,
            "options": [],
            "reason": f"Gift wrapping is not offered for {product['category']} yet.",
        }
    return {"wrappable": True, "reason": None, "note": rule["note"], "options": options}


def _option_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "optionId": row["option_id"],
        "name": row["name"],
        "description": row["description"],
        "price": _rupees(row["price"]),
        "currency": "INR",
        "messageCardIncluded": True,
    }


def check_gift_wrapping(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        product = _product_or_404(conn, body["productId"])
        found = _eligibility(conn, product)
    return {
        "productId": product["product_id"],
        "productName": product["name"],
        "category": product["category"],
        "wrappable": found["wrappable"],
        "reason": found["reason"],
        "note": found["note"],
        "options": [_option_view(o) for o in found["options"]],
    }


# --- wraps -------------------------------------------------------------------------------------


def _card_text(body: dict[str, Any], field: str, limit: int) -> str | None:
    """The card text trimmed, or None when absent or blank. The contract already refuses control
    characters and overlong text; this guards the same rules for callers that skip validation."""
    value = body.get(field)
    if value is None:
        return None
    text = value.strip()
    problem = None
    if len(text) > limit:
        problem = f"at most {limit} characters, got {len(text)}"
    elif any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
        problem = "control characters are not allowed"
    if problem:
        raise ValidationFailed(
            f"The {field} cannot be printed on the card: {problem}.", details=[{"field": field, "message": problem}]
        )
    return text or None


def _wrap_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "wrapId": row["wrap_id"],
        "orderReference": row["order_reference"],
        "productId": row["product_id"],
        "sku": row["sku"],
        "optionId": row["option_id"],
        "optionName": row["option_name"],
        "price": _rupees(row["price"]),
        "currency": "INR",
        "messageCardIncluded": True,
        "message": row["message"],
        "recipientName": row["recipient_name"],
        "status": row["status"],
        "createdAt": row["created_at"],
        "cancelledAt": row["cancelled_at"],
        "refundId": row["refund_id"],
        "refundedAmount": _rupees(row["refunded_amount"] or 0),
    }


def _already_wrapped(existing: dict[str, Any] | None, order_reference: str, product_id: str) -> Conflict:
    which = f" ({existing['wrap_id']}, {existing['option_name']})" if existing else ""
    return Conflict(
        f"{product_id} already has a gift wrap{which} on {order_reference}. Cancel it with cancelGiftWrap "
        "to choose another option.",
        code="already_wrapped",
        details=[{"field": "productId", "message": "already wrapped for this order"}],
    )


def _unavailable(agent: str, exc: AgentCallError) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"The {agent} agent could not be reached to check this; nothing was changed. Please try again.",
        details=[{"field": agent, "message": f"{exc.code}: {exc.message}"}],
        retryable=True,
        retryAfter=5,
    )


def _order(fulfillment, order_id: str, user_id: str | None = None) -> dict[str, Any] | None:
    """The order as fulfillment has it (None: unknown, or not this shopper's when ``user_id`` is given)."""
    body = {"orderId": order_id, **({"userId": user_id} if user_id else {})}
    try:
        return fulfillment.call("getOrder", body)
    except AgentCallError as exc:
        if exc.status == 404:
            return None
        raise _unavailable("fulfillment", exc) from None


def _check_order(fulfillment, body: dict[str, Any], product_id: str, sku: str | None) -> None:
    """The order exists, is the shopper's, holds the product (and the sku) and can still be wrapped."""
    order_id, user_id = body["orderReference"], body["userId"]
    order = _order(fulfillment, order_id, user_id)
    if order is None:  # fulfillment answers someone else's order as unknown too: no telling whose it is
        raise NotFound(
            f"{user_id} has no order {order_id}.",
            details=[{"field": "orderReference", "message": "no such order for this shopper"}],
        )
    if order["status"] not in WRAPPABLE_STATUSES:
        raise Conflict(
            f"Order {order_id} is {order['status']}, so it can no longer be gift-wrapped "
            f"(wrapping is possible while it is {', '.join(WRAPPABLE_STATUSES)}).",
            code="order_not_wrappable",
            details=[{"field": "orderReference", "message": f"order is {order['status']}"}],
        )
    lines = [item for item in order["items"] if item["productId"] == product_id]
    if not lines:
        raise BusinessRuleViolation(
            f"{product_id} is not in order {order_id}.",
            code="not_in_order",
            details=[{"field": "productId", "message": f"not an item of {order_id}"}],
        )
    if sku is not None and sku not in {item["sku"] for item in lines}:
        raise BusinessRuleViolation(
            f"Order {order_id} has {product_id} as {', '.join(i['sku'] for i in lines)}, not {sku}.",
            code="not_in_order",
            details=[{"field": "sku", "message": f"not an item of {order_id}"}],
        )


def add_gift_wrap(db: Database, body: dict[str, Any], fulfillment=None) -> tuple[dict[str, Any], int]:
    order_reference, product_id, option_id = body["orderReference"], body["productId"], body["optionId"]
    sku = body.get("sku")
    if sku is not None and not sku.startswith(product_id + "-"):
        raise ValidationFailed(
            f"The sku {sku} is not a variant of {product_id}.",
            code="sku_mismatch",
            details=[{"field": "sku", "message": f"not a variant of {product_id}"}],
        )
    message = _card_text(body, "message", MESSAGE_MAX)
    recipient = _card_text(body, "recipientName", RECIPIENT_MAX)
    with db.read() as conn:  # what this agent knows alone first: no call for a product that cannot be wrapped
        _wrappable_option(conn, product_id, option_id)
    if fulfillment is None:
        raise DependencyUnavailable(
            "Orders cannot be checked, so no gift wrap can be added right now.",
            details=[{"field": "fulfillment", "message": "no fulfillment client configured"}],
        )
    _check_order(fulfillment, body, product_id, sku)

    for _attempt in range(2):
        wrap_id = "GW-" + secrets.token_hex(5).upper()
        try:
            with db.write() as conn:
                chosen = _wrappable_option(conn, product_id, option_id)
                existing = storage.active_wrap(conn, order_reference, product_id)
                if existing is not None:
                    raise _already_wrapped(existing, order_reference, product_id)
                storage.insert_wrap(
                    conn,
                    {
                        "wrap_id": wrap_id,
                        "order_reference": order_reference,
                        "product_id": product_id,
                        "sku": sku,
                        "option_id": option_id,
                        "option_name": chosen["name"],
                        "price": chosen["price"],
                        "message": message,
                        "recipient_name": recipient,
                        "status": "requested",
                        "created_at": clock.now_iso(),
                        "cancelled_at": None,
                    },
                )
                created = storage.wrap(conn, wrap_id)
            return _wrap_view(created), 201
        except IntegrityError:
            # Lost a race for the same (order reference, product), or (rarely) a wrap id collided.
            with db.read() as conn:
                existing = storage.active_wrap(conn, order_reference, product_id)
            if existing is not None:
                raise _already_wrapped(existing, order_reference, product_id) from None
    raise Conflict(
        "Could not record the gift wrap; please retry.",
        code="retry",
        retryable=True,
        details=[{"field": "", "message": "wrap id collision"}],
    )


def _wrappable_option(conn: Connection, product_id: str, option_id: str) -> dict[str, Any]:
    """The option as sold now, if the product can be wrapped with it (404 unknown product, else 422 saying why)."""
    product = _product_or_404(conn, product_id)
    found = _eligibility(conn, product)
    if not found["wrappable"]:
        raise BusinessRuleViolation(
            f"{product['name']} cannot be gift-wrapped: {found['reason']}",
            code="not_wrappable",
            details=[{"field": "productId", "message": found["reason"]}],
        )
    chosen = next((o for o in found["options"] if o["option_id"] == option_id), None)
    if chosen is None:
        raise _option_unavailable(conn, product, found, option_id)
    return chosen


def _option_unavailable(
    conn: Connection, product: dict[str, Any], found: dict[str, Any], option_id: str
) -> BusinessRuleViolation:
    offered = ", ".join(f"{o['name']} ({o['option_id']}, {_price_text(o['price'])})" for o in found["options"])
    known = storage.option(conn, option_id)
    name = known["name"] if known else option_id
    why = found["note"] or f"{name} is not offered for {product['category']}."
    return BusinessRuleViolation(
        f"{name} is not available for {product['name']}. {why} Offered: {offered}.",
        code="option_unavailable",
        details=[{"field": "optionId", "message": f"offered: {offered}"}],
    )


def get_gift_wraps(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        rows = storage.wraps_for(conn, body["orderReference"])
    total = sum((Decimal(r["price"]) for r in rows if r["status"] != "cancelled"), Decimal(0))
    return {
        "orderReference": body["orderReference"],
        "wraps": [_wrap_view(r) for r in rows],
        "total": _rupees(total),
        "currency": "INR",
    }


def _already_cancelled(row: dict[str, Any]) -> Conflict:
    return Conflict(
        f"Gift wrap {row['wrap_id']} was already cancelled at {row['cancelled_at']}.",
        code="already_cancelled",
        details=[{"field": "wrapId", "message": "already cancelled"}],
    )


def _refund_due(db: Database, row: dict[str, Any], order: dict[str, Any], payment: dict[str, Any]) -> Decimal:
    """The wrap's fee, capped by what the order paid for wrapping and has not had back, and by what is left
    on the payment. Zero for a cancelled order (its cancellation refunds everything) or an unpaid payment."""
    if order["status"] == "cancelled" or payment["status"] not in ("succeeded", "partially_refunded"):
        return Decimal(0)
    with db.read() as conn:
        refunded_before = Decimal(storage.refunded_for(conn, row["order_reference"]))
    paid_for_wraps = Decimal(str(order.get("giftWrapFee") or 0)) - refunded_before
    left_on_payment = Decimal(str(payment["amount"])) - Decimal(str(payment["refundedAmount"]))
    return max(Decimal(0), min(Decimal(row["price"]), paid_for_wraps, left_on_payment)).quantize(CENT)


def _refund_fee(db: Database, row: dict[str, Any], fulfillment, payment) -> tuple[str | None, Decimal | None]:
    """Refund a paid wrap's fee through the payment agent before the wrap is cancelled: (refund id, amount)."""
    reference = row["order_reference"]
    if not reference.startswith(ORDER_ID_PREFIX):
        return None, None  # a wrap of a checkout that never became an order: nothing was charged for it
    if fulfillment is None or payment is None:
        raise DependencyUnavailable(
            "The order's payment cannot be checked, so the wrap cannot be cancelled right now.",
            details=[{"field": "payment", "message": "no fulfillment or payment client configured"}],
        )
    order = _order(fulfillment, reference)
    if order is None:
        return None, None
    if order["status"] in SHIPPED_STATUSES:
        raise Conflict(
            f"Order {reference} is {order['status']}: the gift wrap was made and shipped with it, so it cannot be "
            "cancelled. Return the item instead.",
            code="wrap_shipped",
            details=[{"field": "wrapId", "message": f"order is {order['status']}"}],
        )
    try:
        paid = payment.call("checkPaymentStatus", {"paymentId": order["paymentId"]})
    except AgentCallError as exc:
        if exc.status == 404:
            return None, None
        raise _unavailable("payment", exc) from None
    due = _refund_due(db, row, order, paid)
    if due <= 0:
        return None, None
    try:
        receipt = payment.call(
            "refundPayment",
            {
                "paymentId": order["paymentId"],
                "amount": float(due),
                "reason": f"gift wrap {row['wrap_id']} ({row['option_name']}) on {reference} cancelled",
            },
            idempotency_key=f"gift-wrap-{row['wrap_id']}-refund",
        )
    except AgentCallError as exc:
        raise _unavailable("payment", exc) from None
    return receipt["refundId"], Decimal(str(receipt["amount"]))


def cancel_gift_wrap(db: Database, body: dict[str, Any], fulfillment=None, payment=None) -> dict[str, Any]:
    wrap_id = body["wrapId"]
    with db.read() as conn:
        row = storage.wrap(conn, wrap_id)
    if row is None:
        raise NotFound.of("gift wrap", wrap_id, "wrapId")
    if row["status"] == "cancelled":
        raise _already_cancelled(row)
    refund_id, refunded = _refund_fee(db, row, fulfillment, payment)
    with db.write() as conn:
        cancelled = storage.cancel_wrap(conn, wrap_id, clock.now_iso(), refund_id, refunded)
        row = storage.wrap(conn, wrap_id)
    assert row is not None  # wraps are never deleted
    if not cancelled:  # lost a race with another cancel; the refund's idempotency key made it the same refund
        raise _already_cancelled(row)
    return _wrap_view(row)
