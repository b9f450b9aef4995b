"""Loyalty rules: tiers, earning and redeeming points, and when a coupon or offer applies.

Every promotion (coupon or automatic offer) is judged by one function, ``judge``, so the offers list
and ``applyCoupon`` can never disagree about why something does not apply.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta, timezone
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.engine import Connection

from agentkit import (
    AgentCallError,
    AgentClient,
    BusinessRuleViolation,
    Conflict,
    Database,
    DependencyUnavailable,
    NotFound,
    ValidationFailed,
    clock,
)
from agentkit.money import format_inr as rupees
from agentkit.money import percent_of, to_paisa

from . import storage

MIN_REDEMPTION_POINTS = int(os.environ.get("LOYALTY_MIN_REDEMPTION_POINTS", 100))
DEFAULT_ACTIVITY = 10
IST = timezone(timedelta(hours=5, minutes=30))
CENT = Decimal("0.01")

# The reason codes of the offers list; applyCoupon answers with the coupon_* form where there is one.
COUPON_CODES = {
    "expired": "coupon_expired",
    "not_yet_valid": "coupon_not_yet_valid",
    "already_used": "coupon_already_used",
}


# --- formatting ----------------------------------------------------------------------------------


def money(value: Decimal | int | float) -> float:
    return round(float(value), 2)


def ist_date(timestamp: str) -> str:
    return clock.parse(timestamp).astimezone(IST).date().isoformat()


def join_words(words: list[str], last: str = "and") -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {last} " + words[-1]


# --- members and tiers ---------------------------------------------------------------------------


def _member(conn: Connection, user_id: str, *, lock: bool = False) -> dict[str, Any]:
    found = storage.member(conn, user_id, lock=lock)
    if found is None:
        raise NotFound.of("member", user_id, "userId")
    return found


def _enrolled(conn: Connection, user_id: str, name: str = "") -> tuple[dict[str, Any], bool]:
    """The shopper's membership, made at the lowest tier with no points if they have none yet; whether it is
    new. Two first calls at once make one member: the loser of the insert reads the winner's row."""
    found = storage.member(conn, user_id, lock=True)
    if found is not None:
        return found, False
    lowest = storage.all_tiers(conn)[0]["tier"]
    created = storage.enrol(conn, user_id, name, lowest, ist_date(clock.now_iso()))
    return _member(conn, user_id, lock=True), created


