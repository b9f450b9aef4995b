"""Swap a delivered item for another size or colour."""

from .base import Skill, delegate

SKILL = Skill(
    name="exchange_item",
    family="support",
    examples=(
        "exchange it for a size L",
        "swap the jeans for 34",
        "can I get the dress in blue instead",
        "exchange my order for a bigger size",
        "replace the shirt with an M",
        "the shoes are tight, exchange for size 10",
        "swap it for a smaller size",
        "change the size of my order",
    ),
    plan=delegate("start_exchange_item"),
    tools=("exchange_item", "order_status"),
    product=True,
)
