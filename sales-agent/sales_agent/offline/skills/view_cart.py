"""Show what is in the cart."""

from .base import Skill, delegate

SKILL = Skill(
    name="view_cart",
    family="add_to_cart",
    examples=(
        "what's in my cart",
        "show my cart",
        "view basket",
        "what have I added so far",
        "cart dikhao",
        "how much is my cart",
        "open my bag",
        "list my items",
    ),
    plan=delegate("start_view_cart"),
    tools=("view_cart",),
)
