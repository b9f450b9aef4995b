"""Is a product in stock (size, colour, city, store)?"""

from .base import Skill, delegate

SKILL = Skill(
    name="inventory_check",
    family="inventory_check",
    examples=(
        "is it in stock",
        "is the bomber jacket sold out?",
        "how many trench coats in M beige are left online?",
        "do you have this in size L",
        "is the kurta available in Mumbai",
        "any left in blue",
        "which stores have it",
        "check stock for the sneakers in 9",
        "can I get it in red",
        "is it available near me",
        "stock hai kya",
        "do you have it in my size",
        "is this in stock in my city",
        "is it available in Delhi",
        "can I find it in a store",
        "any stock left",
        "is the first one available",
        "check if it's in stock",
        "which stores in Delhi have the fleece jacket",
        "what stores have it",
        "which shops stock it",
    ),
    plan=delegate("start_inventory_check"),
    slots=("product_id",),
    tools=("check_stock", "search_products", "find_alternatives"),
    product=True,
)
