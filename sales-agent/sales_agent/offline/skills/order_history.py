"""The shopper's orders, a page at a time ("list all my orders", then "show more")."""

from __future__ import annotations

from typing import Any

from .base import Skill


def plan(planner: Any, s: dict, memory: Any) -> Any:
    from ..model import Step

    cursor = None
    if s.get("more") and "list_orders" in memory.next_cursor:
        cursor = memory.next_cursor["list_orders"]
        if not cursor:
            return Step(reply="That's all of your orders — there are no older ones.")
    return planner.calls(planner.call("list_orders", cursor=cursor, status=s.get("order_filter")))


def read(fixed: str, raw: str, slots: dict, memory: Any, note: str | None) -> None:
    from ..intents import has

    if has(fixed, "more", "next", "older", "rest", "earlier ones", "previous page"):
        slots["more"] = True
    for word, status in (
        ("delivered", "delivered"),
        ("on the way", "in_transit"),
        ("in transit", "in_transit"),
        ("cancelled", "cancelled"),
        ("canceled", "cancelled"),
    ):
        if has(fixed, word):
            slots["order_filter"] = status
    for key in ("category", "term", "noun", "product_name", "query", "product_id", "product_ref"):
        slots.pop(key, None)


def reply(tool: str, args: dict, data: Any, memory: Any) -> str | None:
    from .. import replies as rp

    if tool != "list_orders" or not isinstance(data, dict):
        return None
    orders = data.get("orders") or []
    if not orders:
        return "You have no orders yet." if not args.get("cursor") else "There are no older orders."
    head = "Your orders, newest first:" if not args.get("cursor") else "Older orders:"
    lines = [head]
    for o in orders:
        status = str(o.get("status", "")).replace("_", " ")
        line = f"• **{o['orderId']}** — {status}, placed {rp.when(o.get('placedAt'))}, {rp.rupees(o.get('total'))}"
        if o.get("items"):
            line += ": " + "; ".join(str(i) for i in o["items"][:3])
        if o.get("status") == "delivered" and o.get("deliveredAt"):
            line += f" · delivered {rp.when(o['deliveredAt'])}"
        elif o.get("status") not in ("cancelled", "delivered") and o.get("estimatedDelivery"):
            line += f" · expected {rp.when(o['estimatedDelivery'])}"
        lines.append(line)
    if data.get("more"):
        lines.append("There are older orders — say “show more” to see them.")
    return "\n".join(lines)


SKILL = Skill(
    name="order_history",
    family="support",
    examples=(
        "list all my orders",
        "show me my orders",
        "my order history",
        "what have I ordered so far",
        "show my past orders",
        "all the orders I placed",
        "show more orders",
        "next page of my orders",
        "older orders please",
        "list my previous orders",
        "mere saare orders dikhao",
        "which orders are on the way",
    ),
    plan=plan,
    read=read,
    reply=reply,
    tools=("list_orders",),
    keywords=(
        r"\border history\b",
        r"\b(?:all|past|previous|old|older|earlier|recent) (?:of )?(?:my |the )?orders\b",
        r"\b(?:list|show|see|view|display)(?: me)?(?: all)?(?: of)? (?:my |the )?orders\b",
        r"\bmore orders\b",
        r"\bnext page of (?:my )?orders\b",
        r"\borders (?:i(?: have|'ve)? (?:placed|made)|so far)\b",
        r"\bsaare orders\b",
    ),
)
