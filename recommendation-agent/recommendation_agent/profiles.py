"""Shopper profiles: the seeded ones and those made on a shopper's first contact (``upsertShopperProfile``).

A shopper the shop has never seen has no profile, and ``getShopperProfile`` says so (404 naming userId), so a
caller can tell a new shopper from a known one. The sales agent makes the profile on first contact with what
the shopper chose to give (a name, an email, a phone, a city: each optional); a later call changes only the
fields it sends. Preferences and purchase history start empty, and a new profile has no address: addresses
are the fulfillment agent's address book.
"""

from __future__ import annotations

from typing import Any

from agentkit import Database, NotFound

from . import storage

EDITABLE = {"name": "name", "email": "email", "phone": "phone", "city": "city"}
EMPTY_PREFERENCES: dict[str, Any] = {"categories": [], "sizes": {}, "colors": [], "styles": []}
NEW_SHOPPER_TIER = "bronze"  # what a new loyalty member starts at; the loyalty agent owns the real tier


def profile_view(profile: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    view = {
        "userId": profile["user_id"],
        "name": profile["name"],
        "email": profile["email"],
        "city": profile["city"],
        "tier": profile["tier"],
        "preferences": profile["preferences"],
        "purchaseHistory": [{"productId": pid, "name": names.get(pid, pid)} for pid in profile["purchases"]],
    }
    if profile.get("phone"):
        view["phone"] = profile["phone"]
    if profile["address"]:  # a profile made on first contact has none
        view["address"] = profile["address"]
    return view


def get_shopper_profile(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        profile = storage.shopper(conn, body["userId"])
        if profile is None:
            raise NotFound.of("shopper", body["userId"], "userId")
        return profile_view(profile, storage.product_names(conn, profile["purchases"]))


def upsert_shopper_profile(db: Database, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Make the shopper's profile (201) or change the fields sent (200); a field not sent is left as it is."""
    user_id = body["userId"]
    changes = {column: body[field].strip() for field, column in EDITABLE.items() if field in body}
    with db.write() as conn:
        created = storage.insert_shopper(
            conn,
            {
                "user_id": user_id,
                "name": "",
                "email": "",
                "phone": None,
                "city": "",
                "tier": NEW_SHOPPER_TIER,
                "preferences": EMPTY_PREFERENCES,
                "address": {},
                **changes,
            },
        )
        if not created and changes:
            storage.update_shopper(conn, user_id, changes)
        profile = storage.shopper(conn, user_id)
        assert profile is not None  # just written in this transaction
        view = profile_view(profile, storage.product_names(conn, profile["purchases"]))
    return view, 201 if created else 200
