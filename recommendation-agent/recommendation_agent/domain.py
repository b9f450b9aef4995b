"""Recommendation rules: tolerant search, real filters, profile-aware ranking with reasons, bundles
with honest arithmetic, and in-stock alternatives checked with the inventory agent."""

from __future__ import annotations

import difflib
import logging
import re
from datetime import timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable

from agentkit import AgentCallError, BusinessRuleViolation, DependencyUnavailable, NotFound, ValidationFailed, clock
from agentkit.logs import get_logger, log
from agentkit.money import format_inr as inr

from . import semantic, storage
from .images import image_fields

logger = get_logger("recommendation")

MAX_BUNDLES = 2
ALTERNATIVE_PRICE_BAND = Decimal("0.30")
AVAILABILITY_BATCH = 50  # the inventory agent's getAvailability limit
LOW_STOCK = 5  # online units at or below which a variant is low_stock (the inventory agent's default threshold)
IST = timezone(timedelta(hours=5, minutes=30))

# --- text matching -----------------------------------------------------------------------------

STOPWORDS = {
    "a",
    "an",
    "the",
    "and",
    "or",
    "for",
    "with",
    "in",
    "on",
    "of",
    "to",
    "me",
    "my",
    "i",
    "im",
    "show",
    "find",
    "some",
    "any",
    "want",
    "need",
    "looking",
    "look",
    "like",
    "please",
    "something",
    "under",
    "below",
    "over",
    "above",
    "less",
    "than",
    "more",
    "around",
    "between",
    "from",
    "rs",
    "inr",
    "rupee",
    "that",
    "this",
    "is",
    "are",
    "it",
    "its",
    "by",
    "at",
    "as",
    "be",
    "good",
    "nice",
    "best",
    "new",
    "buy",
    "get",
    "pair",
    "can",
    "you",
    "do",
    "have",
    "got",
    "which",
    "what",
    "our",
}
SYNONYMS = {
    "tee": ["tshirt"],
    "tshirt": ["tee"],
    "shoe": ["sneaker", "footwear", "boot"],
    "sneaker": ["shoe"],
    "trouser": ["pant"],
    "pant": ["trouser"],
    "coat": ["jacket", "parka", "overcoat"],
    "jacket": ["coat"],
    "sweater": ["knit", "turtleneck"],
    "jumper": ["sweater", "knit"],
    "scarf": ["stole", "muffler"],
    "bag": ["tote", "backpack", "potli"],
    "gym": ["activewear"],
    "sunglass": ["aviator"],
    "ethnic": ["ethnicwear"],
}
FIELD_WEIGHTS = {
    "name": 3.0,
    "subcategory": 2.5,
    "category": 2.5,
    "tags": 2.0,
    "season": 2.0,
    "brand": 2.0,
    "colors": 1.5,
    "gender": 1.0,
    "description": 1.0,
}
FUZZY_CUTOFF = 0.8


def singular(word: str) -> str:
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def _index_words(text: str) -> set[str]:
    """Words of a catalog field: each part of a hyphenated word and the word joined ("t", "shirt", "tshirt")."""
    found: set[str] = set()
    for chunk in text.lower().replace("'", "").split():
        parts = re.findall(r"[a-z0-9]+", chunk)
        found.update(singular(p) for p in parts)
        if len(parts) > 1:
            found.add(singular("".join(parts)))
    return found


def query_words(text: str) -> list[str]:
    """Meaningful words of a shopper's query: lower case, joined across hyphens, singular, no stopwords."""
    found = []
    for chunk in text.lower().replace("'", "").split():
        for piece in re.split(r"[,;/|]+", chunk):
            word = singular("".join(re.findall(r"[a-z0-9]+", piece)))
            if len(word) >= 2 and word not in STOPWORDS and word not in found:
                found.append(word)
    return found[:12]


def phrase(text: str) -> str:
    """A normalised phrase for comparing category names: "T-Shirts" -> "tshirt"."""
    return " ".join(singular("".join(re.findall(r"[a-z0-9]+", w))) for w in text.lower().split()).strip()


