"""Intent and slot parsing for the offline model: ``parse(text, memory) -> Intent``.

``Memory`` holds what earlier messages established (products seen in tool results, the last product
discussed, the cart, the last order, the shopper) and is built by ``remember(messages)``. The parser is
rule based: the text is normalised, small typos are snapped to the keyword lexicon with difflib, slots
are read with regular expressions, and the intent comes from an ordered list of keyword rules.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Iterable

from .. import answers
from ..addresses import address_span, one_line, parse_address
from . import classifier
from . import lexicon as lx
from .skills import by_name

# The ten intents of the seed conversation design, and the finer actions the model maps onto tools.
FAMILIES = [
    "greeting",
    "browse",
    "search",
    "recommend",
    "add_to_cart",
    "checkout",
    "inventory_check",
    "loyalty",
    "support",
    "general_chat",
]
FAMILY_OF = {
    "greeting": "greeting",
    "browse": "browse",
    "search": "search",
    "product_details": "search",
    "recommend": "recommend",
    "add_to_cart": "add_to_cart",
    "view_cart": "add_to_cart",
    "remove_from_cart": "add_to_cart",
    "update_quantity": "add_to_cart",
    "checkout": "checkout",
    "cancel_checkout": "checkout",
    "gift_wrap": "checkout",
    "inventory_check": "inventory_check",
    "reserve_in_store": "inventory_check",
    "loyalty": "loyalty",
    "apply_coupon": "loyalty",
    "redeem_points": "loyalty",
    "my_profile": "loyalty",
    "support": "support",
    "order_status": "support",
    "return_item": "support",
    "exchange_item": "support",
    "general_chat": "general_chat",
    "help": "general_chat",
    "thanks": "general_chat",
    "goodbye": "general_chat",
    "affirm": "general_chat",
    "deny": "general_chat",
}
# intents whose slots a bare follow-up ("in navy?", "what about Pune") refines
# intents that act on one product
PRODUCT_INTENTS = {
    "add_to_cart",
    "inventory_check",
    "reserve_in_store",
    "product_details",
    "remove_from_cart",
    "update_quantity",
    "exchange_item",
    "return_item",
    "gift_wrap",
}
REFINABLE = {
    "search",
    "browse",
    "recommend",
    "inventory_check",
    "add_to_cart",
    "reserve_in_store",
    "exchange_item",
    "product_details",
}


@dataclass
class Intent:
    name: str
    slots: dict[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> str:
        if self.name in FAMILY_OF:
            return FAMILY_OF[self.name]
        from .skills import by_name

        skill = by_name(self.name)
        return skill.family if skill else "general_chat"

    def to_dict(self) -> dict:
        return {"name": self.name, "slots": dict(self.slots)}


@dataclass
class Memory:
    """Facts from earlier messages of the conversation."""

    products: dict[str, dict] = field(default_factory=dict)  # productId -> what tools said about it
    last_list: list[str] = field(default_factory=list)  # ids of the last product list shown
    last_product: str | None = None  # the product discussed last
    last_variant: dict | None = None  # {product_id, size, color} asked about last
    cart: dict | None = None  # the last cart a tool returned
    last_order_id: str | None = None
    orders: dict[str, dict] = field(default_factory=dict)  # orderId -> order data from tools
    shopper: dict = field(default_factory=dict)  # name, city, tier, points
    stores: dict[str, dict] = field(default_factory=dict)  # storeId -> {name, city}
    card_ref: str | None = None
    upi_id: str | None = None
    previous: dict | None = None  # the offline model's state on its last reply
    next_cursor: dict[str, str | None] = field(default_factory=dict)  # paged tool -> its last page's nextCursor

    @property
    def first_name(self) -> str | None:
        name = self.shopper.get("name")
        return name.split()[0] if name else None

    def cart_lines(self) -> list[dict]:
        return cart_lines(self.cart)


# --- small helpers shared with the model and the reply writer ------------------------------------


def load_json(content: Any) -> Any:
    """A ToolMessage's content as data: parsed JSON, or the text itself."""
    if isinstance(content, list):
        content = "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    if isinstance(content, (dict, list)):
        return content
    try:
        return json.loads(content)
    except (TypeError, ValueError):
        return content


def walk(data: Any) -> Iterable[dict]:
    """Every dict inside ``data``, outermost first."""
    stack = [data]
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            yield item
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))


def dig(data: Any, *keys: str, default: Any = None) -> Any:
    """The first value under any of ``keys`` anywhere in ``data`` (breadth first)."""
    for item in walk(data):
        for key in keys:
            if key in item and item[key] is not None:
                return item[key]
    return default


def product_list(data: Any) -> list[dict]:
    """The first list of products (dicts with productId and name) in a tool result."""
    if isinstance(data, dict):
        for key in ("products", "recommendations", "results", "alternatives", "items", "suggestions"):
            value = data.get(key)
            if isinstance(value, list) and value and all(isinstance(v, dict) and "productId" in v for v in value):
                return value
    for item in walk(data):
        for value in item.values():
            if (
                isinstance(value, list)
                and value
                and all(isinstance(v, dict) and "productId" in v and "name" in v for v in value)
            ):
                return value
    if isinstance(data, list) and data and all(isinstance(v, dict) and "productId" in v for v in data):
        return data
    return []


def cart_lines(cart: Any) -> list[dict]:
    if not isinstance(cart, dict):
        return []
    for key in ("items", "lines"):
        if isinstance(cart.get(key), list):
            return [line for line in cart[key] if isinstance(line, dict)]
    inner = cart.get("cart")
    return cart_lines(inner) if isinstance(inner, dict) else []


def is_error(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("error"), dict)


# --- memory ----------------------------------------------------------------------------------------

CART_TOOLS = {
    "add_to_cart",
    "view_cart",
    "remove_from_cart",
    "update_cart_quantity",
    "apply_coupon",
    "redeem_points",
    "prepare_checkout",
    "cancel_checkout",
}
LIST_TOOLS = {"search_products", "recommend_products", "find_alternatives"}


def remember(messages: list) -> Memory:
    """Build the memory from a conversation's messages (HumanMessage, AIMessage, ToolMessage)."""
    memory = Memory()
    calls: dict[str, dict] = {}
    for message in messages:
        kind = getattr(message, "type", "")
        if kind == "human":
            text = message.content if isinstance(message.content, str) else str(message.content)
            ref = re.search(r"card\s*ending\s*(?:in\s*)?(\d{4})", text, re.I)
            if ref:
                memory.card_ref = f"card_ending_{ref.group(1)}"
            upi = UPI_RE.search(text)
            if upi:
                memory.upi_id = upi.group(0)
            order = ORDER_RE.search(text)
            if order:
                memory.last_order_id = f"ORD-{order.group(1)}"
        elif kind == "ai":
            state = (getattr(message, "additional_kwargs", None) or {}).get("offline")
            if state:
                memory.previous = state
            for call in getattr(message, "tool_calls", None) or []:
                calls[call.get("id") or ""] = call
                args = call.get("args") or {}
                if args.get("product_id"):
                    memory.last_product = args["product_id"]
                    if args.get("size") or args.get("color"):
                        memory.last_variant = {
                            "product_id": args["product_id"],
                            "size": args.get("size"),
                            "color": args.get("color"),
                            "city": args.get("city"),
                        }
                if args.get("order_id"):
                    memory.last_order_id = args["order_id"]
        elif kind == "tool":
            call = calls.get(getattr(message, "tool_call_id", "") or "", {})
            name = getattr(message, "name", None) or call.get("name", "")
            _remember_result(memory, name, load_json(message.content), call.get("args") or {})
    return memory


