"""Take an item (or everything) out of the cart."""

from .base import Skill, delegate

SKILL = Skill(
    name="remove_from_cart",
    family="add_to_cart",
    examples=(
        "remove the jacket from my cart",
        "drop the muffler",
        "delete the second item",
        "take the shoes out",
        "empty my cart",
        "clear my basket",
        "I don't want the kurta anymore",
        "get rid of the scarf",
        "remove everything from the cart",
        "take the jacket out of the cart",
        "clear the cart",
        "clear everything",
        "remove it from my bag",
        "I don't want it anymore, remove it",
        "delete the tee from my basket",
        "take it out",
        "discard the shoes",
        "remove the last item",
    ),
    plan=delegate("start_remove_from_cart"),
    tools=("remove_from_cart", "view_cart"),
    product=True,
)