def _fields(product: dict[str, Any]) -> dict[str, set[str]]:
    gender = {"men", "women", "unisex"} if product["gender"] == "unisex" else {product["gender"]}
    return {
        "name": _index_words(product["name"]),
        "subcategory": _index_words(product["subcategory"]),
        "category": _index_words(product["category"]),
        "tags": set().union(*(_index_words(t) for t in product["tags"])) if product["tags"] else set(),
        "season": _index_words(product["season"]),
        "brand": _index_words(product["brand"]),
        "colors": set().union(*(_index_words(c) for c in product["colors"])) if product["colors"] else set(),
        "gender": {singular(g) for g in gender},
        "description": _index_words(product["description"]),
    }


def _word_matchers(word: str, vocabulary: set[str]) -> dict[str, float]:
    """Catalog words that stand for ``word`` and how strongly: exact 1, synonym 0.8, typo or prefix less."""
    found = {word: 1.0}
    for other in SYNONYMS.get(word, []):
        found.setdefault(other, 0.8)
    if len(word) >= 4:
        for other in difflib.get_close_matches(word, vocabulary, n=6, cutoff=FUZZY_CUTOFF):
            found.setdefault(other, 0.85 * difflib.SequenceMatcher(None, word, other).ratio())
    if len(word) >= 3:
        for other in vocabulary:
            if other.startswith(word) and other != word and len(other) - len(word) <= 4:
                found.setdefault(other, 0.6)
    return found


def rank_by_query(products: list[dict[str, Any]], query: str) -> dict[str, float]:
    """Relevance of each product that matches the query best. Empty when nothing matches.

    Every query word is matched against the name, brand, category, subcategory, tags, season, colours
    and description, tolerating plurals, a few synonyms, prefixes and small typos. Products that match
    the most query words win; words that match nothing (noise like "6000") do not empty the result.
    """
    words = query_words(query)
    if not words:
        return {}
    indexed = {p["product_id"]: _fields(p) for p in products}
    vocabulary = set().union(*(w for f in indexed.values() for w in f.values())) if indexed else set()
    matchers = [_word_matchers(word, vocabulary) for word in words]
    scored: dict[str, tuple[int, int, float]] = {}
    for pid, fields in indexed.items():
        strong, covered, total = 0, 0, 0.0
        for matcher in matchers:
            hits = {
                name: FIELD_WEIGHTS[name] * max(strength for word, strength in matcher.items() if word in field_words)
                for name, field_words in fields.items()
                if any(word in field_words for word in matcher)
            }
            if hits:
                covered += 1
                strong += any(name != "description" for name in hits)
                total += max(hits.values())
        if covered:
            scored[pid] = (strong, covered, total)
    if not scored:
        return {}
    # A word found only in a description is weak evidence: use it only when it covers more of the query.
    most_strong = max(s for s, _, _ in scored.values())
    most = max(c for _, c, _ in scored.values())
    pick = (lambda s, c: s == most_strong) if most_strong >= most else (lambda s, c: c == most)
    return {pid: round(total, 3) for pid, (strong, covered, total) in scored.items() if pick(strong, covered)}


# --- filters -----------------------------------------------------------------------------------

SIZE_ALIASES = {
    "SMALL": "S",
    "MEDIUM": "M",
    "LARGE": "L",
    "EXTRALARGE": "XL",
    "XXLARGE": "XXL",
    "2XL": "XXL",
    "FREESIZE": "ONESIZE",
    "ONE": "ONESIZE",
}
COLOR_ALIASES = {"gray": "grey", "golden": "gold", "offwhite": "ivory", "creme": "cream"}


def norm_size(size: str) -> str:
    key = "".join(ch for ch in size.upper() if ch.isalnum())
    key = SIZE_ALIASES.get(key, key)
    if key.startswith("UK") and key[2:].isdigit():
        key = key[2:]
    return key


