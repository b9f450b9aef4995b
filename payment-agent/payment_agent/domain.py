"""Payment rules: checkout sessions, charging a card or a UPI id through the mock gateway, refunds.

A card number and a CVC live only in the request body while the handler runs: they are reduced to
brand and last four digits before anything is stored, and no message ever repeats them.
Idempotency-Key replay is the kit's job; each handler here runs once per key.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from agentkit import BusinessRuleViolation, Conflict, Database, NotFound, PaymentDeclined, ValidationFailed, clock

from . import gateway, storage

CHECKOUT_TTL_SECONDS = 30 * 60
CENT = Decimal("0.01")


def _new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5).upper()}"


def _money(value: Any, field: str) -> Decimal:
    """Rupees with at most two decimals, else a 400 naming the field."""
    amount = Decimal(str(value))
    if amount != amount.quantize(CENT):
        raise ValidationFailed(
            f"{field} has more than two decimals; amounts are rupees and paise.",
            details=[{"field": field, "message": "at most two decimals"}],
        )
    return amount.quantize(CENT)


def _rupees(value: Decimal | None) -> float:
    return round(float(value or 0), 2)


def _show(amount: Decimal) -> str:
    return f"₹{amount:,.2f}".replace(".00", "")


# --- checkout sessions -------------------------------------------------------------------------


def _session_status(row: dict[str, Any], now_iso: str) -> str:
    if row["status"] == "open" and row["expires_at"] <= now_iso:
        return "expired"
    return row["status"]


def _session_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "checkoutSessionId": row["checkout_session_id"],
        "userId": row["user_id"],
        "amount": _rupees(row["amount"]),
        "currency": row["currency"],
        "status": _session_status(row, clock.now_iso()),
        "orderReference": row["order_reference"],
        "description": row["description"],
        "paymentId": row["payment_id"],
        "createdAt": row["created_at"],
        "expiresAt": row["expires_at"],
    }


def initiate_checkout(db: Database, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    row = {
        "checkout_session_id": _new_id("CHK"),
        "user_id": body["userId"],
        "amount": _money(body["amount"], "amount"),
        "currency": body.get("currency", "INR"),
        "status": "open",
        "order_reference": body.get("orderReference"),
        "description": body.get("description"),
        "payment_id": None,
        "created_at": clock.now_iso(),
        "expires_at": clock.later_iso(CHECKOUT_TTL_SECONDS),
    }
    with db.write() as conn:
        storage.insert_checkout_session(conn, row)
    return _session_view(row), 201


def get_checkout_session(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        row = storage.checkout_session(conn, body["checkoutSessionId"])
    if row is None:
        raise NotFound.of("checkout session", body["checkoutSessionId"], "checkoutSessionId")
    return _session_view(row)


def _payable_session(conn, session_id: str, user_id: str, amount: Decimal, now_iso: str) -> dict[str, Any]:
    session = storage.checkout_session(conn, session_id)
    if session is None:
        raise NotFound.of("checkout session", session_id, "checkoutSessionId")
    if session["user_id"] != user_id:
        raise BusinessRuleViolation(
            f"Checkout session {session_id} belongs to another shopper.",
            code="session_user_mismatch",
            details=[{"field": "userId", "message": "not the session's shopper"}],
        )
    if session["status"] == "paid":
        raise Conflict(
            f"Checkout session {session_id} is already paid (payment {session['payment_id']}); "
            "it cannot be paid again.",
            code="checkout_already_paid",
            details=[{"field": "checkoutSessionId", "message": f"paid by {session['payment_id']}"}],
        )
    if _session_status(session, now_iso) == "expired":
        raise Conflict(
            f"Checkout session {session_id} expired at {session['expires_at']}; start a new checkout.",
            code="checkout_expired",
            details=[{"field": "checkoutSessionId", "message": "expired"}],
        )
    expected = Decimal(session["amount"]).quantize(CENT)
    if amount != expected:
        raise BusinessRuleViolation(
            f"The checkout session is for {_show(expected)} but the payment is for "
            f"{_show(amount)}; pay the session amount.",
            code="amount_mismatch",
            details=[{"field": "amount", "message": f"must equal {expected}"}],
        )
    return session


# --- payments ----------------------------------------------------------------------------------


def _payment_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "paymentId": row["payment_id"],
        "status": row["status"],
        "userId": row["user_id"],
        "amount": _rupees(row["amount"]),
        "currency": row["currency"],
        "method": row["method"],
        "cardBrand": row["card_brand"],
        "cardLast4": row["card_last4"],
        "upiId": row["upi_id_masked"],
        "checkoutSessionId": row["checkout_session_id"],
        "orderReference": row["order_reference"],
        "declineCode": row["decline_code"],
        "createdAt": row["created_at"],
        "refundedAmount": _rupees(row["refunded_amount"]),
        "refunds": [
            {
                "refundId": r["refund_id"],
                "amount": _rupees(r["amount"]),
                "reason": r["reason"],
                "createdAt": r["created_at"],
            }
            for r in row.get("refunds", [])
        ],
    }


def _check_method_fields(body: dict[str, Any]) -> None:
    """card goes with method card, upiId with method upi; never both, never neither."""
    method = body["method"]
    wanted, other = ("card", "upiId") if method == "card" else ("upiId", "card")
    if wanted not in body:
        raise ValidationFailed(
            f"Method {method} needs {wanted}.",
            details=[{"field": wanted, "message": f"required when method is {method}"}],
        )
    if other in body:
        raise ValidationFailed(
            f"{other} cannot be sent with method {method}; send only {wanted}.",
            details=[{"field": other, "message": f"not allowed when method is {method}"}],
        )


def _instrument(body: dict[str, Any]) -> tuple[dict[str, Any], gateway.Decline | None, str]:
    """What may be stored about the card or UPI id, the gateway's verdict and what to call it in messages."""
    if body["method"] == "card":
        card = body["card"]
        if not gateway.luhn_ok(card["number"]):
            raise ValidationFailed(
                "The card number is not valid (it fails the check-digit test); check the digits and enter it again.",
                code="invalid_card_number",
                details=[{"field": "card.number", "message": "fails the Luhn check"}],
            )
        brand, last4 = gateway.card_facts(card["number"])
        decline = gateway.decide_card(last4, card["expMonth"], card["expYear"], clock.now())
        return (
            {"card_brand": brand, "card_last4": last4, "upi_id_masked": None},
            decline,
            f"{brand} card ending {last4}",
        )
    masked = gateway.mask_upi(body["upiId"])
    return (
        {"card_brand": None, "card_last4": None, "upi_id_masked": masked},
        gateway.decide_upi(body["upiId"]),
        f"UPI id {masked}",
    )


