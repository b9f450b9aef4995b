"""Post-purchase tables and the queries the rules need.

Orders themselves live in the fulfillment agent. This agent keeps, per order line, how many units
were already returned or exchanged (``order_lines``), so that the same unit is never refunded or
exchanged twice: the count only moves through one guarded UPDATE.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agentkit.contracts import id_max_length

metadata = sa.MetaData()
# Shopper ids are as wide as the contracts let them be (common.json's userId maxLength), never a copy of it.
USER_ID = sa.String(id_max_length("userId"))

order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("order_id", sa.String(24), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
    sa.Column("purchased_qty", sa.Integer, nullable=False),
    sa.Column("returned_qty", sa.Integer, nullable=False, server_default="0"),
    sa.Column("exchanged_qty", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint("returned_qty >= 0 AND exchanged_qty >= 0", name="order_lines_not_negative"),
    sa.CheckConstraint("returned_qty + exchanged_qty <= purchased_qty", name="order_lines_never_over_returned"),
)

returns = sa.Table(
    "returns",
    metadata,
    sa.Column("return_id", sa.String(24), primary_key=True),
    sa.Column("order_id", sa.String(24), nullable=False, index=True),
    sa.Column("user_id", USER_ID, nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),  # refund_pending | refunded
    sa.Column("reason", sa.String(30), nullable=False),
    sa.Column("comment", sa.String(500)),
    sa.Column("payment_id", sa.String(24), nullable=False),
    sa.Column("refund_amount", sa.Numeric(12, 2), nullable=False),
    sa.Column("refund_id", sa.String(40)),
    sa.Column("return_method", sa.String(20), nullable=False),  # pickup | store_drop_off
    sa.Column("pickup_date", sa.String(10)),
    sa.Column("store_id", sa.String(16)),
    sa.Column("store_name", sa.String(120)),
    sa.Column("created_at", sa.String(25), nullable=False),
    sa.Column("updated_at", sa.String(25), nullable=False),
    sa.Column("refunded_at", sa.String(25)),
)

return_items = sa.Table(
    "return_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("return_id", sa.String(24), sa.ForeignKey("returns.return_id"), nullable=False, index=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("product_id", sa.String(24), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
)

exchanges = sa.Table(
    "exchanges",
    metadata,
    sa.Column("exchange_id", sa.String(24), primary_key=True),
    sa.Column("order_id", sa.String(24), nullable=False, index=True),
    sa.Column("user_id", USER_ID, nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),  # reserved | completed | expired
    sa.Column("reason", sa.String(30), nullable=False),
    sa.Column("from_sku", sa.String(40), nullable=False),
    sa.Column("to_sku", sa.String(40), nullable=False),
    sa.Column("hold_id", sa.String(24), nullable=False),
    sa.Column("hold_expires_at", sa.String(25), nullable=False),
    sa.Column("created_at", sa.String(25), nullable=False),
)

# What a return still owes the other agents once its refund is settled: the goods back in stock
# (inventory restock, reason "return ...") and the points earned on them taken back (loyalty). A step
# is done when its column is set; retryRefund finishes whatever a dependency outage left undone.
return_followups = sa.Table(
    "return_followups",
    metadata,
    sa.Column("return_id", sa.String(24), sa.ForeignKey("returns.return_id"), primary_key=True),
    sa.Column("restocked_at", sa.String(25)),
    sa.Column("points_at", sa.String(25)),
    sa.Column("points_taken_back", sa.BigInteger),
)

# How an exchange ended: completed (the replacement's hold committed to the order, the old unit back in
# stock) or expired (the hold lapsed or was released: the unit may be returned or exchanged again).
exchange_closings = sa.Table(
    "exchange_closings",
    metadata,
    sa.Column("exchange_id", sa.String(24), sa.ForeignKey("exchanges.exchange_id"), primary_key=True),
    sa.Column("outcome", sa.String(20), nullable=False),  # completed | expired
    sa.Column("at", sa.String(25), nullable=False),
    sa.Column("note", sa.String(300), nullable=False),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("feedback_id", sa.String(24), primary_key=True),
    sa.Column("order_id", sa.String(24), nullable=False),
    sa.Column("user_id", USER_ID, nullable=False, index=True),
    # The product the feedback is about, or "" for the order as a whole (NULLs would not be unique).
    sa.Column("product_key", sa.String(24), nullable=False),
    sa.Column("rating", sa.Integer, nullable=False),
    sa.Column("comment", sa.String(1000)),
    sa.Column("created_at", sa.String(25), nullable=False),
    sa.UniqueConstraint("order_id", "product_key", name="one_feedback_per_order_product"),
    sa.CheckConstraint("rating BETWEEN 1 AND 5", name="feedback_rating_range"),
)

# Handoffs to a person: what the shopper needs, in their words and the chat's summary (card numbers cut out
# before it is stored). ``id`` orders the listing and is what its cursor points at.
support_tickets = sa.Table(
    "support_tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.String(24), nullable=False, unique=True),
    sa.Column("user_id", USER_ID, nullable=False, index=True),
    sa.Column("subject", sa.String(120), nullable=False),
    sa.Column("summary", sa.String(4000), nullable=False),
    sa.Column("order_id", sa.String(24)),
    sa.Column("status", sa.String(10), nullable=False),  # open | closed
    sa.Column("created_at", sa.String(25), nullable=False),
    sa.Column("closed_at", sa.String(25)),
)

# How many tickets each shopper has open, moved only by guarded UPDATEs: the per-shopper cap holds however many
# requests arrive at once, on SQLite and PostgreSQL alike.
open_ticket_counts = sa.Table(
    "open_ticket_counts",
    metadata,
    sa.Column("user_id", USER_ID, primary_key=True),
    sa.Column("open_count", sa.Integer, nullable=False),
    sa.CheckConstraint("open_count >= 0", name="open_tickets_not_negative"),
)

SEED_DIR = Path(__file__).parent / "seed"


def load_seed(conn: Connection) -> None:
    data = json.loads((SEED_DIR / "post_purchase.json").read_text())
    rows = [
        {
            "feedback_id": f["feedbackId"],
            "order_id": f["orderId"],
            "user_id": f["userId"],
            "product_key": f.get("productId") or "",
            "rating": f["rating"],
            "comment": f.get("comment"),
            "created_at": f["createdAt"],
        }
        for f in data.get("feedback", [])
    ]
    if rows:
        conn.execute(feedback.insert(), rows)


def money(value: Decimal | float | int | None) -> float | None:
    return None if value is None else round(float(value), 2)


# --- order lines -------------------------------------------------------------------------------


def ensure_order_lines(conn: Connection, order_id: str, lines: Iterable[dict[str, Any]]) -> None:
    """Record an order's lines the first time we act on it (the fulfillment agent owns the order)."""
    known = {r.sku for r in conn.execute(sa.select(order_lines.c.sku).where(order_lines.c.order_id == order_id))}
    fresh = [line for line in lines if line["sku"] not in known]
    for line in fresh:
        try:
            with conn.begin_nested():
                conn.execute(
                    order_lines.insert().values(
                        order_id=order_id,
                        sku=line["sku"],
                        unit_price=line["unit_price"],
                        purchased_qty=line["quantity"],
                        returned_qty=0,
                        exchanged_qty=0,
                    )
                )
        except sa.exc.IntegrityError:
            pass  # another request recorded the same line first; its row is identical


