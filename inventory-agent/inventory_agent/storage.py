"""Inventory tables and the queries the rules need. Stock changes are single guarded UPDATEs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agentkit import clock

metadata = sa.MetaData()

locations = sa.Table(
    "locations",
    metadata,
    sa.Column("location_id", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(10), nullable=False),  # warehouse | store
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("city", sa.String(60), nullable=False, index=True),
    sa.Column("address", sa.String(300), nullable=False),
)

variants = sa.Table(
    "variants",
    metadata,
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("product_id", sa.String(24), nullable=False, index=True),
    sa.Column("size", sa.String(12), nullable=False),
    sa.Column("color", sa.String(30), nullable=False),
)

stock = sa.Table(
    "stock",
    metadata,
    sa.Column("sku", sa.String(64), sa.ForeignKey("variants.sku"), primary_key=True),
    sa.Column("location_id", sa.String(16), sa.ForeignKey("locations.location_id"), primary_key=True),
    sa.Column("on_hand", sa.Integer, nullable=False),
    sa.CheckConstraint("on_hand >= 0", name="stock_never_negative"),
)

holds = sa.Table(
    "holds",
    metadata,
    sa.Column("hold_id", sa.String(24), primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("store_id", sa.String(16)),
    sa.Column("reference", sa.String(80)),
    sa.Column("order_id", sa.String(24)),
    sa.Column("created_at", sa.String(24), nullable=False),
    sa.Column("expires_at", sa.String(24), nullable=False),
    sa.Index("holds_status_expiry", "status", "expires_at"),
)

hold_lines = sa.Table(
    "hold_lines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("hold_id", sa.String(24), sa.ForeignKey("holds.hold_id"), nullable=False, index=True),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("location_id", sa.String(16), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
)

stock_history = sa.Table(
    "stock_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sku", sa.String(64), nullable=False, index=True),
    sa.Column("location_id", sa.String(16), nullable=False),
    sa.Column("change", sa.Integer, nullable=False),
    sa.Column("new_level", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("at", sa.String(24), nullable=False),
)

SEED_DIR = Path(__file__).parent / "seed"


def load_seed(conn: Connection) -> None:
    places = json.loads((SEED_DIR / "locations.json").read_text())
    levels = json.loads((SEED_DIR / "stock.json").read_text())["stock"]
    conn.execute(
        locations.insert(),
        [
            {
                "location_id": w["warehouseId"],
                "kind": "warehouse",
                "name": w["name"],
                "city": w["city"],
                "address": f"{w['name']}, {w['city']} {w['postalCode']}",
            }
            for w in places["warehouses"]
        ]
        + [
            {
                "location_id": s["storeId"],
                "kind": "store",
                "name": s["name"],
                "city": s["city"],
                "address": s["address"],
            }
            for s in places["stores"]
        ],
    )
    conn.execute(
        variants.insert(),
        [{"sku": v["sku"], "product_id": v["productId"], "size": v["size"], "color": v["color"]} for v in levels],
    )
    conn.execute(
        stock.insert(),
        [{"sku": v["sku"], "location_id": loc, "on_hand": qty} for v in levels for loc, qty in v["levels"].items()],
    )


# --- reads -------------------------------------------------------------------------------------


def product_variants(conn: Connection, product_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(variants).where(variants.c.product_id == product_id).order_by(variants.c.sku))
    return [dict(r._mapping) for r in rows]


# Built once: check-inventory is the hot path, and building a statement costs more than running it.
_PRODUCT_STOCK = (
    sa.select(variants.c.sku, variants.c.size, variants.c.color, stock.c.location_id, stock.c.on_hand)
    .join(stock, stock.c.sku == variants.c.sku)
    .where(variants.c.product_id == sa.bindparam("product_id"))
    .order_by(variants.c.sku)
)
_BY_SIZE = sa.func.lower(variants.c.size) == sa.bindparam("size")
_BY_COLOR = sa.func.lower(variants.c.color) == sa.bindparam("color")
_PRODUCT_STOCK_BY = {
    (False, False): _PRODUCT_STOCK,
    (True, False): _PRODUCT_STOCK.where(_BY_SIZE),
    (False, True): _PRODUCT_STOCK.where(_BY_COLOR),
    (True, True): _PRODUCT_STOCK.where(_BY_SIZE, _BY_COLOR),
}
_ANY_EXPIRED_HOLD = (
    sa.select(holds.c.hold_id).where(holds.c.status == "active", holds.c.expires_at <= sa.bindparam("now")).limit(1)
)
_location_index: dict[str, dict[str, dict[str, Any]]] = {}


def product_stock(conn: Connection, product_id: str, size: str | None, color: str | None) -> list[Any]:
    """The (variant, location, on hand) rows of one product, narrowed by size and colour, in one query."""
    query = _PRODUCT_STOCK_BY[(size is not None, color is not None)]
    params = {"product_id": product_id, "size": (size or "").lower(), "color": (color or "").lower()}
    return conn.execute(query, params).all()


def location_index(conn: Connection) -> dict[str, dict[str, Any]]:
    """Warehouses and stores by id. They change only with a deployment, so each process reads them once."""
    key = str(conn.engine.url)
    if key not in _location_index:
        _location_index[key] = {row.location_id: dict(row._mapping) for row in conn.execute(sa.select(locations))}
    return _location_index[key]


def stock_rows(conn: Connection, skus: Iterable[str]) -> list[dict[str, Any]]:
    query = (
        sa.select(stock.c.sku, stock.c.on_hand, locations)
        .join(locations, locations.c.location_id == stock.c.location_id)
        .where(stock.c.sku.in_(list(skus)))
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def online_levels(conn: Connection, product_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Per variant: stock summed over warehouses and over stores (all products, or the ones named)."""
    is_warehouse = sa.case((locations.c.kind == "warehouse", stock.c.on_hand), else_=0)
    is_store = sa.case((locations.c.kind == "store", stock.c.on_hand), else_=0)
    query = (
        sa.select(variants, sa.func.sum(is_warehouse).label("online"), sa.func.sum(is_store).label("in_stores"))
        .join(stock, stock.c.sku == variants.c.sku)
        .join(locations, locations.c.location_id == stock.c.location_id)
        .group_by(variants.c.sku, variants.c.product_id, variants.c.size, variants.c.color)
        .order_by(variants.c.sku)
    )
    if product_ids is not None:
        query = query.where(variants.c.product_id.in_(product_ids))
    return [dict(r._mapping) for r in conn.execute(query)]


