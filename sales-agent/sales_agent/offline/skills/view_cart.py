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
        "what's in my shopping bag",
        "let me see my basket",
        "what items have I picked",
        "show me what's in the cart",
        "cart total please",
        "review my cart",
        "what's in there so far",
        "what did I put in my cart",
        "what am I getting",
        "how many things are in my cart",
    ),
    plan=delegate("start_view_cart"),
    tools=("view_cart",),
)
