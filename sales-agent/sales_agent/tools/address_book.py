"""The shopper's address book (the fulfillment agent keeps it), and reading an address the shopper wrote.

  save_address         {addressId, label, address, deliverTo}
  list_addresses       {addresses: [{addressId, label, address, deliverTo}], "more", "nextCursor"}

A written address ("Flat 3, 14 Park Street, Kolkata 700016") is read by ``sales_agent.addresses``; whether the
shop delivers there is the fulfillment agent's answer (a 422 naming the field, which the model can explain).
``written_address`` and ``address_from_book`` serve prepare_checkout and change_order_address too.
"""

from __future__ import annotations

import re
from typing import Any

from langchain.tools import ToolRuntime

from ..addresses import one_line, parse_address
from ..context import SalesContext
from ..errors import ToolFailure
from .registry import SalesTools, declare, service, user_id

ADDRESS_ID_RE = re.compile(r"^ADR-[0-9A-Z]{10}$")
BOOK_PAGE = 10


def written_address(parts: SalesTools, user_id: str, address: str, name: str | None, phone: str | None) -> dict:
    """The contracts' address from what the shopper wrote, with their name (given, else their profile's)."""
    parsed = parse_address(address)
    if parsed is None:
        raise ToolFailure(
            "invalid_address",
            "An address needs the house and street, the city and a 6-digit PIN code "
            "(like “Flat 3, 14 Park Street, Kolkata 700016”).",
            suggestions=["Ask the shopper for the full address with its PIN code."],
        )
    if not name:
        profile = parts.clients.shopper_profile(user_id)
        name = (profile or {}).get("name")
    if name:
        parsed["name"] = " ".join(str(name).split())[:100]
    if phone:
        parsed["phone"] = phone.strip()
    return parsed


def check_address_id(address_id: str) -> str:
    value = address_id.strip().upper()
    if not ADDRESS_ID_RE.match(value):
        raise ToolFailure("invalid_argument", f"A saved address id looks like ADR-7K3M9Q2X4B, not {address_id!r}.")
    return value


def _entry(saved: dict[str, Any]) -> dict[str, Any]:
    return {
        "addressId": saved["addressId"],
        "label": saved["label"],
        "address": saved["address"],
        "deliverTo": one_line(saved["address"]),
    }


def book_page(parts: SalesTools, user_id: str, cursor: str | None) -> dict:
    body: dict[str, Any] = {"userId": user_id, "limit": BOOK_PAGE}
    if cursor:
        body["cursor"] = cursor.strip()
    r = parts.clients.call("fulfillment", "listAddresses", body)
    return {
        "addresses": [_entry(a) for a in r["addresses"]],
        "more": r["nextCursor"] is not None,
        "nextCursor": r["nextCursor"],
    }


def address_from_book(parts: SalesTools, user_id: str, address_id: str) -> dict[str, Any]:
    """A saved address of the shopper's (to ship an order to), or a failure naming it."""
    wanted = check_address_id(address_id)
    cursor = None
    for _ in range(3):  # a book holds at most 20 addresses
        page = book_page(parts, user_id, cursor)
        for entry in page["addresses"]:
            if entry["addressId"] == wanted:
                return {k: v for k, v in entry["address"].items() if k != "country"}
        cursor = page["nextCursor"]
        if not cursor:
            break
    raise ToolFailure(
        "unknown_address",
        f"There is no saved address {address_id!r}.",
        suggestions=["list_addresses shows the saved ones"],
        agent="fulfillment",
        operation="listAddresses",
    )


@declare(("fulfillment", "saveAddress"), ("recommendation", "getShopperProfile"))
def save_address(
    runtime: ToolRuntime[SalesContext],
    address: str,
    name: str | None = None,
    label: str | None = None,
    phone: str | None = None,
):
    """Save an address as the shopper wrote it, with its PIN code; name: who receives it (default: theirs)."""
    parts, uid = service(runtime), user_id(runtime)
    written = written_address(parts, uid, address, name, phone)
    if "name" not in written:
        raise ToolFailure(
            "missing_name",
            "Whose name should the address be saved under?",
            suggestions=["Ask the shopper for the name to deliver to."],
        )
    body: dict[str, Any] = {"userId": uid, "address": written}
    if label and label.strip():
        body["label"] = " ".join(label.split())[:40]
    return _entry(parts.clients.call("fulfillment", "saveAddress", body))


@declare(("fulfillment", "listAddresses"))
def list_addresses(runtime: ToolRuntime[SalesContext], cursor: str | None = None):
    """The shopper's saved addresses and their ids; "more": pass nextCursor as cursor."""
    return book_page(service(runtime), user_id(runtime), cursor)
