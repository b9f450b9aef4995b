"""Loyalty tables and the queries the rules need.

Points move only through guarded single UPDATEs on ``members`` (never below zero) and every move
leaves a row in ``ledger``. One-off facts are primary keys, so a race can never do them twice:
``earnings`` (one per order), ``reversals`` (one per order), ``coupon_claims`` (one per member for a
single-use coupon) and ``coupon_uses`` (one per coupon, member and order reference).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from agentkit import clock
from agentkit.contracts import id_max_length

metadata = sa.MetaData()
# Shopper ids are as wide as the contracts let them be (common.json's userId maxLength), never a copy of it.
USER_ID = sa.String(id_max_length("userId"))
MONEY = sa.Numeric(12, 2)

tiers = sa.Table(
    "tiers",
    metadata,
    sa.Column("tier", sa.String(16), primary_key=True),
    sa.Column("rank", sa.Integer, nullable=False, unique=True),
    sa.Column("min_points", sa.Integer, nullable=False),
    sa.Column("earn_rate", sa.Integer, nullable=False),
    sa.Column("point_value", sa.Numeric(8, 4), nullable=False),
)

members = sa.Table(
    "members",
    metadata,
    sa.Column("user_id", USER_ID, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("tier", sa.String(16), sa.ForeignKey("tiers.tier"), nullable=False),
    sa.Column("points_balance", sa.BigInteger, nullable=False),
    sa.Column("lifetime_points", sa.BigInteger, nullable=False),
    sa.Column("joined_at", sa.String(10), nullable=False),
    sa.CheckConstraint("points_balance >= 0", name="points_never_negative"),
    sa.CheckConstraint("lifetime_points >= 0", name="lifetime_never_negative"),
)


def _promotion_columns() -> list[sa.Column]:
    return [
        sa.Column("description", sa.String(300), nullable=False),
        sa.Column("discount_type", sa.String(10), nullable=False),  # percent | flat
        sa.Column("discount_value", MONEY, nullable=False),
        sa.Column("max_discount", MONEY),
        sa.Column("min_cart_amount", MONEY, nullable=False),
        sa.Column("eligible_tiers", sa.Text),  # JSON list or NULL for every tier
        sa.Column("categories", sa.Text),  # JSON list or NULL for every category
        sa.Column("valid_from", sa.String(24), nullable=False),
        sa.Column("valid_until", sa.String(24), nullable=False),
    ]


coupons = sa.Table(
    "coupons",
    metadata,
    sa.Column("code", sa.String(40), primary_key=True),
    *_promotion_columns(),
    sa.Column("single_use", sa.Boolean, nullable=False),
    sa.Column("usage_limit", sa.Integer),
    sa.Column("times_used", sa.Integer, nullable=False, default=0),
    sa.CheckConstraint("times_used >= 0", name="times_used_never_negative"),
)

offers = sa.Table(
    "offers",
    metadata,
    sa.Column("offer_id", sa.String(40), primary_key=True),
    sa.Column("title", sa.String(120), nullable=False),
    *_promotion_columns(),
    sa.Column("auto_apply", sa.Boolean, nullable=False),
)

coupon_uses = sa.Table(
    "coupon_uses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(40), sa.ForeignKey("coupons.code"), nullable=False),
    sa.Column("user_id", USER_ID, sa.ForeignKey("members.user_id"), nullable=False),
    sa.Column("order_reference", sa.String(80), nullable=False),
    sa.Column("cart_amount", MONEY, nullable=False),
    sa.Column("discount_amount", MONEY, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # active | released
    sa.Column("at", sa.String(24), nullable=False),
    sa.UniqueConstraint("code", "user_id", "order_reference", name="one_use_per_order"),
    sa.Index("coupon_uses_reference", "order_reference"),
)

coupon_claims = sa.Table(  # a row here means "this member has used this single-use coupon"
    "coupon_claims",
    metadata,
    sa.Column("code", sa.String(40), sa.ForeignKey("coupons.code"), primary_key=True),
    sa.Column("user_id", USER_ID, sa.ForeignKey("members.user_id"), primary_key=True),
    sa.Column("order_reference", sa.String(80), nullable=False),
    sa.Column("at", sa.String(24), nullable=False),
)

ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", USER_ID, sa.ForeignKey("members.user_id"), nullable=False),
    sa.Column("type", sa.String(10), nullable=False),  # earn | redeem | reverse | adjust
    sa.Column("points", sa.BigInteger, nullable=False),  # signed: + adds to the balance, - takes from it
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.Column("order_id", sa.String(24)),
    sa.Column("reference", sa.String(80)),
    sa.Column("description", sa.String(300), nullable=False),
    sa.Column("at", sa.String(24), nullable=False),
    sa.Index("ledger_member", "user_id", "id"),
)

earnings = sa.Table(
    "earnings",
    metadata,
    sa.Column("order_id", sa.String(24), primary_key=True),
    sa.Column("user_id", USER_ID, sa.ForeignKey("members.user_id"), nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.Column("tier", sa.String(16), nullable=False),
    sa.Column("previous_tier", sa.String(16), nullable=False),
    sa.Column("at", sa.String(24), nullable=False),
)

redemptions = sa.Table(
    "redemptions",
    metadata,
    sa.Column("redemption_id", sa.String(24), primary_key=True),
    sa.Column("user_id", USER_ID, sa.ForeignKey("members.user_id"), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("discount_amount", MONEY, nullable=False),
    sa.Column("order_reference", sa.String(80)),
    sa.Column("status", sa.String(10), nullable=False),  # active | cancelled
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.Column("at", sa.String(24), nullable=False),
    sa.Column("cancelled_at", sa.String(24)),
    sa.Index("redemptions_reference", "user_id", "order_reference"),
)

reversals = sa.Table(
    "reversals",
    metadata,
    sa.Column("order_id", sa.String(24), primary_key=True),
    sa.Column("user_id", USER_ID, sa.ForeignKey("members.user_id"), nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("points_reversed", sa.BigInteger, nullable=False),
    sa.Column("points_restored", sa.BigInteger, nullable=False),
    sa.Column("points_shortfall", sa.BigInteger, nullable=False),
    sa.Column("coupons_released", sa.Text, nullable=False),  # JSON list of codes
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.Column("lifetime_after", sa.BigInteger, nullable=False),
    sa.Column("tier", sa.String(16), nullable=False),
    sa.Column("previous_tier", sa.String(16), nullable=False),
    sa.Column("at", sa.String(24), nullable=False),
)

# Points a reversal could not take back because the member had already spent them. They are owed, not
# forgotten: the balance never goes below zero, later credits pay the debt first, and redeeming waits
# until it is cleared (see the README, "Points that were already spent").
debts = sa.Table(
    "debts",
    metadata,
    sa.Column("user_id", USER_ID, sa.ForeignKey("members.user_id"), primary_key=True),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.CheckConstraint("points >= 0", name="debt_never_negative"),
)

# One row per return whose earned points were taken back: the value of the goods returned, so partial
# returns of one order add up (pro rata of the order's subtotal) and a return is never counted twice.
return_reversals = sa.Table(
    "return_reversals",
    metadata,
    sa.Column("return_id", sa.String(24), primary_key=True),
    sa.Column("order_id", sa.String(24), nullable=False, index=True),
    sa.Column("user_id", USER_ID, sa.ForeignKey("members.user_id"), nullable=False),
    sa.Column("returned_value", MONEY, nullable=False),
    sa.Column("points_taken", sa.BigInteger, nullable=False),  # taken from the balance now
    sa.Column("points_owed", sa.BigInteger, nullable=False),  # added to the debt (already spent)
    sa.Column("points_restored", sa.BigInteger, nullable=False),  # redeemed on the order, given back pro rata
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.Column("at", sa.String(24), nullable=False),
)

SEED_DIR = Path(__file__).parent / "seed"
LEDGER_OPENED_AT = "2026-10-01T00:00:00Z"  # the seed's balances are brought forward to this ledger here


def to_utc(text: str) -> str:
    """A seed timestamp with any offset, as the sortable UTC string everything else stores."""
    return clock.iso(clock.parse(text))


def _json_list(value: list | None) -> str | None:
    return None if value is None else json.dumps([str(v).lower() for v in value])


def _promotion_row(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": spec["description"],
        "discount_type": spec["discountType"],
        "discount_value": Decimal(str(spec["discountValue"])),
        "max_discount": None if spec.get("maxDiscount") is None else Decimal(str(spec["maxDiscount"])),
        "min_cart_amount": Decimal(str(spec.get("minCartAmount") or 0)),
        "eligible_tiers": _json_list(spec.get("eligibleTiers")),
        "categories": _json_list(spec.get("categories")),
        "valid_from": to_utc(spec["validFrom"]),
        "valid_until": to_utc(spec["validUntil"]),
    }


def load_seed(conn: Connection) -> None:
    data = json.loads((SEED_DIR / "loyalty.json").read_text(encoding="utf-8"))
    past_orders = json.loads((SEED_DIR / "orders.json").read_text(encoding="utf-8"))["orders"]
    tier_rows = sorted(data["tiers"], key=lambda t: t["minPoints"])
    conn.execute(
        tiers.insert(),
        [
            {
                "tier": t["tier"],
                "rank": rank,
                "min_points": t["minPoints"],
                "earn_rate": t["earnRate"],
                "point_value": Decimal(str(t["pointValue"])),
            }
            for rank, t in enumerate(tier_rows)
        ],
    )
    earn_rate = {t["tier"]: t["earnRate"] for t in tier_rows}
    conn.execute(
        members.insert(),
        [
            {
                "user_id": m["userId"],
                "name": m["name"],
                "tier": m["tier"],
                "points_balance": m["pointsBalance"],
                "lifetime_points": m["lifetimePoints"],
                "joined_at": m["joinedAt"],
            }
            for m in data["members"]
        ],
    )
    conn.execute(
        coupons.insert(),
        [
            {
                "code": c["code"].upper(),
                **_promotion_row(c),
                "single_use": bool(c["singleUse"]),
                "usage_limit": c.get("usageLimit"),
                "times_used": 0,
            }
            for c in data["coupons"]
        ],
    )
    conn.execute(
        offers.insert(),
        [
            {
                "offer_id": o["offerId"],
                "title": o["title"],
                **_promotion_row(o),
                "auto_apply": bool(o.get("autoApply", True)),
            }
            for o in data["offers"]
        ],
    )
    _seed_history(
        conn,
        data["members"],
        past_orders,
        earn_rate,
        {c["code"].upper(): bool(c["singleUse"]) for c in data["coupons"]},
    )


def _seed_history(
    conn: Connection,
    member_specs: list[dict],
    past_orders: list[dict],
    earn_rate: dict[str, int],
    single_use: dict[str, bool],
) -> None:
    """Past orders: the points they earned (reversed when cancelled) and the coupons they used.

    The seed's balances are final, so each member's ledger opens with the balance brought forward
    and then replays the orders; the running balance ends exactly at the seed's balance.
    """
    entries, earned_rows, reversal_rows, use_rows, claim_rows = [], [], [], [], []
    uses_per_code: dict[str, int] = {}
    for member in member_specs:
        uid, tier = member["userId"], member["tier"]
        mine = sorted((o for o in past_orders if o["userId"] == uid), key=lambda o: o["createdAt"])
        events = []
        for order in mine:
            points = int(order["total"] // 100) * earn_rate[tier]
            events.append((to_utc(order["createdAt"]), "earn", points, order))
            if order["status"] == "cancelled":
                events.append((to_utc(order["updatedAt"]), "reverse", -points, order))
        opening = member["pointsBalance"] - sum(e[2] for e in events)
        balance = opening
        entries.append(
            {
                "user_id": uid,
                "type": "adjust",
                "points": opening,
                "balance_after": balance,
                "order_id": None,
                "reference": None,
                "at": LEDGER_OPENED_AT,
                "description": "Balance brought forward from the previous loyalty system",
            }
        )
        for at, kind, points, order in sorted(events, key=lambda e: e[0]):
            balance += points
            order_id = order["orderId"]
            if kind == "earn":
                entries.append(
                    {
                        "user_id": uid,
                        "type": "earn",
                        "points": points,
                        "balance_after": balance,
                        "order_id": order_id,
                        "reference": None,
                        "at": at,
                        "description": f"Earned {points} points on order {order_id}",
                    }
                )
                earned_rows.append(
                    {
                        "order_id": order_id,
                        "user_id": uid,
                        "amount": Decimal(str(order["total"])),
                        "points": points,
                        "balance_after": balance,
                        "tier": tier,
                        "previous_tier": tier,
                        "at": at,
                    }
                )
            else:
                entries.append(
                    {
                        "user_id": uid,
                        "type": "reverse",
                        "points": points,
                        "balance_after": balance,
                        "order_id": order_id,
                        "reference": None,
                        "at": at,
                        "description": f"Reversed {-points} points: order {order_id} was cancelled",
                    }
                )
                reversal_rows.append(
                    {
                        "order_id": order_id,
                        "user_id": uid,
                        "reason": "order cancelled",
                        "points_reversed": -points,
                        "points_restored": 0,
                        "points_shortfall": 0,
                        "coupons_released": "[]",
                        "balance_after": balance,
                        "lifetime_after": member["lifetimePoints"],
                        "tier": tier,
                        "previous_tier": tier,
                        "at": at,
                    }
                )
            if kind == "earn" and order.get("couponCode"):
                code = order["couponCode"].upper()
                used = order["status"] != "cancelled"
                use_rows.append(
                    {
                        "code": code,
                        "user_id": uid,
                        "order_reference": order_id,
                        "cart_amount": Decimal(str(order["subtotal"])),
                        "discount_amount": Decimal(str(order["discount"])),
                        "status": "active" if used else "released",
                        "at": at,
                    }
                )
                if used:
                    uses_per_code[code] = uses_per_code.get(code, 0) + 1
                    if single_use.get(code):
                        claim_rows.append({"code": code, "user_id": uid, "order_reference": order_id, "at": at})
        assert balance == member["pointsBalance"], uid
    conn.execute(ledger.insert(), entries)
    if earned_rows:
        conn.execute(earnings.insert(), earned_rows)
    if reversal_rows:
        conn.execute(reversals.insert(), reversal_rows)
    if use_rows:
        conn.execute(coupon_uses.insert(), use_rows)
    if claim_rows:
        conn.execute(coupon_claims.insert(), claim_rows)
    for code, count in uses_per_code.items():
        conn.execute(coupons.update().where(coupons.c.code == code).values(times_used=count))


# --- reads -------------------------------------------------------------------------------------


def _row(result) -> dict[str, Any] | None:
    row = result.first()
    return dict(row._mapping) if row else None


def member(conn: Connection, user_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    query = sa.select(members).where(members.c.user_id == user_id)
    return _row(conn.execute(query.with_for_update() if lock else query))


def enrol(conn: Connection, user_id: str, name: str, tier: str, joined_at: str) -> bool:
    """A new member with no points; False (and nothing changed) when the shopper is a member already."""
    row = {
        "user_id": user_id,
        "name": name,
        "tier": tier,
        "points_balance": 0,
        "lifetime_points": 0,
        "joined_at": joined_at,
    }
    return insert_once(conn, members, row)


def all_tiers(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(sa.select(tiers).order_by(tiers.c.rank))]


def all_members(conn: Connection, offset: int, limit: int) -> list[dict[str, Any]]:
    """Every member, by user id, one page (the operator's listing)."""
    query = sa.select(members).order_by(members.c.user_id).offset(offset).limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def all_ledger(conn: Connection, offset: int, limit: int) -> list[dict[str, Any]]:
    """Every ledger entry, oldest first, one page (the operator's listing)."""
    query = sa.select(ledger).order_by(ledger.c.id).offset(offset).limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def _promotion(row) -> dict[str, Any]:
    found = dict(row._mapping)
    for key in ("eligible_tiers", "categories"):
        found[key] = json.loads(found[key]) if found[key] else None
    return found


def all_coupons(conn: Connection) -> list[dict[str, Any]]:
    return [_promotion(r) for r in conn.execute(sa.select(coupons).order_by(coupons.c.code))]


def coupon(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(coupons).where(coupons.c.code == code)).first()
    return _promotion(row) if row else None


def all_offers(conn: Connection) -> list[dict[str, Any]]:
    return [_promotion(r) for r in conn.execute(sa.select(offers).order_by(offers.c.offer_id))]


def claims_of(conn: Connection, user_id: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(sa.select(coupon_claims).where(coupon_claims.c.user_id == user_id))
    return {r.code: dict(r._mapping) for r in rows}


def coupon_use(conn: Connection, code: str, user_id: str, order_reference: str) -> dict[str, Any] | None:
    return _row(
        conn.execute(
            sa.select(coupon_uses).where(
                coupon_uses.c.code == code,
                coupon_uses.c.user_id == user_id,
                coupon_uses.c.order_reference == order_reference,
            )
        )
    )


def active_uses_for_reference(conn: Connection, user_id: str, order_reference: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(coupon_uses)
        .where(
            coupon_uses.c.user_id == user_id,
            coupon_uses.c.order_reference == order_reference,
            coupon_uses.c.status == "active",
        )
        .order_by(coupon_uses.c.id)
    )
    return [dict(r._mapping) for r in rows]


def earning(conn: Connection, order_id: str) -> dict[str, Any] | None:
    return _row(conn.execute(sa.select(earnings).where(earnings.c.order_id == order_id)))


def reversal(conn: Connection, order_id: str) -> dict[str, Any] | None:
    found = _row(conn.execute(sa.select(reversals).where(reversals.c.order_id == order_id)))
    if found:
        found["coupons_released"] = json.loads(found["coupons_released"])
    return found


def redemption(conn: Connection, redemption_id: str) -> dict[str, Any] | None:
    return _row(conn.execute(sa.select(redemptions).where(redemptions.c.redemption_id == redemption_id)))


def active_redemptions_for_reference(conn: Connection, user_id: str, order_reference: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(redemptions)
        .where(
            redemptions.c.user_id == user_id,
            redemptions.c.order_reference == order_reference,
            redemptions.c.status == "active",
        )
        .order_by(redemptions.c.at, redemptions.c.redemption_id)
    )
    return [dict(r._mapping) for r in rows]


def owed(conn: Connection, user_id: str) -> int:
    row = conn.execute(sa.select(debts.c.points).where(debts.c.user_id == user_id)).first()
    return int(row.points) if row else 0


def return_reversal(conn: Connection, return_id: str) -> dict[str, Any] | None:
    return _row(conn.execute(sa.select(return_reversals).where(return_reversals.c.return_id == return_id)))


def returned_before(conn: Connection, order_id: str) -> tuple[Decimal, int, int]:
    """For one order's returns so far: (value of the goods returned, earned points taken back or owed,
    redeemed points given back)."""
    row = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(return_reversals.c.returned_value), 0),
            sa.func.coalesce(sa.func.sum(return_reversals.c.points_taken + return_reversals.c.points_owed), 0),
            sa.func.coalesce(sa.func.sum(return_reversals.c.points_restored), 0),
        ).where(return_reversals.c.order_id == order_id)
    ).one()
    return Decimal(str(row[0])), int(row[1]), int(row[2])


