"""Cards: what the shopper types is swapped for a payment-method token before anything else sees it.

``CardTokens.redact(user_id, text)`` runs on every shopper message first. A card number (13-19 digits,
with spaces, dashes or dots, in ASCII or full-width digits), an expiry (``12/28``, ``exp 12/2028``) and a
CVC (``cvv 123``, "the cvc number is 456", "security code 1234", "code 2468", or 3-4 bare digits right
after the number or the expiry) are cut out of the text. When the number, the expiry and the CVC came
together, they go to the payment agent's ``tokenizePaymentMethod`` within this one request and only the
answer is kept: the token, brand, last four digits and expiry, in the sales database (so every worker
and every replica sees it). The number and the CVC are never written anywhere, so a card typed in pieces
over several messages is not kept: the shopper is asked to type it again in one message, and each piece
that could be part of a card number (8 or more digits) is removed from the text as well.

The text keeps "card ending 4242"; tools refer to the card as ``card_ending_4242``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from agentkit import AgentCallError, clock
from agentkit.cards import card_brand
from agentkit.cards import luhn_ok as kit_luhn_ok

from .guests import USER_ID_WIDTH

log = logging.getLogger("agents.sales.cards")

# Digits joined by spaces, dashes or dots (a dot only before 3+ digits, so "4999.00" stays a price).
# A group next to a "/" belongs to an expiry (12/28), not to the number.
DIGITS_RE = re.compile(r"(?<![\w./])\d+(?:(?:[ \t-]{1,3}|\.(?=\d{3}))\d+)*(?![\w/])")
EXPIRY_RE = re.compile(
    r"\b(?:exp(?:iry|ires|iration)?(?:\s*date)?\s*(?:is\s*)?[:=-]?\s*)?(0?[1-9]|1[0-2])\s*/\s*(\d{4}|\d{2})\b", re.I
)
CVC_WORDS = r"(?:cvc2?|cvv2?|csc|cid|(?:security|card|verification)\s+(?:code|number)|code)"
CVC_RE = re.compile(
    rf"(?:\b(?:and|with|the|my)\s+)*\b{CVC_WORDS}\b(?:\s*(?:number|num|no\.?|is|was|of|my|the|[:=#-]))*\s*(\d{{3,4}})(?![\d])",
    re.I,
)
# 3-4 bare digits right after a card number or an expiry ("..., 12/28 456", "3782 822463 10005 1234").
TRAILING_CVC_RE = re.compile(r"^(?:\s*(?:,|;|and|&|cvc|cvv)?\s*)(\d{3,4})(?![\d/])", re.I)
REF_RE = re.compile(r"card[ _-]?ending[ _-]?(?:in[ _-]?)?(\d{4})", re.I)
DEFAULT_TTL = 30 * 60
FRAGMENT_DIGITS = 8  # a run this long that is not a whole card could be part of one
# ... unless it is a phone number: "+91 98200 11001", "call me on 9820011001", "mobile: 98200 11001".
PHONE_BEFORE_RE = re.compile(
    r"(?:\+|\b(?:phone|mobile|mob|cell|call(?:\s+me)?(?:\s+on|\s+at)?|whatsapp|tel|contact)"
    r"(?:\s+(?:number|no\.?|is|on|at))*\W{0,3})$",
    re.I,
)

metadata = sa.MetaData()
card_tokens = sa.Table(
    "sales_card_tokens",
    metadata,
    sa.Column("token", sa.String(40), primary_key=True),
    sa.Column("user_id", sa.String(USER_ID_WIDTH), nullable=False, index=True),
    sa.Column("brand", sa.String(12), nullable=False),
    sa.Column("last4", sa.String(4), nullable=False),
    sa.Column("exp_month", sa.Integer, nullable=False),
    sa.Column("exp_year", sa.Integer, nullable=False),
    sa.Column("created_at", sa.String(24), nullable=False),
)


def normalise(text: str) -> str:
    """Full-width digits, slashes and spaces become ASCII (NFKC), so every check sees one alphabet."""
    return unicodedata.normalize("NFKC", text or "")


def luhn_ok(number: str) -> bool:
    """A typed card number (spaces and dashes allowed) of 13-19 digits that passes the Luhn check: the one
    rule for what is a card number here (agentkit.cards holds the checksum itself)."""
    digits = re.sub(r"\D", "", normalise(number))
    return 13 <= len(digits) <= 19 and kit_luhn_ok(digits)


def brand_of(number: str) -> str:
    brand = card_brand(re.sub(r"\D", "", number))
    return "card" if brand == "unknown" else brand


@dataclass(frozen=True)
class Found:
    """One card number found in a message: where it is, and the digits (in memory, for this request only)."""

    start: int
    end: int
    digits: str

    @property
    def valid(self) -> bool:
        return luhn_ok(self.digits)

    def __repr__(self) -> str:
        return f"Found(card ending {self.digits[-4:]})"


def _split_card(match: re.Match) -> tuple[Found | None, int]:
    """The longest leading run of whole digit groups that is a Luhn-valid card (13-19 digits), else the whole
    run when it is 13+ digits (an invalid number is still removed); and where the card ends."""
    groups = [
        (m.start() + match.start(), m.end() + match.start(), m.group(0)) for m in re.finditer(r"\d+", match.group(0))
    ]
    digits = ""
    best: tuple[Found | None, int] = (None, match.start())
    for start, end, group in groups:
        digits += group
        if len(digits) > 19:
            break
        if luhn_ok(digits):
            best = (Found(match.start(), end, digits), end)
    if best[0] is None:
        total = "".join(g for _, _, g in groups)
        if len(total) >= 13:
            return Found(match.start(), match.end(), total), match.end()
    return best


@dataclass
class Scan:
    text: str  # the normalised message
    cards: list[Found]
    fragments: list[tuple[int, int]]
    expiry: tuple[int, int] | None
    expiry_span: tuple[int, int] | None
    cvc: str | None
    cvc_spans: list[tuple[int, int]]

    def __repr__(self) -> str:
        return f"Scan(cards={self.cards}, expiry={self.expiry is not None}, cvc={self.cvc is not None})"


def scan(text: str) -> Scan:
    """Find every card number, number fragment, expiry and CVC in one message."""
    text = normalise(text)
    cards: list[Found] = []
    fragments: list[tuple[int, int]] = []
    cvc_spans: list[tuple[int, int]] = []
    cvc: str | None = None
    for match in DIGITS_RE.finditer(text):
        found, card_end = _split_card(match)
        if found is not None:
            cards.append(found)
            rest = text[card_end : match.end()]
            extra = re.search(r"\d+", rest)
            if extra and 3 <= len(extra.group(0)) <= 4 and cvc is None:  # "4242 4242 4242 4242 123"
                cvc = extra.group(0)
                cvc_spans.append((card_end + extra.start(), card_end + extra.end()))
            elif extra:
                fragments.append((card_end, match.end()))
            continue
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) >= FRAGMENT_DIGITS and not (len(digits) <= 12 and PHONE_BEFORE_RE.search(text[: match.start()])):
            fragments.append((match.start(), match.end()))
    expiry_match = EXPIRY_RE.search(text)
    expiry = None
    if expiry_match:
        year = int(expiry_match.group(2))
        expiry = (int(expiry_match.group(1)), year + 2000 if year < 100 else year)
    keyword = CVC_RE.search(text)
    if keyword:
        cvc = keyword.group(1)
        cvc_spans.append(keyword.span())
    elif cvc is None and (cards or expiry_match):
        for end in [c.end for c in cards] + ([expiry_match.end()] if expiry_match else []):
            bare = TRAILING_CVC_RE.match(text[end:])
            if bare:
                cvc = bare.group(1)
                cvc_spans.append((end + bare.start(1), end + bare.end(1)))
                break
    return Scan(text, cards, fragments, expiry, expiry_match.span() if expiry_match else None, cvc, cvc_spans)


def mask_numbers(text: str) -> str:
    """Mask anything that looks like a card number or a CVC (for log lines): keep only the last four digits."""
    return redact_text(text)[0]


def redact_text(text: str, notes: dict[str, str] | None = None) -> tuple[str, Scan]:
    """The message with every card number, fragment, expiry and CVC cut out, and what was found.

    ``notes`` maps a card's last four digits to what to say after "card ending NNNN"."""
    found = scan(text)
    source = found.text
    cuts: list[tuple[int, int, str]] = []
    for card in found.cards:
        note = (notes or {}).get(card.digits[-4:], "")
        cuts.append((card.start, card.end, f"card ending {card.digits[-4:]}{note}"))
    for start, end in found.fragments:
        cuts.append((start, end, "[card digits removed]"))
    for start, end in found.cvc_spans:
        cuts.append((start, end, ""))
    if found.expiry_span and (found.cards or found.cvc):
        cuts.append((*found.expiry_span, ""))
    out, last = [], 0
    for start, end, replacement in sorted(cuts):
        if start < last:  # overlapping finds: the earlier cut already covers this one
            continue
        out.append(source[last:start])
        out.append(replacement)
        last = end
    out.append(source[last:])
    cleaned = "".join(out)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    cleaned = re.sub(r"\s+([,.;!?])", r"\1", cleaned)
    cleaned = re.sub(r"([,;])(?:\s*[,;])+", r"\1", cleaned)
    return cleaned, found


