"""What the assistant can do."""

from .base import Skill, delegate

SKILL = Skill(
    name="help",
    family="general_chat",
    examples=(
        "help",
        "what can you do",
        "how does this work",
        "what can I ask you",
        "I'm confused, how do I use this",
        "show me the commands",
    ),
    plan=delegate("start_help"),
)