def order_line_counts(conn: Connection, order_id: str, *, lock: bool = False) -> dict[str, dict[str, Any]]:
    """Units returned and exchanged per SKU. ``lock`` makes concurrent writers for one order wait their turn
    (SELECT ... FOR UPDATE on PostgreSQL; SQLite writers are already serialised by BEGIN IMMEDIATE)."""
    query = sa.select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.sku)
    rows = conn.execute(query.with_for_update() if lock else query)
    return {r.sku: dict(r._mapping) for r in rows}


def take_units(conn: Connection, order_id: str, sku: str, quantity: int, column: str) -> bool:
    """Mark ``quantity`` units returned or exchanged in one guarded UPDATE; False when too few are left."""
    col = order_lines.c[column]
    result = conn.execute(
        order_lines.update()
        .where(
            order_lines.c.order_id == order_id,
            order_lines.c.sku == sku,
            order_lines.c.returned_qty + order_lines.c.exchanged_qty + quantity <= order_lines.c.purchased_qty,
        )
        .values({column: col + quantity})
    )
    return result.rowcount == 1


# --- returns -----------------------------------------------------------------------------------


def insert_return(conn: Connection, row: dict[str, Any], items: list[dict[str, Any]]) -> None:
    conn.execute(returns.insert().values(**row))
    conn.execute(return_items.insert(), [{"return_id": row["return_id"], **item} for item in items])
    conn.execute(return_followups.insert().values(return_id=row["return_id"]))


def followup(conn: Connection, return_id: str) -> dict[str, Any]:
    row = conn.execute(sa.select(return_followups).where(return_followups.c.return_id == return_id)).first()
    # A return recorded before follow-ups were kept: nothing is known to be done.
    return dict(row._mapping) if row else {"restocked_at": None, "points_at": None, "points_taken_back": None}


def mark_followup(conn: Connection, return_id: str, **values: Any) -> None:
    done = conn.execute(
        return_followups.update().where(return_followups.c.return_id == return_id).values(**values)
    ).rowcount
    if not done:
        conn.execute(return_followups.insert().values(return_id=return_id, **values))


def mark_refunded(conn: Connection, return_id: str, refund_id: str | None, at: str) -> bool:
    """refund_pending -> refunded, once."""
    result = conn.execute(
        returns.update()
        .where(returns.c.return_id == return_id, returns.c.status == "refund_pending")
        .values(status="refunded", refund_id=refund_id, refunded_at=at, updated_at=at)
    )
    return result.rowcount == 1


def delete_return(conn: Connection, return_id: str) -> None:
    conn.execute(return_followups.delete().where(return_followups.c.return_id == return_id))
    conn.execute(return_items.delete().where(return_items.c.return_id == return_id))
    conn.execute(returns.delete().where(returns.c.return_id == return_id))


