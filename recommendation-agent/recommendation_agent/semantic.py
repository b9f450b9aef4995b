"""Recommendations that understand what a shopper's words mean: occasion, recipient, style, complements.

A free-text ``query`` ("anniversary present for my wife", "gift for my dad, he likes formal stuff", "beach
holiday in Goa", "goes well with a banarasi saree") is read three ways:

- its meaning, by sentence embeddings (agentkit.embeddings, the same model the offline chat uses) against
  each product's text: name, category, subcategory, tags and description;
- who it is for ("my wife", "dad"): the recipient's gender, so a present for a wife is not a running tee;
- what it goes with ("goes well with …", "to match …", "pair with …"): the product named there becomes the
  anchor whose complements are favoured, and more of the same kind (another saree) is not what was asked.

``relevance`` returns scores on the keyword ranker's scale (0 to about 8), so the agent's scoring combines
them unchanged.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from agentkit import embeddings

WOMEN = r"wife|girlfriend|mom|mum|mother|sister|daughter|aunt|grandma|grandmother|niece|her|she|fiancee|bride|ladies"
MEN = r"husband|boyfriend|dad|father|brother|son|uncle|grandpa|grandfather|nephew|him|he|fiance|groom|gents"
_COMPLEMENT = re.compile(
    r"\b(?:goes? (?:well )?with|go (?:well )?with|to go with|to match|matches|matching|pair(?:s|ed)? with|"
    r"wear with|style with|complete the look (?:of|for|with))\s+(?:an? |the |my )?(?P<what>.+)$"
)
# words that set the scene but name no product: they say what the products are for
_OCCASION_HINTS = {
    "anniversary": "romantic gift elegant",
    "birthday": "gift",
    "wedding": "wedding festive ethnic",
    "diwali": "festive diwali ethnic",
    "beach": "summer vacation linen breathable",
    "goa": "summer vacation beach",
    "holiday": "vacation travel",
    "office": "office formal",
    "formal": "formal office classic",
    "party": "party evening",
    "trek": "outdoor trekking winter",
    "gym": "gym sports",
    "present": "gift",
}
MAX_SCORE = 8.0


def recipient_gender(query: str) -> str | None:
    """``women`` or ``men`` when the query names who it is for."""
    text = query.lower()
    if re.search(r"\b(?:for|to) (?:my |our )?(?:" + WOMEN + r")\b|\b(?:" + WOMEN + r")'s\b", text):
        return "women"
    if re.search(r"\b(?:for|to) (?:my |our )?(?:" + MEN + r")\b|\b(?:" + MEN + r")'s\b", text):
        return "men"
    return None


def complement_of(query: str) -> str | None:
    """The thing a "goes well with …" query names ("banarasi saree"), or None."""
    m = _COMPLEMENT.search(query.lower().strip(" ?!."))
    return m.group("what").strip() if m else None


def product_text(p: dict[str, Any]) -> str:
    tags = " ".join(p.get("tags") or [])
    return f"{p['name']}. {p.get('category', '')} {p.get('subcategory', '')}. {tags}. {p.get('description', '')}"


@functools.lru_cache(maxsize=256)
def _product_vector(text: str) -> np.ndarray:
    return embeddings.embed_one(text)


def _query_text(query: str) -> str:
    words = re.findall(r"[a-z]+", query.lower())
    hints = [_OCCASION_HINTS[w] for w in words if w in _OCCASION_HINTS]
    return " ".join([query] + hints)


def similarities(products: list[dict[str, Any]], query: str) -> dict[str, float]:
    """Cosine similarity of the query's meaning to each product's text."""
    if not products or not query.strip():
        return {}
    q = embeddings.embed_one(_query_text(query))
    return {p["product_id"]: float(_product_vector(product_text(p)) @ q) for p in products}


def resolve(products: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    """The product ``text`` names ("banarasi saree"), when one stands out; None when unsure."""
    sims = similarities(products, text)
    if not sims:
        return None
    ranked = sorted(sims.items(), key=lambda kv: kv[1], reverse=True)
    best, score = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    if score < 0.3 or score - runner < 0.02:
        return None
    return next(p for p in products if p["product_id"] == best)


UNDERSTOOD = 0.2  # a query this close to some product's text means something here


@dataclass
class Reading:
    relevance: dict[str, float]  # product id -> score on the keyword ranker's scale
    anchor: dict[str, Any] | None  # the product a "goes with …" query names
    gender: str | None  # who it is for: women or men
    understood: bool  # the query is close to some product's text


def read(
    candidates: list[dict[str, Any]],
    query: str,
    keyword: dict[str, float],
    catalog: list[dict[str, Any]],
    viewed: dict[str, Any] | None = None,
) -> Reading:
    """What the query asks for. Keyword matches keep half their score and the meaning adds to it; for a
    "goes with X" query (X named, or the product ``viewed``), the products that complement X score highest
    and X's own kind scores nothing."""
    gender = recipient_gender(query)
    anchor = None
    what = complement_of(query)
    if what:
        anchor = resolve(catalog, what) or viewed
    sims = similarities(candidates, query if not anchor else f"goes with {anchor['name']}")
    if not sims:
        return Reading(keyword, anchor, gender, bool(keyword))
    values = np.array(list(sims.values()))
    low, high = float(values.min()), float(values.max())
    spread = max(high - low, 1e-6)
    out: dict[str, float] = {}
    for p in candidates:
        pid = p["product_id"]
        meaning = (sims[pid] - low) / spread * 4.0  # 0..4
        score = keyword.get(pid, 0.0) * 0.5 + meaning
        if anchor is not None:
            pairs = pid in anchor.get("complements", []) or anchor["product_id"] in p.get("complements", [])
            if pairs:
                score += 4.0
            same_kind = p.get("subcategory") == anchor.get("subcategory") or p.get("category") == anchor.get("category")
            if pid == anchor["product_id"] or (same_kind and not pairs):
                score = 0.0  # more of the same is not what goes with it
        out[pid] = round(min(score, MAX_SCORE), 3)
    return Reading(out, anchor, gender, bool(keyword) or anchor is not None or high >= UNDERSTOOD)