def process_payment(db: Database, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    _check_method_fields(body)
    amount = _money(body["amount"], "amount")
    stored, decline, instrument = _instrument(body)
    session_id = body.get("checkoutSessionId")
    now_iso = clock.now_iso()
    row = {
        "payment_id": _new_id("PAY"),
        "user_id": body["userId"],
        "amount": amount,
        "currency": body.get("currency", "INR"),
        "method": body["method"],
        **stored,
        "status": "failed" if decline else "succeeded",
        "decline_code": decline.code if decline else None,
        "checkout_session_id": session_id,
        "order_reference": None,
        "refunded_amount": Decimal("0"),
        "created_at": now_iso,
        "refunded_at": None,
    }
    with db.write() as conn:
        if session_id:
            row["order_reference"] = _payable_session(conn, session_id, body["userId"], amount, now_iso)[
                "order_reference"
            ]
            if not decline and not storage.mark_session_paid(conn, session_id, row["payment_id"], now_iso):
                raise Conflict(
                    f"Checkout session {session_id} was paid or expired a moment ago.",
                    code="checkout_already_paid",
                    details=[{"field": "checkoutSessionId", "message": "no longer open"}],
                )
        storage.insert_payment(conn, row)
    if decline:  # the failed attempt is committed above, so the payment history stays auditable
        raise PaymentDeclined(
            f"{decline.message} ({instrument}; the attempt is recorded as {row['payment_id']}.)",
            code="card_declined" if body["method"] == "card" else "payment_declined",
            details=[{"field": "card" if body["method"] == "card" else "upiId", "message": decline.code}],
            declineCode=decline.code,
            suggestions=list(decline.suggestions),
            retryable=decline.retryable,
        )
    return _payment_view({**row, "refunds": []}), 201


def check_payment_status(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        row = storage.payment(conn, body["paymentId"])
    if row is None:
        raise NotFound.of("payment", body["paymentId"], "paymentId")
    return _payment_view(row)


def list_payments(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        rows = storage.payments_of_user(conn, body["userId"], body.get("status"), body.get("limit", 20))
    return {"userId": body["userId"], "payments": [_payment_view(r) for r in rows]}


def list_all_payments(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    """Every payment, a page at a time (operator only: the integrity audit reads them all)."""
    offset, limit = body.get("offset", 0), body.get("limit", 200)
    with db.read() as conn:
        rows = storage.all_payments(conn, offset, limit)
    return {"payments": [_payment_view(r) for r in rows], "nextOffset": offset + limit if len(rows) == limit else None}


# --- refunds -----------------------------------------------------------------------------------


def _refund_refused(payment_id: str, asked: Decimal, left: Decimal) -> BusinessRuleViolation:
    if left <= 0:
        message = f"Payment {payment_id} is already fully refunded; nothing is left to refund."
    else:
        message = f"Only {_show(left)} of payment {payment_id} is left to refund; {_show(asked)} was asked."
    return BusinessRuleViolation(
        message,
        code="refund_exceeds_payment",
        details=[{"field": "amount", "message": f"at most {max(left, Decimal(0))}"}],
    )


def refund_payment(db: Database, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    payment_id = body["paymentId"]
    asked = _money(body["amount"], "amount") if "amount" in body else None
    now_iso = clock.now_iso()
    with db.write() as conn:
        row = storage.payment(conn, payment_id)
        if row is None:
            raise NotFound.of("payment", payment_id, "paymentId")
        if row["status"] == "failed":
            raise BusinessRuleViolation(
                f"Payment {payment_id} failed ({row['decline_code']}); nothing was charged, "
                "so there is nothing to refund.",
                code="payment_not_refundable",
                details=[{"field": "paymentId", "message": "payment failed"}],
            )
        left = (Decimal(row["amount"]) - Decimal(row["refunded_amount"])).quantize(CENT)
        amount = asked if asked is not None else left
        if left <= 0 or amount > left:
            raise _refund_refused(payment_id, amount, left)
        # The guard in the UPDATE is what protects against a concurrent refund, not the check above.
        updated = storage.apply_refund(conn, payment_id, amount, now_iso)
        if updated is None:  # another refund got in first: report what is left now
            now_row = storage.payment(conn, payment_id)
            raise _refund_refused(
                payment_id, amount, (Decimal(now_row["amount"]) - Decimal(now_row["refunded_amount"])).quantize(CENT)
            )
        refund = {
            "refund_id": _new_id("RFD"),
            "payment_id": payment_id,
            "amount": amount,
            "reason": body["reason"],
            "created_at": now_iso,
        }
        storage.insert_refund(conn, refund)
    return {
        "refundId": refund["refund_id"],
        "paymentId": payment_id,
        "amount": _rupees(amount),
        "status": "succeeded",
        "reason": refund["reason"],
        "createdAt": now_iso,
        "paymentStatus": updated["status"],
        "refundedAmount": _rupees(updated["refunded_amount"]),
    }, 201
