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
FLOOR = 0.42
# the rules' answer stands unless a skill is this much closer by meaning
OVERRIDE = 0.08


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
            texts.append(normalise(example))
    return Index(tuple(names), embeddings.embed(texts), skills)


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


def classify(text: str, rules: str) -> str:
    """The skill for ``text`` (normalised, typo-fixed) given the keyword rules' answer ``rules``."""
    if not text.strip():
        return "general_chat"
    if _YES.fullmatch(text):
        return "affirm"
    if _NO.fullmatch(text):
        return "deny"
    best, score, margin = nearest(text)
    if rules in ("general_chat",):
        return best if score >= FLOOR else "general_chat"
    if best == rules:
        return rules
    all_scores = scores(text)
    if score - all_scores.get(rules, 0.0) >= OVERRIDE:
        return best
    return rules