def _remember_result(memory: Memory, name: str, data: Any, args: dict) -> None:
    if not isinstance(data, (dict, list)) or is_error(data):
        return
    for item in walk(data):
        pid = item.get("productId")
        if isinstance(pid, str) and item.get("name") and re.fullmatch(r"P\d{4}", pid):
            known = memory.products.setdefault(pid, {})
            for key, value in item.items():
                if value is not None and key not in ("quantity",):
                    known.setdefault(key, value)
            known["name"] = item["name"]
        sid = item.get("storeId")
        if isinstance(sid, str) and item.get("name"):
            memory.stores[sid] = {"name": item["name"], "city": item.get("city")}
    if isinstance(data, dict) and "nextCursor" in data:
        memory.next_cursor[name] = data["nextCursor"]
    if name in LIST_TOOLS:
        found = [p["productId"] for p in product_list(data)]
        if found:
            memory.last_list = found
    elif name in ("get_product_details", "check_stock"):
        pid = dig(data, "productId")
        if pid:
            memory.last_product = pid
    if name in CART_TOOLS:
        cart = data.get("cart") if isinstance(data, dict) and isinstance(data.get("cart"), dict) else data
        if isinstance(cart, dict) and (cart_lines(cart) or "items" in cart or "lines" in cart):
            memory.cart = cart
    if name in ("place_order", "order_status", "return_item", "exchange_item"):
        oid = dig(data, "orderId")
        if oid:
            memory.last_order_id = oid
            if isinstance(data, dict):
                order = data.get("order")
                memory.orders.setdefault(oid, {}).update(order if isinstance(order, dict) else data)
    if name in ("my_profile", "get_offers_and_points"):
        for key, keys in (
            ("name", ("name",)),
            ("city", ("city",)),
            ("tier", ("tier",)),
            ("points", ("pointsBalance", "points", "balance", "availablePoints")),
        ):
            value = dig(data, *keys)
            if value is not None and not isinstance(value, (dict, list)):
                memory.shopper[key] = value


# --- text normalisation and typo fixing ----------------------------------------------------------

ORDER_RE = re.compile(r"\bord(?:er)?[\s#:-]*(?:no\.?|number|id)?[\s#:-]*(\d{6})\b", re.I)
UPI_RE = re.compile(r"\b[a-zA-Z0-9][a-zA-Z0-9._-]{1,255}@[a-zA-Z]{2,64}\b(?![.@\w])")
PRODUCT_ID_RE = re.compile(r"\bp(\d{4})\b", re.I)
SKU_RE = re.compile(r"\b(p\d{4}-[a-z]+-[a-z0-9]+)\b", re.I)
STORE_RE = re.compile(r"\b(st-[a-z]{3}-\d{2})\b", re.I)
CARD_REF_RE = re.compile(r"card\s*(?:_|\s)?ending\s*(?:_|\s)?(?:in\s*)?(\d{4})", re.I)
_KEYWORD_LIST = sorted(lx.KEYWORDS)


def normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("&", " and ")
    text = text.lower()
    text = re.sub(r"(?<=\d),(?=\d)", "", text)  # 5,000 -> 5000
    text = hinglish(text)
    # budgets said the other way round: "3000 ke andar", "nothing above 5000", "5000 se kam"
    text = re.sub(
        r"\b(\d+(?:\.\d+)?\s*k?)\s*(?:ke andar|ke neeche|se kam|tak|or less|or below|max)\b", r"under \1", text
    )
    text = re.sub(r"\b(?:nothing|not|none|no)\s+(?:above|over|more than|costlier than|pricier than)\s+", "under ", text)
    text = re.sub(r"\bcheck\s+out\b", "checkout", text)
    text = re.sub(r"\bt[\s-]?shirts?\b", lambda m: "tshirts" if m.group(0).endswith("s") else "tshirt", text)
    text = re.sub(r"\bclick\s+(?:and\s+)?collect\b", "click and collect", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text


_HINGLISH = sorted(lx.HINGLISH, key=len, reverse=True)


@functools.lru_cache(maxsize=1)
def _hinglish_pattern() -> re.Pattern:
    return re.compile("|".join(r"(?<![\w\u0900-\u097f])" + re.escape(p) + r"(?![\w\u0900-\u097f])" for p in _HINGLISH))


def hinglish(text: str) -> str:
    """Hinglish and Hindi words to English ("mera order kahan hai" -> "my order where is")."""
    if not _hinglish_pattern().search(text):
        return text
    return re.sub(r"\s+", " ", _hinglish_pattern().sub(lambda m: lx.HINGLISH[m.group(0)], text)).strip()


def fix_typos(text: str, extra_known: Collection[str] = frozenset()) -> str:
    """Snap misspelt words to the keyword lexicon ("jakcet" -> "jacket", "chekout" -> "checkout")."""

    def fix(match: re.Match) -> str:
        word = match.group(0)
        if (
            len(word) < 4
            or word in lx.KEYWORDS
            or word in lx.COMMON_WORDS
            or word in lx.NAME_WORDS
            or word in extra_known
        ):
            return word
        for i in range(len(word) - 1):  # one swapped pair of letters: "crat", "jakcet"
            swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            if swapped in lx.KEYWORDS:
                return swapped
        cutoff = 0.85 if len(word) <= 5 else 0.8
        close = difflib.get_close_matches(word, _KEYWORD_LIST, n=1, cutoff=cutoff)
        return close[0] if close else word

    return re.sub(r"[a-z]+", fix, text)


@functools.lru_cache(maxsize=4096)
def rx(pattern: str) -> re.Pattern:
    """A compiled pattern, cached (the parser uses more patterns than re's own cache holds)."""
    return re.compile(pattern)


@functools.lru_cache(maxsize=1024)
def _phrases(phrases: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(r"(?<![a-z0-9])(?:" + p + r")(?![a-z0-9])" for p in phrases))


def has(text: str, *phrases: str) -> bool:
    return bool(_phrases(phrases).search(text))


# --- slot readers --------------------------------------------------------------------------------

_AMOUNT = r"(?:₹|rs\.?|inr|rupees)?\s*(\d+(?:\.\d+)?)\s*(k|thousand|lakh|l)?(?:\s*(?:rs|rupees|inr|/-))?"


def _amount(number: str, unit: str | None) -> float:
    value = float(number)
    if unit in ("k", "thousand"):
        value *= 1000
    elif unit in ("lakh", "l"):
        value *= 100000
    return value


MAX_PRICE = 10_000_000  # ₹1 crore: anything above is not a budget


def read_prices(text: str) -> dict:
    return {k: v for k, v in _read_prices(text).items() if 0 < v <= MAX_PRICE}


def _read_prices(text: str) -> dict:
    slots: dict[str, float] = {}
    between = rx(r"between\s*" + _AMOUNT + r"\s*(?:and|to|-)\s*" + _AMOUNT).search(text)
    if between:
        low, high = _amount(between.group(1), between.group(2)), _amount(between.group(3), between.group(4))
        if between.group(2) is None and between.group(4):
            low = _amount(between.group(1), between.group(4))
        slots["min_price"], slots["max_price"] = min(low, high), max(low, high)
        return slots
    ranged = re.search(r"(?:₹|rs\.?)\s*(\d+(?:\.\d+)?)\s*(k)?\s*(?:-|to)\s*(?:₹|rs\.?)?\s*(\d+(?:\.\d+)?)\s*(k)?", text)
    if ranged:
        slots["min_price"] = _amount(ranged.group(1), ranged.group(2) or ranged.group(4))
        slots["max_price"] = _amount(ranged.group(3), ranged.group(4))
        return slots
    upper = re.search(
        r"(?:under|below|less than|cheaper than|max(?:imum)?|upto|up to|within|not more than|"
        r"no more than|at most|not over|budget(?: of| is)?|<|<=)\s*" + _AMOUNT,
        text,
    )
    if upper:
        value = _amount(upper.group(1), upper.group(2))
        if value >= 100 or upper.group(2):
            slots["max_price"] = value
    lower = rx(r"(?:over|above|more than|at least|min(?:imum)?|starting at|from|>|>=)\s*" + _AMOUNT).search(text)
    if lower:
        value = _amount(lower.group(1), lower.group(2))
        if value >= 100 or lower.group(2):
            slots["min_price"] = value
    around = rx(r"(?:around|about|roughly|approx(?:imately)?)\s*" + _AMOUNT).search(text)
    if around and "max_price" not in slots:
        value = _amount(around.group(1), around.group(2))
        if value >= 100 or around.group(2):
            slots["max_price"] = round(value * 1.2)
    budget = re.search(r"(?:₹|rs\.?\s?)(\d+(?:\.\d+)?)\s*(k)?\s*(?:budget|max|or less|or under)", text)
    if budget and "max_price" not in slots:
        slots["max_price"] = _amount(budget.group(1), budget.group(2))
    return slots


def read_sizes(text: str, raw: str) -> list[tuple[int, str]]:
    """Sizes mentioned, with their positions: letters, waist 28-38, UK 3-12, One Size."""
    found: list[tuple[int, str]] = []
    for m in re.finditer(r"\b(?:one|free)[\s-]?size\b|\bonesize\b", text):
        found.append((m.start(), lx.ONE_SIZE))
    for m in re.finditer(r"\b(?:size|sz|in an?|in)\s+(xxs|xs|s|m|l|xl|xxl|2xl)\b", text):
        found.append((m.start(1), lx.SIZE_WORDS.get(m.group(1), m.group(1).upper())))
    for m in re.finditer(r"\b(xxl|2xl|xl|xs)\b", text):
        found.append((m.start(), lx.SIZE_WORDS[m.group(1)]))
    for phrase in sorted(lx.SIZE_WORDS, key=len, reverse=True):
        if " " in phrase or phrase in ("small", "medium", "med", "large", "xlarge", "xsmall"):
            for m in rx(r"\b" + phrase + r"\b").finditer(text):
                if not any(start <= m.start() < start + 12 for start, _ in found):
                    found.append((m.start(), lx.SIZE_WORDS[phrase]))
    # a bare capital S/M/L in the shopper's own text ("M in black", "an L")
    for m in re.finditer(r"(?<![\w'’])([SML])(?![\w'’])", raw):
        found.append((m.start(), m.group(1)))
    for m in re.finditer(
        r"\b(?:waist|size|sz|w)\s*(2[89]|3[0-8])\b|\b(2[89]|3[0-8])\s*(?:waist|inch(?:es)?|in\b|\")", text
    ):
        found.append((m.start(), m.group(1) or m.group(2)))
    for m in re.finditer(r"\buk\s*(\d{1,2})\b|\b(?:size|sz)\s*([3-9]|1[0-2])\b", text):
        found.append((m.start(), m.group(1) or m.group(2)))
    unique: dict[str, int] = {}
    for pos, size in sorted(found):
        unique.setdefault(size, pos)
    return sorted(((pos, size) for size, pos in unique.items()))


def read_colours(text: str) -> list[tuple[int, str]]:
    found: dict[str, int] = {}
    for alias, colour in lx.COLOUR_ALIASES.items():
        if colour:
            for m in rx(r"\b" + re.escape(alias) + r"\b").finditer(text):
                found.setdefault(colour, m.start())
    for colour in lx.COLOURS:
        for m in rx(r"\b" + colour.lower() + r"\b").finditer(text):
            if colour == "Gold" and re.match(r"gold\s*(tier|member|membership|status|level|card)", text[m.start() :]):
                continue
            if colour == "Tan" and re.match(r"tan\b'?t", text[m.start() :]):
                continue
            found.setdefault(colour, m.start())
    return sorted((pos, colour) for colour, pos in found.items())


def read_category(text: str) -> tuple[str | None, str | None, str | None]:
    """(category, product-type term, the word that said so)."""
    best: tuple[int, str | None, str | None, str] | None = None
    for phrase, (category, term) in lx.CATEGORY_PHRASES.items():
        m = rx(r"\b" + re.escape(phrase) + r"\b").search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), category, term, phrase)
    if best:
        return best[1], best[2], best[3]
    found: tuple[str | None, str | None, str] | None = None
    terms: list[str] = []
    previous_end = -1
    for m in re.finditer(r"[a-z][a-z-]*", text):
        word = m.group(0)
        if word in lx.CATEGORY_WORDS:
            if (
                word == "bag"
                and re.search(r"\b(my|shopping|the)\s+bag\b", text)
                and not re.search(r"\b(tote|potli|leather|canvas|hand)\s+bag", text)
            ):
                continue
            if found is not None and not re.fullmatch(r"[a-z -]*", text[previous_end : m.start()]):
                break  # a second phrase ("jackets, and jeans"): the first one stands
            if found is not None and len(text[previous_end : m.start()].split()) > 2:
                break
            category, term = lx.CATEGORY_WORDS[word]
            if term and term not in terms:
                terms.append(term)
            found = (category, " ".join(terms) or None, word)  # "trench coat", "bomber jacket": the head noun
            previous_end = m.end()
    return found if found else (None, None, None)


