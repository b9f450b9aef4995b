"""Chat about the assistant itself: a bot? how are you? who made you?"""

from .base import Skill, delegate

SKILL = Skill(
    name="small_talk",
    family="general_chat",
    examples=(
        "are you a bot?",
        "how are you",
        "who made you",
        "are you a real person",
        "what's your name",
        "are you human",
        "how's your day going",
        "you're funny",
        "tell me about yourself",
        "are you an ai",
        "am I chatting with a robot",
        "who are you",
        "what are you",
        "are you a chatbot",
        "do you have feelings",
        "how old are you",
    ),
    plan=delegate("start_small_talk"),
)
