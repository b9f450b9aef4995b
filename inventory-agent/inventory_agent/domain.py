"""Inventory rules: what counts as low stock, where a hold draws from, how holds end."""

from __future__ import annotations

import logging
import os
import secrets
from typing import Any

from sqlalchemy.engine import Connection

from agentkit import BusinessRuleViolation, Conflict, Database, NotFound, clock
from agentkit.logs import get_logger, log

from . import storage

LOW_STOCK_THRESHOLD = int(os.environ.get("LOW_STOCK_THRESHOLD", 5))
DEFAULT_HOLD_SECONDS = 900
logger = get_logger("inventory")


def online_status(level: int, threshold: int = LOW_STOCK_THRESHOLD) -> str:
    if level <= 0:
        return "out_of_stock"
    return "low_stock" if level <= threshold else "in_stock"


def store_descriptor(level: int) -> str:
    if level == 1:
        return "last_one"
    return "few_left" if level <= 3 else "in_stock"


def _matches(variant: dict[str, Any], size: str | None, color: str | None) -> bool:
    return (size is None or variant["size"].lower() == size.lower()) and (
        color is None or variant["color"].lower() == color.lower()
    )


def _variant_not_found(product_id: str, size: str | None, color: str | None, every: list[dict[str, Any]]) -> NotFound:
    sizes = sorted({v["size"] for v in every})
    colors = sorted({v["color"] for v in every})
    field = "size" if size and not any(_matches(v, size, None) for v in every) else "color"
    return NotFound(
        f"{product_id} does not come in {' '.join(x for x in (color, size) if x)}. "
        f"Sizes: {', '.join(sizes)}. Colours: {', '.join(colors)}.",
        code="variant_not_found",
        details=[{"field": f"attributes.{field}", "message": "no such variant"}],
    )


def _pick_variants(conn: Connection, product_id: str, size: str | None, color: str | None) -> list[dict[str, Any]]:
    every = storage.product_variants(conn, product_id)
    if not every:
        raise NotFound.of("product", product_id, "productId")
    picked = [v for v in every if _matches(v, size, color)]
    if not picked:
        raise _variant_not_found(product_id, size, color, every)
    return picked


def _read_stock(db: Database, product_id: str, size: str | None, color: str | None):
    """Locations, stock rows and whether some hold is past its expiry, in one read transaction."""
    with db.read() as conn:
        holds_due = storage.any_expired_hold(conn, clock.now_iso())
        places = storage.location_index(conn)
        rows = storage.product_stock(conn, product_id, size, color)
        if not rows:  # no such product, or it does not come in that size or colour
            _pick_variants(conn, product_id, size, color)
    return places, rows, holds_due