def read_city(text: str) -> str | None:
    for key in sorted(lx.CITIES, key=len, reverse=True):
        if rx(r"\b" + key + r"\b").search(text):
            return lx.CITIES[key]
    return None


def read_season(text: str) -> str | None:
    for word, season in lx.SEASONS.items():
        if rx(r"\b" + word + r"\b").search(text):
            return season
    return None


def read_quantity(text: str) -> int | None:
    patterns = [
        r"\b(?:qty|quantity)\s*(?:to|of|=|:|is)?\s*(\d{1,2})\b",
        r"\b(\d{1,2})\s*(?:x|pcs|pieces|units|nos|of (?:these|those|them|it|the))\b",
        r"\bx\s*(\d{1,2})\b",
        r"\b(?:make it|make that|change (?:it|that|the quantity)? ?to|update (?:it|that)? ?to|set (?:it )?to)"
        r"\s*(\d{1,2})\b",
        r"\b(?:make|set|change|update) (?:the|my|that|this) [a-z -]+? (?:to )?(\d{1,2})\b",
        r"\b(?:add|buy|get|want|need|take)\s+(\d{1,2})\b(?!\s*(?:points|pts|k\b|%|rs|₹|waist|inch))",
        r"\b(\d{1,2})\s+(?:instead|more)\b",
    ]
    if re.search(r"\b(?:just|only|actually|reduce (?:it |that )?to|make it|make that)\s+(?:one|a single|1)\b", text):
        return 1
    for pattern in patterns:
        m = re.search(pattern, text)
        if m:
            value = int(m.group(1))
            if 1 <= value <= 20:
                return value
    for word, value in lx.NUMBER_WORDS.items():
        if rx(r"\b" + word + r"\b(?!\s*(?:size|sizes|points))").search(text) and word not in ("pair", "single"):
            if word == "couple" and not re.search(r"\ba couple\b", text):
                continue
            return value
    return None


def read_reason(text: str) -> str:
    for reason, phrases in lx.RETURN_REASONS.items():
        if any(rx(r"\b" + re.escape(p) + r"\b").search(text) for p in phrases):
            return reason
    return "other"


def read_coupon(text: str, raw: str) -> str | None:
    m = re.search(
        r"\b(?:coupon|promo|voucher|discount)?\s*code\s*(?:is|:)?\s*([a-z0-9]{4,20})\b|"
        r"\b(?:coupon|promo|voucher)\s*(?:code)?\s*(?:is|:)?\s*([a-z0-9]{4,20})\b|"
        r"\bapply\s+([a-z]{3,}[0-9]{1,5})\b",
        text,
    )
    if m:
        code = (m.group(1) or m.group(2) or m.group(3)).upper()
        if code not in ("CODE", "PLEASE", "THIS", "THAT", "HERE", "FOR", "PLS") and not code.isdigit():
            return code
    m = re.search(r"(?<![\w-])([A-Z]{3,12}[0-9]{1,5})(?![\w-])", raw)
    if m and not m.group(1).startswith(("ORD", "UK", "XL", "XXL", "ST")):
        return m.group(1)
    return None


