"""Delivery to a city: how long, what it costs, click and collect there ("how much is delivery to Pune")."""

from __future__ import annotations

import re
from typing import Any

from .base import Skill


def plan(planner: Any, s: dict, memory: Any) -> Any:
    return planner.calls(planner.call("delivery_options", city=s.get("city") or memory.shopper.get("city")))


def follow(planner: Any, intent: Any, results: list, memory: Any) -> Any:
    """No city to ask about (a new shopper without one on file): the shop's delivery rules instead."""
    tried = {r.tool for r in results}
    missing = any(r.tool == "delivery_options" and "missing_city" in str(r.data) for r in results)
    if missing and "get_policy" not in tried:
        return planner.calls(planner.call("get_policy", topic="delivery"))
    return None


def read(fixed: str, raw: str, slots: dict, memory: Any, note: str | None) -> None:
    if not slots.get("city"):  # a city the shop does not know: asked all the same, so the agent says so
        m = re.search(
            r"\b(?:deliver(?:y)?|ship(?:ping)?|send|courier)\s+(?:to|in)\s+([a-z][a-z .]{2,30}?)"
            r"(?:\s+(?:and|how|what|too|also|please)\b|[?.!,]|$)",
            fixed,
        )
        if m and m.group(1).strip() not in ("my city", "me", "my home", "home", "my place", "my address", "you"):
            slots["city"] = m.group(1).strip().title()
    for key in ("category", "term", "noun", "product_name", "query", "product_id", "product_ref", "size"):
        slots.pop(key, None)


def reply(tool: str, args: dict, data: Any, memory: Any) -> str | None:
    from .. import replies as rp

    if tool != "delivery_options" or not isinstance(data, dict):
        return None
    lines = [f"Delivery to **{data.get('city')}**:"]
    for o in data.get("options") or []:
        days = o.get("estimatedDays") or {}
        span = (
            f"{days.get('min')}–{days.get('max')} days"
            if days.get("min") != days.get("max")
            else ("next day" if days.get("min") == 1 else f"{days.get('min')} days")
        )
        fee = "free" if not o.get("fee") else rp.rupees(o["fee"])
        if o.get("type") == "ship_to_home":
            line = f"• Home delivery in {span} (by {rp.when(o.get('estimatedDate'))}), {fee}"
            if o.get("freeAbove") is not None and o.get("fee"):
                line += f" — free on orders above {rp.rupees(o['freeAbove'])}"
        else:
            line = f"• Click and collect, {fee}, ready {span} ({rp.when(o.get('estimatedDate'))})"
            if o.get("stores"):
                line += " at " + ", ".join(o["stores"])
        lines.append(line)
    return "\n".join(lines)


SKILL = Skill(
    name="delivery_info",
    family="support",
    examples=(
        "how much is delivery to Pune and how long",
        "do you deliver to Chennai",
        "how long does shipping take",
        "what are the delivery charges to Jaipur",
        "how many days for delivery to Kolkata",
        "is delivery free",
        "when will it reach if I order today",
        "delivery to my city kitne din mein",
        "what's the shipping cost",
        "can you ship to Lucknow",
    ),
    plan=plan,
    read=read,
    follow=follow,
    reply=reply,
    tools=("delivery_options", "get_policy"),
)
