"""Payment tables and the queries the rules need.

What is stored about a card is its brand and last four digits, nothing else: there is no column a
full card number or a CVC could go into. A payment-method token (``tokenizePaymentMethod``) maps a
random token to the brand, last four digits and expiry, plus the simulated processor's verdict on the
number, decided when it was tokenized (the number itself is gone by then). UPI ids are stored masked ("pr***@okaxis").
Refunds change a payment in one guarded UPDATE, so concurrent refunds can never exceed what was paid.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agentkit import clock
from agentkit.contracts import id_max_length

metadata = sa.MetaData()
# Shopper ids are as wide as the contracts let them be (common.json's userId maxLength), never a copy of it.
USER_ID = sa.String(id_max_length("userId"))

MONEY = sa.Numeric(12, 2)

checkout_sessions = sa.Table(
    "checkout_sessions",
    metadata,
    sa.Column("checkout_session_id", sa.String(24), primary_key=True),
    sa.Column("user_id", USER_ID, nullable=False, index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # open | paid ("expired" is computed on read)
    sa.Column("order_reference", sa.String(80)),
    sa.Column("description", sa.String(200)),
    sa.Column("payment_id", sa.String(24)),
    sa.Column("created_at", sa.String(24), nullable=False),
    sa.Column("expires_at", sa.String(24), nullable=False),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),  # insertion order, for stable listings
    sa.Column("payment_id", sa.String(24), nullable=False, unique=True),
    sa.Column("user_id", USER_ID, nullable=False, index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("method", sa.String(4), nullable=False),  # card | upi
    sa.Column("card_brand", sa.String(12)),
    sa.Column("card_last4", sa.String(4)),
    sa.Column("upi_id_masked", sa.String(80)),
    sa.Column("status", sa.String(20), nullable=False),  # succeeded | failed | partially_refunded | refunded
    sa.Column("decline_code", sa.String(30)),
    sa.Column("checkout_session_id", sa.String(24), index=True),
    sa.Column("order_reference", sa.String(80)),
    sa.Column("refunded_amount", MONEY, nullable=False, server_default="0"),
    sa.Column("created_at", sa.String(24), nullable=False),
    sa.Column("refunded_at", sa.String(24)),
    sa.CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refund_within_amount"),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("refund_id", sa.String(24), nullable=False, unique=True),
    sa.Column("payment_id", sa.String(24), sa.ForeignKey("payments.payment_id"), nullable=False, index=True),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(24), nullable=False),
)

payment_methods = sa.Table(
    "payment_methods",
    metadata,
    sa.Column("token", sa.String(40), primary_key=True),  # pm_ + 24 random hex digits
    sa.Column("user_id", USER_ID, nullable=False, index=True),
    sa.Column("card_brand", sa.String(12), nullable=False),
    sa.Column("card_last4", sa.String(4), nullable=False),
    sa.Column("exp_month", sa.Integer, nullable=False),
    sa.Column("exp_year", sa.Integer, nullable=False),
    sa.Column("simulated_decline", sa.String(30)),  # the mock processor's verdict on the number, or NULL
    sa.Column("created_at", sa.String(24), nullable=False),
)

SEED_DIR = Path(__file__).parent / "seed"
# A token the contract's examples pay with (a Visa ending 4242, good through 12/2030).
EXAMPLE_TOKEN = {
    "token": "pm_0a1b2c3d4e5f60718293a4b5",
    "user_id": "U1001",
    "card_brand": "visa",
    "card_last4": "4242",
    "exp_month": 12,
    "exp_year": 2030,
    "simulated_decline": None,
    "created_at": "2026-11-20T10:00:00Z",
}


def _utc(timestamp: str | None) -> str | None:
    """Seed timestamps are IST (+05:30); stored ones are UTC ISO strings that sort correctly."""
    return clock.iso(clock.parse(timestamp)) if timestamp else None


def load_seed(conn: Connection) -> None:
    seeded = json.loads((SEED_DIR / "payments.json").read_text())["payments"]
    conn.execute(
        payments.insert(),
        [
            {
                "payment_id": p["paymentId"],
                "user_id": p["userId"],
                "amount": Decimal(str(p["amount"])),
                "currency": p["currency"],
                "method": p["method"],
                "card_brand": p["cardBrand"],
                "card_last4": p["cardLast4"],
                "upi_id_masked": p["upiId"],
                "status": p["status"],
                "decline_code": None,
                "checkout_session_id": None,
                "order_reference": p["orderId"],
                "refunded_amount": Decimal(str(p["amount"])) if p["status"] == "refunded" else Decimal("0"),
                "created_at": _utc(p["createdAt"]),
                "refunded_at": _utc(p["refundedAt"]),
            }
            for p in seeded
        ],
    )
    conn.execute(payment_methods.insert().values(**EXAMPLE_TOKEN))
    refunded = [p for p in seeded if p["status"] == "refunded"]
    if refunded:
        conn.execute(
            refunds.insert(),
            [
                {
                    "refund_id": "RFD-" + p["paymentId"].removeprefix("PAY-"),
                    "payment_id": p["paymentId"],
                    "amount": Decimal(str(p["amount"])),
                    "reason": f"order {p['orderId']} cancelled",
                    "created_at": _utc(p["refundedAt"]),
                }
                for p in refunded
            ],
        )


# --- reads -------------------------------------------------------------------------------------


def checkout_session(conn: Connection, session_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(checkout_sessions).where(checkout_sessions.c.checkout_session_id == session_id)
    ).first()
    return dict(row._mapping) if row else None


def payment(conn: Connection, payment_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(payments).where(payments.c.payment_id == payment_id)).first()
    if row is None:
        return None
    found = dict(row._mapping)
    found["refunds"] = refunds_of(conn, [payment_id]).get(payment_id, [])
    return found


def refunds_of(conn: Connection, payment_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    by_payment: dict[str, list[dict[str, Any]]] = {pid: [] for pid in payment_ids}
    if not payment_ids:
        return by_payment
    rows = conn.execute(
        sa.select(refunds).where(refunds.c.payment_id.in_(payment_ids)).order_by(refunds.c.created_at, refunds.c.id)
    )
    for row in rows:
        by_payment[row.payment_id].append(dict(row._mapping))
    return by_payment


def payment_method(conn: Connection, token: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(payment_methods).where(payment_methods.c.token == token)).first()
    return dict(row._mapping) if row else None


def payments_of_user(conn: Connection, user_id: str, status: str | None, limit: int) -> list[dict[str, Any]]:
    query = sa.select(payments).where(payments.c.user_id == user_id)
    if status:
        query = query.where(payments.c.status == status)
    rows = [
        dict(r._mapping)
        for r in conn.execute(query.order_by(payments.c.created_at.desc(), payments.c.id.desc()).limit(limit))
    ]
    found = refunds_of(conn, [r["payment_id"] for r in rows])
    for row in rows:
        row["refunds"] = found[row["payment_id"]]
    return rows


def all_payments(conn: Connection, offset: int, limit: int) -> list[dict[str, Any]]:
    """Every payment in the order it was made, one page, with its refunds (the operator's listing)."""
    rows = [
        dict(r._mapping) for r in conn.execute(sa.select(payments).order_by(payments.c.id).offset(offset).limit(limit))
    ]
    found = refunds_of(conn, [r["payment_id"] for r in rows])
    for row in rows:
        row["refunds"] = found[row["payment_id"]]
    return rows


# --- writes ------------------------------------------------------------------------------------


def insert_checkout_session(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(checkout_sessions.insert().values(**row))


def insert_payment_method(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(payment_methods.insert().values(**row))


def insert_payment(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(payments.insert().values(**row))


def mark_session_paid(conn: Connection, session_id: str, payment_id: str, now_iso: str) -> bool:
    """Open and unexpired -> paid, in one guarded UPDATE: of two concurrent payments exactly one wins."""
    result = conn.execute(
        checkout_sessions.update()
        .where(
            checkout_sessions.c.checkout_session_id == session_id,
            checkout_sessions.c.status == "open",
            checkout_sessions.c.expires_at > now_iso,
        )
        .values(status="paid", payment_id=payment_id)
    )
    return result.rowcount == 1


def apply_refund(conn: Connection, payment_id: str, amount: Decimal, now_iso: str) -> dict[str, Any] | None:
    """Add ``amount`` to the refunded total only while it stays within the amount paid.

    One guarded UPDATE (compared in paise, so SQLite's floating point cannot round a legal refund
    away); None when the payment is not refundable or the refund would exceed what is left.
    """
    paise = int(amount * 100)
    left_in_paise = sa.func.round((payments.c.amount - payments.c.refunded_amount) * 100)
    result = conn.execute(
        payments.update()
        .where(
            payments.c.payment_id == payment_id,
            payments.c.status.in_(["succeeded", "partially_refunded"]),
            left_in_paise >= paise,
        )
        .values(
            refunded_amount=sa.func.round(payments.c.refunded_amount + amount, 2),
            status=sa.case((left_in_paise <= paise, "refunded"), else_="partially_refunded"),
            refunded_at=now_iso,
        )
        .returning(payments.c.refunded_amount, payments.c.status)
    ).first()
    return dict(result._mapping) if result else None


def insert_refund(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(refunds.insert().values(**row))