def read_points(text: str) -> int | None:
    m = re.search(r"(\d[\d,]*)\s*(?:loyalty\s*|reward\s*)?(?:points|pts|point)\b", text)
    if m:
        return int(m.group(1).replace(",", ""))
    m = re.search(r"\bredeem\s*(\d{2,6})\b", text)
    return int(m.group(1)) if m else None


# --- product references -----------------------------------------------------------------------

_NAME_TOKEN = re.compile(r"[a-z]+")
_PRONOUN = re.compile(r"\b(it|this|that|this one|that one|the same|them|these|those|one)\b(?!\s*size)")


def _name_tokens(name: str) -> list[str]:
    return [t for t in _NAME_TOKEN.findall(name.lower()) if len(t) > 2]


def _close(word: str, candidates: list[str]) -> bool:
    return word in candidates or bool(difflib.get_close_matches(word, candidates, n=1, cutoff=0.84))


def match_product(
    text: str, products: dict[str, dict], prefer: Sequence[str] = (), generic_ok: bool = False
) -> tuple[str | None, str | None]:
    """The product in ``products`` the text names best, and the name words it used (or None)."""
    words = _NAME_TOKEN.findall(text)
    best: tuple[float, int, str, list[str]] | None = None
    order = {pid: i for i, pid in enumerate(prefer)}  # later in ``prefer`` = more recent = preferred
    for pid, info in products.items():
        name = str(info.get("name") or "")
        tokens = _name_tokens(name)
        distinctive = [
            t
            for t in tokens
            if t not in lx.GENERIC_NAME_WORDS
            and t.capitalize() not in lx.COLOURS
            and t not in lx.CITIES
            and t not in lx.SEASONS
        ]
        if not tokens:
            continue
        used = [w for w in words if len(w) > 2 and _close(w, tokens)]
        hits = [t for t in distinctive if _close(t, words)]
        generic = [t for t in tokens if t not in distinctive and t in lx.CATEGORY_WORDS and t in words]
        if not hits and not (generic and generic_ok):
            continue
        score = len(hits) / max(len(distinctive), 1) + 0.1 * len([t for t in tokens if _close(t, words)])
        if not hits:
            score = 0.2 * len(generic)
        rank = (score, order.get(pid, -1))
        if best is None or rank > (best[0], best[1]):
            best = (score, order.get(pid, -1), pid, used)
    if best and best[0] >= (0.2 if generic_ok else 0.34):
        return best[2], " ".join(best[3])
    return None, None


def _strip_words(text: str, words: str | None) -> str:
    if not words:
        return text
    for word in words.split():
        text = re.sub(r"\b" + re.escape(word) + r"\b", " ", text, count=1)
    return re.sub(r"\s+", " ", text).strip()


_STOP = (
    lx.COMMON_WORDS
    | lx.KEYWORDS
    | set(lx.OCCASIONS)
    | set(lx.NUMBER_WORDS)
    | set(lx.ORDINALS)
    | {
        "hi",
        "hey",
        "hello",
        "namaste",
        "something",
        "anything",
        "stuff",
        "someone",
        "any",
        "some",
        "available",
        "stock",
        "size",
        "sizes",
        "colour",
        "colours",
        "color",
        "colors",
        "uk",
        "waist",
        "rs",
        "inr",
        "rupees",
        "k",
        "cost",
        "under",
        "below",
        "over",
        "above",
        "less",
        "more",
        "than",
        "max",
        "upto",
        "within",
        "around",
        "about",
        "between",
        "budget",
        "cheap",
        "cheaper",
        "nice",
        "good",
        "great",
        "cool",
        "warm",
        "light",
        "lightweight",
        "add",
        "adding",
        "cart",
        "basket",
        "bag",
        "store",
        "stores",
        "near",
        "nearby",
        "city",
        "online",
        "left",
        "got",
        "many",
        "much",
        "size",
        "fits",
        "look",
        "looks",
        "options",
        "option",
        "wear",
        "ones",
        "one",
        "pls",
        "please",
        "thanks",
        "plz",
        "also",
        "too",
        "me",
        "my",
        "mine",
        "you",
        "your",
        "ur",
        "u",
        "im",
        "ill",
        "id",
        "whats",
        "hows",
        "wheres",
        "dont",
        "cant",
        "wont",
        "isnt",
        "new",
        "latest",
        "trending",
        "popular",
        "best",
        "men",
        "women",
        "mens",
        "womens",
        "kids",
        "gift",
        "gifts",
        "tell",
        "details",
        "what",
        "there",
        "much",
        "small",
        "medium",
        "large",
        "extra",
        "free",
        "in",
        "an",
        "xs",
        "xl",
        "xxl",
        "s",
        "m",
        "l",
        "x",
        "pcs",
        "stocks",
        "instock",
        "sold",
        "out",
        "do",
        "does",
        "have",
        "has",
        "is",
        "are",
        "any",
        "currently",
        "right",
        "now",
        "still",
        "yet",
        "reserve",
        "reservation",
        "hold",
        "aside",
        "collect",
        "pickup",
        "pick",
        "click",
        "wearing",
        "size",
        "quick",
        "quickly",
        "delivery",
        "deliver",
        "ship",
        "shipping",
        "home",
        "send",
        "apply",
        "swap",
        "exchange",
        "return",
        "because",
        "since",
        "wrong",
        "big",
        "tight",
        "loose",
        "morning",
        "evening",
        "bye",
        "was",
        "were",
        "item",
        "bought",
        "ordered",
        "received",
        "got",
        "had",
        "can't",
        "don't",
        "i'm",
        "i'll",
        "i'd",
        "it's",
        "that's",
        "what's",
        "let's",
        "want",
        "would",
        "like",
        "love",
        "see",
        "reserve",
        "reserved",
        "keep",
        "aside",
        "try",
        "details",
        "more",
        "tell",
        "describe",
        "material",
        "fabric",
        "made",
        "reviews",
        "rating",
        "info",
        "same",
        "other",
        "another",
        "different",
        "colour",
        "instead",
    }
    | {w for phrases in lx.RETURN_REASONS.values() for p in phrases for w in p.split()}
)


def residual_words(text: str) -> list[str]:
    """Words left once intent words, slot words and filler are taken out: a product name, maybe."""
    text = re.sub(r"\b(?:ord-?\d+|p\d{4}|st-[a-z]{3}-\d{2}|\d+(?:\.\d+)?k?)\b", " ", text)
    text = re.sub(r"[\w.-]+@[a-z]+", " ", text)
    return [
        w
        for w in re.findall(r"[a-z][a-z'-]*", text)
        if len(w) > 2
        and w.replace("'", "") not in _STOP
        and w not in lx.CATEGORY_WORDS
        and w.capitalize() not in lx.COLOURS
        and w not in lx.CITIES
        and w not in lx.SEASONS
        and w not in lx.COLOUR_ALIASES
        and not w.endswith("'s")
    ]


# --- the parser -------------------------------------------------------------------------------


