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
    ),
    plan=delegate("start_loyalty"),
    tools=("get_offers_and_points",),
)
