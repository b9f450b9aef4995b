"""A person in customer care: a support ticket with the conversation's summary, and its id for the shopper."""

from __future__ import annotations

from typing import Any

from .base import Skill


def plan(planner: Any, s: dict, memory: Any) -> Any:
    said = " ".join(str(s.get("text") or "").split())
    subject = said[:120] if said else "The shopper asked to talk to a person"
    return planner.calls(planner.call("contact_human", subject=subject, order_id=s.get("order_id")))


def read(fixed: str, raw: str, slots: dict, memory: Any, note: str | None) -> None:
    for key in ("category", "term", "noun", "product_name", "query", "product_id", "product_ref", "city"):
        slots.pop(key, None)


def reply(tool: str, args: dict, data: Any, memory: Any) -> str | None:
    if tool != "contact_human" or not isinstance(data, dict) or not data.get("ticketId"):
        return None
    about = f" about order {data['orderId']}" if data.get("orderId") else ""
    return (
        f"I've passed this to our customer care team{about}: your ticket is **{data['ticketId']}**. "
        "A person picks it up with our conversation so far — quote the ticket id if you contact us again."
    )


SKILL = Skill(
    name="human_handoff",
    family="support",
    examples=(
        "how do I contact customer care?",
        "talk to a human",
        "I want to speak to a real person",
        "connect me to customer support",
        "customer care number please",
        "can someone from your team call me",
        "get me an agent",
        "I want to complain to a manager",
        "kisi insaan se baat karni hai",
        "escalate this to a person",
    ),
    plan=plan,
    read=read,
    reply=reply,
    tools=("contact_human",),
    keywords=(
        r"\b(?:talk|speak|chat) (?:to|with) (?:a |an |some )?"
        r"(?:human|person|real person|agent|someone|somebody|executive|"
        r"representative|manager)\b",
        r"\b(?:contact|call|reach|connect (?:me )?(?:to|with)) (?:your |the )?"
        r"(?:customer (?:care|support|service)|support"
        r" team|helpdesk|help desk)\b",
        r"\bcustomer (?:care|support|service) (?:number|phone|email|contact)\b",
        r"^(?!.*\bare you\b).*\b(?:human|real person|live agent)\b",
        r"\bescalate\b",
    ),
)
