"""Look around a category or the whole catalogue."""

from .base import Skill, delegate

SKILL = Skill(
    name="browse",
    family="browse",
    examples=(
        "show me kurtas",
        "what jackets do you have",
        "browse dresses",
        "show me your collection",
        "what do you sell",
        "let me see some sneakers",
        "what's new in footwear",
        "show me the ethnic wear range",
        "i want to look at tops",
        "display the accessories",
        "kurta dikhao",
        "saree dikhao",
        "show me sarees",
        "what categories are there",
        "let me see the catalogue",
        "show me all products",
        "what do you have",
        "browse the store",
        "browse the summer collection",
        "what jackets are there",
    ),
    plan=delegate("start_browse"),
    tools=("search_products",),
)
