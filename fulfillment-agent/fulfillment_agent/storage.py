"""Fulfillment tables and the queries the rules need. Status changes are single guarded UPDATEs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from agentkit import clock

metadata = sa.MetaData()

# A local copy of the stores (the inventory agent owns their stock): ids, names and cities for
# validating click and collect and reservations, and for showing them.
stores = sa.Table(
    "stores",
    metadata,
    sa.Column("store_id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("city", sa.String(60), nullable=False, index=True),
    sa.Column("address", sa.String(300), nullable=False),
    sa.Column("postal_code", sa.String(6), nullable=False),
    sa.Column("opening_hours", sa.String(20), nullable=False),
)

# Sequential ids (ORD-100012, RSV-100001) handed out by one guarded UPDATE ... RETURNING. Ids have no fixed
# width (ORD-1000000 follows ORD-999999); a counter stops at COUNTER_LIMIT, the most a 32-bit integer column
# holds on every database (over 2 x 10^9 ids), and an id past it is refused cleanly (domain.issue_id).
COUNTER_LIMIT = 2**31 - 1
counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(20), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("order_id", sa.String(24), primary_key=True),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("fulfillment_type", sa.String(20), nullable=False),
    sa.Column("items", sa.JSON, nullable=False),
    sa.Column("subtotal", sa.Numeric(12, 2), nullable=False),
    sa.Column("discount", sa.Numeric(12, 2), nullable=False),
    sa.Column("delivery_fee", sa.Numeric(12, 2), nullable=False),
    sa.Column("gift_wrap_fee", sa.Numeric(12, 2), nullable=False, server_default="0"),
    sa.Column("total", sa.Numeric(12, 2), nullable=False),
    sa.Column("payment_id", sa.String(32), nullable=False, unique=True),
    sa.Column("hold_id", sa.String(32), unique=True),
    sa.Column("shipping_address", sa.JSON),
    sa.Column("store_id", sa.String(16)),
    sa.Column("coupon_code", sa.String(30)),
    sa.Column("points_redeemed", sa.Integer, nullable=False),
    sa.Column("delivery_slot", sa.String(24)),
    sa.Column("estimated_delivery", sa.String(24), nullable=False),
    sa.Column("delivered_at", sa.String(24)),
    sa.Column("carrier", sa.String(40)),
    sa.Column("tracking_number", sa.String(40)),
    sa.Column("created_at", sa.String(24), nullable=False),
    sa.Column("updated_at", sa.String(24), nullable=False),
    sa.Index("orders_user_created", "user_id", "created_at"),
)

status_history = sa.Table(
    "order_status_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(24), sa.ForeignKey("orders.order_id"), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("at", sa.String(24), nullable=False),
    sa.Column("note", sa.String(1000)),
)

# What has been undone for a cancelled order, one row per step (stock, payment, loyalty): a repeated cancel
# finishes the steps that could not be done and never repeats one that was.
order_undo = sa.Table(
    "order_undo",
    metadata,
    sa.Column("order_id", sa.String(24), sa.ForeignKey("orders.order_id"), primary_key=True),
    sa.Column("step", sa.String(16), primary_key=True),
    sa.Column("detail", sa.String(300)),
    sa.Column("done_at", sa.String(24), nullable=False),
)

# An order id whose coupon use or points redemption is being recorded with loyalty. Written before loyalty
# records anything and deleted in the transaction that writes the order: one left behind (with no order) means
# loyalty holds a discount for an order that does not exist, and it is given back (domain.create_order).
discount_intents = sa.Table(
    "discount_intents",
    metadata,
    sa.Column("order_id", sa.String(24), primary_key=True),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(24), nullable=False, index=True),
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("reservation_id", sa.String(16), primary_key=True),
    sa.Column("user_id", sa.String(64), nullable=False, index=True),
    sa.Column("product_id", sa.String(24), nullable=False),
    sa.Column("sku", sa.String(64), nullable=False),
    sa.Column("size", sa.String(12), nullable=False),
    sa.Column("color", sa.String(30), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("store_id", sa.String(16), sa.ForeignKey("stores.store_id"), nullable=False),
    sa.Column("hold_id", sa.String(32), nullable=False, unique=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("expires_at", sa.String(24), nullable=False),
    sa.Column("created_at", sa.String(24), nullable=False),
    sa.Column("updated_at", sa.String(24), nullable=False),
    sa.Index("reservations_status_expiry", "status", "expires_at"),
)

# A shopper's address book: fulfillment delivers, so it keeps the addresses it delivers to. Each entry is a
# common.json address, kept whole so an order can record exactly what was used. User-id columns here and above
# are 64 wide: shopper ids are opaque strings of up to 64 characters.
addresses = sa.Table(
    "addresses",
    metadata,
    sa.Column("address_id", sa.String(24), primary_key=True),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("label", sa.String(40)),
    sa.Column("address", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(24), nullable=False),
    sa.Index("addresses_user_created", "user_id", "created_at"),
)

# How many addresses each shopper has. Saving locks this row first, so two saves racing for the last place (or
# with the same address) run one after the other (on SQLite, write transactions are IMMEDIATE anyway).
address_books = sa.Table(
    "address_books",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("entries", sa.Integer, nullable=False),
)

SEED_DIR = Path(__file__).parent / "seed"
FIRST_RESERVATION_NUMBER = 100000


def load_seed(conn: Connection) -> None:
    places = json.loads((SEED_DIR / "stores.json").read_text())["stores"]
    seed = json.loads((SEED_DIR / "orders.json").read_text())
    seeded = seed["orders"]
    # The seed was written on its referenceDate; its orders move with the calendar so that "delivered
    # five days ago" stays five days ago (and inside the return window) whenever the database is created.
    written_on = clock.parse(seed["referenceDate"] + "T10:00:00+05:30")
    shift = clock.now() - written_on

    def _utc(text: str | None) -> str | None:
        """Seed times (Indian, +05:30) shifted to now, stored as UTC so they sort as strings."""
        return clock.iso(clock.parse(text) + shift) if text else None

    conn.execute(
        stores.insert(),
        [
            {
                "store_id": s["storeId"],
                "name": s["name"],
                "city": s["city"],
                "address": s["address"],
                "postal_code": s["postalCode"],
                "opening_hours": s["openingHours"],
            }
            for s in places
        ],
    )
    conn.execute(
        orders.insert(),
        [
            {
                "order_id": o["orderId"],
                "user_id": o["userId"],
                "status": o["status"],
                "fulfillment_type": o["fulfillmentType"],
                "items": [
                    {k: item[k] for k in ("productId", "sku", "name", "size", "color", "quantity", "unitPrice")}
                    for item in o["items"]
                ],
                "subtotal": Decimal(str(o["subtotal"])),
                "discount": Decimal(str(o["discount"])),
                "delivery_fee": Decimal(0),
                "gift_wrap_fee": Decimal(0),
                "total": Decimal(str(o["total"])),
                "payment_id": o["paymentId"],
                "hold_id": None,
                "shipping_address": o["shippingAddress"],
                "store_id": o["storeId"],
                "coupon_code": o.get("couponCode"),
                "points_redeemed": 0,
                "delivery_slot": None,
                "estimated_delivery": _utc(o["estimatedDelivery"]),
                "delivered_at": _utc(o["deliveredAt"]),
                "carrier": o["carrier"],
                "tracking_number": o["trackingNumber"],
                "created_at": _utc(o["createdAt"]),
                "updated_at": _utc(o["updatedAt"]),
            }
            for o in seeded
        ],
    )
    conn.execute(
        status_history.insert(),
        [
            {"order_id": o["orderId"], "status": step["status"], "at": _utc(step["at"]), "note": step.get("note")}
            for o in seeded
            for step in o["statusHistory"]
        ],
    )
    highest = max(int(o["orderId"].split("-")[1]) for o in seeded)
    conn.execute(
        counters.insert(),
        [{"name": "order", "value": highest}, {"name": "reservation", "value": FIRST_RESERVATION_NUMBER}],
    )


# --- reads -------------------------------------------------------------------------------------


def store(conn: Connection, store_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(stores).where(stores.c.store_id == store_id)).first()
    return dict(row._mapping) if row else None


def stores_in_city(conn: Connection, city: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(stores).where(sa.func.lower(stores.c.city) == city.lower()).order_by(stores.c.store_id)
    )
    return [dict(r._mapping) for r in rows]


def all_stores(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(stores).order_by(stores.c.city, stores.c.store_id))
    return [dict(r._mapping) for r in rows]


def store_names(conn: Connection, store_ids: set[str]) -> dict[str, str]:
    if not store_ids:
        return {}
    rows = conn.execute(sa.select(stores.c.store_id, stores.c.name).where(stores.c.store_id.in_(store_ids)))
    return {r.store_id: r.name for r in rows}


def _with_history(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        return rows
    by_id = {row["order_id"]: row for row in rows}
    for row in rows:
        row["history"] = []
    steps = conn.execute(
        sa.select(status_history).where(status_history.c.order_id.in_(list(by_id))).order_by(status_history.c.id)
    )
    for step in steps:
        by_id[step.order_id]["history"].append(dict(step._mapping))
    names = store_names(conn, {row["store_id"] for row in rows if row["store_id"]})
    for row in rows:
        row["store_name"] = names.get(row["store_id"])
    return rows


def order(conn: Connection, order_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(orders).where(orders.c.order_id == order_id)).first()
    return _with_history(conn, [dict(row._mapping)])[0] if row else None


def _newest_first(query: sa.Select, created: sa.Column, ident: sa.Column, after: tuple[str, str] | None) -> sa.Select:
    """Newest first with the id breaking ties, starting after the (created, id) key of the previous page's last
    row: a keyset page, so rows added or removed meanwhile never shift a row into two pages or out of all."""
    if after is not None:
        key, last = after
        query = query.where(sa.or_(created < key, sa.and_(created == key, ident < last)))
    return query.order_by(created.desc(), ident.desc())


def user_orders(
    conn: Connection, user_id: str, status: str | None, limit: int, after: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    query = sa.select(orders).where(orders.c.user_id == user_id)
    if status:
        query = query.where(orders.c.status == status)
    query = _newest_first(query, orders.c.created_at, orders.c.order_id, after).limit(limit)
    return _with_history(conn, [dict(r._mapping) for r in conn.execute(query)])


def all_orders(conn: Connection, offset: int, limit: int) -> list[dict[str, Any]]:
    """Every order, by order id, one page (the operator's listing, for the integrity audit)."""
    query = sa.select(orders).order_by(orders.c.order_id).offset(offset).limit(limit)
    return _with_history(conn, [dict(r._mapping) for r in conn.execute(query)])


def order_using(conn: Connection, column: str, value: str) -> str | None:
    """The order that already uses this payment or hold, if any."""
    return conn.execute(sa.select(orders.c.order_id).where(orders.c[column] == value)).scalar()


def reservation(conn: Connection, reservation_id: str) -> dict[str, Any] | None:
    query = (
        sa.select(
            reservations, stores.c.name.label("store_name"), stores.c.city, stores.c.address.label("store_address")
        )
        .join(stores, stores.c.store_id == reservations.c.store_id)
        .where(reservations.c.reservation_id == reservation_id)
    )
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def user_reservations(
    conn: Connection, user_id: str, status: str | None, limit: int, after: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    query = (
        sa.select(
            reservations, stores.c.name.label("store_name"), stores.c.city, stores.c.address.label("store_address")
        )
        .join(stores, stores.c.store_id == reservations.c.store_id)
        .where(reservations.c.user_id == user_id)
    )
    if status:
        query = query.where(reservations.c.status == status)
    query = _newest_first(query, reservations.c.created_at, reservations.c.reservation_id, after).limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def user_addresses(
    conn: Connection, user_id: str, limit: int, after: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    query = sa.select(addresses).where(addresses.c.user_id == user_id)
    query = _newest_first(query, addresses.c.created_at, addresses.c.address_id, after).limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def address(conn: Connection, address_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(addresses).where(addresses.c.address_id == address_id)).first()
    return dict(row._mapping) if row else None


def any_due_reservation(conn: Connection, now_iso: str) -> bool:
    return (
        conn.execute(
            sa.select(reservations.c.reservation_id)
            .where(reservations.c.status == "active", reservations.c.expires_at <= now_iso)
            .limit(1)
        ).first()
        is not None
    )


# --- writes ------------------------------------------------------------------------------------


def next_number(conn: Connection, name: str) -> int | None:
    """The counter's next value, or None when it is at COUNTER_LIMIT (nothing changes then)."""
    return conn.execute(
        counters.update()
        .where(counters.c.name == name, counters.c.value < COUNTER_LIMIT)
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    ).scalar()


def insert_order(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(orders.insert().values(**row))


def add_history(conn: Connection, order_id: str, status: str, at: str, note: str | None) -> int:
    return conn.execute(
        status_history.insert()
        .values(order_id=order_id, status=status, at=at, note=note)
        .returning(status_history.c.id)
    ).scalar_one()


def set_history_note(conn: Connection, history_id: int, note: str) -> None:
    conn.execute(status_history.update().where(status_history.c.id == history_id).values(note=note[:1000]))


def move_order(conn: Connection, order_id: str, from_status: str, to_status: str, **values: Any) -> bool:
    """Change an order's status only if it is still ``from_status``: of two racing updates one wins."""
    result = conn.execute(
        orders.update()
        .where(orders.c.order_id == order_id, orders.c.status == from_status)
        .values(status=to_status, **values)
    )
    return result.rowcount == 1


def set_order_address(
    conn: Connection, order_id: str, status: str, address: dict[str, Any], estimated: str, now: str
) -> bool:
    """Change where an order goes only while it is still ``status``: a move to in_transit meanwhile wins."""
    result = conn.execute(
        orders.update()
        .where(orders.c.order_id == order_id, orders.c.status == status)
        .values(shipping_address=address, estimated_delivery=estimated, updated_at=now)
    )
    return result.rowcount == 1


def undo_steps_done(conn: Connection, order_id: str) -> set[str]:
    return set(conn.execute(sa.select(order_undo.c.step).where(order_undo.c.order_id == order_id)).scalars())


def record_undo_step(conn: Connection, order_id: str, step: str, detail: str | None, at: str) -> None:
    exists = conn.execute(
        sa.select(order_undo.c.step).where(order_undo.c.order_id == order_id, order_undo.c.step == step)
    ).first()
    if exists is None:
        conn.execute(order_undo.insert().values(order_id=order_id, step=step, detail=(detail or "")[:300], done_at=at))


def last_history_id(conn: Connection, order_id: str, status: str) -> int | None:
    return conn.execute(
        sa.select(sa.func.max(status_history.c.id)).where(
            status_history.c.order_id == order_id, status_history.c.status == status
        )
    ).scalar()


def history_note(conn: Connection, history_id: int) -> str | None:
    return conn.execute(sa.select(status_history.c.note).where(status_history.c.id == history_id)).scalar()


def add_discount_intent(conn: Connection, order_id: str, user_id: str, at: str) -> None:
    conn.execute(discount_intents.insert().values(order_id=order_id, user_id=user_id, created_at=at))


def drop_discount_intent(conn: Connection, order_id: str) -> None:
    conn.execute(discount_intents.delete().where(discount_intents.c.order_id == order_id))


def abandoned_discount_intents(conn: Connection, before: str) -> list[dict[str, Any]]:
    """Intents older than ``before`` whose order was never written."""
    query = (
        sa.select(discount_intents)
        .where(discount_intents.c.created_at < before)
        .where(~sa.exists().where(orders.c.order_id == discount_intents.c.order_id))
        .order_by(discount_intents.c.created_at)
        .limit(20)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def insert_reservation(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(reservations.insert().values(**row))


def move_reservation(conn: Connection, reservation_id: str, from_status: str, to_status: str, at: str) -> bool:
    result = conn.execute(
        reservations.update()
        .where(reservations.c.reservation_id == reservation_id, reservations.c.status == from_status)
        .values(status=to_status, updated_at=at)
    )
    return result.rowcount == 1


def expire_due_reservations(conn: Connection, now_iso: str) -> int:
    result = conn.execute(
        reservations.update()
        .where(reservations.c.status == "active", reservations.c.expires_at <= now_iso)
        .values(status="expired", updated_at=now_iso)
    )
    return result.rowcount


def lock_address_book(conn: Connection, user_id: str) -> int:
    """Lock the shopper's book for this transaction (making it on first use) and answer how many addresses it
    holds: a second save for the same shopper waits here until the first commits, then sees its count."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(insert(address_books).values(user_id=user_id, entries=0).on_conflict_do_nothing())
    query = sa.select(address_books.c.entries).where(address_books.c.user_id == user_id).with_for_update()
    return conn.execute(query).scalar_one()


def insert_address(conn: Connection, row: dict[str, Any]) -> None:
    """Add the address and count it in the shopper's book (locked first with lock_address_book)."""
    conn.execute(addresses.insert().values(**row))
    conn.execute(
        address_books.update()
        .where(address_books.c.user_id == row["user_id"])
        .values(entries=address_books.c.entries + 1)
    )


def delete_address(conn: Connection, address_id: str, user_id: str) -> bool:
    """Remove the shopper's address and free its place; False when it is not theirs (or already gone)."""
    removed = conn.execute(
        addresses.delete().where(addresses.c.address_id == address_id, addresses.c.user_id == user_id)
    )
    if removed.rowcount != 1:
        return False
    conn.execute(
        address_books.update().where(address_books.c.user_id == user_id).values(entries=address_books.c.entries - 1)
    )
    return True