def give_back_units(conn: Connection, order_id: str, items: Iterable[dict[str, Any]], column: str) -> None:
    col = order_lines.c[column]
    for item in items:
        conn.execute(
            order_lines.update()
            .where(order_lines.c.order_id == order_id, order_lines.c.sku == item["sku"], col >= item["quantity"])
            .values({column: col - item["quantity"]})
        )


def _with_items(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        return rows
    by_id = {row["return_id"]: {**row, "items": [], **followup(conn, row["return_id"])} for row in rows}
    lines = conn.execute(
        sa.select(return_items).where(return_items.c.return_id.in_(list(by_id))).order_by(return_items.c.id)
    )
    for line in lines:
        by_id[line.return_id]["items"].append(dict(line._mapping))
    return list(by_id.values())


def get_return(conn: Connection, return_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(returns).where(returns.c.return_id == return_id)).first()
    return _with_items(conn, [dict(row._mapping)])[0] if row else None


def returns_for_order(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(returns).where(returns.c.order_id == order_id).order_by(returns.c.created_at, returns.c.return_id)
    )
    return _with_items(conn, [dict(r._mapping) for r in rows])


# --- exchanges ---------------------------------------------------------------------------------


def insert_exchange(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(exchanges.insert().values(**row))


def _exchanges_query():
    return sa.select(exchanges, exchange_closings.c.at.label("closed_at"), exchange_closings.c.note.label("note")).join(
        exchange_closings, exchange_closings.c.exchange_id == exchanges.c.exchange_id, isouter=True
    )


def get_exchange(conn: Connection, exchange_id: str) -> dict[str, Any] | None:
    row = conn.execute(_exchanges_query().where(exchanges.c.exchange_id == exchange_id)).first()
    return dict(row._mapping) if row else None


def exchanges_for_order(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        _exchanges_query()
        .where(exchanges.c.order_id == order_id)
        .order_by(exchanges.c.created_at, exchanges.c.exchange_id)
    )
    return [dict(r._mapping) for r in rows]


def close_exchange(conn: Connection, exchange_id: str, outcome: str, at: str, note: str) -> bool:
    """reserved -> completed or expired, once: exactly one caller wins."""
    moved = (
        conn.execute(
            exchanges.update()
            .where(exchanges.c.exchange_id == exchange_id, exchanges.c.status == "reserved")
            .values(status=outcome)
        ).rowcount
        == 1
    )
    if moved:
        conn.execute(
            exchange_closings.insert().values(exchange_id=exchange_id, outcome=outcome, at=at, note=note[:300])
        )
    return moved


# --- feedback ----------------------------------------------------------------------------------


def insert_feedback(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(feedback.insert().values(**row))


def find_feedback(conn: Connection, order_id: str, product_key: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(feedback).where(feedback.c.order_id == order_id, feedback.c.product_key == product_key)
    ).first()
    return dict(row._mapping) if row else None


# --- support tickets ---------------------------------------------------------------------------


def take_ticket_slot(conn: Connection, user_id: str, cap: int) -> bool:
    """One more open ticket for the shopper, if they have fewer than ``cap``; False when they are at the cap."""
    try:
        with conn.begin_nested():
            conn.execute(open_ticket_counts.insert().values(user_id=user_id, open_count=0))
    except sa.exc.IntegrityError:
        pass  # the shopper has a counter already
    moved = conn.execute(
        open_ticket_counts.update()
        .where(open_ticket_counts.c.user_id == user_id, open_ticket_counts.c.open_count < cap)
        .values(open_count=open_ticket_counts.c.open_count + 1)
    )
    return moved.rowcount == 1


def insert_ticket(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(support_tickets.insert().values(**row))


def ticket(conn: Connection, ticket_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(support_tickets).where(support_tickets.c.ticket_id == ticket_id)).first()
    return dict(row._mapping) if row else None


def tickets_of(conn: Connection, user_id: str, before_id: int | None, limit: int) -> list[dict[str, Any]]:
    """The shopper's tickets, newest first, those older than ``before_id`` when paging on."""
    query = sa.select(support_tickets).where(support_tickets.c.user_id == user_id)
    if before_id is not None:
        query = query.where(support_tickets.c.id < before_id)
    rows = conn.execute(query.order_by(support_tickets.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


def close_ticket(conn: Connection, ticket_id: str, at: str) -> bool:
    """open -> closed, once, giving the shopper's open-ticket slot back."""
    found = ticket(conn, ticket_id)
    moved = conn.execute(
        support_tickets.update()
        .where(support_tickets.c.ticket_id == ticket_id, support_tickets.c.status == "open")
        .values(status="closed", closed_at=at)
    )
    if moved.rowcount != 1 or found is None:
        return False
    conn.execute(
        open_ticket_counts.update()
        .where(open_ticket_counts.c.user_id == found["user_id"], open_ticket_counts.c.open_count > 0)
        .values(open_count=open_ticket_counts.c.open_count - 1)
    )
    return True
