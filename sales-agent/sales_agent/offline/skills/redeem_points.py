"""Spend loyalty points on the cart."""

from .base import Skill, delegate

SKILL = Skill(
    name="redeem_points",
    family="loyalty",
    examples=(
        "redeem 500 points",
        "use my points",
        "apply my loyalty points",
        "spend 1000 points on this order",
        "can I pay with points",
        "redeem my rewards",
        "use 500 pts on my order",
        "put my points towards this order",
    ),
    plan=delegate("start_redeem_points"),
    tools=("redeem_points", "get_offers_and_points"),
)
