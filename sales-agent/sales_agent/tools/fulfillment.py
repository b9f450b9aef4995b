"""Orders, stores and delivery (the fulfillment agent): putting a size and colour aside in a store to try on, the
shopper's orders a page at a time, cancelling an order or a reservation, where an order goes, delivery to a city
and the stores in one. An order left out is the shopper's latest.

reserve_in_store     {reservationId, productId, sku, size, color, storeId, storeName, storeAddress, city, expiresAt}
list_orders          {"orders": [{orderId, status, placedAt, total, items, estimatedDelivery, deliveredAt}],
                      "more": bool, "nextCursor", "first"}      (nextCursor goes back as cursor for the next page)
cancel_order         without confirm: {"confirmationNeeded": true, orderId, status, total, items, "effects"};
                      with confirm, once the shopper answered: {orderId, status: "cancelled", refunded, note}
cancel_reservation   {reservationId, status, productId, sku, size, color, storeName, city, expiresAt}
change_order_address {orderId, status, shippingAddress, deliverTo, estimatedDelivery}
delivery_options     {city, metro, cartValue, options: [{type, description, fee, freeAbove, estimatedDays,
                      estimatedDate, stores}]}
find_stores          {city, stores: [{storeId, name, city, address, postalCode, openingHours}], count}
"""

from __future__ import annotations

import re
from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.messages import HumanMessage, ToolMessage

from ..addresses import one_line
from ..context import SalesContext
from ..errors import ToolFailure
from .address_book import check_address_id, written_address
from .common import check_product_id
from .post_purchase import resolve_order
from .registry import SalesTools, action_key, declare, service, user_id

ORDER_PAGE = 5
CANCELLABLE = ("pending_approval", "pending", "confirmed", "packed")
RESERVATION_RE = re.compile(r"^RSV-[0-9]{6,}$")

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


# --- orders --------------------------------------------------------------------------------------------------


def order_line(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "orderId": order["orderId"],
        "status": order["status"],
        "placedAt": order["createdAt"],
        "total": order["total"],
        "fulfillmentType": order["fulfillmentType"],
        "items": [f"{i['quantity']} x {i['name']} ({i['color']}, {i['size']})" for i in order["items"]],
        "estimatedDelivery": order["estimatedDelivery"],
        "deliveredAt": order["deliveredAt"],
    }


def _items(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: i[k] for k in ("productId", "sku", "name", "size", "color", "quantity")} for i in order["items"]]


@declare(("fulfillment", "listOrders"))
def list_orders(runtime: ToolRuntime[SalesContext], cursor: str | None = None, status: str | None = None):
    """The shopper's orders, newest first, 5 a page. "more": pass nextCursor as cursor for the next page."""
    parts, uid = service(runtime), user_id(runtime)
    body: dict[str, Any] = {"userId": uid, "limit": ORDER_PAGE}
    if cursor:
        body["cursor"] = cursor.strip()
    if status:
        body["status"] = status.strip().lower()
    page = parts.clients.call("fulfillment", "listOrders", body)
    return {
        "orders": [order_line(o) for o in page["orders"]],
        "more": page["nextCursor"] is not None,
        "nextCursor": page["nextCursor"],
        "first": not cursor,
    }


def shown_and_answered(runtime: ToolRuntime[SalesContext], order_id: str | None) -> bool:
    """Whether this conversation shows a cancel_order preview (of this order, when named) that the shopper
    answered: a message of theirs after it. The model's confirm=true alone is not the shopper's yes."""
    state = runtime.state if isinstance(runtime.state, dict) else {}
    messages = list(state.get("messages") or [])
    preview_at = None
    for index, message in enumerate(messages):
        if isinstance(message, ToolMessage) and message.name == "cancel_order":
            content = str(message.content)
            if '"confirmationNeeded":true' in content and (not order_id or order_id.strip().upper() in content):
                preview_at = index
    return preview_at is not None and any(isinstance(m, HumanMessage) for m in messages[preview_at + 1 :])


@declare(("fulfillment", "listOrders"), ("fulfillment", "getOrder"), ("fulfillment", "cancelOrder"))
def cancel_order(
    runtime: ToolRuntime[SalesContext], order_id: str | None = None, reason: str | None = None, confirm: bool = False
):
    """Cancel an order not yet shipped (default: the latest), refunded in full. Without confirm it only says what
    cancelling does: tell the shopper, and after their yes call again with confirm=true."""
    parts, uid = service(runtime), user_id(runtime)
    confirmed = bool(confirm) and shown_and_answered(runtime, order_id)  # else: show what will happen first
    return cancel(parts, uid, order_id, reason, confirmed)


def cancel(parts: SalesTools, uid: str, order_id: str | None, reason: str | None, confirmed: bool) -> dict:
    """Without ``confirmed``: what cancelling would do (nothing changes). With it: the cancellation, read back."""
    oid = resolve_order(parts, uid, order_id)
    order = parts.clients.call("fulfillment", "getOrder", {"orderId": oid, "userId": uid})
    if order["status"] == "cancelled":
        return {"orderId": oid, "status": "cancelled", "alreadyCancelled": True, "total": order["total"]}
    if order["status"] not in CANCELLABLE:
        after = "it can be returned instead" if order["status"] == "delivered" else "once delivered it can be returned"
        raise ToolFailure(
            "cannot_cancel",
            f"Order {oid} is {order['status'].replace('_', ' ')}, so it can no longer be cancelled; {after}.",
            agent="fulfillment",
            operation="getOrder",
        )
    if not confirmed:
        return {
            "confirmationNeeded": True,
            "orderId": oid,
            "status": order["status"],
            "total": order["total"],
            "items": _items(order),
            "effects": [
                f"the payment of ₹{order['total']:,.2f} is refunded to the original payment method",
                "the items go back on sale",
                "points earned on the order are taken back; points and a coupon it used are given back",
            ],
            "next": "Tell the shopper exactly this and ask them to confirm. Only after they say yes, call "
            "cancel_order again with confirm=true.",
        }
    done = parts.clients.call(
        "fulfillment",
        "cancelOrder",
        {"orderId": oid, "userId": uid, "reason": (reason or "Cancelled by the shopper in the chat")[:300]},
    )
    notes = [h["note"] for h in done["statusHistory"] if h["status"] == "cancelled" and h.get("note")]
    return {
        "orderId": oid,
        "status": done["status"],
        "refunded": done["total"],
        "items": _items(done),
        "note": notes[-1] if notes else None,
    }


