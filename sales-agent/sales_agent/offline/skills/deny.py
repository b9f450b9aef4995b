"""No."""

from .base import Skill, delegate

SKILL = Skill(
    name="deny",
    family="general_chat",
    examples=(
        "no",
        "nope",
        "not now",
        "no thanks",
        "never mind",
        "nahi",
    ),
    plan=delegate("start_deny"),
)
