"""Stock (the inventory agent): a product online and in the stores, per size and colour.

check_stock          {productId, sku, size, color, city, onlineStatus, onlineStockLevel, stores: [{storeId, name,
                      city, stockLevel, stockDescriptor}], fulfillmentOptions, variants: [{sku, size, color,
                      onlineStatus, onlineStockLevel}]}
"""

from __future__ import annotations

from langchain.tools import ToolRuntime

from ..context import SalesContext
from .common import check_product_id, clean
from .registry import declare, service


@declare(("inventory", "checkInventory"))
def check_stock(
    runtime: ToolRuntime[SalesContext],
    product_id: str,
    size: str | None = None,
    color: str | None = None,
    city: str | None = None,
):
    """Stock of a product online and in stores, optionally for one size and colour and near a city."""
    parts = service(runtime)
    body = clean(
        productId=check_product_id(product_id),
        attributes=clean(size=size, color=color) or None,
        locationContext={"city": city} if city else None,
    )
    r = parts.clients.call("inventory", "checkInventory", body)
    stores = r.get("availableStores", [])
    if city:
        in_city = [s for s in stores if s["city"].lower() == city.lower()]
        stores = in_city or stores
    return {
        "productId": r["productId"],
        "sku": r.get("sku"),
        "size": (r.get("attributes") or {}).get("size", size),
        "color": (r.get("attributes") or {}).get("color", color),
        "city": city,
        "onlineStatus": r["onlineStatus"],
        "onlineStockLevel": r["onlineStockLevel"],
        "stores": [{k: s[k] for k in ("storeId", "name", "city", "stockLevel", "stockDescriptor")} for s in stores[:5]],
        "fulfillmentOptions": r.get("fulfillmentOptions", []),
        "variants": [
            {k: v[k] for k in ("sku", "size", "color", "onlineStatus", "onlineStockLevel")}
            for v in r.get("variants", [])[:30]
        ],
    }
