"""Change how many of a cart item."""

from .base import Skill, delegate

SKILL = Skill(
    name="update_quantity",
    family="add_to_cart",
    examples=(
        "make it 2",
        "change the quantity to 3",
        "actually just one kurta",
        "I only need one of those",
        "set the socks to 4",
        "update the jeans to 2 pairs",
        "reduce it to one",
        "I want 3 instead",
        "increase it to 2",
        "just one is enough",
        "reduce the quantity",
        "i need two of those instead",
    ),
    plan=delegate("start_update_quantity"),
    slots=("quantity",),
    tools=("update_cart_quantity", "view_cart"),
    product=True,
)
