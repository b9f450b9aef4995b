"""Catalog and shopper tables, the seed loader and the reads the rules need.

The catalog is read-only at runtime and small (tens of products), so the rules load it whole per
request and rank in Python: no free text from a request ever reaches SQL.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from agentkit.contracts import id_max_length

metadata = sa.MetaData()
# Shopper ids are as wide as the contracts let them be (common.json's userId maxLength), never a copy of it.
USER_ID = sa.String(id_max_length("userId"))

products = sa.Table(
    "products",
    metadata,
    sa.Column("product_id", sa.String(24), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("brand", sa.String(60), nullable=False),
    sa.Column("category", sa.String(40), nullable=False, index=True),
    sa.Column("subcategory", sa.String(60), nullable=False),
    sa.Column("description", sa.String(1000), nullable=False),
    sa.Column("price", sa.Numeric(12, 2), nullable=False),
    sa.Column("season", sa.String(20), nullable=False),
    sa.Column("gender", sa.String(10), nullable=False),
    sa.Column("rating", sa.Numeric(3, 1), nullable=False),
    sa.Column("giftable", sa.Boolean, nullable=False),
    sa.CheckConstraint("price > 0", name="price_positive"),
)

product_tags = sa.Table(
    "product_tags",
    metadata,
    sa.Column("product_id", sa.String(24), sa.ForeignKey("products.product_id"), primary_key=True),
    sa.Column("tag", sa.String(40), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)

variants = sa.Table(
    "variants",
    metadata,
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("product_id", sa.String(24), sa.ForeignKey("products.product_id"), nullable=False, index=True),
    sa.Column("size", sa.String(12), nullable=False),
    sa.Column("color", sa.String(30), nullable=False),
    sa.Column("size_position", sa.Integer, nullable=False),
    sa.Column("color_position", sa.Integer, nullable=False),
)

complements = sa.Table(
    "complements",
    metadata,
    sa.Column("product_id", sa.String(24), sa.ForeignKey("products.product_id"), primary_key=True),
    sa.Column("complement_id", sa.String(24), sa.ForeignKey("products.product_id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)

shoppers = sa.Table(
    "shoppers",
    metadata,
    sa.Column("user_id", USER_ID, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("email", sa.String(200), nullable=False),
    sa.Column("phone", sa.String(20)),
    sa.Column("city", sa.String(60), nullable=False),
    sa.Column("tier", sa.String(10), nullable=False),
    sa.Column("preferences", sa.JSON, nullable=False),
    sa.Column("address", sa.JSON, nullable=False),
)

purchases = sa.Table(
    "purchases",
    metadata,
    sa.Column("user_id", USER_ID, sa.ForeignKey("shoppers.user_id"), primary_key=True),
    sa.Column("product_id", sa.String(24), sa.ForeignKey("products.product_id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)

SEED_DIR = Path(__file__).parent / "seed"


def sku_for(product_id: str, color: str, size: str) -> str:
    """P1001-BLACK-M; "One Size" becomes ONESIZE, as in the inventory agent."""

    def part(text: str) -> str:
        return "".join(ch for ch in text.upper() if ch.isalnum())

    return f"{product_id}-{part(color)}-{part(size)}"


def load_seed(conn: Connection) -> None:
    catalog = json.loads((SEED_DIR / "catalog.json").read_text())["products"]
    people = json.loads((SEED_DIR / "shoppers.json").read_text())["shoppers"]
    conn.execute(
        products.insert(),
        [
            {
                "product_id": p["productId"],
                "position": i,
                "name": p["name"],
                "brand": p["brand"],
                "category": p["category"],
                "subcategory": p["subcategory"],
                "description": p["description"],
                "price": Decimal(str(p["price"])),
                "season": p["season"],
                "gender": p["gender"],
                "rating": Decimal(str(p["rating"])),
                "giftable": bool(p.get("giftable", True)),
            }
            for i, p in enumerate(catalog)
        ],
    )
    conn.execute(
        product_tags.insert(),
        [
            {"product_id": p["productId"], "tag": tag, "position": i}
            for p in catalog
            for i, tag in enumerate(dict.fromkeys(p["tags"]))
        ],
    )
    conn.execute(
        variants.insert(),
        [
            {
                "sku": sku_for(p["productId"], color, size),
                "product_id": p["productId"],
                "size": size,
                "color": color,
                "size_position": si,
                "color_position": ci,
            }
            for p in catalog
            for ci, color in enumerate(p["colors"])
            for si, size in enumerate(p["sizes"])
        ],
    )
    conn.execute(
        complements.insert(),
        [
            {"product_id": p["productId"], "complement_id": other, "position": i}
            for p in catalog
            for i, other in enumerate(dict.fromkeys(p["complements"]))
        ],
    )
    conn.execute(
        shoppers.insert(),
        [
            {
                "user_id": s["userId"],
                "name": s["name"],
                "email": s["email"],
                "phone": s.get("phone"),
                "city": s["city"],
                "tier": s["tier"],
                "preferences": s["preferences"],
                "address": s["address"],
            }
            for s in people
        ],
    )
    conn.execute(
        purchases.insert(),
        [
            {"user_id": s["userId"], "product_id": pid, "position": i}
            for s in people
            for i, pid in enumerate(dict.fromkeys(s["purchaseHistory"]))
        ],
    )


# --- reads -------------------------------------------------------------------------------------


def _money(value: Decimal) -> float:
    return round(float(value), 2)


def catalog(conn: Connection) -> list[dict[str, Any]]:
    """Every product in catalog order, with its tags, sizes, colours, variants and complement ids."""
    found: dict[str, dict[str, Any]] = {}
    for row in conn.execute(sa.select(products).order_by(products.c.position)):
        item = dict(row._mapping)
        item["price"] = _money(item["price"])
        item["rating"] = round(float(item["rating"]), 1)
        item.update(tags=[], sizes=[], colors=[], variants=[], complements=[])
        found[item["product_id"]] = item
    for row in conn.execute(sa.select(product_tags).order_by(product_tags.c.product_id, product_tags.c.position)):
        found[row.product_id]["tags"].append(row.tag)
    rows = conn.execute(
        sa.select(variants).order_by(variants.c.product_id, variants.c.color_position, variants.c.size_position)
    )
    for row in rows:
        item = found[row.product_id]
        item["variants"].append({"sku": row.sku, "size": row.size, "color": row.color})
        item["sizes"].append((row.size_position, row.size))
        if row.color not in item["colors"]:
            item["colors"].append(row.color)
    for item in found.values():
        item["sizes"] = list(dict.fromkeys(size for _, size in sorted(item["sizes"])))
    for row in conn.execute(sa.select(complements).order_by(complements.c.product_id, complements.c.position)):
        found[row.product_id]["complements"].append(row.complement_id)
    return list(found.values())


def shopper(conn: Connection, user_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(shoppers).where(shoppers.c.user_id == user_id)).first()
    if row is None:
        return None
    found = dict(row._mapping)
    found["purchases"] = [
        r.product_id
        for r in conn.execute(
            sa.select(purchases.c.product_id).where(purchases.c.user_id == user_id).order_by(purchases.c.position)
        )
    ]
    return found


def insert_shopper(conn: Connection, row: dict[str, Any]) -> bool:
    """A new profile; False (and nothing changed) when the shopper has one already, even one written a moment ago
    by a concurrent first contact."""
    try:
        with conn.begin_nested():
            conn.execute(shoppers.insert().values(**row))
        return True
    except sa.exc.IntegrityError:
        return False


def update_shopper(conn: Connection, user_id: str, values: dict[str, Any]) -> None:
    conn.execute(shoppers.update().where(shoppers.c.user_id == user_id).values(**values))


def product_names(conn: Connection, product_ids: list[str]) -> dict[str, str]:
    if not product_ids:
        return {}
    rows = conn.execute(sa.select(products.c.product_id, products.c.name).where(products.c.product_id.in_(product_ids)))
    return {r.product_id: r.name for r in rows}
