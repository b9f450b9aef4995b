"""Gift-wrap an item of an order already placed ("gift wrap my order ORD-100012")."""

from __future__ import annotations

import re
from typing import Any

from .base import Skill


def plan(planner: Any, s: dict, memory: Any) -> Any:
    product = s.get("product_id") if s.get("product_ref") in ("name", None) and s.get("product_id") else None
    return planner.calls(
        planner.call(
            "wrap_placed_order",
            order_id=s.get("order_id"),
            product_id=product,
            option=s.get("wrap_option") or "standard",
            message=s.get("card_message"),
            recipient_name=s.get("recipient_name"),
        )
    )


def follow(planner: Any, intent: Any, results: list, memory: Any) -> Any:
    """The order has several items: the one the shopper named ("the sneakers"), else the default reply asks."""
    from ..intents import match_product, normalise

    if any(r.tool == "wrap_placed_order" and r.ok for r in results) or len(results) > 1:
        return None
    asked = next((r for r in results if r.tool == "wrap_placed_order" and "which_item" in str(r.data)), None)
    if asked is None:
        return None
    items = {}
    for choice in (asked.data.get("error") or {}).get("suggestions") or []:
        m = re.fullmatch(r"(.+) \((P\d+)\)", str(choice))
        if m:
            items[m.group(2)] = {"name": m.group(1)}
    pid, _ = match_product(normalise(str(intent.slots.get("text") or "")), items, list(items), generic_ok=True)
    if not pid:
        return None
    return planner.calls(planner.call("wrap_placed_order", **{**asked.args, "product_id": pid}))


def read(fixed: str, raw: str, slots: dict, memory: Any, note: str | None) -> None:
    from ...tools.gift_wrapping import read_gift_wrap

    read_gift_wrap(fixed, raw, slots, memory, note)
    if slots.get("product_ref") == "pronoun":
        slots.pop("product_id", None)


def reply(tool: str, args: dict, data: Any, memory: Any) -> str | None:
    from .. import replies as rp

    if tool != "wrap_placed_order" or not isinstance(data, dict) or not isinstance(data.get("giftWrap"), dict):
        return None
    wrap = data["giftWrap"]
    card = f", with a card saying “{wrap['message']}”" if wrap.get("message") else ""
    return (
        f"Added a {str(wrap.get('optionName') or 'gift').lower()} gift wrap for the {wrap.get('name')} on order "
        f"**{data.get('orderId')}**{card}. It's wrapped before the order is packed; no extra payment is taken."
        + (f" (Worth {rp.rupees(wrap['price'])}.)" if wrap.get("price") else "")
    )


SKILL = Skill(
    name="wrap_order",
    family="checkout",
    examples=(
        "gift wrap my order ORD-100012",
        "can you gift wrap the order I already placed",
        "wrap my last order as a gift",
        "I forgot to add gift wrapping to my order",
        "add a premium wrap to order 100005",
        "please wrap the items in my existing order",
    ),
    plan=plan,
    read=read,
    follow=follow,
    reply=reply,
    tools=("wrap_placed_order",),
    keywords=(
        r"\b(?:gift[ -]?wrap\w*|wrap\w*)\b.{0,40}\b(?:ord-?|order\s*#?)\d{6}",
        r"\b(?:ord-?|order\s*#?)\d{6}\b.{0,40}\b(?:gift[ -]?wrap\w*|wrap\w*)\b",
        r"\b(?:gift[ -]?wrap\w*|wrap\w*)\b.{0,40}\b(?:placed|last|previous|existing|already|my|the) order\b",
        r"\bwrap(?:ping)?\b.{0,30}\b(?:order|orders) (?:i|we) (?:placed|made)\b",
        r"\border\b.{0,30}\b(?:already placed|i placed)\b.{0,30}\bwrap",
    ),
)
