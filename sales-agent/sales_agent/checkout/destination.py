"""Where a checkout's order goes: click and collect at a store, or shipping to an address."""

from __future__ import annotations

import re
from typing import Any

from ..errors import ToolFailure

STORE_RE = re.compile(r"^ST-[A-Z]{3}-[0-9]{2}$")


def destination(
    clients: Any, user_id: str, fulfillment: str, store_id: str | None, address: dict | None
) -> dict[str, Any]:
    """Where the order goes: a store to collect from (the one named, else the first in the shopper's city) or a
    delivery address (the one given, else the profile's)."""
    if fulfillment == "click_and_collect":
        store = (store_id or "").strip().upper()
        city = (address or {}).get("city")
        if not STORE_RE.match(store):
            if not city:
                profile = clients.shopper_profile(user_id)
                city = profile["city"] if profile else None
            if not city:
                raise ToolFailure("missing_store", "Which store should the order be collected from?")
            options = clients.call("fulfillment", "getDeliveryOptions", {"city": city})
            stores = [s for o in options["options"] if o["type"] == "click_and_collect" for s in o["stores"]]
            if not stores:
                raise ToolFailure(
                    "no_store_in_city",
                    f"There is no store to collect from in {city}.",
                    suggestions=["Ship to home instead"],
                )
            return {
                "type": "click_and_collect",
                "storeId": stores[0]["storeId"],
                "storeName": stores[0]["name"],
                "storeAddress": stores[0]["address"],
                "city": city,
            }
        return {"type": "click_and_collect", "storeId": store, "city": city}
    if address is None:
        profile = clients.shopper_profile(user_id)
        if not profile or not profile.get("address"):
            raise ToolFailure(
                "missing_address",
                "There is no delivery address on file: say where it should go, with the PIN code "
                "(like “ship it to Flat 3, 14 Park Street, Kolkata 700016”).",
                suggestions=["Choose click and collect at a store"],
            )
        address = dict(profile["address"])
        address.setdefault("name", profile.get("name"))
    address = {k: v for k, v in address.items() if v not in (None, "")}
    for required in ("line1", "city", "postalCode"):
        if not address.get(required):
            raise ToolFailure("invalid_address", f"The delivery address needs {required}.")
    return {"type": "ship_to_home", "address": address, "city": address["city"]}