def enrol_member(db: Database, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Make the shopper a bronze member (201), or answer the membership they already have unchanged (200)."""
    with db.write() as conn:
        _, created = _enrolled(conn, body["userId"], body.get("name", "").strip())
    return get_member(db, {"userId": body["userId"], "activityLimit": 1}), 201 if created else 200


def _tier(tiers: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(t for t in tiers if t["tier"] == name)


def tier_for_lifetime(tiers: list[dict[str, Any]], lifetime: int) -> dict[str, Any]:
    """The highest tier whose threshold the lifetime points reach."""
    return [t for t in tiers if t["min_points"] <= lifetime][-1]


def points_value(points: int, tier: dict[str, Any]) -> Decimal:
    return (Decimal(points) * Decimal(tier["point_value"])).quantize(CENT, ROUND_HALF_UP)


# --- carts and promotions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cart:
    amount: Decimal
    categories: frozenset[str] | None  # None when the caller did not say what is in the cart
    lines: tuple[tuple[str, Decimal], ...] | None  # (category, amount) when the caller gave the lines


def read_cart(body: dict[str, Any]) -> Cart:
    amount = Decimal(str(body["cartAmount"])).quantize(CENT, ROUND_HALF_UP)
    items = body.get("items")
    categories = {c.strip().lower() for c in body.get("categories", [])}
    lines = None
    if items:
        lines = tuple(
            (i["category"].strip().lower(), Decimal(str(i["amount"])).quantize(CENT, ROUND_HALF_UP)) for i in items
        )
        categories |= {category for category, _ in lines}
        total = sum((a for _, a in lines), Decimal(0))
        if total > amount:
            raise ValidationFailed(
                f"The items add up to {rupees(total)}, more than the cart amount of {rupees(amount)}.",
                details=[{"field": "items", "message": "line amounts exceed cartAmount"}],
            )
    known = "categories" in body or bool(items)
    return Cart(amount, frozenset(categories) if known else None, lines)


@dataclass(frozen=True)
class Verdict:
    applicable: bool
    reason_code: str | None
    reason: str | None
    discount: Decimal
    amount_to_qualify: Decimal | None = None


def _refuse(code: str, reason: str, to_qualify: Decimal | None = None) -> Verdict:
    return Verdict(False, code, reason, Decimal(0), to_qualify)


def discount_for(promo: dict[str, Any], base: Decimal) -> Decimal:
    """The discount on ``base`` rupees, half-up to the paisa, capped by maxDiscount and by the base itself."""
    value = Decimal(promo["discount_value"])
    if promo["discount_type"] == "percent":
        discount = percent_of(base, value)
    else:
        discount = value
    if promo["max_discount"] is not None:
        discount = min(discount, Decimal(promo["max_discount"]))
    return max(Decimal(0), min(discount, base)).quantize(CENT)


def judge(promo: dict[str, Any], *, tier: str, cart: Cart, now: str, claim: dict[str, Any] | None = None) -> Verdict:
    """Whether a coupon or offer applies to this member's cart, and if not, the first reason why."""
    if now < promo["valid_from"]:
        return _refuse("not_yet_valid", f"Starts on {ist_date(promo['valid_from'])}")
    if now > promo["valid_until"]:
        return _refuse("expired", f"Expired on {ist_date(promo['valid_until'])}")
    tiers = promo["eligible_tiers"]
    if tiers and tier not in tiers:
        return _refuse("tier_not_eligible", f"Only for {join_words(tiers)} members; you are {tier}")
    if promo.get("single_use") and claim is not None:
        return _refuse("already_used", f"Already used on {ist_date(claim['at'])}; it is one use per member")
    limit = promo.get("usage_limit")
    if limit is not None and promo["times_used"] >= limit:
        return _refuse("usage_limit_reached", f"Fully redeemed: all {limit:,} uses have been taken")
    base, on_what = cart.amount, None
    categories = promo["categories"]
    if categories:
        wanted = join_words(categories)
        if cart.categories is not None and not set(categories) & cart.categories:
            return _refuse("category_not_eligible", f"Only on {wanted}; your cart has none")
        if cart.lines is None:
            # Categories alone cannot say how much of the cart is on them: the discount needs the lines.
            return _refuse(
                "items_required",
                f"Only on {wanted}; the cart's items (category and amount per line) were not given, "
                "so the part of the cart it applies to is unknown",
            )
        base = sum((amount for category, amount in cart.lines if category in categories), Decimal(0))
        on_what = join_words(categories, "or")
    minimum = Decimal(promo["min_cart_amount"])
    if base < minimum:
        short = (minimum - base).quantize(CENT)
        if on_what:
            return _refuse(
                "min_cart_not_met",
                f"Needs at least {rupees(minimum)} of {on_what}; your cart has {rupees(base)} of them",
                short,
            )
        return _refuse(
            "min_cart_not_met", f"Needs a cart of at least {rupees(minimum)}; yours is {rupees(base)}", short
        )
    return Verdict(True, None, None, discount_for(promo, base))


def promo_title(promo: dict[str, Any]) -> str:
    value = Decimal(promo["discount_value"])
    if promo["discount_type"] == "percent":
        text = f"{value.normalize():f}% off"
        if promo["max_discount"] is not None:
            text += f", up to {rupees(promo['max_discount'])}"
    else:
        text = f"{rupees(value)} off"
    if Decimal(promo["min_cart_amount"]) > 0:
        text += f" on {rupees(promo['min_cart_amount'])} or more"
    return text


def _offer_view(promo: dict[str, Any], kind: str, verdict: Verdict) -> dict[str, Any]:
    coupon = kind == "coupon"
    return {
        "kind": kind,
        "code": promo["code"] if coupon else None,
        "offerId": None if coupon else promo["offer_id"],
        "title": promo_title(promo) if coupon else promo["title"],
        "description": promo["description"],
        "discountType": promo["discount_type"],
        "discountValue": money(promo["discount_value"]),
        "maxDiscount": None if promo["max_discount"] is None else money(promo["max_discount"]),
        "minCartAmount": money(promo["min_cart_amount"]),
        "eligibleTiers": promo["eligible_tiers"],
        "categories": promo["categories"],
        "validUntil": promo["valid_until"],
        "singleUse": bool(promo.get("single_use", False)),
        "autoApply": not coupon,
        "estimatedDiscount": money(verdict.discount),
        "isApplicable": verdict.applicable,
        "reason": verdict.reason,
        "reasonCode": verdict.reason_code,
        "amountToQualify": None if verdict.amount_to_qualify is None else money(verdict.amount_to_qualify),
    }


# --- operations ----------------------------------------------------------------------------------


def get_applicable_offers(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    user_id = body["userId"]
    cart = read_cart(body)
    now = clock.now_iso()
    with db.read() as conn:
        member = _member(conn, user_id)
        tiers = storage.all_tiers(conn)
        coupons = storage.all_coupons(conn)
        offers = storage.all_offers(conn)
        claims = storage.claims_of(conn, user_id)
        debt = storage.owed(conn, user_id)
    tier = _tier(tiers, member["tier"])
    listed = [
        _offer_view(c, "coupon", judge(c, tier=member["tier"], cart=cart, now=now, claim=claims.get(c["code"])))
        for c in coupons
    ]
    listed += [_offer_view(o, "automatic", judge(o, tier=member["tier"], cart=cart, now=now)) for o in offers]
    listed.sort(key=lambda o: (not o["isApplicable"], -o["estimatedDiscount"], o["code"] or o["offerId"]))
    best = next((o for o in listed if o["isApplicable"] and o["estimatedDiscount"] > 0), None)
    balance = member["points_balance"]
    point_value = Decimal(tier["point_value"])
    usable = min(balance, int((cart.amount / point_value).to_integral_value(ROUND_FLOOR))) if point_value else 0
    return {
        "userId": user_id,
        "tier": member["tier"],
        "cartAmount": money(cart.amount),
        "pointsBalance": balance,
        "pointValue": money(point_value),
        "pointsValue": money(points_value(balance, tier)),
        "minimumRedeemablePoints": MIN_REDEMPTION_POINTS,
        "redeemablePoints": usable if usable >= MIN_REDEMPTION_POINTS and not debt else 0,
        "offers": listed,
        "bestOffer": (best["code"] or best["offerId"]) if best else None,
        "bestOfferDiscount": best["estimatedDiscount"] if best else 0,
    }


def _coupon(conn: Connection, code: str) -> dict[str, Any]:
    found = storage.coupon(conn, code)
    if found is None:
        raise NotFound(
            f"No coupon with code {code!r}.",
            code="coupon_not_found",
            details=[{"field": "couponCode", "message": "unknown coupon"}],
        )
    return found


def _refusal(code: str, verdict: Verdict) -> BusinessRuleViolation:
    suggestions = []
    if verdict.amount_to_qualify is not None:
        suggestions.append(f"Add {rupees(verdict.amount_to_qualify)} more to the cart to use {code}.")
    if verdict.reason_code in ("expired", "tier_not_eligible", "already_used", "usage_limit_reached"):
        suggestions.append("Ask for the applicable offers to see what this cart can use instead.")
    return BusinessRuleViolation(
        f"{code} cannot be used: {verdict.reason}.",
        code=COUPON_CODES.get(verdict.reason_code, verdict.reason_code),
        details=[
            {
                "field": "items"
                if verdict.reason_code == "items_required"
                else "categories"
                if verdict.reason_code == "category_not_eligible"
                else "cartAmount"
                if verdict.reason_code == "min_cart_not_met"
                else "couponCode",
                "message": verdict.reason,
            }
        ],
        suggestions=suggestions or None,
    )


def _coupon_result(
    code: str,
    user_id: str,
    coupon: dict[str, Any],
    cart_amount: Decimal,
    discount: Decimal,
    committed: bool,
    reference: str | None,
    at: str | None,
) -> dict[str, Any]:
    return {
        "couponCode": code,
        "userId": user_id,
        "description": coupon["description"],
        "cartAmount": money(cart_amount),
        "discountAmount": money(discount),
        "finalAmount": money(max(Decimal(0), cart_amount - discount)),
        "committed": committed,
        "orderReference": reference,
        "committedAt": at,
    }


def apply_coupon(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    user_id = body["userId"]
    code = body["couponCode"].strip().upper()
    reference = body.get("orderReference")
    cart = read_cart(body)
    now = clock.now_iso()
    if body.get("commit", False) and not reference:
        raise ValidationFailed(
            "Committing a coupon needs the orderReference it is used for.",
            details=[{"field": "orderReference", "message": "required when commit is true"}],
        )
    if not body.get("commit", False):
        with db.read() as conn:
            member = _member(conn, user_id)
            coupon = _coupon(conn, code)
            claim = storage.claims_of(conn, user_id).get(code)
        verdict = judge(coupon, tier=member["tier"], cart=cart, now=now, claim=claim)
        if not verdict.applicable:
            raise _refusal(code, verdict)
        return _coupon_result(code, user_id, coupon, cart.amount, verdict.discount, False, reference, None)

    with db.write() as conn:
        member = _member(conn, user_id, lock=True)
        coupon = _coupon(conn, code)
        earlier = storage.coupon_use(conn, code, user_id, reference)
        if earlier is not None:
            if earlier["status"] != "active":
                raise Conflict(
                    f"The use of {code} for {reference} was released when that order was reversed; "
                    "commit it under a new order reference.",
                    code="coupon_use_released",
                    details=[{"field": "orderReference", "message": "released"}],
                )
            # A retried commit for the same order: report the recorded use, never count it twice.
            return _coupon_result(
                code,
                user_id,
                coupon,
                Decimal(earlier["cart_amount"]),
                Decimal(earlier["discount_amount"]),
                True,
                reference,
                earlier["at"],
            )
        claim = storage.claims_of(conn, user_id).get(code)
        verdict = judge(coupon, tier=member["tier"], cart=cart, now=now, claim=claim)
        if not verdict.applicable:
            raise _refusal(code, verdict)
        if coupon["single_use"] and not storage.insert_once(
            conn, storage.coupon_claims, {"code": code, "user_id": user_id, "order_reference": reference, "at": now}
        ):
            raise _refusal(code, _refuse("already_used", "Already used; it is one use per member"))
        if not storage.take_coupon_use(conn, code):
            raise _refusal(code, _refuse("usage_limit_reached", "Fully redeemed: every use has been taken"))
        conn.execute(
            storage.coupon_uses.insert().values(
                code=code,
                user_id=user_id,
                order_reference=reference,
                cart_amount=cart.amount,
                discount_amount=verdict.discount,
                status="active",
                at=now,
            )
        )
    return _coupon_result(code, user_id, coupon, cart.amount, verdict.discount, True, reference, now)


def _redemption_view(row: dict[str, Any], tier: dict[str, Any]) -> dict[str, Any]:
    return {
        "userId": row["user_id"],
        "redemptionId": row["redemption_id"],
        "pointsRedeemed": row["points"],
        "discountAmount": money(row["discount_amount"]),
        "pointsBalance": row["balance_after"],
        "pointsBalanceValue": money(points_value(row["balance_after"], tier)),
        "orderReference": row["order_reference"],
        "status": row["status"],
        "redeemedAt": row["at"],
    }


def redeem_points(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    user_id, points = body["userId"], body["points"]
    reference = body.get("orderReference")
    with db.write() as conn:
        member = _member(conn, user_id, lock=True)
        tier = _tier(storage.all_tiers(conn), member["tier"])
        if points < MIN_REDEMPTION_POINTS:
            raise BusinessRuleViolation(
                f"At least {MIN_REDEMPTION_POINTS} points must be redeemed at a time; {points} were asked for.",
                code="below_minimum_redemption",
                details=[{"field": "points", "message": f"minimum is {MIN_REDEMPTION_POINTS}"}],
            )
        debt = storage.owed(conn, user_id)
        if debt:
            raise BusinessRuleViolation(
                f"{debt} points are owed from a returned or cancelled order whose points had already been "
                "spent; points can be redeemed again once they are paid back by new orders.",
                code="points_owed",
                details=[{"field": "points", "message": f"{debt} points owed"}],
            )
        value = points_value(points, tier)
        if "cartAmount" in body:
            cart_amount = Decimal(str(body["cartAmount"])).quantize(CENT, ROUND_HALF_UP)
            if value > cart_amount:
                most = int((cart_amount / Decimal(tier["point_value"])).to_integral_value(ROUND_FLOOR))
                raise BusinessRuleViolation(
                    f"{points} points are worth {rupees(value)}, more than the cart's {rupees(cart_amount)}; "
                    f"at most {most} points can be used on it.",
                    code="exceeds_cart_amount",
                    details=[{"field": "points", "message": f"at most {most} for this cart"}],
                )
        if reference:
            for earlier in storage.active_redemptions_for_reference(conn, user_id, reference):
                if earlier["points"] == points:  # a retried call for the same order: never deduct twice
                    return _redemption_view(earlier, tier)
                raise Conflict(
                    f"{earlier['points']} points were already redeemed for {reference} "
                    f"({earlier['redemption_id']}); cancel that redemption first to change it.",
                    code="already_redeemed_for_order",
                    details=[{"field": "orderReference", "message": earlier["redemption_id"]}],
                )
        after = storage.add_points(conn, user_id, -points)
        if after is None:
            raise BusinessRuleViolation(
                f"Not enough points: the balance is {member['points_balance']} and {points} were asked for.",
                code="insufficient_points",
                details=[{"field": "points", "message": f"balance is {member['points_balance']}"}],
                suggestions=[f"Redeem up to {member['points_balance']} points."]
                if member["points_balance"] >= MIN_REDEMPTION_POINTS
                else None,
            )
        row = {
            "redemption_id": "RDM-" + secrets.token_hex(5).upper(),
            "user_id": user_id,
            "points": points,
            "discount_amount": value,
            "order_reference": reference,
            "status": "active",
            "balance_after": after["points_balance"],
            "at": clock.now_iso(),
            "cancelled_at": None,
        }
        conn.execute(storage.redemptions.insert().values(**row))
        storage.write_ledger(
            conn,
            user_id,
            "redeem",
            -points,
            after["points_balance"],
            f"Redeemed {points} points for {rupees(value)} off" + (f" ({reference})" if reference else ""),
            reference=row["redemption_id"],
            at=row["at"],
        )
    return _redemption_view(row, tier)


def cancel_redemption(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    user_id, redemption_id = body["userId"], body["redemptionId"]
    with db.write() as conn:
        member = _member(conn, user_id, lock=True)
        row = storage.redemption(conn, redemption_id)
        if row is None or row["user_id"] != user_id:
            raise NotFound.of("redemption", redemption_id, "redemptionId")
        already = not storage.cancel_redemption(conn, redemption_id)
        balance = member["points_balance"]
        if not already:
            why = body.get("reason") or "checkout did not complete"
            balance = _credit(
                conn,
                user_id,
                "reverse",
                row["points"],
                f"Gave back {row['points']} redeemed points ({redemption_id}): {why}",
                reference=redemption_id,
            )["points_balance"]
        tier = _tier(storage.all_tiers(conn), member["tier"])
    return {
        "userId": user_id,
        "redemptionId": redemption_id,
        "status": "cancelled",
        "pointsRestored": row["points"],
        "pointsBalance": balance,
        "pointsValue": money(points_value(balance, tier)),
        "alreadyCancelled": already,
    }


def _moved(row: dict[str, Any] | None) -> dict[str, Any]:
    """The member row after a balance change that cannot fail its guard (a credit, or at most the balance)."""
    if row is None:
        raise RuntimeError("a points change the rules allow was refused by the balance guard")
    return row


def _credit(
    conn: Connection,
    user_id: str,
    kind: str,
    points: int,
    description: str,
    *,
    lifetime: int = 0,
    tier: str | None = None,
    order_id: str | None = None,
    reference: str | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    """Add points to the balance, paying what the member owes first; both moves are in the ledger."""
    after = _moved(storage.add_points(conn, user_id, points, lifetime=lifetime, tier=tier))
    storage.write_ledger(
        conn, user_id, kind, points, after["points_balance"], description, order_id=order_id, reference=reference, at=at
    )
    settle = min(storage.owed(conn, user_id), points)
    if settle:
        left = storage.change_debt(conn, user_id, -settle)
        after = _moved(storage.add_points(conn, user_id, -settle))
        storage.write_ledger(
            conn,
            user_id,
            "reverse",
            -settle,
            after["points_balance"],
            f"Paid back {settle} owed points (spent before their order was reversed); {left} still owed",
            order_id=order_id,
            at=at,
        )
    return after


def _take_back(
    conn: Connection, member: dict[str, Any], points: int, balance: int
) -> tuple[int, int, dict[str, Any], dict[str, Any]]:
    """Take ``points`` earned back: from the balance as far as it goes, the rest becomes a debt.

    Returns (taken from the balance, added to the debt, the member row after, the tier before)."""
    taken = min(points, balance)
    lifetime = max(0, member["lifetime_points"] - points)
    tiers = storage.all_tiers(conn)
    tier = _tier(tiers, member["tier"])
    fits = tier_for_lifetime(tiers, lifetime)
    new_tier = fits if fits["rank"] < tier["rank"] else tier
    after = _moved(
        storage.add_points(
            conn, member["user_id"], -taken, lifetime=lifetime - member["lifetime_points"], tier=new_tier["tier"]
        )
    )
    if points > taken:
        storage.change_debt(conn, member["user_id"], points - taken)
    return taken, points - taken, after, tier


def _order_for(fulfillment: AgentClient, order_id: str, user_id: str) -> dict[str, Any]:
    """The order as the fulfillment agent has it; someone else's order is unknown."""
    try:
        order = fulfillment.call("getOrder", {"orderId": order_id, "userId": user_id})
    except AgentCallError as error:
        if error.status == 404:
            raise NotFound(
                f"No order {order_id} of {user_id}: points are earned only on real orders.",
                details=[{"field": "orderId", "message": "unknown order"}],
            ) from None
        raise _unavailable(error, "points on an order") from None
    if order.get("userId") != user_id:
        raise NotFound(f"No order {order_id} of {user_id}.", details=[{"field": "orderId", "message": "unknown order"}])
    return order


def _unavailable(error: AgentCallError, what: str) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"The {error.agent} service could not be asked ({error.code}), so {what} cannot be checked right now.",
        details=[{"field": "", "message": f"{error.agent}: {error.code}"}],
        retryAfter=5,
    )


def _earn_view(row: dict[str, Any], replayed: bool) -> dict[str, Any]:
    return {
        "userId": row["user_id"],
        "orderId": row["order_id"],
        "amount": money(row["amount"]),
        "pointsEarned": row["points"],
        "pointsBalance": row["balance_after"],
        "tier": row["tier"],
        "previousTier": row["previous_tier"],
        "tierChanged": row["tier"] != row["previous_tier"],
        "earnedAt": row["at"],
        "replayed": replayed,
    }


def _not_theirs(order_id: str) -> Conflict:
    return Conflict(
        f"Order {order_id} belongs to another member's points.",
        code="order_of_another_member",
        details=[{"field": "orderId", "message": "recorded for another userId"}],
    )


def earn_points(db: Database, body: dict[str, Any], *, fulfillment: AgentClient):
    """Points on what the order was paid, read from the fulfillment agent; an amount sent is only checked."""
    user_id, order_id = body["userId"], body["orderId"]
    with db.read() as conn:
        earlier = storage.earning(conn, order_id)
        reversed_ = storage.reversal(conn, order_id) is not None
    if earlier is not None and earlier["user_id"] != user_id:
        raise _not_theirs(order_id)
    if reversed_:
        raise Conflict(
            f"Order {order_id} was cancelled or refunded and its points reversed; it cannot earn.",
            code="order_reversed",
            details=[{"field": "orderId", "message": "already reversed"}],
        )
    if earlier is not None:
        return _earn_view(earlier, True), 200  # it was checked when it earned; a retry earns nothing more
    order = _order_for(fulfillment, order_id, user_id)
    if order.get("status") == "cancelled":
        raise Conflict(
            f"Order {order_id} is cancelled; a cancelled order earns no points.",
            code="order_cancelled",
            details=[{"field": "orderId", "message": "cancelled"}],
        )
    amount = to_paisa(order["total"])
    if "amount" in body and to_paisa(body["amount"]) != amount:
        raise Conflict(
            f"Order {order_id} was paid {rupees(amount)}, not {rupees(body['amount'])}; points are earned on "
            "what was paid.",
            code="amount_mismatch",
            details=[{"field": "amount", "message": f"the order's total is {amount}"}],
        )
    with db.write() as conn:
        # A shopper's first real order makes them a member: the order was just read from fulfillment as theirs.
        member, _ = _enrolled(conn, user_id)
        earlier = storage.earning(conn, order_id)
        if earlier is not None and earlier["user_id"] != user_id:
            raise _not_theirs(order_id)
        if storage.reversal(conn, order_id) is not None:
            raise Conflict(
                f"Order {order_id} was cancelled or refunded and its points reversed; it cannot earn.",
                code="order_reversed",
                details=[{"field": "orderId", "message": "already reversed"}],
            )
        if earlier is not None:
            return _earn_view(earlier, True), 200
        tiers = storage.all_tiers(conn)
        tier = _tier(tiers, member["tier"])
        points = int(amount // 100) * tier["earn_rate"]
        reached = tier_for_lifetime(tiers, member["lifetime_points"] + points)
        new_tier = reached if reached["rank"] > tier["rank"] else tier
        now = clock.now_iso()
        description = (
            f"Earned {points} points on order {order_id} ({rupees(amount)} at "
            f"{tier['earn_rate']} per ₹100, {tier['tier']})"
        )
        if new_tier is not tier:
            description += f"; promoted to {new_tier['tier']}"
        row = {
            "order_id": order_id,
            "user_id": user_id,
            "amount": amount,
            "points": points,
            "balance_after": member["points_balance"] + points,
            "tier": new_tier["tier"],
            "previous_tier": tier["tier"],
            "at": now,
        }
        if not storage.insert_once(conn, storage.earnings, row):
            raise _not_theirs(order_id)  # another member's call recorded this order at the same moment
        after = _credit(
            conn,
            user_id,
            "earn",
            points,
            description,
            lifetime=points,
            tier=new_tier["tier"],
            order_id=order_id,
            at=now,
        )
        if after["points_balance"] != row["balance_after"]:  # part of it paid what was owed
            row["balance_after"] = after["points_balance"]
            conn.execute(
                storage.earnings.update()
                .where(storage.earnings.c.order_id == order_id)
                .values(balance_after=after["points_balance"])
            )
    return _earn_view(row, False), 201


def _reversal_view(row: dict[str, Any], already: bool, owed: int) -> dict[str, Any]:
    return {
        "userId": row["user_id"],
        "orderId": row["order_id"],
        "returnId": row.get("return_id"),
        "reason": row["reason"],
        "pointsReversed": row["points_reversed"],
        "pointsShortfall": row["points_shortfall"],
        "pointsOwed": owed,
        "pointsRestored": row["points_restored"],
        "couponsReleased": row["coupons_released"],
        "pointsBalance": row["balance_after"],
        "lifetimePoints": row["lifetime_after"],
        "tier": row["tier"],
        "previousTier": row["previous_tier"],
        "tierChanged": row["tier"] != row["previous_tier"],
        "reversedAt": row["at"],
        "alreadyReversed": already,
    }


def reverse_points(
    db: Database, body: dict[str, Any], *, fulfillment: AgentClient, post_purchase: AgentClient
) -> dict[str, Any]:
    if body.get("returnId"):
        return _reverse_return(db, body, fulfillment=fulfillment, post_purchase=post_purchase)
    user_id, order_id, reason = body["userId"], body["orderId"], body["reason"].strip() or "order reversed"
    with db.write() as conn:
        member = _member(conn, user_id, lock=True)
        earlier = storage.reversal(conn, order_id)
        if earlier is not None:
            if earlier["user_id"] != user_id:
                raise _not_theirs(order_id)
            return _reversal_view(earlier, True, storage.owed(conn, user_id))
        earned = storage.earning(conn, order_id)
        if earned is not None and earned["user_id"] != user_id:
            raise _not_theirs(order_id)
        now = clock.now_iso()
        balance, restored = member["points_balance"], 0
        if body.get("restoreRedeemed", True):
            # Redeemed points a return of this order already gave back are not given twice.
            already = storage.returned_before(conn, order_id)[2]
            for redemption in storage.active_redemptions_for_reference(conn, user_id, order_id):
                if storage.cancel_redemption(conn, redemption["redemption_id"]):
                    give = max(0, redemption["points"] - already)
                    already = max(0, already - redemption["points"])
                    if not give:
                        continue
                    balance = _credit(
                        conn,
                        user_id,
                        "reverse",
                        give,
                        f"Gave back {give} points redeemed on order {order_id}: {reason}",
                        order_id=order_id,
                        reference=redemption["redemption_id"],
                        at=now,
                    )["points_balance"]
                    restored += give
        released = [
            use["code"]
            for use in storage.active_uses_for_reference(conn, user_id, order_id)
            if storage.give_back_coupon_use(conn, use)
        ]
        member = _member(conn, user_id, lock=True)
        # Points already taken back by returns of this order are not taken twice.
        owed = max(0, (earned["points"] if earned else 0) - storage.returned_before(conn, order_id)[1])
        taken, shortfall, after, tier = _take_back(conn, member, owed, balance)
        if owed:
            description = f"Took back {taken} points earned on order {order_id}: {reason}"
            if shortfall:
                description += f" ({shortfall} had already been spent and are owed)"
            if after["tier"] != tier["tier"]:
                description += f"; tier back to {after['tier']}"
            storage.write_ledger(
                conn, user_id, "reverse", -taken, after["points_balance"], description, order_id=order_id, at=now
            )
        row = {
            "order_id": order_id,
            "user_id": user_id,
            "reason": reason[:300],
            "points_reversed": taken,
            "points_restored": restored,
            "points_shortfall": shortfall,
            "coupons_released": released,
            "balance_after": after["points_balance"],
            "lifetime_after": after["lifetime_points"],
            "tier": after["tier"],
            "previous_tier": tier["tier"],
            "at": now,
        }
        stored = {**row, "coupons_released": json.dumps(released)}
        if not storage.insert_once(conn, storage.reversals, stored):
            raise _not_theirs(order_id)
        debt = storage.owed(conn, user_id)
    return _reversal_view(row, False, debt)


def _return_for(post_purchase: AgentClient, return_id: str, user_id: str, order_id: str) -> dict[str, Any]:
    """The return as the post-purchase agent recorded it: this shopper's, for this order."""
    try:
        found = post_purchase.call("getReturnStatus", {"returnId": return_id, "userId": user_id})
    except AgentCallError as error:
        if error.status == 404:
            raise NotFound.of("return", return_id, "returnId") from None
        raise _unavailable(error, "the points of a return") from None
    if found.get("orderId") != order_id or found.get("userId") != user_id:
        raise Conflict(
            f"Return {return_id} is not a return of {order_id}.",
            code="return_of_another_order",
            details=[{"field": "returnId", "message": f"a return of {found.get('orderId')}"}],
        )
    return found


def _reverse_return(
    db: Database, body: dict[str, Any], *, fulfillment: AgentClient, post_purchase: AgentClient
) -> dict[str, Any]:
    """Take back the points earned on what one return sent back, pro rata of the order's subtotal."""
    user_id, order_id, return_id = body["userId"], body["orderId"], body["returnId"]
    reason = body["reason"].strip() or f"return {return_id}"
    with db.read() as conn:
        _member(conn, user_id)
        earlier = storage.return_reversal(conn, return_id)
    if earlier is None:
        returned = _return_for(post_purchase, return_id, user_id, order_id)
        order = _order_for(fulfillment, order_id, user_id)
        value = sum((to_paisa(item["unitPrice"]) * item["quantity"] for item in returned["items"]), Decimal(0))
        subtotal = to_paisa(order["subtotal"])
    with db.write() as conn:
        member = _member(conn, user_id, lock=True)
        earlier = storage.return_reversal(conn, return_id)
        if earlier is not None:
            if earlier["user_id"] != user_id or earlier["order_id"] != order_id:
                raise _not_theirs(order_id)
            return _return_reversal_view(conn, earlier, member, reason, True)
        earned = storage.earning(conn, order_id)
        if earned is not None and earned["user_id"] != user_id:
            raise _not_theirs(order_id)
        value_before, points_before, restored_before = storage.returned_before(conn, order_id)
        whole = storage.reversal(conn, order_id) is None  # a whole-order reversal already settled everything
        points = earned["points"] if earned and whole else 0
        ratio = min(Decimal(1), (value_before + value) / subtotal) if subtotal else Decimal(1)
        due = int((points * ratio).to_integral_value(ROUND_HALF_UP))
        now = clock.now_iso()
        # The points redeemed on the order paid for part of what came back: that part is given back, pro rata.
        redemptions = storage.active_redemptions_for_reference(conn, user_id, order_id) if whole else []
        redeemed = sum(r["points"] for r in redemptions)
        give = max(0, int((redeemed * ratio).to_integral_value(ROUND_HALF_UP)) - restored_before)
        balance = member["points_balance"]
        if give:
            balance = _credit(
                conn,
                user_id,
                "reverse",
                give,
                f"Gave back {give} of the {redeemed} points redeemed on order {order_id} ({return_id}): {reason}",
                order_id=order_id,
                reference=return_id,
                at=now,
            )["points_balance"]
        if ratio >= 1:  # everything came back: the redemptions are settled
            for redemption in redemptions:
                storage.cancel_redemption(conn, redemption["redemption_id"])
        member = _member(conn, user_id, lock=True)
        taken, shortfall, after, tier = _take_back(conn, member, max(0, due - points_before), balance)
        if taken or shortfall:
            description = (
                f"Took back {taken} points earned on the {rupees(value)} returned from order {order_id} "
                f"({return_id}): {reason}"
            )
            if shortfall:
                description += f" ({shortfall} had already been spent and are owed)"
            if after["tier"] != tier["tier"]:
                description += f"; tier back to {after['tier']}"
            storage.write_ledger(
                conn,
                user_id,
                "reverse",
                -taken,
                after["points_balance"],
                description,
                order_id=order_id,
                reference=return_id,
                at=now,
            )
        row = {
            "return_id": return_id,
            "order_id": order_id,
            "user_id": user_id,
            "returned_value": value,
            "points_taken": taken,
            "points_owed": shortfall,
            "points_restored": give,
            "balance_after": after["points_balance"],
            "at": now,
        }
        if not storage.insert_once(conn, storage.return_reversals, row):
            raise Conflict(
                f"Return {return_id} was reversed at the same moment; ask again for its result.",
                code="concurrent_update",
                details=[{"field": "returnId", "message": "reversed meanwhile"}],
            )
        member = {**member, "tier": after["tier"], "lifetime_points": after["lifetime_points"]}
        return _return_reversal_view(conn, row, member, reason, False, previous_tier=tier["tier"])


def _return_reversal_view(
    conn: Connection,
    row: dict[str, Any],
    member: dict[str, Any],
    reason: str,
    already: bool,
    previous_tier: str | None = None,
) -> dict[str, Any]:
    view = {
        "user_id": row["user_id"],
        "order_id": row["order_id"],
        "return_id": row["return_id"],
        "reason": reason[:300],
        "points_reversed": row["points_taken"],
        "points_shortfall": row["points_owed"],
        "points_restored": row["points_restored"],
        "coupons_released": [],
        "balance_after": row["balance_after"],
        "lifetime_after": member["lifetime_points"],
        "tier": member["tier"],
        "previous_tier": previous_tier or member["tier"],
        "at": row["at"],
    }
    return _reversal_view(view, already, storage.owed(conn, row["user_id"]))


def _ledger_view(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": entry["type"],
        "points": entry["points"],
        "balanceAfter": entry["balance_after"],
        "orderId": entry["order_id"],
        "reference": entry["reference"],
        "at": entry["at"],
        "description": entry["description"],
    }


def get_member(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    user_id = body["userId"]
    with db.read() as conn:
        member = _member(conn, user_id)
        tiers = storage.all_tiers(conn)
        activity = storage.recent_ledger(conn, user_id, body.get("activityLimit", DEFAULT_ACTIVITY))
        debt = storage.owed(conn, user_id)
    tier = _tier(tiers, member["tier"])
    higher = [t for t in tiers if t["rank"] > tier["rank"]]
    nxt = higher[0] if higher else None
    return {
        "userId": user_id,
        "name": member["name"],
        "tier": member["tier"],
        "pointsBalance": member["points_balance"],
        "pointsOwed": debt,
        "pointValue": money(tier["point_value"]),
        "pointsValue": money(points_value(member["points_balance"], tier)),
        "lifetimePoints": member["lifetime_points"],
        "earnRate": tier["earn_rate"],
        "nextTier": nxt["tier"] if nxt else None,
        "pointsToNextTier": max(0, nxt["min_points"] - member["lifetime_points"]) if nxt else None,
        "minimumRedeemablePoints": MIN_REDEMPTION_POINTS,
        "joinedAt": member["joined_at"],
        "recentActivity": [_ledger_view(e) for e in activity],
    }


# --- operator listings (the integrity audit) -------------------------------------------------------


def list_members(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    offset, limit = body.get("offset", 0), body.get("limit", 200)
    with db.read() as conn:
        rows = storage.all_members(conn, offset, limit)
    return {
        "members": [
            {
                "userId": r["user_id"],
                "tier": r["tier"],
                "pointsBalance": r["points_balance"],
                "lifetimePoints": r["lifetime_points"],
            }
            for r in rows
        ],
        "nextOffset": offset + limit if len(rows) == limit else None,
    }


def list_ledger(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    offset, limit = body.get("offset", 0), body.get("limit", 200)
    with db.read() as conn:
        rows = storage.all_ledger(conn, offset, limit)
    return {
        "entries": [
            {
                "entryId": r["id"],
                "userId": r["user_id"],
                "type": r["type"],
                "points": r["points"],
                "balanceAfter": r["balance_after"],
                "orderId": r["order_id"],
                "reference": r["reference"],
                "at": r["at"],
            }
            for r in rows
        ],
        "nextOffset": offset + limit if len(rows) == limit else None,
    }
