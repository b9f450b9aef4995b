"""Yes and no in the shopper's words: the one lexicon the order confirmation (session.py) and the offline
model's affirm and deny intents (offline/intents.py) both read."""

from __future__ import annotations

import re

YES = frozenset(
    {
        "y",
        "yes",
        "yeah",
        "yep",
        "yup",
        "ok",
        "okay",
        "ok sure",
        "sure",
        "sure thing",
        "alright",
        "absolutely",
        "why not",
        "sounds good",
        "please",
        "yes please",
        "confirm",
        "confirmed",
        "approve",
        "approved",
        "go ahead",
        "do it",
        "proceed",
        "place it",
        "yes, place it",
        "place the order",
        "place order",
        "pay",
        "pay now",
        "buy",
        "haan",
        "ha",
        "ji",
        "👍",
    }
)
NO = frozenset(
    {
        "n",
        "no",
        "nope",
        "nah",
        "no thanks",
        "no, cancel",
        "not now",
        "wait",
        "stop",
        "never mind",
        "nevermind",
        "don't",
        "dont",
        "do not",
        "reject",
        "cancel",
        "cancel it",
        "cancel the order",
        "nahi",
        "na",
        "👎",
    }
)
# A longer answer that starts with one of these ("yes, go on", "no I changed my mind") is that answer.
YES_FIRST = frozenset({"yes", "y", "ok", "okay", "sure", "confirm", "yeah", "yep"})
NO_FIRST = frozenset({"no", "n", "nope", "cancel", "nah"})


def bare(text: str) -> str:
    """The answer without case, trailing punctuation or repeated spaces: "Yes please!!" -> "yes please"."""
    cleaned = re.sub(r"[.!?\s]+$", "", (text or "").strip().lower())
    return re.sub(r"\s+", " ", cleaned)


def is_yes(text: str) -> bool:
    return bare(text) in YES


def is_no(text: str) -> bool:
    return bare(text) in NO


def classify_answer(text: str) -> bool | None:
    """True for yes, False for no, None for anything else (while a confirmation is pending)."""
    cleaned = bare(text)
    if cleaned in YES:
        return True
    if cleaned in NO:
        return False
    first = re.split(r"[\s,]+", cleaned, maxsplit=1)[0] if cleaned else ""
    if first in YES_FIRST and "not" not in cleaned and "cancel" not in cleaned:
        return True
    if first in NO_FIRST:
        return False
    return None
