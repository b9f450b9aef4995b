"""Apply a coupon code to the cart."""

from .base import Skill, delegate

SKILL = Skill(
    name="apply_coupon",
    family="loyalty",
    examples=(
        "apply coupon FEST10",
        "use code WELCOME15",
        "I have a promo code SAVE20",
        "add voucher DIWALI500",
        "apply the discount code",
        "can I use my coupon",
        "apply this coupon",
        "I've got a discount code",
        "use my voucher",
    ),
    plan=delegate("start_apply_coupon"),
    tools=("apply_coupon", "get_offers_and_points"),
)
