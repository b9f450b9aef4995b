"""Pay and place the order (card or UPI, delivery or click and collect)."""

from .base import Skill, delegate

SKILL = Skill(
    name="checkout",
    family="checkout",
    examples=(
        "checkout",
        "I'm ready to pay",
        "place my order",
        "pay with upi",
        "proceed to payment",
        "let's complete the purchase",
        "buy now",
        "pay by card ending 4242",
        "checkout kar do",
        "order place karo",
        "I want to check out now",
        "I want to pay for my cart",
        "buy everything in my cart",
        "wrap up the order and pay",
        "complete the order",
        "let's finish and pay",
        "confirm and place the order",
        "I'm ready to buy, I'll collect it from the store",
        "pay and I'll pick it up at the store",
    ),
    plan=delegate("start_checkout"),
    slots=("payment",),
    tools=("view_cart", "prepare_checkout", "place_order"),
)