def recent_ledger(conn: Connection, user_id: str, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(ledger)
        .where(ledger.c.user_id == user_id)
        .order_by(ledger.c.at.desc(), ledger.c.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


# --- writes ------------------------------------------------------------------------------------


def add_points(
    conn: Connection, user_id: str, points: int, *, lifetime: int = 0, tier: str | None = None
) -> dict[str, Any] | None:
    """Change the balance by ``points`` in one guarded UPDATE; None when it would go below zero."""
    values: dict[str, Any] = {"points_balance": members.c.points_balance + points}
    if lifetime:
        values["lifetime_points"] = members.c.lifetime_points + lifetime
    if tier:
        values["tier"] = tier
    guard = members.c.points_balance >= -points if points < 0 else sa.true()
    lifetime_guard = members.c.lifetime_points >= -lifetime if lifetime < 0 else sa.true()
    return _row(
        conn.execute(
            members.update()
            .where(members.c.user_id == user_id, guard, lifetime_guard)
            .values(**values)
            .returning(members.c.points_balance, members.c.lifetime_points, members.c.tier)
        )
    )


def write_ledger(
    conn: Connection,
    user_id: str,
    kind: str,
    points: int,
    balance_after: int,
    description: str,
    *,
    order_id: str | None = None,
    reference: str | None = None,
    at: str | None = None,
) -> None:
    conn.execute(
        ledger.insert().values(
            user_id=user_id,
            type=kind,
            points=points,
            balance_after=balance_after,
            order_id=order_id,
            reference=reference,
            description=description[:300],
            at=at or clock.now_iso(),
        )
    )


def change_debt(conn: Connection, user_id: str, delta: int) -> int:
    """Add ``delta`` (negative to pay off) to what the member owes; returns what is owed after."""
    if delta > 0 and insert_once(conn, debts, {"user_id": user_id, "points": delta}):
        return delta
    result = conn.execute(
        debts.update()
        .where(debts.c.user_id == user_id, debts.c.points >= -delta if delta < 0 else sa.true())
        .values(points=debts.c.points + delta)
        .returning(debts.c.points)
    ).first()
    if result is None:
        raise RuntimeError(f"debt of {user_id} cannot change by {delta}")
    return int(result.points)


def insert_once(conn: Connection, table: sa.Table, row: dict[str, Any]) -> bool:
    """Insert a row whose key must be unique; False (and nothing changed) when it already exists."""
    try:
        with conn.begin_nested():
            conn.execute(table.insert().values(**row))
        return True
    except IntegrityError:
        return False


def take_coupon_use(conn: Connection, code: str) -> bool:
    """Count one use of a coupon unless its usage limit is reached: one guarded UPDATE."""
    result = conn.execute(
        coupons.update()
        .where(
            coupons.c.code == code,
            sa.or_(coupons.c.usage_limit.is_(None), coupons.c.times_used < coupons.c.usage_limit),
        )
        .values(times_used=coupons.c.times_used + 1)
    )
    return result.rowcount == 1


def give_back_coupon_use(conn: Connection, use: dict[str, Any]) -> bool:
    """Release one recorded use (an order was cancelled): the single-use claim and the count come back."""
    moved = (
        conn.execute(
            coupon_uses.update()
            .where(coupon_uses.c.id == use["id"], coupon_uses.c.status == "active")
            .values(status="released")
        ).rowcount
        == 1
    )
    if moved:
        conn.execute(
            coupons.update()
            .where(coupons.c.code == use["code"], coupons.c.times_used > 0)
            .values(times_used=coupons.c.times_used - 1)
        )
        conn.execute(
            coupon_claims.delete().where(
                coupon_claims.c.code == use["code"],
                coupon_claims.c.user_id == use["user_id"],
                coupon_claims.c.order_reference == use["order_reference"],
            )
        )
    return moved


def cancel_redemption(conn: Connection, redemption_id: str) -> bool:
    """Mark a redemption cancelled only if it is still active: exactly one caller wins."""
    return (
        conn.execute(
            redemptions.update()
            .where(redemptions.c.redemption_id == redemption_id, redemptions.c.status == "active")
            .values(status="cancelled", cancelled_at=clock.now_iso())
        ).rowcount
        == 1
    )