@declare(
    ("fulfillment", "listOrders"),
    ("fulfillment", "getOrder"),
    ("fulfillment", "listAddresses"),
    ("fulfillment", "updateOrderAddress"),
    ("recommendation", "getShopperProfile"),
)
def change_order_address(
    runtime: ToolRuntime[SalesContext],
    order_id: str | None = None,
    address: str | None = None,
    address_id: str | None = None,
    name: str | None = None,
):
    """Send an order not yet shipped (default: the latest) to another address: address as written, with its
    PIN code, or address_id of a saved one."""
    parts, uid = service(runtime), user_id(runtime)
    oid = resolve_order(parts, uid, order_id)
    body: dict[str, Any] = {"orderId": oid, "userId": uid}
    if address_id:
        body["addressId"] = check_address_id(address_id)
    elif address:
        written = written_address(parts, uid, address, name, None)
        if "name" not in written:  # the name the order already goes to
            current = parts.clients.call("fulfillment", "getOrder", {"orderId": oid, "userId": uid})
            old_name = (current.get("shippingAddress") or {}).get("name")
            if old_name:
                written["name"] = old_name
        body["shippingAddress"] = written
    else:
        raise ToolFailure("missing_address", "Which address should the order go to?")
    order = parts.clients.call("fulfillment", "updateOrderAddress", body)
    return {
        "orderId": order["orderId"],
        "status": order["status"],
        "shippingAddress": order["shippingAddress"],
        "deliverTo": one_line(order["shippingAddress"]),
        "estimatedDelivery": order["estimatedDelivery"],
    }


@declare(("fulfillment", "listReservations"), ("fulfillment", "cancelReservation"))
def cancel_reservation(runtime: ToolRuntime[SalesContext], reservation_id: str | None = None):
    """Cancel a store reservation (RSV-100001; leave it out when only one is open)."""
    parts, uid = service(runtime), user_id(runtime)
    if reservation_id:
        rid = reservation_id.strip().upper()
        if not RESERVATION_RE.match(rid):
            raise ToolFailure("invalid_argument", f"A reservation id looks like RSV-100001, not {reservation_id!r}.")
    else:
        open_ = parts.clients.call("fulfillment", "listReservations", {"userId": uid, "status": "active", "limit": 10})[
            "reservations"
        ]
        if not open_:
            raise ToolFailure(
                "no_reservations", "You have no reservations open.", agent="fulfillment", operation="listReservations"
            )
        if len(open_) > 1:
            raise ToolFailure(
                "which_reservation",
                f"You have {len(open_)} reservations open; which one should be cancelled?",
                suggestions=[
                    f"{r['reservationId']}: {r['color']} {r['size']} at {r['storeName']} ({r['productId']})"
                    for r in open_
                ],
            )
        rid = open_[0]["reservationId"]
    r = parts.clients.call("fulfillment", "cancelReservation", {"reservationId": rid, "userId": uid})
    keys = ("reservationId", "status", "productId", "sku", "size", "color", "storeName", "city", "expiresAt")
    return {k: r.get(k) for k in keys}


# --- delivery and stores -------------------------------------------------------------------------------------


@declare(("fulfillment", "getDeliveryOptions"), ("recommendation", "getShopperProfile"))
def delivery_options(runtime: ToolRuntime[SalesContext], city: str | None = None, cart_value: float | None = None):
    """Delivery to a city (default: the shopper's): days, fee, free-delivery threshold, click and collect."""
    parts, uid = service(runtime), user_id(runtime)
    where = " ".join(city.split())[:60] if city and city.strip() else None
    if not where:
        profile = parts.clients.shopper_profile(uid)
        where = (profile or {}).get("city")
    if not where:
        raise ToolFailure("missing_city", "Which city should I check delivery to?")
    body: dict[str, Any] = {"city": where}
    value = cart_value if cart_value is not None else (parts.store.cart(uid)["subtotal"] or None)
    if value:
        body["cartValue"] = round(float(value), 2)
    r = parts.clients.call("fulfillment", "getDeliveryOptions", body)
    keep = ("type", "description", "fee", "freeAbove", "estimatedDays", "estimatedDate")
    options = []
    for o in r["options"]:
        view = {k: o.get(k) for k in keep}
        if o.get("stores"):
            view["stores"] = [s["name"] for s in o["stores"]][:5]
        options.append(view)
    return {"city": r["city"], "metro": r["metro"], "cartValue": body.get("cartValue"), "options": options}


@declare(("fulfillment", "listStores"))
def find_stores(runtime: ToolRuntime[SalesContext], city: str | None = None):
    """The shop's stores in a city (Bangalore, Bombay too) with address and hours; all when city is left out."""
    body = {"city": " ".join(city.split())[:60]} if city and city.strip() else {}
    r = service(runtime).clients.call("fulfillment", "listStores", body)
    return {"city": r["city"], "stores": r["stores"][:20], "count": len(r["stores"])}