def read_card_message(raw: str) -> tuple[str | None, str]:
    """The text for a gift message card ("with a note 'Happy birthday Anu'", "add a note Happy birthday",
    "message: Love you"), and the message without it. Quoted text counts only with a gift/wrap/note word."""
    if not re.search(r"\b(note|message|card|gift|wrap|wrapped|wrapping)\b", raw or "", re.I):
        return None, raw
    quoted = re.search(r"[\"“]([^\"”]{1,200})[\"”]|(?<!\w)'([^']{2,200})'(?!\w)", raw)
    if quoted:
        text = (quoted.group(1) or quoted.group(2)).strip()
        return (text or None), (raw[: quoted.start()] + " " + raw[quoted.end() :])
    m = re.search(
        r"\b(?:with |add |and )?(?:a |the )?(?:note|gift message|card message|message"
        r"|card (?=saying|that says|reading))\s*(?:saying|that says|which says|reading|says|:|-|=)?\s*"
        r"(?P<tail>.+?)\s*[.!]*\s*$",
        raw,
        re.I,
    )
    if not m:
        return None, raw
    tail = re.sub(r"[\s,]*\b(please|pls|thanks|thank you)\b[\s.!]*$", "", m.group("tail"), flags=re.I).strip()
    if not tail or re.fullmatch(r"(?:on it|too|as well|for (?:her|him|them)|please)", tail, re.I):
        return None, raw
    return tail[:200], raw[: m.start()]


def parse(text: str, memory: Memory | None = None) -> Intent:
    """Read one shopper message: the intent and its slots, resolved against the memory."""
    memory = memory or Memory()
    raw = text or ""
    written = address_span(raw)
    address = parse_address(raw) if written else None
    if written:  # the address is a slot, not words to read ("Park Street" is no parka)
        raw = raw[: written[0]] + " the address " + raw[written[1] :]
    note, raw_rest = read_card_message(raw)
    norm = normalise(raw_rest if note else raw)
    known_words = {t for info in memory.products.values() for t in _name_tokens(str(info.get("name", "")))}
    fixed = fix_typos(norm, known_words)
    slots: dict[str, Any] = {}

    # structured tokens first
    m = ORDER_RE.search(fixed)
    if m:
        slots["order_id"] = f"ORD-{m.group(1)}"
    m = CARD_REF_RE.search(fixed)
    if m:
        slots["card_ref"] = f"card_ending_{m.group(1)}"
        slots["payment_method"] = "card"
    m = UPI_RE.search(raw)
    if m:
        slots["upi_id"] = m.group(0)
        slots["payment_method"] = "upi"
    elif has(fixed, "upi", "gpay", "google pay", "phonepe", "paytm", "bhim"):
        slots["payment_method"] = "upi"
    elif "card_ref" not in slots and has(fixed, "card", "credit card", "debit card", "visa", "mastercard", "rupay"):
        slots["payment_method"] = "card"
    if has(fixed, "cod", "cash on delivery", "cash"):
        slots["payment_method"] = "cash"
    m = STORE_RE.search(fixed)
    if m:
        slots["store_id"] = m.group(1).upper()
    else:
        store = _store_named(fixed, memory)
        if store:
            slots["store_id"] = store
    m = SKU_RE.search(fixed)
    if m:
        slots["sku"] = m.group(1).upper()
    coupon = read_coupon(fixed, raw)
    if coupon and not (slots.get("order_id") and coupon.startswith("ORD")):
        slots["coupon"] = coupon
    points = read_points(fixed)
    if points is not None:
        slots["points"] = points
    if has(
        fixed,
        "click and collect",
        "pick up",
        "pickup",
        "collect (?:it |them )?(?:from|at|in)",
        "store pickup",
        "pick it up",
        "pick them up",
        "in-store pickup",
    ):
        slots["fulfillment"] = "click_and_collect"
    elif has(
        fixed,
        "home delivery",
        "deliver (?:it )?(?:to|at) (?:my )?home",
        "ship (?:it )?to (?:my )?home",
        "ship to home",
        "deliver to my address",
    ):
        slots["fulfillment"] = "ship_to_home"

    # product named: an id, a name seen in tool results, an ordinal or a pronoun
    scan = fixed
    for phrase in lx.STORE_PHRASES:
        if slots.get("store_id") == lx.STORE_PHRASES[phrase]:
            scan = rx(r"\b(?:at |in |from )?(?:the )?" + re.escape(phrase) + r"(?: store)?\b").sub(" ", scan)
    for pattern in (ORDER_RE, CARD_REF_RE, STORE_RE, SKU_RE):
        scan = pattern.sub(" ", scan)
    scan = UPI_RE.sub(" ", scan)
    if coupon:
        scan = re.sub(r"\b" + coupon.lower() + r"\b", " ", scan)
    m = PRODUCT_ID_RE.search(scan)
    if m:
        slots["product_id"] = f"P{m.group(1)}"
        scan = PRODUCT_ID_RE.sub(" ", scan)
    else:
        pid, used = match_product(
            scan, memory.products, memory.last_list + ([memory.last_product] if memory.last_product else [])
        )
        if pid:
            slots["product_id"] = pid
            slots["product_ref"] = "name"
            scan = _strip_words(scan, used)
    if "product_id" not in slots:
        pid = _definite_reference(scan, memory)
        if pid:
            slots["product_id"] = pid
            slots["product_ref"] = "name"
    if "product_id" not in slots:
        ordinal = _ordinal(scan)
        if ordinal is not None and memory.last_list:
            index = ordinal if ordinal >= 0 else len(memory.last_list) + ordinal
            if 0 <= index < len(memory.last_list):
                slots["product_id"] = memory.last_list[index]
                slots["product_ref"] = "ordinal"

    # descriptive slots (on the text without the product's own name words)
    slots.update(read_prices(scan))
    sizes = read_sizes(scan, raw)
    colours = read_colours(scan)
    category, term, category_word = read_category(scan)
    city = read_city(scan)
    season = read_season(scan)
    if sizes:
        slots["size"] = sizes[0][1]
    if colours:
        slots["color"] = colours[0][1]
    if category:
        slots["category"] = category
    if term:
        slots["term"] = term
    if category_word:
        slots["noun"] = category_word
    if city:
        slots["city"] = city
    if season:
        slots["season"] = season
    quantity = read_quantity(scan)
    if quantity is not None:
        slots["quantity"] = quantity
    occasion = next((value for word, value in lx.OCCASIONS.items() if has(scan, word)), None)
    if occasion:
        slots["occasion"] = occasion
    if has(scan, "near me", "nearby", "nearest", "close to me", "around me", "my city", "local store"):
        slots["near_me"] = True

    if "size" not in slots:
        hints = [
            m.group(1) for m in re.finditer(r"(?<![\w.₹-])(\d{1,2})(?![\w.%])(?!\s*(?:k|points|pts|rs|x)\b)", scan)
        ]
        if hints:
            slots["size_hints"] = " ".join(hints)  # bare numbers: a size once the product is known
    if "size" not in slots and slots.get("product_id"):
        known = memory.products.get(slots["product_id"], {})
        for size in known.get("availableSizes") or known.get("sizes") or []:
            if rx(r"(?<![\w.])" + re.escape(str(size).lower()) + r"(?![\w.])").search(scan) and (
                not str(size).isdigit() or not re.search(str(size) + r"\s*(?:k|points|pts|%|rs|₹|x)\b", scan)
            ):
                slots["size"] = str(size)
                break

    name = classifier.classify(fixed, _classify(fixed, slots, memory), frozenset(known_words))
    if address:
        slots["address"] = one_line(address)
        slots.pop("city", None)
        previous = (memory.previous or {}).get("intent")
        if name == "change_address" and not has(fixed, "order", "change", "update", "edit", "correct", "wrong"):
            name = "checkout"  # "deliver it to …" with no order named: where this cart goes
        if name != "change_address" and previous in ("change_address", "checkout") and not has(fixed, "save"):
            name = previous  # the address the last question asked for
        elif name not in ("change_address", "saved_addresses"):
            ships = has(fixed, "ship", "deliver", "send", "checkout", "courier", "post it", "order")
            name = "checkout" if ships else "saved_addresses"  # an address on its own: keep it in the book
        if name == "checkout":
            slots["fulfillment"] = "ship_to_home"

    # exchange: the size/colour after "for/to/into" is the new one
    if name == "exchange_item":
        _exchange_slots(scan, sizes, colours, slots)
    skill = by_name(name)
    if skill is not None and skill.read is not None:  # the skill's own slots (gift wrapping: option, note, recipient)
        skill.read(fixed, raw_rest if note else raw, slots, memory, note)
    if name == "remove_from_cart" and has(
        fixed, "empty", "clear", "everything", "all (?:the )?(?:items|things|of it|of them)", "remove all", "all"
    ):
        slots["all"] = True
    if name in ("return_item", "exchange_item"):
        slots["reason"] = read_reason(fixed)
        if name == "exchange_item" and slots["reason"] == "other" and slots.get("new_size"):
            slots["reason"] = "wrong_size"
    if "product_id" not in slots and name in PRODUCT_INTENTS:
        if name in ("remove_from_cart", "update_quantity"):
            pool = {str(ln.get("productId")): {"name": ln.get("name", "")} for ln in memory.cart_lines()}
        else:
            in_cart = [str(ln.get("productId")) for ln in memory.cart_lines()]
            ids = in_cart + memory.last_list + ([memory.last_product] if memory.last_product else [])
            pool = {pid: memory.products[pid] for pid in ids if pid in memory.products}
        prefer = list(pool)
        if memory.last_product in pool:
            prefer.append(memory.last_product)
        pid, used = match_product(scan, pool, prefer, generic_ok=True)
        if pid and not _fits_name(residual_words(scan), pool[pid]):
            pid = None
        if pid:
            slots["product_id"] = pid
            slots["product_ref"] = "name"
            if category and memory.products.get(pid, {}).get("category") in (None, category):
                for key in ("category", "term", "noun"):
                    slots.pop(key, None)
    if (
        "product_id" not in slots
        and _PRONOUN.search(scan)
        and name
        not in ("greeting", "general_chat", "thanks", "goodbye", "help", "order_status", "return_item", "checkout")
    ):
        target = memory.last_product
        if category and target and memory.products.get(target, {}).get("category") not in (None, category):
            target = None
        if target:
            slots["product_id"] = target
            slots["product_ref"] = "pronoun"
    if "product_id" not in slots and name in PRODUCT_INTENTS | {"search", "browse", "recommend"}:
        words = residual_words(scan)
        if words:
            slots["product_name"] = " ".join(words)
    if name == "recommend" and has(
        fixed, "goes? (?:well )?with", "go (?:well )?with", "to match", "match(?:es)?", "pairs? with", "wear with"
    ):
        for key in ("category", "term", "noun"):  # what goes with a saree is not another saree
            slots.pop(key, None)
    if name == "recommend":
        # the shopper's own words, without the budget: the recommender reads occasion, recipient, "goes with"
        said = re.sub(
            r"\b(?:under|below|within|upto|up to|around|max|less than)\s+[₹\d.,k ]+(?:rupees|rs)?", " ", fixed
        )
        slots["words"] = re.sub(r"\s+", " ", said).strip()[:200]
    if name in ("search", "browse", "recommend"):
        query = " ".join(filter(None, [slots.get("product_name"), term]))
        if query:
            slots["query"] = query
    if (
        name == "search"
        and "product_id" in slots
        and slots.get("product_ref") in ("name", "ordinal")
        and not any(k in slots for k in ("max_price", "min_price", "category"))
    ):
        name = "product_details"

    intent = _follow_up(Intent(name, slots), fixed, memory)
    intent.slots["text"] = (text or "")[:300]  # the message itself, for skills that read their own slots
    return intent