def norm_color(color: str) -> str:
    key = "".join(ch for ch in color.lower() if ch.isalnum())
    return COLOR_ALIASES.get(key, key)


def has_size(sizes: Iterable[str], size: str) -> bool:
    wanted = norm_size(size)
    return any(norm_size(s) == wanted for s in sizes)


def has_color(colors: Iterable[str], color: str) -> bool:
    wanted = norm_color(color)
    return any(norm_color(c) == wanted for c in colors)


def gender_fits(product_gender: str, wanted: str) -> bool:
    """A men's or women's filter includes unisex products; a unisex filter only unisex ones."""
    return product_gender == wanted or (wanted != "unisex" and product_gender == "unisex")


def category_matcher(products: list[dict[str, Any]], category: str, field: str) -> Callable[[dict[str, Any]], bool]:
    """A category filter that accepts "Jackets", "jacket" or a subcategory such as "sarees" or "boots"."""
    wanted = phrase(category)
    categories = {phrase(p["category"]) for p in products}
    if wanted in categories:
        return lambda p: phrase(p["category"]) == wanted

    def by_subcategory(p: dict[str, Any]) -> bool:
        sub = phrase(p["subcategory"])
        return sub == wanted or sub.endswith(" " + wanted)

    if wanted and any(by_subcategory(p) for p in products):
        return by_subcategory
    names = sorted({p["category"] for p in products})
    raise BusinessRuleViolation(
        f"There is no category {category!r}. Categories: {', '.join(names)}.",
        code="unknown_category",
        details=[{"field": field, "message": f"unknown category; use one of {', '.join(names)}"}],
    )


