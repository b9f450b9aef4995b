"""Policies and problems: returns window, delivery, payment issues, a human."""

from .base import Skill, delegate

SKILL = Skill(
    name="support",
    family="support",
    examples=(
        "what's your return policy",
        "how long does delivery take",
        "do you ship internationally",
        "my payment failed",
        "I want to talk to a human",
        "what is the exchange policy",
        "is cash on delivery available",
        "how long is the refund",
        "my item arrived damaged",
        "do you charge for shipping",
        "I have a complaint",
    ),
    plan=delegate("start_support"),
)