def _store_named(text: str, memory: Memory) -> str | None:
    """A store seen in an earlier tool result, named by its distinctive words ("Select Citywalk")."""
    for phrase, sid in sorted(lx.STORE_PHRASES.items(), key=lambda kv: -len(kv[0])):
        if rx(r"\b" + re.escape(phrase) + r"\b").search(text):
            return sid
    best: tuple[int, str] | None = None
    for sid, info in memory.stores.items():
        words = [
            w
            for w in _name_tokens(str(info.get("name", "")))
            if w not in lx.CITIES
            and w not in ("mall", "road", "store", "west", "east", "north", "south", "place", "inner", "circle")
        ]
        hits = sum(1 for w in words if rx(r"\b" + re.escape(w) + r"\b").search(text))
        if hits and (best is None or hits > best[0]):
            best = (hits, sid)
    return best[1] if best else None


def _singular(word: str) -> bool:
    return not (
        (word.endswith("s") and word[:-1] in lx.CATEGORY_WORDS)
        or (word.endswith("es") and word[:-2] in lx.CATEGORY_WORDS)
    )


def _definite_reference(text: str, memory: Memory) -> str | None:
    """ "the puffer", "that jacket", "this black dress": a product of the last list or the last one discussed."""
    candidates = [
        m.group(2) or m.group(1) for m in re.finditer(r"\b(?:the|that|this)\s+([a-z-]+)(?:\s+([a-z-]+))?", text)
    ]
    candidates += [m.group(1) for m in re.finditer(r"\b(?:the|that|this)\s+([a-z-]+)", text)]
    for word in candidates:
        if word not in lx.CATEGORY_WORDS or not _singular(word):
            continue
        ids = memory.last_list + ([memory.last_product] if memory.last_product else [])
        pool = {pid: memory.products[pid] for pid in ids if pid in memory.products}
        category = lx.CATEGORY_WORDS[word][0]
        named = [pid for pid, info in pool.items() if word in _name_tokens(str(info.get("name", "")))]
        if not named and category:
            named = [pid for pid, info in pool.items() if info.get("category") == category]
        extra = residual_words(text)
        if extra:  # "the manali puffer": every other word must belong to the name too
            named = [pid for pid in named if _fits_name(extra, memory.products[pid])]
        if memory.last_product in named:
            return memory.last_product
        if named:
            return named[0]
    return None


def _fits_name(words: list[str], info: dict) -> bool:
    tokens = _name_tokens(str(info.get("name", "")))
    return all(_close(w, tokens) for w in words)


def _ordinal(text: str) -> int | None:
    m = re.search(
        r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|top)\b(?:\s+(?:one|option|item|result|pick))?", text
    )
    if m and not (m.group(1) == "top" and not re.search(r"\btop (one|option|pick|result)\b", text)):
        return lx.ORDINALS[m.group(1)]
    m = re.search(r"(?:#|\bnumber\s*|\bno\.?\s*|\boption\s*|\bitem\s*)([1-9])\b", text)
    if m:
        return int(m.group(1)) - 1
    if re.search(r"\b(last|bottom) (one|option|item)\b", text):
        return -1
    return None


def _exchange_slots(text: str, sizes, colours, slots: dict) -> None:
    pivot = re.search(r"\b(for|to|into|with)\b", text)
    at = pivot.start() if pivot else -1
    new_sizes = [s for pos, s in sizes if pos > at] if at >= 0 else [s for _, s in sizes]
    new_colours = [c for pos, c in colours if pos > at] if at >= 0 else []
    if new_sizes:
        slots["new_size"] = new_sizes[-1]
    elif sizes and len(sizes) == 1:
        slots["new_size"] = sizes[0][1]
    if new_colours:
        slots["new_color"] = new_colours[-1]
    elif colours and at < 0 and len(colours) == 1 and not sizes:
        slots["new_color"] = colours[0][1]
    if len(colours) >= 2 and "new_color" in slots:
        slots["color"] = next(c for pos, c in colours if c != slots["new_color"])
    elif "new_color" in slots and slots.get("color") == slots["new_color"]:
        slots.pop("color")
    if len(sizes) >= 2 and "new_size" in slots:
        slots["size"] = next(s for pos, s in sizes if s != slots["new_size"])
    elif "new_size" in slots and slots.get("size") == slots["new_size"]:
        slots.pop("size")


