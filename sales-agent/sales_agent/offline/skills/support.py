"""Problems with an order or a payment: what the shop can do, and an offer to pass it to a person."""

from .base import Skill, delegate

SKILL = Skill(
    name="support",
    family="support",
    examples=(
        "my payment failed",
        "I have a complaint",
        "how long is the refund",
        "my item arrived damaged",
        "money was debited but the order failed",
        "my card got charged twice",
        "there is an issue with my order",
        "what happens if the item is defective",
        "whom do I contact for a complaint",
        "my payment went through but I got no order",
        "something is wrong with what I received",
        "I got the wrong item",
    ),
    plan=delegate("start_support"),
)
