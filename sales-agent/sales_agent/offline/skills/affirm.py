"""Yes."""

from .base import Skill, delegate

SKILL = Skill(
    name="affirm",
    family="general_chat",
    examples=(
        "yes",
        "yeah sure",
        "ok",
        "go ahead",
        "sounds good",
        "yes please",
        "haan",
        "theek hai",
    ),
    plan=delegate("start_affirm"),
)