def _classify(t: str, slots: dict, memory: Memory) -> str:
    """The intent name, from ordered keyword rules over the typo-fixed text."""
    product = "product_id" in slots
    if not t.strip():
        return "general_chat"
    if has(t, "cancel", "stop", "abort", "don't go ahead", "do not go ahead") and has(
        t, "checkout", "payment", "paying", "hold", "purchase", "transaction"
    ):
        return "cancel_checkout"
    wants_return = has(
        t,
        "return",
        "returns",
        "returning",
        "refund",
        "send (?:it |this |them )?back",
        "give (?:it )?back",
        "take (?:it )?back",
    )
    wants_exchange = has(t, "exchange", "exchanging", "swap", "replace", "replacement")
    if wants_exchange and has(t, "policy", "policies", "rules") and not has(t, "i want", "please", "start"):
        return "policy"
    if wants_exchange and not has(t, "cart"):
        return "exchange_item"
    if "city" in slots and has(
        t, "deliver to", "delivery to", "deliver in", "delivery in", "ship to", "shipping to", "delivered to"
    ):
        return "delivery_info"
    if wants_return:
        if has(t, "policy", "policies", "how (?:do|can|long)", "how many days", "rules") and not has(
            t, "i want", "i'd like", "i would like", "start", "initiate", "please"
        ):
            return "policy"
        return "return_item"
    if has(
        t,
        "where is my",
        "where's my",
        "wheres my",
        "track",
        "tracking",
        "order status",
        "status of",
        "has my order",
        "did my order",
        "when will (?:it|my order|my package|the order|my parcel) ",
        "delivery status",
        "receipt",
        "invoice",
        "my last order",
        "my order",
        "my package",
        "my parcel",
        "shipped yet",
        "arrived",
        "not arrived",
        "not received",
        "order details",
    ) or ("order_id" in slots and not has(t, "checkout", "pay")):
        if not has(t, "place", "checkout", "confirm (?:my |the )?order", "pay"):
            return "order_status"
    if has(
        t,
        "gift wrap",
        "gift-wrap",
        "giftwrap",
        "gift wrapping",
        "gift wrapped",
        "wrap it",
        "wrap this",
        "wrapping",
        "gift box",
        "(?:standard|premium|festive) wrap",
        "wrap (?:that|them|the [a-z -]+)",
        "gift note",
        "message card",
        "gift message",
        "gift card message",
    ):
        return "gift_wrap"
    giftish = has(
        t,
        "it's a gift",
        "its a gift",
        "it is a gift",
        "this is a gift",
        "that's a gift",
        "thats a gift",
        "it's for a gift",
        "as a gift",
        "is a present",
        "as a present",
        "it's a present",
        "its a present",
        "gifting (?:it|this|that)",
    )
    recommending = has(
        t,
        "suggest",
        "recommend",
        "idea",
        "ideas",
        "something",
        "what should",
        "looking for",
        "find",
        "show",
        "any",
        "under",
        "below",
        "what can i",
    )
    if giftish and not recommending and (memory.cart_lines() or memory.last_product or product):
        return "gift_wrap"
    if (memory.previous or {}).get("intent") == "gift_wrap" and has(
        t, "standard", "premium", "festive", "basic", "the box", "a note", "the note", "note", "message"
    ):
        return "gift_wrap"
    if "coupon" in slots or (
        has(t, "coupon", "promo", "voucher", "promocode")
        and has(t, "apply", "use", "add", "have")
        and not has(t, "which", "what", "any", "available", "list", "show")
    ):
        return "apply_coupon"
    if (
        has(t, "redeem", "redemption")
        or ("points" in slots and has(t, "use", "apply", "spend"))
        or has(t, "use my points", "use points", "use my loyalty")
    ):
        return "redeem_points"
    if has(
        t,
        "my profile",
        "my account",
        "my details",
        "my preferences",
        "about me",
        "who am i",
        "my sizes",
        "my style",
        "my info",
        "my information",
        "profile",
    ):
        return "my_profile"
    if has(
        t,
        "points",
        "loyalty",
        "tier",
        "rewards",
        "reward",
        "membership",
        "member",
        "offers",
        "offer",
        "deals",
        "deal",
        "discounts",
        "discount",
        "coupons",
        "coupon",
        "promo",
        "promotions",
        "sale",
    ):
        return "loyalty"
    if has(
        t,
        "remove",
        "delete",
        "take out",
        "take off",
        "get rid of",
        "empty (?:my |the )?(?:cart|basket|bag)",
        "(?:cart|basket|bag) empty",
        "clear (?:my |the )?(?:cart|basket|bag)",
        "take (?:the |it |that |this |them |everything |all )?(?:[a-z]+ )?out",
    ) or (
        has(t, "drop", "don't want", "dont want", "no longer want")
        and (has(t, "cart", "basket", "bag", "it", "them", "that", "this") or product)
    ):
        return "remove_from_cart"
    if has(
        t,
        "quantity",
        "qty",
        "make it \\d+",
        "make that \\d+",
        "change (?:it|that|the quantity)? ?to \\d+",
        "(?:make|set|change|update) (?:the|my|that|this) [a-z -]+ (?:to )?\\d+",
        "\\d+ instead",
        "instead of \\d+",
        "update (?:it|that)? ?to \\d+",
        "only (?:want|need) \\d+",
    ):
        return "update_quantity"
    cart_word = has(t, "cart", "basket", "my bag", "shopping bag", "trolley")
    if cart_word and not has(t, "add", "put", "throw", "place", "move") and not has(t, "checkout"):
        return "view_cart"
    if (
        has(
            t,
            "checkout",
            "place (?:the |my |an )?order",
            "pay now",
            "pay",
            "payment",
            "buy now",
            "proceed",
            "complete (?:my |the )?(?:purchase|order)",
            "confirm (?:my |the )?order",
            "ready to buy",
            "ready to order",
            "finish (?:my )?order",
        )
        or "card_ref" in slots
        or "upi_id" in slots
    ):
        if has(t, "add", "put") and (product or slots.get("product_name")) and not has(t, "checkout"):
            return "add_to_cart"
        return "checkout"
    if has(
        t,
        "reserve",
        "reservation",
        "hold (?:it|one|this|that|them)",
        "keep (?:it|one|this) (?:aside|for me)",
        "set aside",
        "put aside",
        "try (?:it |them )?on in (?:the )?store",
        "try (?:it )?in (?:the )?store",
        "hold for me",
        "book (?:it|one) (?:in|at)",
    ):
        return "reserve_in_store"
    if cart_word or has(
        t,
        "add",
        "i'll take",
        "ill take",
        "i will take",
        "i'll buy",
        "ill buy",
        "i will buy",
        "buy (?:it|this|that|the|them|these|those)",
        "get me (?:it|this|that|the)",
        "i want (?:it|this one|that one|this|that)",
        "i'll have",
        "take (?:it|this|that)",
        "add on",
        "throw in",
    ):
        return "add_to_cart"
    if has(
        t,
        "tell me more",
        "more about",
        "details",
        "detail",
        "describe",
        "material",
        "fabric",
        "made of",
        "reviews",
        "rating",
        "what is the .* like",
        "more info",
        "info on",
        "specs",
    ):
        if product or slots.get("category") is None:
            return "product_details"
    stock_words = has(
        t,
        "in stock",
        "stock",
        "available",
        "availability",
        "any left",
        "sold out",
        "out of stock",
        "have (?:it|this|that|them) in",
        "in store",
        "in-store",
        "in a store",
        "near me",
        "nearby",
        "nearest",
        "which store",
        "which stores",
        "left",
        "can i get (?:it|this|that)",
        "do you have (?:it|this|that|them)",
        "is it there",
        "instock",
    )
    if (
        has(t, "stores?", "outlets?", "showrooms?", "branch", "branches")
        and not product
        and not _PRONOUN.search(t)
        and not any(k in slots for k in ("size", "color", "category", "product_name"))
        and not has(t, "reserve", "stock", "available", "availability", "have (?:it|this|that|them)", "sold")
    ):
        return "store_finder"  # the stores themselves, not a product in them
    if stock_words and (product or _PRONOUN.search(t) or not slots.get("category") or residual_words(t)):
        return "inventory_check"
    if (
        has(t, "do you have", "have you got", "got any", "is there", "can i get", "do you still have")
        and (product or residual_words(t))
        and any(k in slots for k in ("size", "color", "city", "near_me"))
    ):
        return "inventory_check"
    if has(
        t,
        "recommend",
        "recommendation",
        "recommendations",
        "suggest",
        "suggestion",
        "suggestions",
        "what should i",
        "goes with",
        "go with",
        "goes well",
        "match",
        "matches",
        "matching",
        "pair with",
        "pairs with",
        "complete the look",
        "ideas",
        "idea",
        "gift for",
        "something for",
        "what would",
        "looks good",
        "look good",
        "trending",
        "popular",
        "best seller",
        "bestseller",
        "bestsellers",
        "for me",
        "style me",
        "outfit",
        "what to wear",
        "help me choose",
        "help me pick",
        "your picks",
        "advice",
    ):
        return "recommend"
    if stock_words and product:
        return "inventory_check"
    filters = any(k in slots for k in ("max_price", "min_price", "size", "color", "season"))
    searchy = has(
        t,
        "search",
        "find",
        "looking for",
        "look for",
        "searching",
        "need",
        "want",
        "do you have",
        "got any",
        "do you sell",
        "do you carry",
        "any",
        "have you got",
        "is there",
        "are there",
        "shopping for",
        "in the market for",
        "cheapest",
        "cheaper",
        "under",
        "below",
    )
    browsy = has(
        t,
        "show",
        "browse",
        "what do you (?:have|sell|stock)",
        "what [a-z -]+ do you (?:have|sell|stock|carry)",
        "what have you got",
        "catalog",
        "catalogue",
        "collection",
        "range",
        "new arrivals",
        "what's new",
        "whats new",
        "see",
        "view",
        "list",
        "explore",
        "menu",
        "categories",
        "products",
    )
    if slots.get("category"):
        if filters or has(t, "search", "find", "looking for", "look for", "need", "searching", "shopping for"):
            return "search"
        if browsy or not searchy:
            return "browse"
        return "search"
    if filters and (searchy or browsy):
        return "search"
    if searchy and residual_words(t):
        return "search"
    if browsy and not has(t, "help"):
        return "browse"
    if has(
        t,
        "hi",
        "hello",
        "hey",
        "hiya",
        "namaste",
        "namaskar",
        "hola",
        "yo",
        "good morning",
        "good afternoon",
        "good evening",
        "greetings",
        "howdy",
        "sup",
        "hii",
        "helo",
        "heyy",
    ):
        return "greeting"
    if has(t, "human", "customer care", "customer service", "contact", "speak to", "talk to", "escalate", "manager"):
        return "human_handoff"
    if has(t, "policy", "policies"):
        return "policy"
    if has(t, "shipping", "delivery", "deliver") and not has(t, "late", "damaged", "wrong item", "missing"):
        return "delivery_info"
    if has(
        t,
        "help with (?:my )?order",
        "problem",
        "issue",
        "complaint",
        "complain",
        "human",
        "customer care",
        "customer service",
        "contact",
        "speak to",
        "talk to",
        "policy",
        "policies",
        "shipping",
        "delivery",
        "late",
        "damaged",
        "wrong item",
        "missing",
        "support",
        "escalate",
        "manager",
        "not happy",
        "unhappy",
    ):
        return "support"
    if has(t, "thank", "thanks", "thx", "ty", "cheers", "appreciate", "great help", "awesome", "perfect"):
        return "thanks"
    if has(t, "bye", "goodbye", "see you", "that's all", "thats all", "nothing else", "good night", "cya", "later"):
        return "goodbye"
    if has(t, "help", "what can you do", "how does this work", "commands", "options", "how do i"):
        return "help"
    if answers.is_yes(t):
        return "affirm"
    if answers.is_no(t):
        return "deny"
    if filters and slots.get("product_id"):
        return "inventory_check"
    if filters:
        return "search"
    return "general_chat"