def check_inventory(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    product_id = body["productId"]
    attributes = body.get("attributes", {})
    size, color = attributes.get("size"), attributes.get("color")
    city = body.get("locationContext", {}).get("city")
    places, rows, holds_due = _read_stock(db, product_id, size, color)
    if holds_due:
        expire_due_holds(db)
        places, rows, _ = _read_stock(db, product_id, size, color)

    variants: dict[str, dict[str, Any]] = {}
    warehouses: dict[str, int] = {}
    stores: dict[str, int] = {}
    for row in rows:
        variant = variants.setdefault(
            row.sku, {"sku": row.sku, "size": row.size, "color": row.color, "online": 0, "stores": 0}
        )
        if places[row.location_id]["kind"] == "warehouse":
            variant["online"] += row.on_hand
            warehouses[row.location_id] = warehouses.get(row.location_id, 0) + row.on_hand
        else:
            variant["stores"] += row.on_hand
            stores[row.location_id] = stores.get(row.location_id, 0) + row.on_hand
    picked = list(variants.values())
    online = sum(warehouses.values())
    in_city = sorted(
        (
            places[store_id] | {"on_hand": level}
            for store_id, level in stores.items()
            if level > 0 and (city is None or places[store_id]["city"].lower() == city.lower())
        ),
        key=lambda s: (-s["on_hand"], s["location_id"]),
    )
    options = (["ship_to_home"] if online > 0 else []) + (["click_and_collect", "reserve_in_store"] if in_city else [])
    exact = len(picked) == 1 and size is not None and color is not None
    return {
        "productId": product_id,
        "sku": picked[0]["sku"] if exact else None,
        "attributes": {
            k: v
            for k, v in (
                ("size", picked[0]["size"] if size else None),
                ("color", picked[0]["color"] if color else None),
            )
            if v
        },
        "onlineStatus": online_status(online),
        "onlineStockLevel": online,
        "warehouses": [
            {"warehouseId": wid, "name": places[wid]["name"], "city": places[wid]["city"], "stockLevel": level}
            for wid, level in sorted(warehouses.items())
        ],
        "availableStores": [
            {
                "storeId": s["location_id"],
                "name": s["name"],
                "city": s["city"],
                "address": s["address"],
                "stockLevel": s["on_hand"],
                "stockDescriptor": store_descriptor(s["on_hand"]),
            }
            for s in in_city
        ],
        "fulfillmentOptions": options,
        "variants": [
            {
                "sku": v["sku"],
                "size": v["size"],
                "color": v["color"],
                "onlineStatus": online_status(v["online"]),
                "onlineStockLevel": v["online"],
                "storeStockLevel": v["stores"],
            }
            for v in picked
        ],
    }


def availability(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    wanted = body["productIds"]
    with db.read() as conn:
        rows = storage.online_levels(conn, wanted)
    summary: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = summary.setdefault(
            row["product_id"], {"online": 0, "stores": 0, "sizes": {}, "colors": {}, "variants": []}
        )
        entry["online"] += row["online"]
        entry["stores"] += row["in_stores"]
        if row["online"] + row["in_stores"] > 0:  # dicts keep first-seen order and drop repeats
            entry["sizes"][row["size"]] = True
            entry["colors"][row["color"]] = True
            # The pairs themselves: "S" in stock and "Gold" in stock does not mean S in Gold is.
            entry["variants"].append(
                {
                    "size": row["size"],
                    "color": row["color"],
                    "onlineStockLevel": int(row["online"]),
                    "storeStockLevel": int(row["in_stores"]),
                }
            )
    return {
        "products": [
            {
                "productId": pid,
                "onlineStatus": online_status(summary[pid]["online"]),
                "onlineStockLevel": summary[pid]["online"],
                "storeStockLevel": summary[pid]["stores"],
                "availableSizes": list(summary[pid]["sizes"]),
                "availableColors": list(summary[pid]["colors"]),
                "availableVariants": summary[pid]["variants"],
            }
            for pid in wanted
            if pid in summary
        ]
    }


def _hold_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "holdId": row["hold_id"],
        "status": row["status"],
        "storeId": row["store_id"],
        "reference": row["reference"],
        "orderId": row["order_id"],
        "createdAt": row["created_at"],
        "expiresAt": row["expires_at"],
        "lines": [
            {
                "sku": ln["sku"],
                "productId": ln["product_id"],
                "size": ln["size"],
                "color": ln["color"],
                "quantity": ln["quantity"],
                "locationId": ln["location_id"],
            }
            for ln in row["lines"]
        ],
    }


def _allocate(conn: Connection, sku: str, quantity: int, store_id: str | None, reason: str) -> list[dict[str, Any]]:
    """Take ``quantity`` of ``sku`` from the store, or from warehouses (fullest first). None if short."""
    if store_id:
        return (
            [{"sku": sku, "location_id": store_id, "quantity": quantity}]
            if storage.change_stock(conn, sku, store_id, -quantity, reason) is not None
            else []
        )
    taken, remaining = [], quantity
    candidates = [r for r in storage.stock_rows(conn, [sku]) if r["kind"] == "warehouse" and r["on_hand"] > 0]
    for row in sorted(candidates, key=lambda r: -r["on_hand"]):
        take = min(remaining, row["on_hand"])
        if storage.change_stock(conn, sku, row["location_id"], -take, reason) is not None:
            taken.append({"sku": sku, "location_id": row["location_id"], "quantity": take})
            remaining -= take
        if remaining == 0:
            return taken
    return []


def create_hold(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    expire_due_holds(db)
    store_id = body.get("storeId")
    hold_id = "HLD-" + secrets.token_hex(5).upper()
    reason = f"hold {hold_id}"
    shortages: list[dict[str, str]] = []
    with db.write() as conn:
        if store_id and (storage.location(conn, store_id) or {}).get("kind") != "store":
            raise NotFound.of("store", store_id, "storeId")
        lines = []
        for index, item in enumerate(body["items"]):
            variant = _pick_variants(conn, item["productId"], item["size"], item["color"])[0]
            taken = _allocate(conn, variant["sku"], item["quantity"], store_id, reason)
            if not taken:
                shortages.append(
                    {
                        "field": f"items.{index}.quantity",
                        "message": f"not enough {variant['sku']} {'at ' + store_id if store_id else 'online'}",
                    }
                )
            lines.extend(taken)
        if shortages:  # raising inside the transaction rolls back every unit taken above
            raise Conflict(
                "Not enough stock to hold every item; nothing was held.", code="insufficient_stock", details=shortages
            )
        storage.insert_hold(
            conn,
            {
                "hold_id": hold_id,
                "status": "active",
                "store_id": store_id,
                "reference": body.get("reference"),
                "order_id": None,
                "created_at": clock.now_iso(),
                "expires_at": clock.later_iso(body.get("ttlSeconds", DEFAULT_HOLD_SECONDS)),
            },
            lines,
        )
        _alert_if_low(conn, {line["sku"] for line in lines})
    return get_hold(db, {"holdId": hold_id}), 201


def get_hold(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    expire_due_holds(db)  # a hold past its expiry must read "expired", not "active"
    with db.read() as conn:
        row = storage.hold(conn, body["holdId"])
    if row is None:
        raise NotFound.of("hold", body["holdId"], "holdId")
    return _hold_view(row)


def list_holds(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    """Holds as stored, a page at a time (operator only). Deliberately does not expire due holds first: the
    integrity audit must see a hold left active past its expiry."""
    offset, limit = body.get("offset", 0), body.get("limit", 200)
    with db.read() as conn:
        ids = storage.hold_ids(conn, body.get("status"), offset, limit)
        rows = [storage.hold(conn, hold_id) for hold_id in ids]
    return {
        "holds": [_hold_view(row) for row in rows if row is not None],
        "nextOffset": offset + limit if len(ids) == limit else None,
    }


def _return_stock(conn: Connection, hold_id: str, lines: list[dict[str, Any]], why: str) -> None:
    for line in lines:
        storage.change_stock(conn, line["sku"], line["location_id"], line["quantity"], f"{why} {hold_id}")


def release_hold(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    hold_id = body["holdId"]
    with db.write() as conn:
        row = storage.hold(conn, hold_id)
        if row is None:
            raise NotFound.of("hold", hold_id, "holdId")
        if row["status"] == "committed":
            raise Conflict(
                f"Hold {hold_id} is already committed to an order; it cannot be released.",
                code="hold_committed",
                details=[{"field": "holdId", "message": "committed"}],
            )
        if row["status"] == "active" and storage.move_hold(conn, hold_id, "active", "released"):
            _return_stock(conn, hold_id, row["lines"], "release")
    return get_hold(db, body)


def commit_hold(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    hold_id = body["holdId"]
    expire_due_holds(db)
    with db.write() as conn:
        row = storage.hold(conn, hold_id)
        if row is None:
            raise NotFound.of("hold", hold_id, "holdId")
        if row["status"] in ("released", "expired"):
            raise Conflict(
                f"Hold {hold_id} is {row['status']}; its stock went back on sale.",
                code=f"hold_{row['status']}",
                details=[{"field": "holdId", "message": row["status"]}],
            )
        if row["status"] == "active":
            storage.move_hold(conn, hold_id, "active", "committed", order_id=body.get("orderId"))
    return get_hold(db, body)


def expire_due_holds(db: Database) -> int:
    """Return the stock of every active hold past its expiry. Cheap when there is none."""
    now = clock.now_iso()
    with db.read() as conn:
        if not storage.any_expired_hold(conn, now):
            return 0
    expired = 0
    with db.write() as conn:
        for hold_id in storage.expired_hold_ids(conn, now):
            row = storage.hold(conn, hold_id)
            if storage.move_hold(conn, hold_id, "active", "expired"):
                _return_stock(conn, hold_id, row["lines"], "expired")
                expired += 1
    return expired


def restock(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.write() as conn:
        variant = _pick_variants(conn, body["productId"], body["size"], body["color"])[0]
        if storage.location(conn, body["locationId"]) is None:
            raise NotFound.of("location", body["locationId"], "locationId")
        new_level = storage.change_stock(conn, variant["sku"], body["locationId"], body["quantity"], body["reason"])
        if new_level is None:
            raise BusinessRuleViolation(
                f"{variant['sku']} is not stocked at {body['locationId']}.",
                details=[{"field": "locationId", "message": "not stocked here"}],
            )
        entry = storage.history(conn, [variant["sku"]], 1)[0]
    return _change_view(entry)


def _change_view(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku": entry["sku"],
        "locationId": entry["location_id"],
        "change": entry["change"],
        "newLevel": entry["new_level"],
        "reason": entry["reason"],
        "at": entry["at"],
    }


def stock_history(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        picked = _pick_variants(conn, body["productId"], body.get("size"), body.get("color"))
        entries = storage.history(conn, [v["sku"] for v in picked], body.get("limit", 50))
    return {"productId": body["productId"], "entries": [_change_view(e) for e in entries]}


def low_stock(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    threshold = body.get("threshold", LOW_STOCK_THRESHOLD)
    expire_due_holds(db)
    with db.read() as conn:
        levels = [row for row in storage.online_levels(conn) if row["online"] <= threshold]
    levels.sort(key=lambda row: (row["online"], row["sku"]))
    return {
        "threshold": threshold,
        "items": [
            {
                "sku": row["sku"],
                "productId": row["product_id"],
                "size": row["size"],
                "color": row["color"],
                "onlineStatus": online_status(row["online"]),
                "onlineStockLevel": row["online"],
                "storeStockLevel": row["in_stores"],
            }
            for row in levels[: body.get("limit", 200)]
        ],
    }


def _alert_if_low(conn: Connection, skus: set[str]) -> None:
    online: dict[str, int] = {}
    for row in storage.stock_rows(conn, skus):
        if row["kind"] == "warehouse":
            online[row["sku"]] = online.get(row["sku"], 0) + row["on_hand"]
    for sku, level in online.items():
        if level <= LOW_STOCK_THRESHOLD:
            log(logger, logging.WARNING, "low stock", sku=sku, onlineStockLevel=level, status=online_status(level))
