"""Points balance, tier and current offers."""

from .base import Skill, delegate

SKILL = Skill(
    name="loyalty",
    family="loyalty",
    examples=(
        "how many points do I have",
        "what's my loyalty tier",
        "any offers for me",
        "show me the deals",
        "what rewards can I get",
        "what coupons are available",
        "am I a gold member",
        "my points balance",
        "what offers do you have",
        "are there any discounts",
        "what deals are on",
        "what's my reward balance",
        "how many loyalty points",
        "current promotions",
        "is there any sale",
        "what benefits do I get as a member",
        "which coupons are there for me",
        "am I a silver member",
        "what membership level am I",
        "which coupons can I use",
    ),
    plan=delegate("start_loyalty"),
    tools=("get_offers_and_points",),
)
