"""The shop's policies (returns, exchanges, delivery, payment), in the words the post-purchase agent serves."""

from __future__ import annotations

from typing import Any

from .base import Skill


def plan(planner: Any, s: dict, memory: Any) -> Any:
    return planner.calls(planner.call("get_policy", topic=s.get("topic") or "all"))


def read(fixed: str, raw: str, slots: dict, memory: Any, note: str | None) -> None:
    from ..intents import has

    if has(fixed, "exchange", "exchanges", "swap", "replace", "replacement"):
        slots["topic"] = "exchanges"
    elif has(fixed, "return", "returns", "refund", "refunds", "money back", "send back"):
        slots["topic"] = "returns"
    elif has(fixed, "pay", "payment", "payments", "cod", "cash", "card", "cards", "upi", "emi", "wallet", "netbanking"):
        slots["topic"] = "payment"
    elif has(fixed, "deliver", "delivery", "shipping", "ship", "courier", "click and collect", "pickup", "pick up"):
        slots["topic"] = "delivery"
    for key in ("category", "term", "noun", "product_name", "query", "product_id", "product_ref", "payment_method"):
        slots.pop(key, None)


def reply(tool: str, args: dict, data: Any, memory: Any) -> str | None:
    if tool != "get_policy" or not isinstance(data, dict):
        return None
    parts = [f"**{p.get('title')}**: {p.get('summary')}" for p in data.get("policies") or [] if isinstance(p, dict)]
    return "\n\n".join(parts) if parts else None


SKILL = Skill(
    name="policy",
    family="support",
    examples=(
        "what is your return policy",
        "which payment methods do you take",
        "how many days do I have to return something",
        "can I pay cash when it arrives",
        "what is the exchange policy",
        "how long do refunds take",
        "do you accept UPI",
        "can I pay with a credit card",
        "what's your delivery policy",
        "how do returns work",
        "tell me your policies",
        "how does click and collect work",
        "return policy kya hai",
    ),
    plan=plan,
    read=read,
    reply=reply,
    tools=("get_policy",),
    keywords=(
        r"\b(?:return|returns|refund|refunds|exchange|exchanges|delivery|shipping|payment|cancellation)"
        r" polic(?:y|ies)\b",
        r"\bpolic(?:y|ies) (?:on|for|about) (?:returns?|refunds?|exchanges?|delivery|shipping|payments?)\b",
        r"\b(?:which|what) (?:payment (?:methods|options|modes)|ways (?:to|can i) pay)\b",
        r"\bpayment (?:methods|options|modes) (?:do you|you) (?:take|accept|have|support)\b",
        r"\bdo you (?:take|accept|support) "
        r"(?:upi|cards?|credit cards?|debit cards?|cash|cod|emi|wallets?|netbanking)\b",
        r"\b(?:is )?(?:cash on delivery|cod) (?:available|possible|allowed|an option)\b",
        r"\bdo you (?:offer|have|do) (?:cash on delivery|cod)\b",
        r"\b(?:your|the shop's|shop) polic(?:y|ies)\b",
    ),
)
