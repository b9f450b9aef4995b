"""The sales agent's own database: carts, checkouts and last orders (channel identities and guests: guests.py).

It is an ordinary agentkit ``Database("sales", ...)`` (``SALES_DATABASE_URL``, default ``var/sales.db``,
SQLite or PostgreSQL), so a cart survives a restart and is the same from every channel. Nothing here
ever holds a card number: a checkout keeps the card's reference (``card_ending_4242``), brand and last
four digits only.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from agentkit import Database, clock

from .guests import USER_ID_WIDTH

metadata = sa.MetaData()

carts = sa.Table(
    "sales_carts",
    metadata,
    sa.Column("user_id", sa.String(USER_ID_WIDTH), primary_key=True),
    sa.Column("lines", sa.JSON, nullable=False),
    sa.Column("coupon_code", sa.String(40)),
    sa.Column("redeem_points", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", sa.String(24), nullable=False),
)

checkouts = sa.Table(
    "sales_checkouts",
    metadata,
    sa.Column("checkout_id", sa.String(24), primary_key=True),
    sa.Column("user_id", sa.String(USER_ID_WIDTH), nullable=False, index=True),
    sa.Column("status", sa.String(12), nullable=False),  # quoted|placing|placed|failed|cancelled|recovering
    sa.Column("source", sa.String(12), nullable=False),  # chat | batch
    sa.Column("hold_id", sa.String(24)),
    sa.Column("items", sa.JSON, nullable=False),
    sa.Column("quote", sa.JSON, nullable=False),
    sa.Column("payment", sa.JSON, nullable=False),  # method, cardRef, brand, last4 | upiId: never a number
    sa.Column("fulfillment", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON),
    sa.Column("created_at", sa.String(24), nullable=False),
    sa.Column("updated_at", sa.String(24), nullable=False),
    sa.Column("expires_at", sa.String(24), nullable=False),
)

last_orders = sa.Table(
    "sales_last_orders",
    metadata,
    sa.Column("user_id", sa.String(USER_ID_WIDTH), primary_key=True),
    sa.Column("order_id", sa.String(24), nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("placed_at", sa.String(24), nullable=False),
)

# What a tool decided from live state for one action (the store a reservation goes to), keyed by the action's
# Idempotency-Key: a retry of the action sends the same request, not one re-decided from changed stock.
action_plans = sa.Table(
    "sales_action_plans",
    metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("user_id", sa.String(USER_ID_WIDTH), nullable=False),
    sa.Column("plan", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(24), nullable=False, index=True),
)
ACTION_PLAN_HOURS = 48  # as long as the agents keep an Idempotency-Key (IDEMPOTENCY_TTL_HOURS)


def new_checkout_id() -> str:
    return "CO-" + secrets.token_hex(6).upper()


def _empty_cart(user_id: str) -> dict[str, Any]:
    return {"userId": user_id, "lines": [], "couponCode": None, "redeemPoints": 0}


def _same_variant(line: dict[str, Any], product_id: str, size: str | None, color: str | None) -> bool:
    return (
        line["productId"] == product_id
        and (size is None or str(line.get("size", "")).lower() == str(size).lower())
        and (color is None or str(line.get("color", "")).lower() == str(color).lower())
    )


def _add_to(cart: dict[str, Any], line: dict[str, Any]) -> None:
    for existing in cart["lines"]:
        if _same_variant(existing, line["productId"], line.get("size"), line.get("color")):
            existing["quantity"] = min(20, int(existing["quantity"]) + int(line["quantity"]))
            for key in ("name", "unitPrice", "sku", "category"):
                if line.get(key) is not None:
                    existing[key] = line[key]
            return
    cart["lines"].append(dict(line))


class SalesStore:
    """Repository over the sales database; every method is one short transaction."""

    def __init__(self, url: str | None = None, database: Database | None = None):
        self.db = database or Database("sales", metadata, None, url=url)
        self.db.initialise()

    def dispose(self) -> None:
        self.db.dispose()

    # -- cart ----------------------------------------------------------------------------------
    def cart(self, user_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            row = conn.execute(sa.select(carts).where(carts.c.user_id == user_id)).mappings().first()
        return self._cart_view(user_id, row)

    @staticmethod
    def _cart_view(user_id: str, row: Any) -> dict[str, Any]:
        if row is None:
            cart = _empty_cart(user_id)
        else:
            cart = {
                "userId": user_id,
                "lines": list(row["lines"] or []),
                "couponCode": row["coupon_code"],
                "redeemPoints": int(row["redeem_points"] or 0),
            }
        cart["itemCount"] = sum(int(line.get("quantity", 0)) for line in cart["lines"])
        cart["subtotal"] = round(
            sum(float(line.get("unitPrice") or 0) * int(line.get("quantity", 0)) for line in cart["lines"]), 2
        )
        return cart

    def _save_cart(self, conn, user_id: str, lines: list, coupon: str | None, points: int) -> None:
        values = {"lines": lines, "coupon_code": coupon, "redeem_points": int(points), "updated_at": clock.now_iso()}
        updated = conn.execute(carts.update().where(carts.c.user_id == user_id).values(**values)).rowcount
        if not updated:
            conn.execute(carts.insert().values(user_id=user_id, **values))

    def _mutate(self, user_id: str, change) -> dict[str, Any]:
        with self.db.write() as conn:
            # Read-modify-write under a row lock: on PostgreSQL two concurrent changes to one cart would
            # otherwise both read the old lines (one lost, or a duplicate insert). The row is made first so
            # there is something to lock; on SQLite BEGIN IMMEDIATE already serialises writers.
            insert = (postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert)(carts)
            conn.execute(
                insert.values(
                    user_id=user_id, lines=[], coupon_code=None, redeem_points=0, updated_at=clock.now_iso()
                ).on_conflict_do_nothing(index_elements=["user_id"])
            )
            query = sa.select(carts).where(carts.c.user_id == user_id).with_for_update()
            row = conn.execute(query).mappings().first()
            cart = self._cart_view(user_id, row)
            change(cart)
            self._save_cart(conn, user_id, cart["lines"], cart["couponCode"], cart["redeemPoints"])
        return self.cart(user_id)

    def add_line(self, user_id: str, line: dict[str, Any]) -> dict[str, Any]:
        """Add a variant; the same variant again raises its quantity (capped at 20)."""

        return self._mutate(user_id, lambda cart: _add_to(cart, line))

    def merge_cart(self, from_user: str, into_user: str) -> tuple[dict[str, Any], int]:
        """A guest who signs in keeps their cart: ``from_user``'s lines join ``into_user``'s (the same variant's
        quantities add up, capped at 20), a coupon comes along if the account has none, and the guest's cart
        is emptied, all in one transaction. Returns (the account's cart, lines merged)."""
        merged = 0
        with self.db.write() as conn:
            insert = (postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert)(carts)
            conn.execute(
                insert.values(
                    user_id=into_user, lines=[], coupon_code=None, redeem_points=0, updated_at=clock.now_iso()
                ).on_conflict_do_nothing(index_elements=["user_id"])
            )
            # Both rows locked in one order (by id) so two claims at once cannot deadlock on PostgreSQL.
            rows = {
                row["user_id"]: row
                for row in conn.execute(
                    sa.select(carts)
                    .where(carts.c.user_id.in_((from_user, into_user)))
                    .order_by(carts.c.user_id)
                    .with_for_update()
                ).mappings()
            }
            source = self._cart_view(from_user, rows.get(from_user))
            target = self._cart_view(into_user, rows.get(into_user))
            for line in source["lines"]:
                _add_to(target, line)
                merged += 1
            if target["couponCode"] is None:
                target["couponCode"] = source["couponCode"]
            self._save_cart(conn, into_user, target["lines"], target["couponCode"], target["redeemPoints"])
            conn.execute(carts.delete().where(carts.c.user_id == from_user))
        return self.cart(into_user), merged

    def remove_lines(
        self, user_id: str, product_id: str, size: str | None = None, color: str | None = None
    ) -> tuple[dict[str, Any], int]:
        removed: list[dict[str, Any]] = []

        def change(cart):
            keep = []
            for line in cart["lines"]:
                (removed if _same_variant(line, product_id, size, color) else keep).append(line)
            cart["lines"] = keep

        cart = self._mutate(user_id, change)
        return cart, len(removed)

    def set_quantity(
        self, user_id: str, product_id: str, quantity: int, size: str | None = None, color: str | None = None
    ) -> tuple[dict[str, Any], int]:
        touched = []

        def change(cart):
            keep = []
            for line in cart["lines"]:
                if _same_variant(line, product_id, size, color):
                    touched.append(line)
                    if quantity <= 0:
                        continue
                    line["quantity"] = min(20, int(quantity))
                keep.append(line)
            cart["lines"] = keep

        cart = self._mutate(user_id, change)
        return cart, len(touched)

    def set_gift_wrap(self, user_id: str, product_id: str, wrap: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
        """Put ``wrap`` on the product's first cart line (None takes it off every line of the product).

        One wrap per product per order (the gift-wrapping agent's rule), so any other line of the same
        product loses its wrap. Returns (cart, lines touched)."""
        touched = []

        def change(cart):
            first = True
            for line in cart["lines"]:
                if line["productId"] != product_id:
                    continue
                touched.append(line)
                if wrap is not None and first:
                    line["giftWrap"] = dict(wrap)
                else:
                    line.pop("giftWrap", None)
                first = False

        cart = self._mutate(user_id, change)
        return cart, len(touched)

    def set_coupon(self, user_id: str, code: str | None) -> dict[str, Any]:
        return self._mutate(user_id, lambda cart: cart.__setitem__("couponCode", code))

    def set_redeem_points(self, user_id: str, points: int) -> dict[str, Any]:
        return self._mutate(user_id, lambda cart: cart.__setitem__("redeemPoints", max(0, int(points))))

    def remove_ordered(self, user_id: str, skus: set[str]) -> dict[str, Any]:
        """After an order: drop the ordered lines (anything added since stays) and the used coupon and points."""

        def change(cart):
            cart["lines"] = [line for line in cart["lines"] if line.get("sku") not in skus]
            cart["couponCode"], cart["redeemPoints"] = None, 0

        return self._mutate(user_id, change)

    def clear_cart(self, user_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(carts.delete().where(carts.c.user_id == user_id))

    # -- checkouts -----------------------------------------------------------------------------
    def create_checkout(
        self,
        user_id: str,
        *,
        checkout_id: str,
        source: str,
        hold_id: str | None,
        items: list,
        quote: dict,
        payment: dict,
        fulfillment: dict,
        ttl: int,
    ) -> dict[str, Any]:
        now = clock.now_iso()
        with self.db.write() as conn:
            # One pending checkout per shopper: an older quote is superseded (its hold is released by the caller).
            conn.execute(
                checkouts.insert().values(
                    checkout_id=checkout_id,
                    user_id=user_id,
                    status="quoted",
                    source=source,
                    hold_id=hold_id,
                    items=items,
                    quote=quote,
                    payment=payment,
                    fulfillment=fulfillment,
                    result=None,
                    created_at=now,
                    updated_at=now,
                    expires_at=clock.later_iso(ttl),
                )
            )
            row = conn.execute(sa.select(checkouts).where(checkouts.c.checkout_id == checkout_id)).mappings().one()
        return self._checkout_view(row)

    def checkout(self, checkout_id: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(checkouts).where(checkouts.c.checkout_id == checkout_id)).mappings().first()
        return None if row is None else self._checkout_view(row)

    def pending_checkout(self, user_id: str) -> dict[str, Any] | None:
        """The shopper's newest checkout still waiting for confirmation."""
        with self.db.read() as conn:
            row = (
                conn.execute(
                    sa.select(checkouts)
                    .where(checkouts.c.user_id == user_id, checkouts.c.status == "quoted")
                    .order_by(checkouts.c.created_at.desc(), checkouts.c.checkout_id.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return None if row is None else self._checkout_view(row)

    def quoted_checkouts(self, user_id: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = (
                conn.execute(sa.select(checkouts).where(checkouts.c.user_id == user_id, checkouts.c.status == "quoted"))
                .mappings()
                .all()
            )
        return [self._checkout_view(r) for r in rows]

    def placing_checkouts(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Checkouts being placed: one shopper's, or everyone's (user_id None)."""
        return self.checkouts_in(("placing",), user_id)

    def checkouts_in(self, statuses: tuple[str, ...], user_id: str | None = None) -> list[dict[str, Any]]:
        """Checkouts in any of ``statuses``: one shopper's, or everyone's (user_id None)."""
        query = sa.select(checkouts).where(checkouts.c.status.in_(statuses))
        if user_id is not None:
            query = query.where(checkouts.c.user_id == user_id)
        with self.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [self._checkout_view(r) for r in rows]

    @staticmethod
    def _checkout_view(row: Any) -> dict[str, Any]:
        return {
            "checkoutId": row["checkout_id"],
            "userId": row["user_id"],
            "status": row["status"],
            "source": row["source"],
            "holdId": row["hold_id"],
            "items": row["items"],
            "quote": row["quote"],
            "payment": row["payment"],
            "fulfillment": row["fulfillment"],
            "result": row["result"],
            "createdAt": row["created_at"],
            "updatedAt": row["updated_at"],
            "expiresAt": row["expires_at"],
        }

    def transition(
        self, checkout_id: str, from_status: str | tuple[str, ...], to_status: str, result: dict | None = None
    ) -> bool:
        """Move a checkout between states with a guarded UPDATE; False when it was not in ``from_status``."""
        allowed = (from_status,) if isinstance(from_status, str) else tuple(from_status)
        values: dict[str, Any] = {"status": to_status, "updated_at": clock.now_iso()}
        if result is not None:
            values["result"] = result
        with self.db.write() as conn:
            changed = conn.execute(
                checkouts.update()
                .where(checkouts.c.checkout_id == checkout_id, checkouts.c.status.in_(allowed))
                .values(**values)
            ).rowcount
        return bool(changed)

    def claim_stale(self, checkout_id: str, seen_updated_at: str) -> bool:
        """Take a stale checkout for recovery: only if it has not moved since it was read, so one claimant wins."""
        with self.db.write() as conn:
            changed = conn.execute(
                checkouts.update()
                .where(
                    checkouts.c.checkout_id == checkout_id,
                    checkouts.c.status.in_(("placing", "recovering")),
                    checkouts.c.updated_at == seen_updated_at,
                )
                .values(status="recovering", updated_at=clock.now_iso())
            ).rowcount
        return bool(changed)

    def touch(self, checkout_id: str) -> None:
        """Mark a checkout as still moving (its placement just finished a step)."""
        with self.db.write() as conn:
            conn.execute(
                checkouts.update().where(checkouts.c.checkout_id == checkout_id).values(updated_at=clock.now_iso())
            )

    def set_result(self, checkout_id: str, result: dict) -> None:
        with self.db.write() as conn:
            conn.execute(
                checkouts.update()
                .where(checkouts.c.checkout_id == checkout_id)
                .values(result=result, updated_at=clock.now_iso())
            )

    # -- last order ----------------------------------------------------------------------------
    def set_last_order(self, user_id: str, order_id: str, summary: dict) -> None:
        now = clock.now_iso()
        with self.db.write() as conn:
            changed = conn.execute(
                last_orders.update()
                .where(last_orders.c.user_id == user_id)
                .values(order_id=order_id, summary=summary, placed_at=now)
            ).rowcount
            if not changed:
                conn.execute(
                    last_orders.insert().values(user_id=user_id, order_id=order_id, summary=summary, placed_at=now)
                )

    def last_order(self, user_id: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(last_orders).where(last_orders.c.user_id == user_id)).mappings().first()
        if row is None:
            return None
        return {"orderId": row["order_id"], "placedAt": row["placed_at"], **(row["summary"] or {})}

    # -- action plans --------------------------------------------------------------------------
    def action_plan(self, key: str, user_id: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = (
                conn.execute(
                    sa.select(action_plans).where(action_plans.c.key == key, action_plans.c.user_id == user_id)
                )
                .mappings()
                .first()
            )
        return dict(row["plan"]) if row is not None else None

    def plan_action(self, key: str, user_id: str, plan: dict[str, Any]) -> dict[str, Any]:
        """Store ``plan`` for the action, unless one is stored already: the plan that counts is returned."""
        now = clock.now()
        try:
            with self.db.write() as conn:
                conn.execute(
                    action_plans.delete().where(
                        action_plans.c.created_at < clock.iso(now - timedelta(hours=ACTION_PLAN_HOURS))
                    )
                )
                conn.execute(
                    action_plans.insert().values(key=key, user_id=user_id, plan=plan, created_at=clock.iso(now))
                )
            return plan
        except IntegrityError:
            return self.action_plan(key, user_id) or plan

    # -- housekeeping --------------------------------------------------------------------------
    def forget_user(self, user_id: str) -> None:
        """``/reset``: the cart goes; orders and identities stay (they are history, not conversation)."""
        self.clear_cart(user_id)
