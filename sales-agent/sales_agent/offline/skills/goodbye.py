"""Bye."""

from .base import Skill, delegate

SKILL = Skill(
    name="goodbye",
    family="general_chat",
    examples=(
        "bye",
        "goodbye",
        "see you later",
        "that's all for today",
        "good night",
        "nothing else, thanks bye",
        "catch you later",
        "talk to you later",
        "ok, that's all, thanks",
        "cya later",
        "ttyl",
    ),
    plan=delegate("start_goodbye"),
)
