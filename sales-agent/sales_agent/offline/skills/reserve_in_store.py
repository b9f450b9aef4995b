"""Hold a product at a store for the shopper to try and collect."""

from .base import Skill, delegate

SKILL = Skill(
    name="reserve_in_store",
    family="inventory_check",
    examples=(
        "reserve it at the Pune store",
        "reserve the denim trucker jacket in L indigo at Orion Mall",
        "hold one for me in store",
        "can you keep it aside for me",
        "I want to try it on in the store",
        "put it aside at Phoenix",
        "book one at the Bandra store",
        "hold one for me at the store in Bangalore",
        "reserve it for pickup",
        "keep one on hold at the mall",
        "I'll collect it from the store, please reserve",
        "can you hold one in Mumbai for me",
        "hold it for me",
    ),
    plan=delegate("start_reserve_in_store"),
    slots=("product_id", "size", "color", "store"),
    tools=("reserve_in_store", "get_product_details", "search_products"),
    product=True,
)
