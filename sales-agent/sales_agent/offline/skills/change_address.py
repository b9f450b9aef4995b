"""Deliver an order that has not shipped to another address ("change the delivery address of ORD-100012 to …")."""

from __future__ import annotations

from typing import Any

from .base import Skill

ASK = "Which address should it go to? Write it with the PIN code, like “Flat 3, 14 Park Street, Kolkata 700016”."


def plan(planner: Any, s: dict, memory: Any) -> Any:
    from ..model import Step

    if not s.get("address"):
        return Step(reply=ASK, awaiting=["address"])
    return planner.calls(planner.call("change_order_address", order_id=s.get("order_id"), address=s["address"]))


def read(fixed: str, raw: str, slots: dict, memory: Any, note: str | None) -> None:
    for key in ("category", "term", "noun", "product_name", "query", "product_id", "product_ref", "city", "size"):
        slots.pop(key, None)


def reply(tool: str, args: dict, data: Any, memory: Any) -> str | None:
    from .. import replies as rp

    if tool != "change_order_address" or not isinstance(data, dict):
        return None
    text = f"Done — order **{data.get('orderId')}** will now be delivered to {data.get('deliverTo')}."
    if data.get("estimatedDelivery"):
        text += f" Expected by {rp.when(data['estimatedDelivery'])}."
    return text


SKILL = Skill(
    name="change_address",
    family="support",
    examples=(
        "change the delivery address of ORD-100012",
        "I want to change the address on my order",
        "update the shipping address for my order",
        "please deliver my order to a different address",
        "wrong address on my order, can you fix it",
        "send my order to another address",
        "address badalna hai order ka",
    ),
    plan=plan,
    read=read,
    reply=reply,
    slots=("address",),
    tools=("change_order_address",),
    keywords=(
        r"\b(?:change|update|edit|correct|modify|fix|switch)\b.{0,40}\b(?:delivery |shipping )?address\b",
        r"\b(?:deliver|ship|send)\b.{0,25}\b(?:order|ord-?\d{6})\b.{0,10}\bto (?:a |my )?"
        r"(?:different|another|new|other)"
        r" address\b",
        r"\bwrong address\b",
        r"\b(?:go|goes|going|sent|delivered|shipped) to (?:a |my )?(?:new|different|another|other) address\b",
        r"\baddress badal",
    ),
)
