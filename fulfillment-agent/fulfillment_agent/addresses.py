"""The shoppers' address books and the store finder.

Fulfillment owns the address book because it is the agent that delivers: it knows which cities it delivers to
(cities.py), checks an address against that list when it is saved, and records the full address on the order
that uses it. Another shopper's address is unknown (404), never shown or used.
"""

from __future__ import annotations

import secrets
from typing import Any

from agentkit import BusinessRuleViolation, Conflict, Database, NotFound, clock

from . import cities, paging, storage

MAX_ADDRESSES = 20
ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O or U to misread


def delivered_city(city: str, field: str) -> cities.City:
    """The city the shop delivers to that ``city`` names, or a 422 city_not_delivered naming ``field``."""
    found = cities.find(city)
    if found is None:
        raise BusinessRuleViolation(
            f"We do not deliver to {' '.join(city.split())} yet. We deliver to {', '.join(cities.names())}.",
            code="city_not_delivered",
            details=[{"field": field, "message": "not a city the shop delivers to"}],
        )
    return found


def _clean(address: dict[str, Any]) -> dict[str, Any]:
    """The address as it is kept: surrounding and repeated spaces gone, country IN."""
    kept = {name: " ".join(value.split()) for name, value in address.items() if name != "country"}
    return {**{name: value for name, value in kept.items() if value}, "country": "IN"}


def tidy(address: dict[str, Any], field: str, *, name_required: bool = True) -> dict[str, Any]:
    """An address as it is kept (spaces tidied, country IN), whose name (when given or required), line1 and city
    are not only spaces (else a 422 blank_field naming it), in a city the shop delivers to (else a 422
    city_not_delivered)."""
    kept = _clean(address)
    for part in ("name", "line1", "city"):
        if part not in kept and (part != "name" or name_required or part in address):
            raise BusinessRuleViolation(
                f"The address needs a {part}; it was only spaces.",
                code="blank_field",
                details=[{"field": f"{field}.{part}", "message": "blank"}],
            )
    delivered_city(kept["city"], f"{field}.city")
    return kept


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "addressId": row["address_id"],
        "userId": row["user_id"],
        "label": row["label"],
        "address": row["address"],
        "createdAt": row["created_at"],
    }


def save_address(db: Database, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Add an address to the shopper's book (201), or answer the entry already holding the same address (200)."""
    address = tidy(body["address"], "address")
    label = " ".join(body["label"].split()) if body.get("label") else None
    with db.write() as conn:
        held = storage.lock_address_book(conn, body["userId"])
        for row in storage.user_addresses(conn, body["userId"], MAX_ADDRESSES + 1):
            if row["address"] == address:
                return _view(row), 200
        if held >= MAX_ADDRESSES:
            raise Conflict(
                f"{body['userId']} already has {MAX_ADDRESSES} saved addresses, the most a book holds; "
                f"delete one (deleteAddress) before saving another.",
                code="address_book_full",
                details=[{"field": "userId", "message": f"at most {MAX_ADDRESSES} addresses"}],
            )
        row = {
            "address_id": "ADR-" + "".join(secrets.choice(ID_ALPHABET) for _ in range(10)),
            "user_id": body["userId"],
            "label": label,
            "address": address,
            "created_at": clock.now_iso(),
        }
        storage.insert_address(conn, row)
    return _view(row), 201


def list_addresses(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        rows, cursor = paging.page(
            "address",
            body,
            lambda n, after: storage.user_addresses(conn, body["userId"], n, after),
            lambda row: (row["created_at"], row["address_id"]),
        )
    return {"userId": body["userId"], "addresses": [_view(r) for r in rows], "nextCursor": cursor}


def delete_address(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.write() as conn:
        if not storage.delete_address(conn, body["addressId"], body["userId"]):
            raise NotFound.of("address", body["addressId"], "addressId")
    return {"userId": body["userId"], "addressId": body["addressId"], "deleted": True}


def shipping_address(db: Database, user_id: str, address_id: str) -> dict[str, Any]:
    """The address a shopper's order ships to from their book; someone else's address is unknown (404)."""
    with db.read() as conn:
        row = storage.address(conn, address_id)
    if row is None or row["user_id"] != user_id:
        raise NotFound.of("address", address_id, "addressId")
    return dict(row["address"])


def list_stores(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    """The shop's stores in a city (any of its names), or every store when no city is given. A city without a
    store, or one the shop does not deliver to, has none."""
    city = None
    if "city" in body:
        found = cities.find(body["city"])
        city = found.name if found else " ".join(body["city"].split())
    with db.read() as conn:
        rows = storage.stores_in_city(conn, city) if city else storage.all_stores(conn)
    return {
        "city": city,
        "stores": [
            {
                "storeId": s["store_id"],
                "name": s["name"],
                "city": s["city"],
                "address": s["address"],
                "postalCode": s["postal_code"],
                "openingHours": s["opening_hours"],
            }
            for s in rows
        ],
    }