def apply_filters(products: list[dict[str, Any]], filters: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Only products that truly satisfy every filter: sizes and colours they come in, prices inside the range."""
    low, high = filters.get("minPrice"), filters.get("maxPrice")
    if low is not None and high is not None and low > high:
        raise ValidationFailed(
            "minPrice is larger than maxPrice.",
            details=[{"field": prefix + "minPrice", "message": "must not exceed maxPrice"}],
        )
    tests: list[Callable[[dict[str, Any]], bool]] = []
    if filters.get("category") is not None:
        tests.append(category_matcher(products, filters["category"], prefix + "category"))
    if low is not None:
        tests.append(lambda p: Decimal(str(p["price"])) >= Decimal(str(low)))
    if high is not None:
        tests.append(lambda p: Decimal(str(p["price"])) <= Decimal(str(high)))
    if filters.get("size") is not None:
        tests.append(lambda p: has_size(p["sizes"], filters["size"]))
    if filters.get("color") is not None:
        tests.append(lambda p: has_color(p["colors"], filters["color"]))
    if filters.get("season") is not None:
        season = filters["season"]
        tests.append(lambda p: p["season"] == season or season in (t.lower() for t in p["tags"]))
    if filters.get("gender") is not None:
        tests.append(lambda p: gender_fits(p["gender"], filters["gender"]))
    if filters.get("tags"):
        wanted = {singular(t.strip().lower()) for t in filters["tags"]}
        tests.append(lambda p: wanted <= {singular(t.lower()) for t in p["tags"]})
    return [p for p in products if all(test(p) for test in tests)]


# --- views -------------------------------------------------------------------------------------


def summary(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "productId": p["product_id"],
        "name": p["name"],
        "brand": p["brand"],
        "category": p["category"],
        "subcategory": p["subcategory"],
        "price": p["price"],
        "tags": list(p["tags"]),
        "season": p["season"],
        "gender": p["gender"],
        "sizes": list(p["sizes"]),
        "colors": list(p["colors"]),
        **image_fields(p["product_id"], p["colors"]),
        "rating": p["rating"],
        "giftable": p["giftable"],
    }


def _load(db, user_id: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    with db.read() as conn:
        products = storage.catalog(conn)
        profile = storage.shopper(conn, user_id) if user_id else None
    if user_id and profile is None:
        raise NotFound.of("shopper", user_id, "userId")
    return products, profile


# --- availability (the inventory agent) --------------------------------------------------------


def fetch_availability(inventory, product_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Availability per product id from the inventory agent; ids it does not know are absent."""
    wanted = list(dict.fromkeys(product_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), AVAILABILITY_BATCH):
        answer = inventory.call("getAvailability", {"productIds": wanted[start : start + AVAILABILITY_BATCH]})
        found.update({row["productId"]: row for row in answer["products"]})
    return found


def matching_variants(
    entry: dict[str, Any] | None, size: str | None = None, color: str | None = None
) -> list[dict[str, Any]]:
    """The variants in stock (online or in a store) that have this size and this colour, as one pair:
    a size in stock in one colour and the colour in stock in another size is not the pair."""
    if entry is None:
        return []
    return [
        v
        for v in entry["availableVariants"]
        if v["onlineStockLevel"] + v["storeStockLevel"] > 0
        and (size is None or norm_size(v["size"]) == norm_size(size))
        and (color is None or norm_color(v["color"]) == norm_color(color))
    ]


def is_available(entry: dict[str, Any] | None, size: str | None = None, color: str | None = None) -> bool:
    return bool(matching_variants(entry, size, color))


def availability_label(entry: dict[str, Any] | None, size: str | None = None, color: str | None = None) -> str:
    """in_stock, low_stock, in_stores_only or out_of_stock: of the product, or of the variants a size or colour
    filter asks for (online stock decides, as inventory's onlineStatus does)."""
    if entry is None:
        return "unknown"
    if size is None and color is None:
        online, stores, status = entry["onlineStockLevel"], entry["storeStockLevel"], entry["onlineStatus"]
    else:
        picked = matching_variants(entry, size, color)
        online = sum(v["onlineStockLevel"] for v in picked)
        stores = sum(v["storeStockLevel"] for v in picked)
        status = "out_of_stock" if online <= 0 else ("low_stock" if online <= LOW_STOCK else "in_stock")
    if status == "out_of_stock":
        return "in_stores_only" if stores > 0 else "out_of_stock"
    return status


# --- search, product, categories ------------------------------------------------------------


def search_products(db, body: dict[str, Any]) -> dict[str, Any]:
    products, _ = _load(db)
    matches = apply_filters(products, body)
    relevance: dict[str, float] = {}
    query = (body.get("query") or "").strip()
    if query_words(query):
        relevance = rank_by_query(matches, query)
        matches = [p for p in matches if p["product_id"] in relevance]
    sort = body.get("sort", "relevance")
    keys = {
        "relevance": lambda p: (-relevance.get(p["product_id"], 0.0), -p["rating"], p["position"]),
        "price_asc": lambda p: (p["price"], -p["rating"], p["position"]),
        "price_desc": lambda p: (-p["price"], -p["rating"], p["position"]),
        "rating": lambda p: (-p["rating"], p["price"], p["position"]),
    }
    matches.sort(key=keys[sort])
    return {"total": len(matches), "products": [summary(p) for p in matches[: body.get("limit", 10)]]}


def get_product(db, body: dict[str, Any]) -> dict[str, Any]:
    products, _ = _load(db)
    by_id = {p["product_id"]: p for p in products}
    product = by_id.get(body["productId"])
    if product is None:
        raise NotFound.of("product", body["productId"], "productId")
    return {
        **summary(product),
        "description": product["description"],
        "currency": "INR",
        "variants": [dict(v) for v in product["variants"]],
        "complements": [
            {"productId": c, "name": by_id[c]["name"], "price": by_id[c]["price"]}
            for c in product["complements"]
            if c in by_id
        ],
    }


def list_categories(db, body: dict[str, Any]) -> dict[str, Any]:
    products, _ = _load(db)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for p in products:
        grouped.setdefault(p["category"], []).append(p)
    return {
        "categories": [
            {
                "category": name,
                "productCount": len(items),
                "priceRange": {"min": min(p["price"] for p in items), "max": max(p["price"] for p in items)},
                "subcategories": sorted({p["subcategory"] for p in items}),
            }
            for name, items in grouped.items()
        ]
    }


# --- recommendations ---------------------------------------------------------------------------


def season_now() -> str:
    month = clock.now().astimezone(IST).month
    return {
        11: "winter",
        12: "winter",
        1: "winter",
        2: "winter",
        3: "summer",
        4: "summer",
        5: "summer",
        6: "monsoon",
        7: "monsoon",
        8: "monsoon",
        9: "monsoon",
        10: "festive",
    }[month]


def shopper_size(profile: dict[str, Any] | None, product: dict[str, Any]) -> str | None:
    """The shopper's size for this kind of product: footwear, waist sizes or letter sizes."""
    if not profile or has_size(product["sizes"], "One Size"):
        return None
    sizes = profile["preferences"].get("sizes", {})
    if product["category"] == "footwear":
        return sizes.get("footwear")
    if all(s.isdigit() for s in product["sizes"]):
        return sizes.get("bottoms")
    return sizes.get("tops")


def _gender_lean(profile: dict[str, Any] | None, by_id: dict[str, dict[str, Any]]) -> str | None:
    """ "men" or "women" when everything gendered the shopper bought was for one of them."""
    if not profile:
        return None
    genders = {by_id[pid]["gender"] for pid in profile["purchases"] if pid in by_id} - {"unisex"}
    return genders.pop() if len(genders) == 1 else None


class Signals:
    """A product's score and the reasons behind it, strongest first."""

    def __init__(self, base: float):
        self.score = base
        self.reasons: list[tuple[float, str]] = []

    def add(self, weight: float, reason: str | None = None) -> None:
        self.score += weight
        if reason and weight > 0:
            self.reasons.append((weight, reason))

    def reason(self, fallback: str) -> str:
        picked = [text for _, text in sorted(self.reasons, key=lambda r: -r[0])[:2]] or [fallback]
        return "; ".join([picked[0]] + [t[0].lower() + t[1:] for t in picked[1:]])


def _fallback_reason(p: dict[str, Any], max_price: float | None) -> str:
    kind = p["season"] if p["season"] in ("winter", "summer", "monsoon", "festive") else p["subcategory"]
    text = f"Popular {kind} pick" if p["rating"] >= 4.0 else f"A {kind} pick"
    return text + (f" under {inr(max_price)}" if max_price is not None else f" (rated {p['rating']}/5)")


def _score(
    p: dict[str, Any],
    *,
    context: str,
    anchor: dict[str, Any] | None,
    profile: dict[str, Any] | None,
    by_id: dict[str, dict[str, Any]],
    relevance: float | None,
    query: str,
    color_filter: str | None,
    season: str,
) -> Signals:
    s = Signals(p["rating"] * 0.4)
    pid = p["product_id"]
    if anchor is not None:
        where = {"cart": "in your cart", "checkout": "in your cart"}.get(context, "you viewed")
        if pid in anchor["complements"]:
            s.add(5.0, f"Goes with the {anchor['name']} {where}")
        elif anchor["product_id"] in p["complements"]:
            s.add(3.5, f"Goes with the {anchor['name']} {where}")
        if p["category"] == anchor["category"]:
            if context in ("cart", "checkout"):
                s.add(-1.5)
            else:
                s.add(1.5, f"Similar to the {anchor['name']} you viewed")
    if relevance is not None:
        s.add(min(relevance, 8.0) * 0.6, f'Matches "{query[:40]}"')
    if profile is not None and context == "gift":  # a gift is for someone else: only the budget counts
        budget = profile["preferences"].get("maxBudget")
        if budget is not None and p["price"] > budget:
            s.add(-3.0)
    elif profile is not None:
        prefs = profile["preferences"]
        if p["category"] in prefs.get("categories", []):
            s.add(1.5, f"You often shop {p['category']}")
        liked = [c for c in prefs.get("colors", []) if has_color(p["colors"], c)]
        if color_filter and any(norm_color(c) == norm_color(color_filter) for c in liked):
            liked = [color_filter]
        if liked:
            s.add(2.0, f"Matches your preference for {liked[0].lower()}")
        styles = [st for st in prefs.get("styles", []) if st.lower() in (t.lower() for t in p["tags"])]
        if styles:
            s.add(min(len(styles), 2) * 0.8, f"Fits your {styles[0].lower()} style")
        budget = prefs.get("maxBudget")
        if budget is not None and p["price"] > budget:
            s.add(-3.0)
        bought_with = [by_id[b] for b in profile["purchases"] if b in by_id and pid in by_id[b]["complements"]]
        if bought_with:
            s.add(1.8, f"Goes with the {bought_with[0]['name']} you bought")
        size = shopper_size(profile, p)
        if size is not None:
            s.add(0.5 if has_size(p["sizes"], size) else -2.5)
    if context == "gift":
        if "gift" in (t.lower() for t in p["tags"]):
            s.add(1.5, "A popular gift pick")
    elif context == "occasion":
        dressy = {"festive", "wedding", "party", "evening", "formal"} & {t.lower() for t in p["tags"]}
        if dressy:
            named = [w for w in query_words(query) if w in dressy] or sorted(dressy)
            s.add(min(len(dressy), 2) * 1.2, f"Made for {named[0]} occasions")
    elif context == "checkout" and p["price"] <= 1500:
        s.add(1.5, f"An easy add-on under {inr(1500)}")
    if p["season"] == season or season in (t.lower() for t in p["tags"]):
        s.add(0.8)
    elif p["season"] == "all-season":
        s.add(0.3)
    return s


def _bundle(anchor: dict[str, Any], members: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """Items that go together, at the prices the checkout charges. No bundle price: nothing in the checkout
    (the sales cart, fulfillment's order totals) sells a bundle at a discount, so showing one would be a promise
    nobody keeps."""
    items = [anchor] + members
    total = sum((Decimal(str(p["price"])) for p in items), Decimal(0))
    names = " + ".join(p["name"] for p in members)
    return {
        "bundleId": "BND-" + "-".join(p["product_id"] for p in items),
        "title": f"{label}: {anchor['name']} + {names}",
        "productIds": [p["product_id"] for p in items],
        "items": [{"productId": p["product_id"], "name": p["name"], "price": p["price"]} for p in items],
        "total": round(float(total), 2),
    }


def get_recommendations(db, body: dict[str, Any], inventory=None) -> dict[str, Any]:
    user_id, context = body.get("userId"), body["context"]
    products, profile = _load(db, user_id)
    by_id = {p["product_id"]: p for p in products}
    anchor_id = body.get("contextProductId")
    anchor = by_id.get(anchor_id) if anchor_id else None
    if anchor_id and anchor is None:
        raise NotFound.of("product", anchor_id, "contextProductId")
    filters = body.get("filters", {})
    count, max_price = body.get("count", 5), filters.get("maxPrice")
    bought = set(profile["purchases"]) if profile else set()
    notes: list[str] = []

    # Who it is for: a gendered product in view decides, else what the shopper has bought (not for gifts).
    lean = None
    if context != "gift" and filters.get("gender") is None:
        lean = anchor["gender"] if anchor is not None and anchor["gender"] != "unisex" else _gender_lean(profile, by_id)

    def suitable(p: dict[str, Any]) -> bool:
        return (
            p["product_id"] not in bought
            and (lean is None or gender_fits(p["gender"], lean))
            and (context != "gift" or p["giftable"])
        )

    candidates = [
        p for p in apply_filters(products, filters, "filters.") if suitable(p) and p["product_id"] != anchor_id
    ]
    query = (body.get("query") or "").strip()
    relevance: dict[str, float] = {}
    if query_words(query):
        keyword = rank_by_query(candidates, query)
        meant = semantic.read(candidates, query, keyword, products, anchor)  # occasion, recipient, "goes with"
        if meant.gender and filters.get("gender") is None:
            candidates = [p for p in candidates if gender_fits(p["gender"], meant.gender)] or candidates
        if meant.anchor is not None:
            anchor, anchor_id = by_id[meant.anchor["product_id"]], meant.anchor["product_id"]
            candidates = [p for p in candidates if meant.relevance.get(p["product_id"], 0) > 0] or candidates
        relevance = keyword if keyword and not meant.anchor else meant.relevance
        if keyword and not meant.anchor:
            candidates = [p for p in candidates if p["product_id"] in relevance]
        elif not meant.understood:
            relevance = {}
            notes.append(f'Nothing matched "{query[:60]}", so these are the best picks for the other criteria.')
    season = season_now()
    scored = [
        (
            _score(
                p,
                context=context,
                anchor=anchor,
                profile=profile,
                by_id=by_id,
                relevance=relevance.get(p["product_id"]),
                query=query,
                color_filter=filters.get("color"),
                season=season,
            ),
            p,
        )
        for p in candidates
    ]
    scored.sort(key=lambda sp: (-sp[0].score, -sp[1]["rating"], sp[1]["position"]))
    shortlist = scored[:AVAILABILITY_BATCH]

    def may_bundle(p: dict[str, Any]) -> bool:
        """Bundle items come from other categories, so only price, gender and the shopper's history apply."""
        return (
            suitable(p)
            and (max_price is None or p["price"] <= max_price)
            and (filters.get("gender") is None or gender_fits(p["gender"], filters["gender"]))
        )

    stock: dict[str, dict[str, Any]] | None = None
    if inventory is not None and (shortlist or anchor is not None):
        ids = (
            ([anchor_id, *anchor["complements"]] if anchor is not None else [])
            + [p["product_id"] for _, p in shortlist]
            + [c for _, p in shortlist[: count + 3] for c in p["complements"]]
        )
        try:
            stock = fetch_availability(inventory, ids)
        except AgentCallError as exc:
            log(logger, logging.WARNING, "availability unknown", agent=exc.agent, code=exc.code, status=exc.status)
            notes.append("Stock could not be checked just now, so availability is unknown; confirm before buying.")
    checked = stock is not None

    def in_stock(pid: str, size: str | None = None, color: str | None = None) -> bool:
        return not checked or is_available(stock.get(pid), size, color)

    picked = []
    for signals, p in shortlist:
        if not in_stock(p["product_id"], filters.get("size"), filters.get("color")):
            continue
        view = summary(p)
        view.update(
            reason=signals.reason(_fallback_reason(p, max_price)),
            score=round(max(signals.score, 0.0), 2),
            availability=availability_label(
                stock.get(p["product_id"]) if checked else None, filters.get("size"), filters.get("color")
            ),
        )
        picked.append(view)
        if len(picked) == count:
            break
    if not picked and not notes:
        notes.append("No products match these filters; try widening the price range, size or colour.")

    bundles, seen = [], set()
    anchors = ([anchor] if anchor is not None and may_bundle(anchor) else []) + [by_id[v["productId"]] for v in picked]
    for a in anchors:
        if len(bundles) == MAX_BUNDLES:
            break
        if not in_stock(a["product_id"]):
            continue
        members, kinds = [], {a["category"]}
        for c in a["complements"]:  # one item per category, so a set never holds two jackets
            if (
                c in by_id
                and c not in (a["product_id"], anchor_id)
                and by_id[c]["category"] not in kinds
                and may_bundle(by_id[c])
                and in_stock(c)
                and len(members) < 2
            ):
                members.append(by_id[c])
                kinds.add(by_id[c]["category"])
        key = frozenset([a["product_id"]] + [m["product_id"] for m in members])
        if members and key not in seen:
            seen.add(key)
            bundles.append(_bundle(a, members, "Gift set" if context == "gift" else "Complete the look"))
    return {
        "userId": user_id,
        "context": context,
        "products": picked,
        "bundles": bundles,
        "availabilityChecked": checked,
        "note": " ".join(notes) or None,
    }


# --- alternatives ------------------------------------------------------------------------------


def get_alternatives(db, body: dict[str, Any], inventory=None) -> dict[str, Any]:
    products, _ = _load(db)
    by_id = {p["product_id"]: p for p in products}
    original = by_id.get(body["productId"])
    if original is None:
        raise NotFound.of("product", body["productId"], "productId")
    size, color, count = body.get("size"), body.get("color"), body.get("count", 3)
    price = Decimal(str(original["price"]))
    low, high = price * (1 - ALTERNATIVE_PRICE_BAND), price * (1 + ALTERNATIVE_PRICE_BAND)
    candidates = [
        p
        for p in products
        if p["category"] == original["category"]
        and p["product_id"] != original["product_id"]
        and low <= Decimal(str(p["price"])) <= high
        and (original["gender"] == "unisex" or gender_fits(p["gender"], original["gender"]))
    ]
    if size is not None:
        candidates = [p for p in candidates if has_size(p["sizes"], size)]
    band = f"{inr(low.quantize(Decimal('1'), ROUND_HALF_UP))}–{inr(high.quantize(Decimal('1'), ROUND_HALF_UP))}"
    answer = {
        "productId": original["product_id"],
        "name": original["name"],
        "category": original["category"],
        "size": size,
        "color": color,
        "priceRange": {"min": round(float(low), 2), "max": round(float(high), 2)},
    }
    if not candidates:
        return {
            **answer,
            "alternatives": [],
            "note": f"No other {original['category']} between {band}" + (f" come in size {size}." if size else "."),
        }
    if inventory is None:
        raise DependencyUnavailable(
            "Stock levels cannot be checked, so alternatives cannot be offered right now.",
            details=[{"field": "inventory", "message": "no inventory client configured"}],
        )
    try:
        stock = fetch_availability(inventory, [p["product_id"] for p in candidates])
    except AgentCallError as exc:
        log(logger, logging.WARNING, "alternatives without stock", agent=exc.agent, code=exc.code, status=exc.status)
        raise DependencyUnavailable(
            "The inventory agent is unavailable, so we can't confirm which alternatives are in stock. "
            "Please try again in a moment.",
            details=[{"field": "inventory", "message": f"{exc.code}: {exc.message}"}],
            retryable=True,
            retryAfter=5,
        ) from None
    available = [p for p in candidates if is_available(stock.get(p["product_id"]), size)]
    # A colour is reported, not required: in the shopper's size when one is given (the pair, not the colour in
    # some other size).
    available.sort(key=lambda p: (abs(Decimal(str(p["price"])) - price), -p["rating"], p["position"]))
    alternatives = []
    for p in available[:count]:
        entry = stock[p["product_id"]]
        diff = Decimal(str(p["price"])) - price
        change = "same price" if diff == 0 else f"{inr(abs(diff))} {'more' if diff > 0 else 'less'}"
        reason = f"Similar {p['subcategory']} at {inr(p['price'])} ({change})"
        if size:
            reason += f", available in size {size}"
        if color:
            colours = list(dict.fromkeys(v["color"] for v in matching_variants(entry, size)))
            reason += (
                f", also in {color}"
                if is_available(entry, size, color)
                else f"; not in {color}" + (f" in size {size}" if size else "") + f", comes in {', '.join(colours)}"
            )
        alternatives.append(
            {
                **summary(p),
                "reason": reason,
                "availability": {
                    "status": availability_label(entry, size),  # in the shopper's size, when given
                    "onlineStatus": entry["onlineStatus"],
                    "onlineStockLevel": entry["onlineStockLevel"],
                    "storeStockLevel": entry["storeStockLevel"],
                    "availableSizes": entry["availableSizes"],
                    "availableColors": entry["availableColors"],
                    "availableVariants": [{"size": v["size"], "color": v["color"]} for v in matching_variants(entry)],
                },
            }
        )
    note = None
    if not alternatives:
        note = f"No similar {original['category']} between {band} are in stock" + (f" in size {size}." if size else ".")
    return {**answer, "alternatives": alternatives, "note": note}
