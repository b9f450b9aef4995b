"""Card-number arithmetic shared by the payment agent, the chat's card vault and the tests."""

from __future__ import annotations

import re


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a string of digits (anything else fails)."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_brand(digits: str) -> str:
    """The brand from the card's BIN (its first digits): visa, mastercard, amex, rupay or unknown."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if 51 <= int(digits[:2] or 0) <= 55 or 2221 <= int(digits[:4] or 0) <= 2720:
        return "mastercard"
    if digits[:2] in {"60", "65", "81", "82"} or digits.startswith("508"):
        return "rupay"
    return "unknown"


# A card number as people type it: 13 to 19 digits, in groups split by spaces or dashes.
_CARD_RUN_RE = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
_SECURITY_CODE_RE = re.compile(r"\b(?:cvv|cvc|cvv2|security code)\s*(?:is|:|-)?\s*[0-9]{3,4}\b", re.IGNORECASE)


def redact_card_numbers(text: str) -> str:
    """The text with every card-like number cut down to its last four digits ("card ending 4242") and every
    security code taken out, for text that is stored or shown to people (a support ticket's summary). Any run
    of 13 to 19 digits counts, passing the Luhn check or not: a mistyped card number is still a card number."""

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"[^0-9]", "", match.group(0))
        return f"card ending {digits[-4:]}"

    return _SECURITY_CODE_RE.sub("[security code removed]", _CARD_RUN_RE.sub(card, text))
