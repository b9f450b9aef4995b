"""The shopper's address book: save an address, list the saved ones."""

from __future__ import annotations

from typing import Any

from .base import Skill


def plan(planner: Any, s: dict, memory: Any) -> Any:
    if s.get("address"):
        return planner.calls(planner.call("save_address", address=s["address"], label=s.get("address_label")))
    return planner.calls(planner.call("list_addresses"))


def read(fixed: str, raw: str, slots: dict, memory: Any, note: str | None) -> None:
    from ..intents import has

    for label in ("home", "work", "office"):
        if has(fixed, f"{label} address", f"as {label}", f"my {label}"):
            slots["address_label"] = label.title()
    for key in ("category", "term", "noun", "product_name", "query", "product_id", "product_ref", "city", "size"):
        slots.pop(key, None)


def reply(tool: str, args: dict, data: Any, memory: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if tool == "save_address":
        label = f" as {data['label']}" if data.get("label") else ""
        return f"Saved{label}: {data.get('deliverTo')}."
    if tool == "list_addresses":
        entries = data.get("addresses") or []
        if not entries:
            return "You have no saved addresses yet — tell me one with its PIN code to save it."
        lines = ["Your saved addresses:"]
        lines += [f"• {(a.get('label') + ': ') if a.get('label') else ''}{a.get('deliverTo')}" for a in entries]
        return "\n".join(lines)
    return None


SKILL = Skill(
    name="saved_addresses",
    family="checkout",
    examples=(
        "show my saved addresses",
        "which addresses do you have for me",
        "save my address Flat 3, 14 Park Street, Kolkata 700016",
        "add a new address to my account",
        "save this as my home address",
        "list my addresses",
    ),
    plan=plan,
    read=read,
    reply=reply,
    tools=("save_address", "list_addresses"),
    keywords=(
        r"\b(?:my |the )?saved addresses\b",
        r"\b(?:list|show|see|view)(?: me)?(?: all)? (?:my |the )?addresses\b",
        r"\bsave (?:my |this |the |a |new )*(?:home |work |office )?address\b",
        r"\baddress book\b",
        r"\baddresses\b.{0,30}\bsaved\b|\bsaved\b.{0,20}\baddress",
    ),
)
