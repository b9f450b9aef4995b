"""Tell more about one product: material, description, reviews."""

from .base import Skill, delegate

SKILL = Skill(
    name="product_details",
    family="search",
    examples=(
        "tell me more about the first one",
        "what is it made of",
        "details of the denim jacket",
        "describe that kurta",
        "what fabric is the second one",
        "more info on this",
        "how does the puffer fit",
        "is the saree pure silk",
        "does it have pockets",
        "is the jacket warm",
        "what's it like",
        "how heavy is it",
        "tell me about this jacket",
        "is it machine washable",
        "what sizes does it come in",
        "does it have a hood",
        "what's the return window on this",
    ),
    plan=delegate("start_product_details"),
    tools=("get_product_details", "search_products"),
    product=True,
)
