"""Cancel an item put aside in a store."""

from __future__ import annotations

import re
from typing import Any

from .base import Skill

RESERVATION = re.compile(r"\b(rsv-?\d{6,})\b", re.I)


def plan(planner: Any, s: dict, memory: Any) -> Any:
    return planner.calls(planner.call("cancel_reservation", reservation_id=s.get("reservation_id")))


def read(fixed: str, raw: str, slots: dict, memory: Any, note: str | None) -> None:
    m = RESERVATION.search(raw)
    if m:
        slots["reservation_id"] = m.group(1).upper().replace("RSV", "RSV-").replace("--", "-")
    for key in ("category", "term", "noun", "product_name", "query", "product_id", "product_ref"):
        slots.pop(key, None)


def reply(tool: str, args: dict, data: Any, memory: Any) -> str | None:
    from .. import replies as rp

    if tool != "cancel_reservation" or not isinstance(data, dict):
        return None
    name = (memory.products.get(data.get("productId") or "", {}) or {}).get("name") or "the item"
    where = f" at {data['storeName']}" if data.get("storeName") else ""
    return (
        f"Your reservation **{data.get('reservationId')}** of {name}"
        f"{rp.variant_text(data.get('size'), data.get('color'))}{where} is cancelled — it's back on sale."
    )


SKILL = Skill(
    name="cancel_reservation",
    family="inventory_check",
    examples=(
        "cancel my reservation",
        "I don't need the reservation anymore",
        "cancel the store reservation",
        "please cancel RSV-100001",
        "release the item you kept aside for me",
        "I won't come to the store, cancel the booking",
        "unreserve it",
    ),
    plan=plan,
    read=read,
    reply=reply,
    tools=("cancel_reservation",),
    keywords=(
        r"\bcancel(?:l?ing)? (?:my |the |this |that )?(?:store )?(?:reservation|reservations|booking)\b",
        r"\brsv-?\d{6}",
        r"\bunreserve\b",
        r"\b(?:don't|dont|do not|no longer) (?:need|want) (?:the |my )?reservation\b",
        r"\brelease (?:my |the )?reservation\b",
    ),
)
