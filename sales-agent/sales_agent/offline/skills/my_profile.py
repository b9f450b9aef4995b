"""What the shop knows about the shopper."""

from .base import Skill, delegate

SKILL = Skill(
    name="my_profile",
    family="loyalty",
    examples=(
        "show my profile",
        "what do you know about me",
        "my account details",
        "what are my saved sizes",
        "who am I",
        "my preferences",
        "show me my account",
        "my saved details",
    ),
    plan=delegate("start_my_profile"),
    tools=("my_profile",),
)
