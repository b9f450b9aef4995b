"""How a checkout is paid: the method chosen when it is prepared (``choose``), what the payment agent is sent
when it is placed (``charge``), and what the shopper is shown of it (``public``)."""

from __future__ import annotations

import re
from typing import Any

from ..cards import CardVault
from ..errors import ToolFailure

UPI_RE = re.compile(r"^[a-zA-Z0-9.\-_]{2,64}@[a-zA-Z]{2,64}$")


def choose(vault: CardVault, user_id: str, method: str, card_ref: str | None, upi_id: str | None) -> dict[str, Any]:
    """The payment method of a new checkout: a UPI id, or a card the payment agent tokenized, checked."""
    if method == "upi":
        upi = (upi_id or "").strip()
        if not UPI_RE.match(upi):
            raise ToolFailure(
                "invalid_upi",
                "A UPI id looks like name@bank, e.g. priya.sharma@okaxis.",
                suggestions=["Ask the shopper for their UPI id."],
            )
        return {"method": "upi", "upiId": upi, "upiMasked": mask_upi(upi)}
    if method != "card":
        raise ToolFailure("invalid_argument", "payment_method must be card or upi.")
    card = vault.get(user_id, card_ref)
    if card is None:
        raise ToolFailure(
            "card_not_on_file",
            "No card to charge: please type the card number with its expiry (MM/YY) and CVC "
            "in the chat. Only the last four digits are kept.",
            suggestions=["Type the card number, expiry and CVC", "Pay by UPI instead"],
        )
    if not card.luhn_valid:
        raise ToolFailure(
            "invalid_card",
            f"The card ending {card.last4} is not a valid card number.",
            suggestions=["Check the number and type it again", "Pay by UPI instead"],
        )
    if card.exp_year is not None and not 2000 <= card.exp_year <= 2099:
        raise ToolFailure(
            "invalid_card",
            f"The expiry year {card.exp_year} of the card ending {card.last4} is not valid.",
            suggestions=["Type the expiry as MM/YY, e.g. 12/28"],
        )
    if not card.complete:
        raise ToolFailure(
            "card_incomplete",
            f"The card ending {card.last4} also needs its {' and '.join(card.missing())} (e.g. 'exp 12/28 cvv 123').",
            suggestions=["Type the expiry and CVC"],
        )
    return {"method": "card", "cardRef": card.ref, "brand": card.brand, "last4": card.last4}


def charge(vault: CardVault, user_id: str, payment: dict[str, Any]) -> dict[str, Any]:
    """What processPayment is sent for the checkout's method, or {"error"} when its card token has gone."""
    if payment["method"] == "upi":
        return {"method": "upi", "upiId": payment["upiId"]}
    card = vault.get(user_id, payment["cardRef"])
    if card is None:
        return ToolFailure(
            "card_not_on_file",
            f"The card ending {payment['last4']} is no longer saved (a card's payment token is kept "
            "only for a short time). Please type the card number, expiry and CVC again, then "
            "confirm the order.",
            suggestions=["Type the card again", "Pay by UPI instead"],
        ).as_result()
    return {"method": "card", "paymentMethodToken": card.token}


def public(payment: dict[str, Any]) -> dict[str, Any]:
    if payment["method"] == "upi":
        return {"method": "upi", "upiId": payment["upiMasked"]}
    return {"method": "card", "cardRef": payment["cardRef"], "brand": payment["brand"], "last4": payment["last4"]}


def mask_upi(upi: str) -> str:
    name, _, bank = upi.partition("@")
    return f"{name[:2]}***@{bank}"


def payment_text(payment: dict[str, Any]) -> str:
    """How a quote's payment reads to the shopper: "card ending 4242" or "UPI pr***@okaxis"."""
    if payment.get("method") == "card":
        return f"card ending {payment.get('last4')}"
    return f"UPI {payment.get('upiId')}"
