"""Start a return for a delivered order."""

from .base import Skill, delegate

SKILL = Skill(
    name="return_item",
    family="support",
    examples=(
        "I want to return it",
        "return the jacket",
        "it doesn't fit, I'd like a refund",
        "send it back",
        "how do I return the shoes I bought",
        "the shirt is damaged, refund please",
        "start a return for my last order",
        "I want my money back",
        "I want to send the jacket back",
        "return this order",
    ),
    plan=delegate("start_return_item"),
    tools=("return_item", "order_status"),
    product=True,
)