def level(conn: Connection, sku: str, location_id: str) -> int | None:
    return conn.execute(
        sa.select(stock.c.on_hand).where(stock.c.sku == sku, stock.c.location_id == location_id)
    ).scalar()


def location(conn: Connection, location_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(locations).where(locations.c.location_id == location_id)).first()
    return dict(row._mapping) if row else None


def history(conn: Connection, skus: list[str], limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(stock_history).where(stock_history.c.sku.in_(skus)).order_by(stock_history.c.id.desc()).limit(limit)
    )
    return [dict(r._mapping) for r in rows]


def hold(conn: Connection, hold_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(holds).where(holds.c.hold_id == hold_id)).first()
    if row is None:
        return None
    found = dict(row._mapping)
    lines = conn.execute(
        sa.select(
            hold_lines.c.sku,
            hold_lines.c.location_id,
            hold_lines.c.quantity,
            variants.c.product_id,
            variants.c.size,
            variants.c.color,
        )
        .join(variants, variants.c.sku == hold_lines.c.sku)
        .where(hold_lines.c.hold_id == hold_id)
        .order_by(hold_lines.c.id)
    )
    found["lines"] = [dict(r._mapping) for r in lines]
    return found


def hold_ids(conn: Connection, status: str | None, offset: int, limit: int) -> list[str]:
    """Hold ids, oldest first, one page (the operator's listing)."""
    query = sa.select(holds.c.hold_id)
    if status:
        query = query.where(holds.c.status == status)
    query = query.order_by(holds.c.created_at, holds.c.hold_id).offset(offset).limit(limit)
    return [r.hold_id for r in conn.execute(query)]


def expired_hold_ids(conn: Connection, now_iso: str) -> list[str]:
    rows = conn.execute(sa.select(holds.c.hold_id).where(holds.c.status == "active", holds.c.expires_at <= now_iso))
    return [r.hold_id for r in rows]


def any_expired_hold(conn: Connection, now_iso: str) -> bool:
    return conn.execute(_ANY_EXPIRED_HOLD, {"now": now_iso}).first() is not None


# --- writes ------------------------------------------------------------------------------------


def change_stock(conn: Connection, sku: str, location_id: str, delta: int, reason: str) -> int | None:
    """Add ``delta`` (negative to take) in one guarded UPDATE; None when there is not enough stock."""
    guard = stock.c.on_hand >= -delta if delta < 0 else sa.true()
    result = conn.execute(
        stock.update()
        .where(stock.c.sku == sku, stock.c.location_id == location_id, guard)
        .values(on_hand=stock.c.on_hand + delta)
        .returning(stock.c.on_hand)
    ).first()
    if result is None:
        return None
    conn.execute(
        stock_history.insert().values(
            sku=sku, location_id=location_id, change=delta, new_level=result.on_hand, reason=reason, at=clock.now_iso()
        )
    )
    return result.on_hand


def insert_hold(conn: Connection, hold_row: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    conn.execute(holds.insert().values(**hold_row))
    conn.execute(hold_lines.insert(), [{"hold_id": hold_row["hold_id"], **line} for line in lines])


def move_hold(conn: Connection, hold_id: str, from_status: str, to_status: str, **values: Any) -> bool:
    """Change a hold's status only if it is still ``from_status``: exactly one caller wins."""
    result = conn.execute(
        holds.update()
        .where(holds.c.hold_id == hold_id, holds.c.status == from_status)
        .values(status=to_status, **values)
    )
    return result.rowcount == 1
