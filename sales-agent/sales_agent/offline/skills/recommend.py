"""Suggest products for an occasion, a recipient, a budget or to go with something."""

from .base import Skill, delegate

SKILL = Skill(
    name="recommend",
    family="recommend",
    examples=(
        "what would you recommend",
        "suggest something for a wedding",
        "gift for my dad, he likes formal stuff",
        "what goes well with a banarasi saree",
        "anniversary present for my wife under 3000",
        "what should I wear to a beach holiday in Goa",
        "any ideas for a birthday gift for my sister",
        "complete the look for this jacket",
        "what's trending right now",
        "help me pick an outfit for diwali",
        "something for my mom under 2000",
        "what matches these jeans",
        "bestsellers",
        "what's hot this season",
        "gift for my girlfriend",
        "what should I get my brother for his birthday",
        "party wear ideas",
        "suggest something to go with my jeans",
        "something for a date",
        "gift for my friend",
        "present for my colleague",
        "any suggestions for me",
        "what do you suggest for me",
    ),
    plan=delegate("start_recommend"),
    tools=("recommend_products",),
)
