"""Which product the shopper means, among the products a search found: by name words first, then by meaning.

Name words decide when they do ("the bomber" -> Bandra Bomber Jacket). Otherwise the shopper's words are
compared by meaning (sentence embeddings) with each product's name, category and tags. When the two best
are close, nobody can tell which one was meant: the model asks rather than picking one silently.
"""

from __future__ import annotations

from agentkit import embeddings

from .intents import match_product

CLOSE = 0.03  # two products within this similarity of each other are both plausible


def product_text(item: dict) -> str:
    tags = " ".join(str(t) for t in item.get("tags") or [])
    return " ".join(filter(None, [str(item.get("name") or ""), str(item.get("category") or ""), tags]))


def pick(words: str, items: list[dict]) -> tuple[str | None, list[dict]]:
    """(product id, []) when one product fits ``words``; (None, the close ones) when two or more do."""
    if not items:
        return None, []
    pool = {i["productId"]: i for i in items}
    pid, _ = match_product(words.lower(), pool, list(pool)[::-1])
    if pid or len(items) == 1 or not words.strip():
        return pid or items[0]["productId"], []
    sims = embeddings.similarity(words.lower(), [product_text(i).lower() for i in items])
    ranked = sorted(zip(sims.tolist(), range(len(items))), reverse=True)
    best, index = ranked[0]
    close = [items[i] for sim, i in ranked if best - sim <= CLOSE]
    if len(close) > 1:
        return None, close[:3]
    return items[index]["productId"], []


def which_one(close: list[dict]) -> str:
    names = [f"**{i.get('name')}**" for i in close]
    listed = ", ".join(names[:-1]) + f" or {names[-1]}"
    return f"Which one do you mean: {listed}?"
