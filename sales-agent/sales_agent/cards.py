"""The card vault: a full card number never reaches the model, the memory store or the logs.

``redact(user_id, text)`` runs on every shopper message before anything else sees it. A card number
(13-19 digits, spaces or dashes allowed), an expiry (``12/28``, ``exp 12/2028``) and a CVC (``cvv 123``)
are cut out of the text and kept here, in process memory only, for a limited time. The text keeps
"card ending 4242"; tools refer to the card as ``card_ending_4242``.

The vault is per process: after a restart (or on another worker) the shopper is asked to type the
card again. That is the price of never writing a card number down.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from agentkit.cards import card_brand
from agentkit.cards import luhn_ok as kit_luhn_ok

CARD_RE = re.compile(
    r"(?<![\d-])(?:\d{13,19}"  # 4242424242424242
    r"|\d{4}(?:[ -]\d{4}){2}[ -]\d{1,7}"  # 4242 4242 4242 4242, 4242-4242-4242-4242
    r"|\d{4}[ -]\d{6}[ -]\d{4,5})(?![\d])"
)  # 3782 822463 10005 (Amex)
EXPIRY_RE = re.compile(
    r"\b(?:exp(?:iry|ires|iration)?(?:\s*date)?\s*[:=-]?\s*)?(0?[1-9]|1[0-2])\s*/\s*(\d{4}|\d{2})\b", re.I
)
CVC_RE = re.compile(
    r"\b(?:cvc2?|cvv2?|csc|security\s+code|card\s+code)\s*(?:is|no\.?|number)?\s*[:=#-]?\s*(\d{3,4})\b", re.I
)
REF_RE = re.compile(r"card[ _-]?ending[ _-]?(?:in[ _-]?)?(\d{4})", re.I)
DEFAULT_TTL = 30 * 60


def luhn_ok(number: str) -> bool:
    """A typed card number (spaces and dashes allowed) of 12-19 digits that passes the Luhn check."""
    digits = re.sub(r"\D", "", number)
    return 12 <= len(digits) <= 19 and kit_luhn_ok(digits)


def brand_of(number: str) -> str:
    brand = card_brand(re.sub(r"\D", "", number))
    return "card" if brand == "unknown" else brand


def mask_numbers(text: str) -> str:
    """Mask anything that looks like a card number (for log lines): keep only the last four digits."""

    def _mask(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return f"card ending {digits[-4:]}"

    return CVC_RE.sub("[cvc removed]", CARD_RE.sub(_mask, text))


@dataclass
class Card:
    number: str
    exp_month: int | None = None
    exp_year: int | None = None
    cvc: str | None = None
    stored_at: float = field(default_factory=time.monotonic)

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def ref(self) -> str:
        return f"card_ending_{self.last4}"

    @property
    def brand(self) -> str:
        return brand_of(self.number)

    @property
    def luhn_valid(self) -> bool:
        return luhn_ok(self.number)

    @property
    def complete(self) -> bool:
        return self.exp_month is not None and self.exp_year is not None and self.cvc is not None

    def missing(self) -> list[str]:
        return [name for name, value in (("expiry", self.exp_month), ("cvc", self.cvc)) if value is None]

    def public(self) -> dict[str, Any]:
        """What may be shown, stored or logged: never the number or the CVC."""
        return {
            "cardRef": self.ref,
            "brand": self.brand,
            "last4": self.last4,
            "validNumber": self.luhn_valid,
            "hasExpiry": self.exp_month is not None,
            "hasCvc": self.cvc is not None,
        }

    def __repr__(self) -> str:  # a card must never be printed in full by accident
        return f"Card({self.ref}, brand={self.brand})"

    __str__ = __repr__


class CardVault:
    """Cards by user, in process memory, forgotten after ``ttl`` seconds."""

    def __init__(self, ttl: float = DEFAULT_TTL):
        self.ttl = ttl
        self._cards: dict[str, dict[str, Card]] = {}
        self._lock = threading.Lock()

    # -- storing -------------------------------------------------------------------------------
    def put(
        self,
        user_id: str,
        number: str,
        exp_month: int | None = None,
        exp_year: int | None = None,
        cvc: str | None = None,
    ) -> Card:
        number = re.sub(r"\D", "", str(number))
        if exp_year is not None and exp_year < 100:
            exp_year += 2000
        with self._lock:
            cards = self._cards.setdefault(user_id, {})
            card = cards.pop(number[-4:], None)
            if card is None or card.number != number:
                card = Card(number)
            card.exp_month = exp_month if exp_month is not None else card.exp_month
            card.exp_year = exp_year if exp_year is not None else card.exp_year
            card.cvc = cvc if cvc is not None else card.cvc
            card.stored_at = time.monotonic()
            cards[card.last4] = card  # most recent last
            return card

    def put_card_dict(self, user_id: str, card: dict[str, Any]) -> Card:
        """A card given as JSON (the batch file): number, expMonth, expYear, cvc (or expiry "MM/YY")."""
        month, year = card.get("expMonth"), card.get("expYear")
        if card.get("expiry") and (month is None or year is None):
            match = EXPIRY_RE.search(str(card["expiry"]))
            if match:
                month, year = int(match.group(1)), int(match.group(2))
        return self.put(
            user_id,
            str(card.get("number", "")),
            _int_or_none(month),
            _int_or_none(year),
            str(card["cvc"]) if card.get("cvc") is not None else None,
        )

    # -- reading -------------------------------------------------------------------------------
    def get(self, user_id: str, card_ref: str | None = None) -> Card | None:
        """The card named by ``card_ref`` ("card_ending_4242", "4242"), or the user's latest card."""
        with self._lock:
            self._forget_expired(user_id)
            cards = self._cards.get(user_id) or {}
            if not cards:
                return None
            if not card_ref:
                return list(cards.values())[-1]
            match = REF_RE.search(card_ref) or re.search(r"(\d{4})\s*$", card_ref)
            return cards.get(match.group(1)) if match else None

    def cards(self, user_id: str) -> list[dict[str, Any]]:
        with self._lock:
            self._forget_expired(user_id)
            return [c.public() for c in (self._cards.get(user_id) or {}).values()]

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._cards.pop(user_id, None)

    def _forget_expired(self, user_id: str) -> None:
        cards = self._cards.get(user_id)
        if not cards:
            return
        cutoff = time.monotonic() - self.ttl
        for key in [k for k, c in cards.items() if c.stored_at < cutoff]:
            del cards[key]

    # -- redaction -----------------------------------------------------------------------------
    def redact(self, user_id: str, text: str) -> str:
        """Store every card in ``text`` and return the text with only "card ending NNNN" left."""
        if not text:
            return text
        numbers = list(CARD_RE.finditer(text))
        expiry = EXPIRY_RE.search(text)
        cvc = CVC_RE.search(text)
        month = int(expiry.group(1)) if expiry else None
        year = int(expiry.group(2)) if expiry else None
        cvc_value = cvc.group(1) if cvc else None

        out = text
        if cvc:
            out = CVC_RE.sub("", out)
        if expiry:
            out = EXPIRY_RE.sub("", out)
        stored: list[Card] = []
        for match in numbers:
            digits = re.sub(r"\D", "", match.group(0))
            stored.append(self.put(user_id, digits, month, year, cvc_value))
        out = CARD_RE.sub(lambda m: f"card ending {re.sub(r'[^0-9]', '', m.group(0))[-4:]}", out)
        if not numbers and (expiry or cvc):
            latest = self.get(user_id)
            if latest is not None:
                self.put(user_id, latest.number, month, year, cvc_value)
                out = out.rstrip() + f" (expiry/CVC saved for card ending {latest.last4})"
        out = re.sub(r"[ \t]{2,}", " ", out).strip()
        out = re.sub(r"\s+([,.;!?])", r"\1", out)
        out = re.sub(r"([,;])(?:\s*[,;])+", r"\1", out)
        return out or "(card details saved)"


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


_default_vault = CardVault()


def default_vault() -> CardVault:
    return _default_vault


def redact(user_id: str, text: str) -> str:
    """Module-level shortcut on the process's vault."""
    return _default_vault.redact(user_id, text)
