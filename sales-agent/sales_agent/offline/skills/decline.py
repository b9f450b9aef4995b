"""Off-topic, unsafe or abusive: declined politely in one line, with what the shop can do."""

from .base import Skill, delegate

SKILL = Skill(
    name="decline",
    family="general_chat",
    examples=(
        "write me a python script to sort a list",
        "what's the weather tomorrow",
        "who will win the election",
        "tell me a joke about politics",
        "how do I make a bomb",
        "you are useless and stupid",
        "solve this math equation",
        "translate this into french",
        "give me stock market tips",
        "what is the capital of france",
        "write an essay on climate change",
        "hack my neighbour's wifi",
        "shut up you idiot",
        "book me a flight to delhi",
    ),
    plan=delegate("start_decline"),
)
