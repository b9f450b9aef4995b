"""Offers, coupons and points (the loyalty agent), priced on the cart and kept on it for checkout.

get_offers_and_points {tier, pointsBalance, pointsValue, redeemablePoints, bestOffer, bestOfferDiscount,
                      offers: [{code|offerId, title, isApplicable, estimatedDiscount, reason}]}
apply_coupon         {couponCode, discountAmount, finalAmount, description}
redeem_points        {pointsToRedeem, pointsValue, pointsBalance}
"""

from __future__ import annotations

import re

from langchain.tools import ToolRuntime

from agentkit.money import format_inr

from ..checkout.pricing import loyalty_fields
from ..context import SalesContext
from ..errors import ToolFailure
from .common import cart_or_fail, clean
from .registry import declare, service, user_id


@declare(("loyalty", "getApplicableOffers"))
def get_offers_and_points(runtime: ToolRuntime[SalesContext]):
    """Offers and coupons that apply to the current cart (and why others do not), plus the points balance."""
    parts, uid = service(runtime), user_id(runtime)
    cart = parts.store.cart(uid)
    body = {"userId": uid, "cartAmount": cart["subtotal"], **loyalty_fields(cart["lines"])}
    r = parts.clients.call("loyalty", "getApplicableOffers", body)
    offers = [
        clean(
            code=o.get("code"),
            offerId=o.get("offerId"),
            title=o["title"],
            isApplicable=o["isApplicable"],
            estimatedDiscount=o["estimatedDiscount"],
            autoApply=o["autoApply"],
            reason=o.get("reason"),
            amountToQualify=o.get("amountToQualify"),
        )
        for o in r["offers"][:8]
    ]
    return {
        "tier": r["tier"],
        "cartAmount": r["cartAmount"],
        "pointsBalance": r["pointsBalance"],
        "pointsValue": r["pointsValue"],
        "pointValue": r["pointValue"],
        "minimumRedeemablePoints": r["minimumRedeemablePoints"],
        "redeemablePoints": r["redeemablePoints"],
        "bestOffer": r["bestOffer"],
        "bestOfferDiscount": r["bestOfferDiscount"],
        "offers": offers,
        "couponOnCart": cart["couponCode"],
        "pointsOnCart": cart["redeemPoints"],
    }


@declare(("loyalty", "applyCoupon"))
def apply_coupon(runtime: ToolRuntime[SalesContext], code: str):
    """Price a coupon code on the current cart and keep it for checkout."""
    parts, uid = service(runtime), user_id(runtime)
    code = (code or "").strip().upper()
    if not re.fullmatch(r"[A-Z0-9_-]{2,40}", code):
        raise ToolFailure("invalid_argument", f"{code!r} is not a coupon code.")
    cart = cart_or_fail(parts.store, uid)
    body = {
        "userId": uid,
        "couponCode": code,
        "cartAmount": cart["subtotal"],
        **loyalty_fields(cart["lines"]),
        "commit": False,
    }
    r = parts.clients.call("loyalty", "applyCoupon", body)
    parts.store.set_coupon(uid, r["couponCode"])
    return {
        "couponCode": r["couponCode"],
        "description": r["description"],
        "cartAmount": r["cartAmount"],
        "discountAmount": r["discountAmount"],
        "finalAmount": r["finalAmount"],
        "note": "Saved on the cart; it is used when the order is placed.",
    }


@declare(("loyalty", "getMember"))
def redeem_points(runtime: ToolRuntime[SalesContext], points: int):
    """Use loyalty points at checkout (checked against the balance now, deducted when the order is placed)."""
    parts, uid = service(runtime), user_id(runtime)
    points = int(points)
    if points < 0:
        raise ToolFailure("invalid_argument", "points must be zero or more.")
    if points == 0:
        parts.store.set_redeem_points(uid, 0)
        return {"pointsToRedeem": 0, "note": "No points will be used."}
    cart = cart_or_fail(parts.store, uid)
    member = parts.clients.call("loyalty", "getMember", {"userId": uid, "activityLimit": 1})
    minimum = member["minimumRedeemablePoints"]
    if points < minimum:
        raise ToolFailure(
            "below_minimum_redemption",
            f"At least {minimum} points can be redeemed at a time.",
            agent="loyalty",
            operation="getMember",
        )
    if points > member["pointsBalance"]:
        raise ToolFailure(
            "insufficient_points",
            f"You have {member['pointsBalance']} points, fewer than {points}.",
            suggestions=[f"Redeem up to {member['pointsBalance']} points."],
            agent="loyalty",
            operation="getMember",
        )
    value = round(points * float(member["pointValue"]), 2)
    if value >= cart["subtotal"]:
        raise ToolFailure(
            "exceeds_cart_amount",
            f"{points} points are worth {format_inr(value)}, more than the cart.",
            agent="loyalty",
            operation="getMember",
        )
    parts.store.set_redeem_points(uid, points)
    return {
        "pointsToRedeem": points,
        "pointsValue": value,
        "pointsBalance": member["pointsBalance"],
        "note": "Saved on the cart; the points are deducted when the order is placed.",
    }
