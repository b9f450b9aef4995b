"""The mock payment gateway: deterministic outcomes for cards and UPI ids.

Nothing here keeps, logs or returns a card number or a CVC. ``card_facts`` reduces a card to what
may be stored (brand and last four digits); ``decide_card`` and ``decide_upi`` give the outcome.

Cards (the number must pass the Luhn check, which the domain verifies first):
  expiry month/year in the past -> declined ``expired_card``
  ...4242 -> success; ...1111 -> ``insufficient_funds``; ...2222 -> ``expired_card``;
  ...3333 -> ``processing_error`` (a bank network error; retryable, but this test card always fails);
  any other valid number -> success.
UPI ids: ``<name>@okfail`` -> ``upi_declined``; ``<name>@timeout`` -> ``processing_error`` (retryable);
any other well-formed id -> success.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agentkit.cards import card_brand, luhn_ok  # noqa: F401 - part of the gateway's interface


@dataclass(frozen=True)
class Decline:
    code: str
    message: str
    suggestions: tuple[str, ...]
    retryable: bool = False


SUGGESTIONS = {
    "insufficient_funds": (
        "Try another card",
        "Pay by UPI instead",
        "Use fewer items or redeem loyalty points to lower the total",
    ),
    "expired_card": (
        "Check the expiry date printed on the card and enter it again",
        "Try another card",
        "Pay by UPI instead",
    ),
    "card_processing_error": (
        "Wait a minute and try the payment again; the bank's network did not answer",
        "Try another card",
        "Pay by UPI instead",
    ),
    "upi_declined": (
        "Check that the UPI id is right and that the linked account has enough balance",
        "Try another UPI id",
        "Pay by card instead",
    ),
    "upi_processing_error": (
        "Wait a minute and try the payment again; the UPI app did not answer in time",
        "Pay by card instead",
        "Try another UPI id",
    ),
}

_CARD_DECLINES = {
    "1111": Decline(
        "insufficient_funds", "The card was declined: insufficient funds.", SUGGESTIONS["insufficient_funds"]
    ),
    "2222": Decline(
        "expired_card", "The card was declined: the bank says it has expired.", SUGGESTIONS["expired_card"]
    ),
    "3333": Decline(
        "processing_error",
        "The card could not be charged: a network error at the bank. Nothing was charged; the payment can be retried.",
        SUGGESTIONS["card_processing_error"],
        retryable=True,
    ),
}


def card_facts(number: str) -> tuple[str, str]:
    """All that may be kept of a card: (brand, last four digits)."""
    return card_brand(number), number[-4:]


def is_expired(exp_month: int, exp_year: int, today: datetime) -> bool:
    """A card is good through the last day of its expiry month."""
    return (exp_year, exp_month) < (today.year, today.month)


def decide_card(last4: str, exp_month: int, exp_year: int, today: datetime) -> Decline | None:
    if is_expired(exp_month, exp_year, today):
        return Decline(
            "expired_card", f"The card expired at the end of {exp_month:02d}/{exp_year}.", SUGGESTIONS["expired_card"]
        )
    return _CARD_DECLINES.get(last4)


def simulated_decline(last4: str) -> str | None:
    """The mock processor's verdict on a card number, decided once when it is tokenized."""
    decline = _CARD_DECLINES.get(last4)
    return decline.code if decline else None


def decide_token(simulated: str | None, exp_month: int, exp_year: int, today: datetime) -> Decline | None:
    """The outcome of charging a tokenized card: its expiry now, then the verdict kept with the token."""
    if is_expired(exp_month, exp_year, today):
        return decide_card("", exp_month, exp_year, today)
    if simulated is None:
        return None
    return next(d for d in _CARD_DECLINES.values() if d.code == simulated)


def decide_upi(upi_id: str) -> Decline | None:
    handle = upi_id.rsplit("@", 1)[1].lower()
    if handle == "okfail":
        return Decline("upi_declined", "The UPI payment was declined by the payer's bank.", SUGGESTIONS["upi_declined"])
    if handle == "timeout":
        return Decline(
            "processing_error",
            "The UPI payment timed out before the payer's app answered. "
            "Nothing was charged; the payment can be retried.",
            SUGGESTIONS["upi_processing_error"],
            retryable=True,
        )
    return None


def mask_upi(upi_id: str) -> str:
    """``priya.sharma@okaxis`` -> ``pr***@okaxis``: the handle and two letters, never the whole id."""
    name, handle = upi_id.rsplit("@", 1)
    keep = 2 if len(name) > 4 else 1
    return f"{name[:keep]}***@{handle.lower()}"
