"""Stores (the fulfillment agent): putting a size and colour aside in a store to try on.

reserve_in_store     {reservationId, productId, sku, size, color, storeId, storeName, storeAddress, city, expiresAt}
"""

from __future__ import annotations

from typing import Any

from langchain.tools import ToolRuntime

from ..context import SalesContext
from ..errors import ToolFailure
from .common import check_product_id
from .registry import SalesTools, action_key, declare, service, user_id

RESERVATION_KEYS = (
    "reservationId",
    "productId",
    "sku",
    "size",
    "color",
    "quantity",
    "storeId",
    "storeName",
    "storeAddress",
    "city",
    "status",
    "expiresAt",
)


@declare(
    ("fulfillment", "reserveInStore"),
    ("inventory", "checkInventory"),
    ("recommendation", "getShopperProfile"),
)
def reserve_in_store(
    runtime: ToolRuntime[SalesContext],
    product_id: str,
    size: str,
    color: str,
    store_id: str | None = None,
    city: str | None = None,
):
    """Put a size and colour aside in a store for 24 hours to try on (store id like ST-MUM-01, or a city)."""
    parts, uid = service(runtime), user_id(runtime)
    return _reserve(
        parts,
        uid,
        product_id,
        size,
        color,
        store_id,
        city,
        idempotency_key=action_key(
            runtime, "reserve_in_store", product_id=product_id, size=size, color=color, store_id=store_id, city=city
        ),
    )


def _reserve(
    parts: SalesTools,
    user_id: str,
    product_id: str,
    size: str,
    color: str,
    store_id: str | None,
    city: str | None,
    idempotency_key: str | None,
) -> dict[str, Any]:
    product_id = check_product_id(product_id)
    planned = parts.store.action_plan(idempotency_key, user_id) if idempotency_key and not store_id else None
    if planned:
        store_id = planned["storeId"]  # this action chose its store already: a retry asks for the same one
    if not store_id:
        store_id = _store_with_stock(parts, user_id, product_id, size, color, city)
        if idempotency_key:
            store_id = parts.store.plan_action(idempotency_key, user_id, {"storeId": store_id})["storeId"]
    r = parts.clients.call(
        "fulfillment",
        "reserveInStore",
        {
            "userId": user_id,
            "productId": product_id,
            "size": size,
            "color": color,
            "storeId": store_id.strip().upper(),
            "quantity": 1,
        },
        idempotency_key=idempotency_key,
    )
    return {k: r[k] for k in RESERVATION_KEYS if k in r}


def _store_with_stock(parts: SalesTools, user_id: str, product_id: str, size: str, color: str, city: Any) -> str:
    """The store in the city (the shopper's, unless named) with the most of the variant."""
    if not city:
        profile = parts.clients.shopper_profile(user_id)
        city = profile.get("city") if profile else None
    if not city:
        raise ToolFailure("missing_store", "Which store or city should it be reserved in?")
    report = parts.clients.call(
        "inventory",
        "checkInventory",
        {
            "productId": product_id,
            "attributes": {"size": size, "color": color},
            "locationContext": {"city": city},
        },
    )
    stores = [s for s in report.get("availableStores", []) if s["city"].lower() == city.lower()]
    if not stores:
        raise ToolFailure(
            "not_in_store",
            f"No store in {city} has {color} {size} right now.",
            suggestions=["Order it online instead", "Try another city"],
            agent="inventory",
            operation="checkInventory",
        )
    return max(stores, key=lambda s: s["stockLevel"])["storeId"]
