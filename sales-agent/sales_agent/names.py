"""Shoppers read names, never internal ids: a product id (P1001) or a store id (ST-HYD-01) in a reply becomes the
product's or the store's name. The id rules are the contracts' (common.json), so ids of any width are found.

Order ids (ORD-100012) are the shopper's own reference and stay. A sku (P1001-BLACK-M) or a picture's path
(/images/P1001-black.svg) is not a product id and is left alone."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from agentkit.contracts import id_pattern


def _bare(name: str) -> str:
    return id_pattern(name).pattern.removeprefix("^").removesuffix("$")


_PRODUCT, _STORE = _bare("productId"), _bare("storeId")
# "Orion Mall (ST-BLR-02)" loses the bracket (the name is already there); a bare id becomes its name.
ID_RE = re.compile(rf"\s?\(({_PRODUCT}|{_STORE})\)|(?<![\w/-])({_PRODUCT}|{_STORE})(?![\w-])")
PRODUCT_RE = re.compile(rf"^{_PRODUCT}$")


def has_ids(text: str) -> bool:
    return bool(text) and ID_RE.search(text) is not None


def without_ids(text: str, products: dict[str, Any], stores: dict[str, Any]) -> str:
    """The text with no product or store ids: a name where one is known (``products`` and ``stores`` map an id to
    a name or to a record with ``name``), else "this product" / "this store"."""

    def name(match: re.Match) -> str:
        if match.group(1):
            return ""
        key = match.group(2)
        is_product = bool(PRODUCT_RE.match(key))
        known = (products if is_product else stores).get(key)
        if isinstance(known, dict):
            known = known.get("name")
        return str(known or ("this product" if is_product else "this store"))

    return ID_RE.sub(name, text) if text else text


def names_in(values: Iterable[Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Product and store names found in tool results (parsed JSON, or JSON text): every object with a
    ``productId`` or ``storeId`` and a ``name``, at any depth."""
    products: dict[str, str] = {}
    stores: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            name = value.get("name") or value.get("storeName")
            if isinstance(name, str):
                if isinstance(value.get("productId"), str) and value.get("name"):
                    products.setdefault(value["productId"], value["name"])
                elif isinstance(value.get("storeId"), str):
                    stores.setdefault(value["storeId"], name)
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for value in values:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        walk(value)
    return products, stores
