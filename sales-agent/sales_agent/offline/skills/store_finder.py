"""The shop's stores in a city ("which stores do you have in Bengaluru?")."""

from __future__ import annotations

from typing import Any

from .base import Skill


def plan(planner: Any, s: dict, memory: Any) -> Any:
    return planner.calls(planner.call("find_stores", city=s.get("city")))


def read(fixed: str, raw: str, slots: dict, memory: Any, note: str | None) -> None:
    for key in ("category", "term", "noun", "product_name", "query", "product_id", "product_ref", "size"):
        slots.pop(key, None)


def reply(tool: str, args: dict, data: Any, memory: Any) -> str | None:
    if tool != "find_stores" or not isinstance(data, dict):
        return None
    stores = data.get("stores") or []
    city = data.get("city") or args.get("city")
    if not stores:
        return f"We have no store in {city} yet — home delivery reaches many cities; ask me about delivery there."
    if city:
        lines = [f"Our stores in **{city}**:"]
        for st in stores:
            lines.append(f"• **{st['name']}** — {st['address']}, {st['postalCode']} (open {st['openingHours']})")
        return "\n".join(lines)
    by_city: dict[str, list[str]] = {}
    for st in stores:
        by_city.setdefault(st["city"], []).append(st["name"])
    lines = ["Our stores:"] + [f"• **{c}**: {', '.join(names)}" for c, names in by_city.items()]
    return "\n".join(lines) + "\nAsk “which stores are in <city>?” for addresses and opening hours."


SKILL = Skill(
    name="store_finder",
    family="inventory_check",
    examples=(
        "which stores do you have in Bengaluru?",
        "where are your stores",
        "is there a store in Chennai",
        "store locations in Delhi",
        "do you have a showroom in Hyderabad",
        "what are the store timings in Mumbai",
        "find a store near Pune",
        "address of your Kolkata store",
        "list all your stores",
    ),
    plan=plan,
    read=read,
    reply=reply,
    tools=("find_stores",),
    keywords=(
        r"^(?!.*\b(?:have|has|stock|stocks|carry|carries|sell|sells)\b (?:it|this|that|them|the|one|these|those)\b)"
        r".*\b(?:which|what|list|all|any|find)(?: all)?(?: of)? (?:your |the )?"
        r"(?:stores|outlets|showrooms|shops|branches)\b",
        r"\bwhere are (?:your|the) (?:stores|outlets|showrooms|shops|branches)\b",
        r"\bstore (?:locations?|locator|finder|timings|hours|address)\b",
        r"^(?:is there|are there|do you have) (?:a |any )?(?:store|stores|showroom|outlet|shop)s? (?:in|near|at)\b",
    ),
)
