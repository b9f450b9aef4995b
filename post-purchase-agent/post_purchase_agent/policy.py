"""The shop's policies (``getPolicy``), from one source: the rules the agents enforce.

The words are data (``seed/policy.json``); every number in them is filled in from the rule that enforces it
at the moment of the answer: the return and exchange windows from this agent's ``RETURN_WINDOW_DAYS``, the
exchange hold from the inventory contract, the payment methods from the payment contract. The delivery fee
and its threshold are the fulfillment agent's rule; they sit in the seed beside the text, and a test checks
them against what fulfillment charges.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from agentkit.contracts import load_contract
from agentkit.money import format_inr

from . import domain

TOPICS = ("returns", "exchanges", "delivery", "payment")
METHOD_NAMES = {"card": "cards", "upi": "UPI"}


@functools.lru_cache(maxsize=1)
def policy_data() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "seed" / "policy.json").read_text(encoding="utf-8"))


def payment_methods() -> list[str]:
    """What the payment agent takes, from its contract (processPayment's method)."""
    return list(load_contract("payment").operation("processPayment").request_schema["properties"]["method"]["enum"])


def enforced_facts(topic: str) -> dict[str, Any]:
    """The numbers of one topic as the agents enforce them now."""
    seeded = dict(policy_data()["topics"][topic]["facts"])
    if topic == "returns":
        return {"returnWindowDays": domain.return_window_days(), **seeded}
    if topic == "exchanges":
        hold = domain.exchange_hold_seconds(load_contract("inventory"))
        return {"exchangeWindowDays": domain.return_window_days(), "exchangeHoldDays": hold // 86400, **seeded}
    if topic == "payment":
        return {"paymentMethods": payment_methods(), "currency": "INR", **seeded}
    return seeded


def _words(facts: dict[str, Any]) -> dict[str, str]:
    """Facts as a sentence shows them: rupees in Indian grouping, methods by name."""
    shown: dict[str, str] = {}
    for name, value in facts.items():
        if name in ("deliveryFee", "freeDeliveryAbove", "clickAndCollectFee"):
            shown[name] = format_inr(value)
        elif name == "paymentMethods":
            shown[name] = " and ".join(METHOD_NAMES.get(m, m) for m in value)
        else:
            shown[name] = str(value)
    return shown


def policy(topic: str) -> dict[str, Any]:
    entry = policy_data()["topics"][topic]
    facts = enforced_facts(topic)
    return {
        "topic": topic,
        "title": entry["title"],
        "summary": entry["summary"].format(**_words(facts)),
        "facts": facts,
    }


def get_policy(db: Any, body: dict[str, Any]) -> dict[str, Any]:
    topic = body["topic"]
    return {"topic": topic, "policies": [policy(t) for t in (TOPICS if topic == "all" else (topic,))]}
