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
    ),
    plan=delegate("start_cancel_checkout"),
    tools=("cancel_checkout",),
)
