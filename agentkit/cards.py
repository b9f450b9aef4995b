"""Card-number arithmetic shared by the payment agent, the chat's card vault and the tests."""

from __future__ import annotations


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
