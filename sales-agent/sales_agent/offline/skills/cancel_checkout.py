"""Undo a checkout that is being prepared."""

from .base import Skill, delegate

SKILL = Skill(
    name="cancel_checkout",
    family="checkout",
    examples=(
        "cancel the checkout",
        "stop the payment",
        "don't place the order",
        "abort the purchase",
        "cancel this transaction",
        "I changed my mind about paying",
        "don't go ahead with the order",
        "cancel my payment",
        "cancel the order while I am paying",
        "stop the order, I don't want to pay",
        "halt the checkout",
        "stop checking out",
    ),
    plan=delegate("start_cancel_checkout"),
    tools=("cancel_checkout",),
)
