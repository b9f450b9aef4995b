"""Find products matching a description, size, colour or budget."""

from .base import Skill, delegate

SKILL = Skill(
    name="search",
    family="search",
    examples=(
        "winter jackets under 5000",
        "looking for black sneakers in size 9",
        "I need a red dress for under 3000",
        "find me cotton kurtas between 1000 and 2000",
        "do you have linen shirts",
        "any running shoes below 4k",
        "cheapest jeans you have",
        "search for a leather wallet",
        "i'm shopping for formal trousers",
        "something warm for winter under 6000",
        "jacket 3000 ke andar",
        "nothing above 5000 rupees",
        "sneakers not more than 3500",
        "a handbag around 2000",
        "a waterproof jacket for hiking",
        "do you sell wallets",
        "a cotton saree under 3000",
        "any good shoes for running",
        "I'm looking for a winter coat",
        "something under 1000",
        "white sneakers",
        "do you sell sunglasses",
        "do you have yoga mats",
    ),
    plan=delegate("start_search"),
    tools=("search_products",),
)
