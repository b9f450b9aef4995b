"""Which skill a shopper message is for: by meaning, from each skill's example phrasings.

Every skill's examples are embedded once per process (agentkit.embeddings). A message is scored against
each skill by its nearest examples (the best and the mean of the best three); the keyword rules of
intents._classify give a second opinion, and exact signals (yes/no, an order id, a card or UPI id, a
coupon code, a quantity change) stay rules. ``classify`` returns the skill's name and how sure it is.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from agentkit import embeddings

from .skills import Skill, all_skills

# below this similarity the message is like nothing the shop does
FLOOR = 0.5
# the rules' answer stands unless a skill is this much closer by meaning
OVERRIDE = 0.1


# product-name words of the example phrasings (the catalogue's kind of names), taken out like a real name
_EXAMPLE_NAMES = frozenset(
    "alpine puffer bandra bomber manali hooded denim trucker varanasi zari banarasi phoenix orion mall".split()
)


@dataclass(frozen=True)
class Index:
    names: tuple[str, ...]  # skill name of each example row
    matrix: np.ndarray  # one unit vector per example
    skills: tuple[Skill, ...]


@functools.lru_cache(maxsize=1)
def index() -> Index:
    skills = all_skills()
    names: list[str] = []
    texts: list[str] = []
    from .intents import normalise

    for skill in skills:
        for example in skill.examples:
            names.append(skill.name)
            texts.append(skeleton(normalise(example), _EXAMPLE_NAMES))
    return Index(tuple(names), embeddings.embed(texts), skills)


_SIZE = re.compile(r"\b(?:size|sz|uk|waist)\s*(?:xxs|xs|s|m|l|xl|xxl|2xl|\d{1,2})\b|\b(?:xxs|xs|xl|xxl|2xl)\b")
_LETTER = re.compile(r"(?<=\bin )(?:an? )?(?:s|m|l)\b|\b(?:extra[ -])?(?:small|medium|large)\b")
_MONEY = re.compile(r"(?:₹|rs\.?|inr)?\s*\d+(?:\.\d+)?\s*(?:k|thousand|lakh)?\b(?:\s*(?:rs|rupees|inr|/-))?")
_CODE = re.compile(r"\b[a-z]{3,12}\d{1,5}\b")


@functools.lru_cache(maxsize=1)
def _vocab() -> tuple[re.Pattern, re.Pattern]:
    from . import lexicon as lx

    colours = {c.lower() for c in lx.COLOURS} | {a for a, c in lx.COLOUR_ALIASES.items() if c}
    items = set(lx.CATEGORY_WORDS) | {"saree", "sarees", "kurta", "kurtas", "shoes"}
    colours |= set(lx.CITIES)  # places are slot values too ("and in Pune?")
    colour_re = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, colours), key=len, reverse=True)) + r")\b")
    item_re = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, items), key=len, reverse=True)) + r")\b")
    return colour_re, item_re


def skeleton(text: str, names: frozenset[str] = frozenset()) -> str:
    """The words that carry the intent: slot values (colours, sizes, amounts, codes, product names) taken
    out or made generic ("add the bandra bomber jacket in L black" -> "add the item in")."""
    colour_re, item_re = _vocab()
    text = re.sub(r"\bord-?\d+\b|\border\s+\d{6}\b", "order", text)
    text = _CODE.sub("code", text)
    text = _SIZE.sub(" ", text)
    text = _LETTER.sub(" ", text)
    text = _MONEY.sub(" ", text)
    text = colour_re.sub(" ", text)
    if names:
        text = re.sub(r"\b(?:" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b", " ", text)
    text = re.sub(r"\b(my|shopping|the) bag\b", r"\1 cart", text)
    text = item_re.sub("item", text)
    text = re.sub(r"\bitem(?:\s+item)+\b", "item", text)
    return re.sub(r"\s+", " ", text).strip() or text


@functools.lru_cache(maxsize=1)
def _keyword_rules() -> tuple[tuple[str, re.Pattern], ...]:
    return tuple(
        (skill.name, re.compile("|".join(f"(?:{k})" for k in skill.keywords)))
        for skill in all_skills()
        if skill.keywords
    )


def scores(text: str) -> dict[str, float]:
    """Skill name -> similarity of the message to that skill's nearest examples."""
    idx = index()
    if not text.strip():
        return {}
    sims = idx.matrix @ embeddings.embed_one(text)
    by_skill: dict[str, list[float]] = {}
    for name, sim in zip(idx.names, sims.tolist()):
        by_skill.setdefault(name, []).append(sim)
    out: dict[str, float] = {}
    for name, values in by_skill.items():
        top = sorted(values, reverse=True)[:3]
        out[name] = 0.6 * top[0] + 0.4 * (sum(top) / len(top))
    return out


