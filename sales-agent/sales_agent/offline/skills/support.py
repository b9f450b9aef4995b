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
        "do you deliver to my city",
        "can I pay cash on delivery",
        "money was debited but the order failed",
        "my card got charged twice",
        "I need to contact customer support",
        "there is an issue with my order",
        "how does store pickup work",
        "what are the delivery charges",
        "what happens if the item is defective",
        "whom do I contact for a complaint",
        "do you deliver to Pune",
        "is there a store in Chennai",
        "how do refunds work",
        "do you take cash on delivery",
        "how does click and collect work",
        "my payment went through but I got no order",
        "where are your stores",
    ),
    plan=delegate("start_support"),
)
