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
    ),
    plan=delegate("start_redeem_points"),
    tools=("redeem_points", "get_offers_and_points"),
)
