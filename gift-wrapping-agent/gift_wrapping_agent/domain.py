"""Gift-wrapping rules: which products can be wrapped and how, one wrap per product per order, cancelling.

Eligibility, in order:
1. a product on the never-wrappable list (oversized, garment bag, hygiene seal...) cannot be wrapped, with its reason;
2. otherwise its category's rule decides which options it may have (footwear: standard only);
3. a category without a rule is not wrappable, so a new catalog category is refused until someone decides.
A wrap keeps the option's name and price as sold. The message card is free.
"""

from __future__ import annotations

import secrets
import unicodedata
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from agentkit import BusinessRuleViolation, Conflict, Database, NotFound, ValidationFailed, clock

from . import storage

MESSAGE_MAX = 200
RECIPIENT_MAX = 100


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
    }


def _already_wrapped(existing: dict[str, Any] | None, order_reference: str, product_id: str) -> Conflict:
    which = f" ({existing['wrap_id']}, {existing['option_name']})" if existing else ""
    return Conflict(
        f"{product_id} already has a gift wrap{which} on {order_reference}. Cancel it with cancelGiftWrap "
        "to choose another option.",
        code="already_wrapped",
        details=[{"field": "productId", "message": "already wrapped for this order"}],
    )


def add_gift_wrap(db: Database, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
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

    for _attempt in range(2):
        wrap_id = "GW-" + secrets.token_hex(5).upper()
        try:
            with db.write() as conn:
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


def cancel_gift_wrap(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    wrap_id = body["wrapId"]
    with db.write() as conn:
        cancelled = storage.cancel_wrap(conn, wrap_id, clock.now_iso())
        row = storage.wrap(conn, wrap_id)
    if row is None:
        raise NotFound.of("gift wrap", wrap_id, "wrapId")
    if not cancelled:
        raise Conflict(
            f"Gift wrap {wrap_id} was already cancelled at {row['cancelled_at']}.",
            code="already_cancelled",
            details=[{"field": "wrapId", "message": "already cancelled"}],
        )
    return _wrap_view(row)
