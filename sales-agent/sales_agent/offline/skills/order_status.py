"""Where an order is, or what was ordered before."""

from .base import Skill, delegate

SKILL = Skill(
    name="order_status",
    family="support",
    examples=(
        "where is my order",
        "track order ORD-100001",
        "has my package shipped",
        "when will my order arrive",
        "what did I order last time?",
        "mera order kahan hai?",
        "order status please",
        "my order hasn't arrived yet",
        "show my last order",
        "mera order kab aayega",
        "did my parcel ship",
        "when will it be delivered",
        "what did I buy before",
        "is my order delivered",
        "order kab tak aayega",
        "where has my package reached",
    ),
    plan=delegate("start_order_status"),
    tools=("order_status",),
)
