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
        "what can you help me with",
        "how can you help",
        "guide me please",
        "what should I ask",
    ),
    plan=delegate("start_help"),
)