def _follow_up(intent: Intent, text: str, memory: Memory) -> Intent:
    """A bare follow-up ("in navy?", "what about Pune", "M please") refines the previous request."""
    previous = memory.previous or {}
    prev_name = previous.get("intent")
    prev_slots = dict(previous.get("slots") or {})
    if prev_name == "order_history" and re.fullmatch(
        r"(?:ok |okay |yes |and )?(?:show |see |list |give )?(?:me )?(?:some |the )?"
        r"(?:more|next(?: page| ones?| 5)?|older(?: ones)?|rest|more please|earlier ones)(?: please| pls)?[.!? ]*",
        text,
    ):
        return Intent("order_history", {"more": True, **{k: v for k, v in prev_slots.items() if k == "order_filter"}})
    if (
        "address" in intent.slots
        and prev_name in ("change_address", "checkout", "saved_addresses")
        and intent.name in ("general_chat", "search", "browse", "affirm", "checkout", prev_name)
    ):
        return Intent(prev_name, {**prev_slots, **intent.slots})
    if intent.name == "affirm" and previous.get("awaiting") and prev_name and not previous.get("offer"):
        return Intent(prev_name, prev_slots)  # "yes" to a question: ask it again, with what we know
    if intent.name == "affirm" and previous.get("offer"):
        offer = previous["offer"]
        merged = {**(offer.get("slots") or {}), **{k: v for k, v in intent.slots.items() if k != "product_name"}}
        return Intent(offer["intent"], merged)
    refiners = {
        "size",
        "color",
        "city",
        "max_price",
        "min_price",
        "season",
        "quantity",
        "category",
        "near_me",
        "store_id",
        "card_ref",
        "upi_id",
        "payment_method",
        "fulfillment",
        "new_size",
        "new_color",
        "sku",
    }
    if (
        prev_name == "checkout"
        and previous.get("awaiting")
        and intent.name in ("general_chat", "search", "affirm", "checkout")
        and any(k in intent.slots for k in ("card_ref", "upi_id", "payment_method"))
    ):
        return Intent("checkout", {**prev_slots, **intent.slots})  # the address given before still stands
    if intent.name not in ("general_chat", "search", "browse", "affirm") or prev_name not in REFINABLE:
        return intent
    own = {k for k in intent.slots if k in refiners}
    if not own:
        return intent
    if (
        previous.get("awaiting")
        and intent.name in ("search", "browse")
        and (intent.slots.get("category") or intent.slots.get("noun") or intent.slots.get("product_name"))
        and not (prev_name in ("search", "browse", "recommend") and "product_id" not in prev_slots)
    ):
        return intent  # names something to look at: clearly a new request, the pending question is dropped
    if intent.name in ("search", "browse") and not previous.get("awaiting"):
        if "category" in intent.slots and intent.slots.get("category") != prev_slots.get("category"):
            return intent
        if intent.slots.get("noun") and intent.slots.get("noun") != prev_slots.get("noun"):
            return intent  # names a (new) kind of product: a fresh search
        if intent.name != "general_chat" and (
            intent.slots.get("product_name") or has(text, "search", "find", "looking for", "show me")
        ):
            return intent
    keep = {k: v for k, v in prev_slots.items() if k not in ("product_name",) or "product_id" not in prev_slots}
    merged = {**keep, **{k: v for k, v in intent.slots.items() if k in refiners or k == "product_id"}}
    if intent.slots.get("category") and intent.slots.get("category") != prev_slots.get("category"):
        for key in ("query", "term", "noun", "product_id", "product_name"):
            merged.pop(key, None)
        merged["category"] = intent.slots["category"]
        if intent.slots.get("term"):
            merged["term"] = merged["query"] = intent.slots["term"]
    if "city" in intent.slots:
        merged.pop("near_me", None)
    return Intent(prev_name, merged)
