"""Thanks."""

from .base import Skill, delegate

SKILL = Skill(
    name="thanks",
    family="general_chat",
    examples=(
        "thanks",
        "thank you so much",
        "thx",
        "that's great, thanks",
        "cheers",
        "appreciate it",
    ),
    plan=delegate("start_thanks"),
)
