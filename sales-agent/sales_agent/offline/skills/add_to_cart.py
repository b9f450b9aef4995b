"""Put a product (size, colour, quantity) in the cart."""

from .base import Skill, delegate

SKILL = Skill(
    name="add_to_cart",
    family="add_to_cart",
    examples=(
        "add it to my cart",
        "add the first one in M",
        "i'll take the black one in L",
        "put two of these in my bag",
        "add the denim jacket in size 32 blue",
        "buy this in medium",
        "add it in 9 Black",
        "yes add that one",
        "throw in the socks too",
        "add the Varanasi Zari Banarasi Saree in red",
        "cart mein daal do",
        "I want this one in XL",
        "put it in the cart",
        "add that to my bag",
        "i'll buy it",
        "add one in large",
        "yes put the second one in my cart",
        "add this item to basket",
    ),
    plan=delegate("start_add_to_cart"),
    slots=("product_id", "size", "color"),
    tools=("add_to_cart", "get_product_details", "search_products"),
    product=True,
)