@dataclass(frozen=True)
class Card:
    """A tokenized card as the sales agent knows it: never the number or the CVC."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int

    @property
    def ref(self) -> str:
        return f"card_ending_{self.last4}"

    luhn_valid = True  # the payment agent tokenizes only numbers that pass the check
    complete = True  # a token always has its expiry, and the CVC was checked when it was made

    def missing(self) -> list[str]:
        return []

    def public(self) -> dict[str, Any]:
        return {
            "cardRef": self.ref,
            "brand": self.brand,
            "last4": self.last4,
            "validNumber": True,
            "hasExpiry": True,
            "hasCvc": True,
        }

    def __repr__(self) -> str:
        return f"Card({self.ref}, brand={self.brand})"

    __str__ = __repr__


class TokenizeFailed(Exception):
    def __init__(self, last4: str, reason: str):
        super().__init__(reason)
        self.last4, self.reason = last4, reason


class CardTokens:
    """The shopper's tokenized cards in the sales database; forgotten after ``ttl`` seconds.

    ``bind(clients, store)`` gives it the payment agent to tokenize with and the database to keep tokens
    in (the checkout workflow does this); unbound, it still redacts but keeps nothing."""

    def __init__(self, ttl: float = DEFAULT_TTL):
        self.ttl = ttl
        self.clients: Any = None
        self.db: Any = None

    def bind(self, clients: Any, store: Any) -> "CardTokens":
        self.clients = clients
        if store is not None and self.db is not store.db:
            self.db = store.db
            metadata.create_all(self.db.engine, checkfirst=True)
        return self

    # -- tokenizing ----------------------------------------------------------------------------
    def tokenize(self, user_id: str, number: str, exp_month: int, exp_year: int, cvc: str) -> Card:
        """Hand the card to the payment agent once; keep only the token it answers."""
        digits = re.sub(r"\D", "", normalise(str(number)))
        last4 = digits[-4:]
        if not luhn_ok(digits):
            raise TokenizeFailed(last4, "is not a valid card number; check the digits")
        if not (1 <= exp_month <= 12 and 2000 <= exp_year <= 2099):
            raise TokenizeFailed(last4, "has an expiry that is not a month and year (type it as MM/YY)")
        if not re.fullmatch(r"\d{3,4}", cvc or ""):
            raise TokenizeFailed(last4, "needs its 3 or 4 digit CVC")
        if self.clients is None or self.db is None:
            raise TokenizeFailed(last4, "could not be saved (no payment service here)")
        card = {"number": digits, "expMonth": exp_month, "expYear": exp_year, "cvc": cvc}
        try:
            method = self.clients.call("payment", "tokenizePaymentMethod", {"userId": user_id, "card": card})
        except AgentCallError as exc:
            log.warning("tokenizing the card ending %s failed: %s %s", last4, exc.status, exc.code)
            if exc.status == 400:
                raise TokenizeFailed(last4, "was refused by the payment service; check the digits") from None
            raise TokenizeFailed(last4, "could not be saved just now (the payment service did not answer)") from None
        saved = Card(method["paymentMethodToken"], method["cardBrand"], last4, method["expMonth"], method["expYear"])
        with self.db.write() as conn:
            conn.execute(card_tokens.delete().where(card_tokens.c.token == saved.token))  # a token is made once
            conn.execute(
                card_tokens.insert().values(
                    token=saved.token,
                    user_id=user_id,
                    brand=saved.brand,
                    last4=saved.last4,
                    exp_month=saved.exp_month,
                    exp_year=saved.exp_year,
                    created_at=clock.now_iso(),
                )
            )
        return saved

    def put_card_dict(self, user_id: str, card: dict[str, Any]) -> Card:
        """A card given as JSON (the batch file): number, expMonth, expYear, cvc (or expiry "MM/YY")."""
        month, year = card.get("expMonth"), card.get("expYear")
        if card.get("expiry") and (month is None or year is None):
            match = EXPIRY_RE.search(str(card["expiry"]))
            if match:
                month, year = int(match.group(1)), int(match.group(2))
        month, year = _int_or_none(month), _int_or_none(year)
        if year is not None and year < 100:
            year += 2000
        try:
            return self.tokenize(
                user_id,
                str(card.get("number", "")),
                month or 0,
                year or 0,
                str(card["cvc"]) if card.get("cvc") is not None else "",
            )
        except TokenizeFailed as exc:
            from .errors import ToolFailure  # errors.py imports this module

            raise ToolFailure(
                "invalid_card",
                f"The card ending {exc.last4} {exc.reason}.",
                suggestions=["Check the card number, expiry and CVC", "Pay by UPI instead"],
            ) from None

    # -- reading -------------------------------------------------------------------------------
    def get(self, user_id: str, card_ref: str | None = None) -> Card | None:
        """The card named by ``card_ref`` ("card_ending_4242", "4242"), or the user's latest card."""
        rows = self._rows(user_id)
        if not rows:
            return None
        if not card_ref:
            return rows[-1]
        match = REF_RE.search(card_ref) or re.search(r"(\d{4})\s*$", card_ref)
        if not match:
            return None
        named = [c for c in rows if c.last4 == match.group(1)]
        return named[-1] if named else None

    def cards(self, user_id: str) -> list[dict[str, Any]]:
        return [c.public() for c in self._rows(user_id)]

    def forget(self, user_id: str) -> None:
        if self.db is None:
            return
        with self.db.write() as conn:
            conn.execute(card_tokens.delete().where(card_tokens.c.user_id == user_id))

    def _rows(self, user_id: str) -> list[Card]:
        if self.db is None:
            return []
        cutoff = clock.iso(clock.now() - timedelta(seconds=self.ttl))
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(card_tokens)
                .where(card_tokens.c.user_id == user_id, card_tokens.c.created_at > cutoff)
                .order_by(card_tokens.c.created_at, card_tokens.c.token)
            ).mappings()
            return [Card(r["token"], r["brand"], r["last4"], r["exp_month"], r["exp_year"]) for r in rows]

    # -- redaction -----------------------------------------------------------------------------
    def redact(self, user_id: str, text: str) -> str:
        """Tokenize every complete card in ``text`` and return the text with only "card ending NNNN" left."""
        if not text:
            return text
        found = scan(text)
        notes: dict[str, str] = {}
        for card in found.cards:
            last4 = card.digits[-4:]
            if not card.valid:
                notes[last4] = " (not a valid card number; check the digits)"
                continue
            if found.expiry is None or found.cvc is None:
                missing = " and ".join(n for n, v in (("expiry", found.expiry), ("CVC", found.cvc)) if v is None)
                notes[last4] = (
                    f" (not saved: it needs its {missing}; "
                    "type the number, expiry MM/YY and CVC together in one message)"
                )
                continue
            try:
                self.tokenize(user_id, card.digits, found.expiry[0], found.expiry[1], found.cvc)
                notes[last4] = " (saved for payment)"
            except TokenizeFailed as exc:
                notes[last4] = f" ({exc.reason})"
        out, _ = redact_text(text, notes)
        if not found.cards and (found.cvc or (found.expiry and found.fragments)):
            out = out.rstrip() + (
                " (card details removed: type the card number, expiry MM/YY and CVC together in one message)"
            )
        elif found.fragments and not found.cards:
            out = out.rstrip() + " (a long number was removed: type a card number, expiry and CVC in one message)"
        return out or "(card details removed)"


# The name the rest of the sales agent knows it by.
CardVault = CardTokens


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
