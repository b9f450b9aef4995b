"""Cancel an order that has not shipped: first what it will do, then, after the shopper's yes, the cancellation."""

from __future__ import annotations

import re
from typing import Any

from .base import Skill


def plan(planner: Any, s: dict, memory: Any) -> Any:
    return planner.calls(
        planner.call(
            "cancel_order",
            order_id=s.get("order_id"),
            reason=s.get("cancel_reason"),
            confirm=True if s.get("confirm") else None,
        )
    )


def read(fixed: str, raw: str, slots: dict, memory: Any, note: str | None) -> None:
    m = re.search(r"\b(?:because|as|since|reason:?)\s+(.{3,200})$", raw, re.I)
    if m:
        slots["cancel_reason"] = m.group(1).strip()
    for key in ("category", "term", "noun", "product_name", "query", "product_id", "product_ref", "city"):
        slots.pop(key, None)


def follow(planner: Any, intent: Any, results: list, memory: Any) -> Any:
    """A preview becomes a question whose "yes" cancels (the tool checks the shopper answered it)."""
    from ..model import Step

    preview = next((r for r in results if r.tool == "cancel_order" and r.ok and r.data.get("confirmationNeeded")), None)
    if preview is None:
        return None
    text = reply("cancel_order", preview.args, preview.data, memory) or ""
    slots = {"order_id": preview.data["orderId"], "confirm": True}
    return Step(reply=text, offer={"intent": "cancel_order", "slots": slots})


def reply(tool: str, args: dict, data: Any, memory: Any) -> str | None:
    from .. import replies as rp

    if tool != "cancel_order" or not isinstance(data, dict):
        return None
    oid = data.get("orderId")
    if data.get("confirmationNeeded"):
        items = "; ".join(
            f"{i.get('name')}{rp.variant_text(i.get('size'), i.get('color'))} × {i.get('quantity', 1)}"
            for i in data.get("items") or []
        )
        effects = "\n".join(f"• {e[0].upper() + e[1:]}" for e in data.get("effects") or [])
        return (
            f"Order **{oid}** ({items}) is {str(data.get('status', '')).replace('_', ' ')}. Cancelling it means:\n"
            f"{effects}\nShall I cancel it? (yes/no)"
        )
    if data.get("alreadyCancelled"):
        return f"Order **{oid}** is already cancelled."
    text = f"Order **{oid}** is cancelled."
    note = str(data.get("note") or "")
    refund = re.search(r"(Rs [\d,]+(?:\.\d+)?) refunded", note)
    if refund:
        amount = float(refund.group(1)[3:].replace(",", ""))
        text += f" {rp.rupees(amount)} is refunded to your original payment method."
    elif "Refund not made yet" in note:
        text += " The refund could not be made just yet; it is retried and you will get it in full."
    return text + " The items are back on sale."


SKILL = Skill(
    name="cancel_order",
    family="support",
    examples=(
        "cancel my order ORD-100012",
        "I want to cancel my order",
        "please cancel the order I just placed",
        "cancel order 100004",
        "I don't want the order anymore, cancel it",
        "can I cancel my last order",
        "mera order cancel kar do",
        "cancel the whole order",
    ),
    plan=plan,
    read=read,
    follow=follow,
    reply=reply,
    tools=("cancel_order",),
    keywords=(
        r"\bcancel(?:l?ing|led)? (?:my |the |this |that |an |our )?(?:whole |entire |last |latest |recent |new )?"
        r"order\b(?! confirmation| (?:i'm|i am|we're) (?:paying|placing|about to))",
        r"\bcancel(?:l?ing)?\b.{0,30}\bord-?\d{6}",
        r"\bord-?\d{6}\b.{0,20}\bcancel",
        r"\border (?:cancel|radd) kar",
        r"\bcancel (?:it|the order|my order),? i (?:changed|don't|dont)",
    ),
)
