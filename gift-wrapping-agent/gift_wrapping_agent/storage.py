"""Gift-wrapping tables and the queries the rules need.

The agent owns four kinds of data:
- ``wrap_options``: what can be bought (standard, premium, festive) and its price in rupees;
- ``category_rules`` and ``category_options``: which options each catalog category may have;
- ``products`` and ``product_exclusions``: its own product -> category map (refreshed from the catalog
  at deploy time; it never reads the catalog's database) and the products that can never be wrapped;
- ``gift_wraps``: the wraps shoppers asked for.

One active wrap per (order reference, product) is a database fact, not only a check: ``active_key`` is
``"<orderReference>|<productId>"`` while a wrap is requested and NULL once it is cancelled, under a
UNIQUE constraint (NULLs never clash on SQLite or PostgreSQL). Two racing requests cannot both win,
and a cancelled wrap frees the product to be wrapped again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

metadata = sa.MetaData()
MONEY = sa.Numeric(12, 2)

wrap_options = sa.Table(
    "wrap_options",
    metadata,
    sa.Column("option_id", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("description", sa.String(300), nullable=False),
    sa.Column("price", MONEY, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.CheckConstraint("price >= 0", name="option_price_not_negative"),
)

category_rules = sa.Table(
    "category_rules",
    metadata,
    sa.Column("category", sa.String(40), primary_key=True),
    sa.Column("note", sa.String(300)),  # shown to the shopper when the category has restrictions
)

category_options = sa.Table(
    "category_options",
    metadata,
    sa.Column("category", sa.String(40), sa.ForeignKey("category_rules.category"), primary_key=True),
    sa.Column("option_id", sa.String(20), sa.ForeignKey("wrap_options.option_id"), primary_key=True),
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("product_id", sa.String(24), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("category", sa.String(40), nullable=False),
)

product_exclusions = sa.Table(
    "product_exclusions",
    metadata,
    sa.Column("product_id", sa.String(24), sa.ForeignKey("products.product_id"), primary_key=True),
    sa.Column("reason", sa.String(300), nullable=False),
)

gift_wraps = sa.Table(
    "gift_wraps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("wrap_id", sa.String(24), nullable=False, unique=True),
    sa.Column("order_reference", sa.String(40), nullable=False, index=True),
    sa.Column("product_id", sa.String(24), nullable=False),
    sa.Column("sku", sa.String(64)),
    sa.Column("option_id", sa.String(20), sa.ForeignKey("wrap_options.option_id"), nullable=False),
    sa.Column("option_name", sa.String(60), nullable=False),  # as sold, even if the option is renamed later
    sa.Column("price", MONEY, nullable=False),  # as sold, even if the price changes later
    sa.Column("message", sa.String(200)),
    sa.Column("recipient_name", sa.String(100)),
    sa.Column("status", sa.String(12), nullable=False),  # requested | cancelled
    sa.Column("created_at", sa.String(24), nullable=False),
    sa.Column("cancelled_at", sa.String(24)),
    sa.Column("active_key", sa.String(60), unique=True),
    # Cancelling a wrap of a paid order refunds its fee through the payment agent: the refund and how much.
    sa.Column("refund_id", sa.String(40)),
    sa.Column("refunded_amount", MONEY),
    sa.CheckConstraint("price >= 0", name="wrap_price_not_negative"),
)

SEED_DIR = Path(__file__).parent / "seed"


def active_key(order_reference: str, product_id: str) -> str:
    return f"{order_reference}|{product_id}"


def load_seed(conn: Connection) -> None:
    catalog = json.loads((SEED_DIR / "products.json").read_text(encoding="utf-8"))["products"]
    rules = json.loads((SEED_DIR / "wrapping.json").read_text(encoding="utf-8"))
    conn.execute(
        wrap_options.insert(),
        [
            {
                "option_id": o["optionId"],
                "name": o["name"],
                "description": o["description"],
                "price": o["price"],
                "position": o["position"],
            }
            for o in rules["options"]
        ],
    )
    conn.execute(category_rules.insert(), [{"category": c["category"], "note": c["note"]} for c in rules["categories"]])
    conn.execute(
        category_options.insert(),
        [
            {"category": c["category"], "option_id": option_id}
            for c in rules["categories"]
            for option_id in c["options"]
        ],
    )
    conn.execute(
        products.insert(),
        [{"product_id": p["productId"], "name": p["name"], "category": p["category"]} for p in catalog],
    )
    conn.execute(
        product_exclusions.insert(),
        [{"product_id": x["productId"], "reason": x["reason"]} for x in rules["neverWrappable"]],
    )
    prices = {o["optionId"]: o for o in rules["options"]}
    conn.execute(
        gift_wraps.insert(),
        [
            {
                "wrap_id": w["wrapId"],
                "order_reference": w["orderReference"],
                "product_id": w["productId"],
                "sku": w["sku"],
                "option_id": w["optionId"],
                "option_name": prices[w["optionId"]]["name"],
                "price": prices[w["optionId"]]["price"],
                "message": w["message"],
                "recipient_name": w["recipientName"],
                "status": w["status"],
                "created_at": w["createdAt"],
                "cancelled_at": None,
                "active_key": active_key(w["orderReference"], w["productId"]) if w["status"] == "requested" else None,
            }
            for w in rules["wraps"]
        ],
    )


# --- reads -------------------------------------------------------------------------------------


def product(conn: Connection, product_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(products).where(products.c.product_id == product_id)).first()
    return dict(row._mapping) if row else None


def exclusion_reason(conn: Connection, product_id: str) -> str | None:
    return conn.execute(
        sa.select(product_exclusions.c.reason).where(product_exclusions.c.product_id == product_id)
    ).scalar()


def category_rule(conn: Connection, category: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(category_rules).where(category_rules.c.category == category)).first()
    return dict(row._mapping) if row else None


def options_for_category(conn: Connection, category: str) -> list[dict[str, Any]]:
    """The options a category may have, cheapest presentation first (by ``position``)."""
    rows = conn.execute(
        sa.select(wrap_options)
        .join(category_options, category_options.c.option_id == wrap_options.c.option_id)
        .where(category_options.c.category == category)
        .order_by(wrap_options.c.position)
    )
    return [dict(r._mapping) for r in rows]


def option(conn: Connection, option_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(wrap_options).where(wrap_options.c.option_id == option_id)).first()
    return dict(row._mapping) if row else None


def wrap(conn: Connection, wrap_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(gift_wraps).where(gift_wraps.c.wrap_id == wrap_id)).first()
    return dict(row._mapping) if row else None


def active_wrap(conn: Connection, order_reference: str, product_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(gift_wraps).where(gift_wraps.c.active_key == active_key(order_reference, product_id))
    ).first()
    return dict(row._mapping) if row else None


def wraps_for(conn: Connection, order_reference: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(gift_wraps).where(gift_wraps.c.order_reference == order_reference).order_by(gift_wraps.c.id)
    )
    return [dict(r._mapping) for r in rows]


# --- writes ------------------------------------------------------------------------------------


def insert_wrap(conn: Connection, row: dict[str, Any]) -> None:
    """Raises IntegrityError when the product already has an active wrap for this order reference."""
    conn.execute(gift_wraps.insert().values(**row, active_key=active_key(row["order_reference"], row["product_id"])))


def cancel_wrap(conn: Connection, wrap_id: str, at: str, refund_id: str | None = None, refunded: Any = None) -> bool:
    """Cancel a requested wrap in one guarded UPDATE: exactly one caller wins."""
    result = conn.execute(
        gift_wraps.update()
        .where(gift_wraps.c.wrap_id == wrap_id, gift_wraps.c.status == "requested")
        .values(status="cancelled", cancelled_at=at, active_key=None, refund_id=refund_id, refunded_amount=refunded)
    )
    return result.rowcount == 1


def refunded_for(conn: Connection, order_reference: str) -> Any:
    """What cancelled wraps of this order have refunded so far (Decimal rupees)."""
    return conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(gift_wraps.c.refunded_amount), 0)).where(
            gift_wraps.c.order_reference == order_reference
        )
    ).scalar()