def nearest(text: str) -> tuple[str, float, float]:
    """(best skill, its score, its margin over the next skill)."""
    ranked = sorted(scores(text).items(), key=lambda kv: kv[1], reverse=True)
    if not ranked:
        return "general_chat", 0.0, 0.0
    best, score = ranked[0]
    margin = score - ranked[1][1] if len(ranked) > 1 else score
    return best, score, margin


_YES = re.compile(
    r"(yes|yeah|yep|yup|sure|ok|okay|please|go ahead|do it|sounds good|alright|y|confirm|yes please|ok sure|"
    r"sure thing|why not|absolutely|haan|haan ji|theek hai|thik hai)[.! ]*"
)
_NO = re.compile(r"(no|nope|nah|no thanks|no, thanks|not now|n|never mind|nevermind|nahi|nahin)[.! ]*")


_VERB_INTENT = {
    "add": "add_to_cart",
    "put": "add_to_cart",
    "remove": "remove_from_cart",
    "delete": "remove_from_cart",
    "drop": "remove_from_cart",
    "reserve": "reserve_in_store",
    "track": "order_status",
    "checkout": "checkout",
    "apply": "apply_coupon",
    "redeem": "redeem_points",
    "exchange": "exchange_item",
    "swap": "exchange_item",
    "return": "return_item",
}
_VERBS = re.compile(r"(?:please |pls |can you |could you )?(" + "|".join(_VERB_INTENT) + r")\b")
_FILLER = frozenset("item in an a the of for me my please pls and or what about how with one size to also too".split())

# off-topic or unsafe: declined whatever else the message says
_OFF_TOPIC = re.compile(
    r"\b(?:weather|temperature outside|forecast|python|java(?:script)?|program(?:ming)?|code|coding|script|"
    r"homework|essay|poem|story|joke|politics|election|prime minister|president|cricket|score|movie|film|"
    r"news|music|song|stock market|shares|invest|crypto|bitcoin|taxes|bomb|explosives?|weapon|gun|hack|"
    r"lock ?pick|pick a lock|drugs|equation|math|capital of|quantum|relativity|translate|pizza|flight|cab|"
    r"medical advice|recipe)\b"
)
_ABUSE = re.compile(r"\b(?:idiot|stupid|useless|dumb|shut up|hate you|moron|loser|bloody)\b")


def classify(text: str, rules: str, names: frozenset[str] = frozenset()) -> str:
    """The skill for ``text`` (normalised, typo-fixed) given the keyword rules' answer ``rules``; ``names``
    are the words of product names the conversation has seen (taken out before matching)."""
    if not text.strip():
        return "general_chat"
    for name, pattern in _keyword_rules():
        if pattern.search(text):
            return name  # a skill's own exact signal (an id format only its agent uses, say)
    if _YES.fullmatch(text):
        return "affirm"
    if _NO.fullmatch(text):
        return "deny"
    if _OFF_TOPIC.search(text) and rules in (
        "general_chat",
        "search",
        "browse",
        "recommend",
        "inventory_check",
        "help",
    ):
        return "decline"
    verb = _VERBS.match(text)
    if verb and rules == _VERB_INTENT.get(verb.group(1)):
        return rules  # a command that starts with its verb ("add …", "reserve …", "track …") says what it is
    abusive = bool(_ABUSE.search(text))
    text = skeleton(text, names)
    if not set(re.findall(r"[a-z']+", text)) - _FILLER:
        return rules  # only slot values ("M in black", "and in Pune?"): the rules and follow-ups decide
    best, score, margin = nearest(text)
    if rules in ("general_chat",):
        # like nothing the shop does: declined politely (with what the shop can do)
        if abusive:
            return "decline"
        return best if score >= FLOOR else "general_chat"
    if best == rules:
        return rules
    all_scores = scores(text)
    if score - all_scores.get(rules, 0.0) >= OVERRIDE:
        return best
    return rules
