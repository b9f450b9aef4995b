"""Addresses a shopper writes in the chat ("Flat 3, 14 Park Street, Kolkata 700016"), read into the contracts'
address (line1, line2, city, state, postalCode).

The cities are the fulfillment agent's one list of delivered cities with their other names
(``fulfillment_agent/data/cities.json``, the file its address book and delivery options check against), read
once: the offline model's lexicon takes its city words from here too, so no second list can drift. Whether the
shop delivers to a city stays the fulfillment agent's answer: an address in a city it does not know is still
read (the last words before the PIN code), and the agent refuses it with ``city_not_delivered``.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

PIN_RE = re.compile(r"(?<![\d-])([1-9]\d{2})\s?(\d{3})(?![\d-])")
# where a written address starts: "ship it to …", "deliver to …", "change the address of ORD-1 to …", "address: …"
_LEAD = re.compile(
    r"\b(?:ship|deliver|send|post|courier|move|change|update|switch)\b[^,]{0,60}?\b(?:to|at)\s+"
    r"|\baddress\s*(?:is|:|-|=)\s*"
    r"|\b(?:my )?(?:new |home |work |office )?address\s+(?=\w+\s*\d|flat|house|no\b|\d)",
    re.I,
)
_LINE_MAX = 200


@functools.cache
def _data() -> dict[str, Any]:
    return json.loads(resources.files("fulfillment_agent").joinpath("data/cities.json").read_text(encoding="utf-8"))


@functools.cache
def store_phrases() -> dict[str, str]:
    """What shoppers call each store ("palladium", "cp store"), lower-cased, to its id: the ``aliases`` the
    fulfillment agent's store data keeps beside each store."""
    stores = json.loads(resources.files("fulfillment_agent").joinpath("seed/stores.json").read_text(encoding="utf-8"))
    return {
        " ".join(alias.lower().split()): store["storeId"] for store in stores["stores"] for alias in store["aliases"]
    }


@functools.cache
def delivered_cities() -> dict[str, str]:
    """Every delivered city's name and other names, lower-cased, to the city's own name ("bombay": "Mumbai")."""
    known: dict[str, str] = {}
    for entry in _data()["cities"]:
        for name in [entry["name"], *entry["aliases"]]:
            known[" ".join(name.lower().split())] = entry["name"]
    return known


@functools.cache
def _states() -> dict[str, str]:
    return {entry["name"]: entry["state"] for entry in _data()["cities"]}


@functools.cache
def _city_re() -> re.Pattern[str]:
    names = sorted(delivered_cities(), key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names) + r")\b", re.I)


def city_in(text: str) -> str | None:
    """The delivered city a text names (its own name), or None."""
    m = _city_re().search(text or "")
    return delivered_cities()[" ".join(m.group(1).lower().split())] if m else None


_NOT_A_PIN = re.compile(r"(?:\border|\bord|\bno\.?|\bnumber|\bid|#|\brsv|\bcode)\s*[:#-]?\s*$", re.I)
_STREETISH = re.compile(
    r"\b(?:flat|house|h\.?no|plot|floor|block|tower|apartments?|society|road|rd|street|st|lane|marg|nagar|sector|"
    r"colony|layout|cross|main|phase|near|opp(?:osite)?|behind|village|district)\b",
    re.I,
)


def has_address(text: str) -> bool:
    """Whether a message carries a written postal address: a 6-digit PIN code (not an order number) after a
    street or a delivered city ("Flat 3, 14 Park Street, Kolkata 700016")."""
    text = text or ""
    for m in PIN_RE.finditer(text):
        before = text[: m.start()]
        if _NOT_A_PIN.search(before) or not re.search(r"[A-Za-z]{3,}", before):
            continue
        if _STREETISH.search(before) or city_in(before) or "," in before:
            return True
    return False


def address_span(text: str) -> tuple[int, int] | None:
    """Where the written address is in ``text`` (from after "ship it to" to the PIN code), or None."""
    if not has_address(text):
        return None
    pin = next(m for m in PIN_RE.finditer(text) if not _NOT_A_PIN.search(text[: m.start()]))
    lead = next(_LEAD.finditer(text[: pin.start()]), None)
    return (lead.end() if lead else 0), pin.end()


def parse_address(text: str) -> dict[str, str] | None:
    """The address written in ``text``: {line1, line2?, city, state?, postalCode}, or None without a PIN code.

    The city is a delivered one named in the address (written as the shopper wrote it, as the address book
    keeps it), else the last words before the PIN code; line1 (and line2 when long) is what comes before it.
    """
    text = text or ""
    pin = next((m for m in PIN_RE.finditer(text) if not _NOT_A_PIN.search(text[: m.start()])), None)
    if not pin:
        return None
    lead = next(_LEAD.finditer(text[: pin.start()]), None)
    start = lead.end() if lead else 0
    span = text[start : pin.start()]
    after = text[pin.end() :]
    span = re.sub(r"^\s*(?:the address|my address|address)\s*[:,-]?\s*", "", span, flags=re.I)
    parts = [p.strip(" .;-") for p in re.split(r"[,\n]+", span)]
    parts = [p for p in parts if p]
    city_word, city = None, None
    for index in range(len(parts) - 1, -1, -1):
        m = list(_city_re().finditer(parts[index]))
        if m:
            found = m[-1]
            city_word = found.group(1)
            city = delivered_cities()[" ".join(city_word.lower().split())]
            rest = (parts[index][: found.start()] + parts[index][found.end() :]).strip(" .;-")
            parts = parts[:index] + ([rest] if rest else []) + parts[index + 1 :]
            break
    if city_word is None:
        tail = re.match(r"\s*[,-]?\s*([A-Za-z][A-Za-z .]{1,40}?)\s*(?:[,.]|$)", after)
        named_after = city_in(tail.group(1)) if tail else None
        if tail and named_after:
            city_word, city = tail.group(1).strip(), named_after
        elif parts:
            last = parts.pop()
            words = last.split()
            trailing = [w for w in words if not re.search(r"\d", w)]
            if len(trailing) == len(words):
                city_word = last
            else:  # "14 Park Street Shillong", no commas: the last word
                city_word = words[-1]
                parts.append(" ".join(words[:-1]))
    parts = [re.sub(r"\s+", " ", p) for p in parts if p and not re.fullmatch(r"(?:india|in)", p, re.I)]
    if not parts or not city_word:
        return None
    address: dict[str, str] = {"city": city_word.strip().title() if city_word.islower() else city_word.strip()}
    line1 = ", ".join(parts)
    if len(line1) > _LINE_MAX:
        address["line1"], address["line2"] = parts[0][:_LINE_MAX], ", ".join(parts[1:])[:_LINE_MAX]
    else:
        address["line1"] = line1
    if city and city in _states():
        address["state"] = _states()[city]
    address["postalCode"] = pin.group(1) + pin.group(2)
    return address


def one_line(address: dict[str, Any] | None) -> str:
    """An address on one line, as a confirmation shows it: "Flat 3, 14 Park Street, Kolkata 700016"."""
    if not address:
        return ""
    parts = [address.get(k) for k in ("line1", "line2", "city")]
    text = ", ".join(str(p) for p in parts if p)
    return f"{text} {address['postalCode']}" if address.get("postalCode") else text
