"""Hello: greet the shopper by name (their profile, once)."""

from .base import Skill, delegate

SKILL = Skill(
    name="greeting",
    family="greeting",
    examples=(
        "hi",
        "hello there",
        "hey",
        "good morning",
        "namaste",
        "hey there, anyone around?",
        "hola",
        "hi, good evening",
        "yo",
        "hello, I'm back",
        "hey there",
        "hi hi",
        "hello again",
        "heyo",
        "good day",
    ),
    plan=delegate("start_greeting"),
    tools=("my_profile",),
)
