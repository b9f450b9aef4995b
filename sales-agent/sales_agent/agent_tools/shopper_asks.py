"""The tools for everything else a shopper asks once they have bought (issue 9): their orders a page at a time,
cancelling an order or a reservation, where an order goes, wrapping an order already placed, delivery to a city,
the stores in a city, the shop's policies, a person to talk to, and their address book.

  list_orders          {"orders": [{orderId, status, placedAt, total, items, estimatedDelivery, deliveredAt}],
                        "more": bool, "nextCursor"}        (pass nextCursor back as cursor for the next page)
  cancel_order         without confirm: {"confirmationNeeded": true, orderId, status, total, items, "effects"};
                        with confirm after the shopper said yes: {orderId, status: "cancelled", refunded, ...}
  cancel_reservation   {reservationId, status, productId, size, color, storeName, ...} or, with several open and
                        none named, {"error": {"code": "which_reservation", ...}, "reservations": [...]}
  change_order_address {orderId, status, shippingAddress, deliverTo, estimatedDelivery}
  wrap_placed_order    {orderId, giftWrap: {wrapId, productId, optionName, price, message, status}, note}
  delivery_options     {city, metro, options: [{type, description, fee, freeAbove, estimatedDays, estimatedDate,
                        stores}]}
  find_stores          {city, stores: [{storeId, name, city, address, postalCode, openingHours}]}
  get_policy           {topic, policies: [{topic, title, summary, facts}]}        (the post-purchase agent's words)
  contact_human        {ticketId, status, subject, orderId, note}
  save_address         {addressId, label, address, deliverTo}
  list_addresses       {addresses: [{addressId, label, address, deliverTo}], "more", "nextCursor"}

A written address ("Flat 3, 14 Park Street, Kolkata 700016") is read by ``sales_agent.addresses``; whether the
shop delivers there is the fulfillment agent's answer (a 422 naming the field the model can explain).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from langchain.tools import ToolRuntime, tool
from langchain_core.messages import HumanMessage, ToolMessage

from agentkit.contracts import id_pattern

from .. import memory
from ..addresses import one_line, parse_address
from ..context import SalesContext
from ..errors import ToolFailure
from ..tools import SalesTools, _action_key, _check_product_id, _service, _uid, run_tool

ORDER_ID_RE = id_pattern("orderId")
RESERVATION_RE = re.compile(r"^RSV-[0-9]{6,}$")
ADDRESS_ID_RE = re.compile(r"^ADR-[0-9A-Z]{10}$")
PAGE = 5
CANCELLABLE = ("pending_approval", "pending", "confirmed", "packed")
POLICY_TOPICS = ("returns", "exchanges", "delivery", "payment", "all")


def _order_id(service: SalesTools, user_id: str, order_id: str | None) -> str:
    if order_id:
        value = order_id.strip().upper()
        if not ORDER_ID_RE.match(value):
            raise ToolFailure("invalid_argument", f"An order id looks like ORD-100001, not {order_id!r}.")
        return value
    last = service.store.last_order(user_id)
    if last:
        return last["orderId"]
    orders = service.clients.call("fulfillment", "listOrders", {"userId": user_id, "limit": 1})["orders"]
    if not orders:
        raise ToolFailure("no_orders", "You have no orders yet.", agent="fulfillment", operation="listOrders")
    return orders[0]["orderId"]


def _items(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: i[k] for k in ("productId", "sku", "name", "size", "color", "quantity")} for i in order["items"]]


def _order_line(order: dict[str, Any]) -> dict[str, Any]:
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


def written_address(service: SalesTools, user_id: str, address: str, name: str | None, phone: str | None) -> dict:
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
        profile = service.clients.shopper_profile(user_id)
        name = (profile or {}).get("name")
    if name:
        parsed["name"] = " ".join(str(name).split())[:100]
    if phone:
        parsed["phone"] = phone.strip()
    return parsed


# --- orders -----------------------------------------------------------------------------------------------


def list_orders(service: SalesTools, user_id: str, cursor: str | None = None, status: str | None = None) -> dict:
    body: dict[str, Any] = {"userId": user_id, "limit": PAGE}
    if cursor:
        body["cursor"] = cursor.strip()
    if status:
        body["status"] = status
    page = service.clients.call("fulfillment", "listOrders", body)
    return {
        "orders": [_order_line(o) for o in page["orders"]],
        "more": page["nextCursor"] is not None,
        "nextCursor": page["nextCursor"],
        "first": not cursor,
    }


def cancel_order(
    service: SalesTools, user_id: str, order_id: str | None, reason: str | None, confirmed: bool
) -> dict[str, Any]:
    """Without ``confirmed``: what cancelling would do (nothing changes). With it: the cancellation, read back."""
    oid = _order_id(service, user_id, order_id)
    order = service.clients.call("fulfillment", "getOrder", {"orderId": oid, "userId": user_id})
    if order["status"] == "cancelled":
        return {"orderId": oid, "status": "cancelled", "alreadyCancelled": True, "total": order["total"]}
    if order["status"] not in CANCELLABLE:
        raise ToolFailure(
            "cannot_cancel",
            f"Order {oid} is {order['status'].replace('_', ' ')}, so it can no longer be cancelled"
            + (
                " — it can be returned instead."
                if order["status"] == "delivered"
                else "; once delivered it can be returned."
            ),
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
    done = service.clients.call(
        "fulfillment",
        "cancelOrder",
        {"orderId": oid, "userId": user_id, "reason": (reason or "Cancelled by the shopper in the chat")[:300]},
    )
    notes = [h["note"] for h in done["statusHistory"] if h["status"] == "cancelled" and h.get("note")]
    return {
        "orderId": oid,
        "status": done["status"],
        "refunded": done["total"],
        "items": _items(done),
        "note": notes[-1] if notes else None,
    }


def _shown_and_answered(runtime: ToolRuntime[SalesContext], order_id: str | None) -> bool:
    """Whether this conversation shows a cancel_order preview (for this order, when named) that the shopper
    answered: a message of theirs after it. The model's confirm=true alone is not the shopper's yes."""
    messages = list((runtime.state or {}).get("messages") or []) if isinstance(runtime.state, dict) else []
    preview_at = None
    for index, message in enumerate(messages):
        if isinstance(message, ToolMessage) and message.name == "cancel_order":
            content = str(message.content)
            if '"confirmationNeeded":true' in content and (not order_id or order_id.strip().upper() in content):
                preview_at = index
    if preview_at is None:
        return False
    return any(isinstance(m, HumanMessage) for m in messages[preview_at + 1 :])


def change_order_address(
    service: SalesTools,
    user_id: str,
    order_id: str | None,
    address: str | None,
    address_id: str | None,
    name: str | None = None,
) -> dict:
    oid = _order_id(service, user_id, order_id)
    body: dict[str, Any] = {"orderId": oid, "userId": user_id}
    if address_id:
        if not ADDRESS_ID_RE.match(address_id.strip().upper()):
            raise ToolFailure("invalid_argument", f"A saved address id looks like ADR-7K3M9Q2X4B, not {address_id!r}.")
        body["addressId"] = address_id.strip().upper()
    elif address:
        written = written_address(service, user_id, address, name, None)
        if "name" not in written:
            current = service.clients.call("fulfillment", "getOrder", {"orderId": oid, "userId": user_id})
            old_name = (current.get("shippingAddress") or {}).get("name")
            if old_name:
                written["name"] = old_name
        body["shippingAddress"] = written
    else:
        raise ToolFailure("missing_address", "Which address should the order go to?")
    order = service.clients.call("fulfillment", "updateOrderAddress", body)
    return {
        "orderId": order["orderId"],
        "status": order["status"],
        "shippingAddress": order["shippingAddress"],
        "deliverTo": one_line(order["shippingAddress"]),
        "estimatedDelivery": order["estimatedDelivery"],
    }


def wrap_placed_order(
    service: SalesTools,
    user_id: str,
    order_id: str | None,
    product_id: str | None,
    option: str,
    message: str | None,
    recipient_name: str | None,
    idempotency_key: str | None,
) -> dict:
    from .gift_wrapping import MESSAGE_MAX, RECIPIENT_MAX, _option_id, _text

    oid = _order_id(service, user_id, order_id)
    order = service.clients.call("fulfillment", "getOrder", {"orderId": oid, "userId": user_id})
    items = order["items"]
    if product_id:
        pid = _check_product_id(product_id)
    elif len({i["productId"] for i in items}) == 1:
        pid = items[0]["productId"]
    else:
        raise ToolFailure(
            "which_item",
            f"Order {oid} has {len(items)} items; which one should be wrapped?",
            suggestions=[f"{i['name']} ({i['productId']})" for i in items],
        )
    item = next((i for i in items if i["productId"] == pid), None)
    if item is None:
        raise ToolFailure(
            "not_in_order",
            f"{pid} is not in order {oid}.",
            suggestions=[f"{i['name']} ({i['productId']})" for i in items],
        )
    body: dict[str, Any] = {
        "orderReference": oid,
        "userId": user_id,
        "productId": pid,
        "sku": item["sku"],
        "optionId": _option_id(option),
    }
    text = _text(message, MESSAGE_MAX, "message")
    recipient = _text(recipient_name, RECIPIENT_MAX, "recipient name")
    if text:
        body["message"] = text
    if recipient:
        body["recipientName"] = recipient
    wrap = service.clients.call("gift-wrapping", "addGiftWrap", body, idempotency_key=idempotency_key)
    return {
        "orderId": oid,
        "giftWrap": {
            "wrapId": wrap.get("wrapId"),
            "productId": pid,
            "name": item["name"],
            "optionName": wrap.get("optionName") or body["optionId"],
            "price": wrap.get("price"),
            "message": wrap.get("message"),
            "status": wrap.get("status"),
        },
        "note": "Added to the placed order; it is wrapped before the order is packed. No extra payment is taken "
        "for a wrap added after checkout.",
    }


# --- stores, delivery, reservations -------------------------------------------------------------------------


def _city(service: SalesTools, user_id: str, city: str | None) -> str | None:
    if city and city.strip():
        return " ".join(city.split())[:60]
    profile = service.clients.shopper_profile(user_id)
    return (profile or {}).get("city")


def delivery_options(service: SalesTools, user_id: str, city: str | None, cart_value: float | None) -> dict:
    where = _city(service, user_id, city)
    if not where:
        raise ToolFailure("missing_city", "Which city should I check delivery to?")
    body: dict[str, Any] = {"city": where}
    if cart_value is None:
        subtotal = service.store.cart(user_id)["subtotal"]
        cart_value = subtotal or None
    if cart_value:
        body["cartValue"] = round(float(cart_value), 2)
    r = service.clients.call("fulfillment", "getDeliveryOptions", body)
    keep = ("type", "description", "fee", "freeAbove", "estimatedDays", "estimatedDate")
    options = []
    for o in r["options"]:
        view = {k: o.get(k) for k in keep}
        if o.get("stores"):
            view["stores"] = [s["name"] for s in o["stores"]][:5]
        options.append(view)
    return {"city": r["city"], "metro": r["metro"], "cartValue": body.get("cartValue"), "options": options}


def find_stores(service: SalesTools, user_id: str, city: str | None) -> dict:
    body = {"city": " ".join(city.split())[:60]} if city and city.strip() else {}
    r = service.clients.call("fulfillment", "listStores", body)
    return {"city": r["city"], "stores": r["stores"][:20], "count": len(r["stores"])}


def cancel_reservation(service: SalesTools, user_id: str, reservation_id: str | None) -> dict:
    if reservation_id:
        rid = reservation_id.strip().upper()
        if not RESERVATION_RE.match(rid):
            raise ToolFailure("invalid_argument", f"A reservation id looks like RSV-100001, not {reservation_id!r}.")
    else:
        open_ = service.clients.call(
            "fulfillment", "listReservations", {"userId": user_id, "status": "active", "limit": 10}
        )["reservations"]
        if not open_:
            raise ToolFailure(
                "no_reservations", "You have no reservations open.", agent="fulfillment", operation="listReservations"
            )
        if len(open_) > 1:
            failure = ToolFailure(
                "which_reservation",
                f"You have {len(open_)} reservations open; which one should be cancelled?",
                suggestions=[
                    f"{r['reservationId']}: {r['productId']} {r['color']} {r['size']} at {r['storeName']}"
                    for r in open_
                ],
            )
            raise failure
        rid = open_[0]["reservationId"]
    r = service.clients.call("fulfillment", "cancelReservation", {"reservationId": rid, "userId": user_id})
    keys = ("reservationId", "status", "productId", "sku", "size", "color", "storeName", "city", "expiresAt")
    return {k: r.get(k) for k in keys}


# --- policies and people -------------------------------------------------------------------------------------


def get_policy(service: SalesTools, user_id: str, topic: str) -> dict:
    value = (topic or "all").strip().lower()
    value = {
        "return": "returns",
        "refund": "returns",
        "refunds": "returns",
        "exchange": "exchanges",
        "shipping": "delivery",
        "payments": "payment",
        "payment methods": "payment",
    }.get(value, value)
    if value not in POLICY_TOPICS:
        value = "all"
    r = service.clients.call("post-purchase", "getPolicy", {"topic": value})
    return {"topic": r["topic"], "policies": r["policies"]}


def contact_human(service: SalesTools, user_id: str, subject: str, summary: str, order_id: str | None = None) -> dict:
    body: dict[str, Any] = {
        "userId": user_id,
        "subject": (" ".join((subject or "The shopper asked for a person").split()) or "Help")[:120],
        "summary": summary[:4000] or "The shopper asked to talk to a person.",
    }
    if order_id:
        body["orderId"] = _order_id(service, user_id, order_id)
    r = service.clients.call("post-purchase", "createSupportTicket", body)
    return {
        "ticketId": r["ticketId"],
        "status": r["status"],
        "subject": r["subject"],
        "orderId": r.get("orderId"),
        "note": "A person from customer care picks this up with the conversation so far; quote the ticket id.",
    }


def _conversation_summary(runtime: ToolRuntime[SalesContext], extra: str | None) -> str:
    messages = (runtime.state or {}).get("messages") if isinstance(runtime.state, dict) else None
    text = memory.summarize(list(messages or [])) if messages else ""
    if extra:
        text = f"The shopper says: {extra.strip()}\n{text}".strip()
    return text


# --- the address book ----------------------------------------------------------------------------------------


def save_address(
    service: SalesTools, user_id: str, address: str, name: str | None, label: str | None, phone: str | None
) -> dict:
    written = written_address(service, user_id, address, name, phone)
    if "name" not in written:
        raise ToolFailure(
            "missing_name",
            "Whose name should the address be saved under?",
            suggestions=["Ask the shopper for the name to deliver to."],
        )
    body: dict[str, Any] = {"userId": user_id, "address": written}
    if label and label.strip():
        body["label"] = " ".join(label.split())[:40]
    r = service.clients.call("fulfillment", "saveAddress", body)
    return {
        "addressId": r["addressId"],
        "label": r["label"],
        "address": r["address"],
        "deliverTo": one_line(r["address"]),
    }


def list_addresses(service: SalesTools, user_id: str, cursor: str | None = None) -> dict:
    body: dict[str, Any] = {"userId": user_id, "limit": 10}
    if cursor:
        body["cursor"] = cursor.strip()
    r = service.clients.call("fulfillment", "listAddresses", body)
    return {
        "addresses": [
            {
                "addressId": a["addressId"],
                "label": a["label"],
                "address": a["address"],
                "deliverTo": one_line(a["address"]),
            }
            for a in r["addresses"]
        ],
        "more": r["nextCursor"] is not None,
        "nextCursor": r["nextCursor"],
    }


def address_from_book(service: SalesTools, user_id: str, address_id: str) -> dict[str, Any]:
    """A saved address of the shopper's (for checkout), or a failure naming it."""
    wanted = address_id.strip().upper()
    cursor = None
    for _ in range(5):  # at most 20 addresses a book, 10 a page
        page = list_addresses(service, user_id, cursor)
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


# --- the @tool wrappers the model sees ------------------------------------------------------------------------


@tool("list_orders", response_format="content_and_artifact")
def list_orders_tool(runtime: ToolRuntime[SalesContext], cursor: str | None = None, status: str | None = None):
    """The shopper's orders, newest first, 5 at a time: id, status, date, total, items. When "more" is true there
    are older orders: pass nextCursor back as cursor for the next page ("show more"). status filters, e.g.
    in_transit or delivered."""
    return run_tool("list_orders", lambda: list_orders(_service(runtime), _uid(runtime), cursor, status))


@tool("cancel_order", response_format="content_and_artifact")
def cancel_order_tool(
    runtime: ToolRuntime[SalesContext], order_id: str | None = None, reason: str | None = None, confirm: bool = False
):
    """Cancel an order that has not shipped (default: the latest). First call it without confirm: it changes
    nothing and says what cancelling does (full refund to the original payment, items back on sale, points and
    coupon reversed). Tell the shopper, ask them to confirm, and only after they say yes call it again with
    confirm=true. A shipped order cannot be cancelled; once delivered it can be returned."""

    def run() -> dict:
        confirmed = bool(confirm)
        if confirmed and not _shown_and_answered(runtime, order_id):
            confirmed = False  # no preview the shopper answered: show what will happen first
        return cancel_order(_service(runtime), _uid(runtime), order_id, reason, confirmed)

    return run_tool("cancel_order", run)


@tool("cancel_reservation", response_format="content_and_artifact")
def cancel_reservation_tool(runtime: ToolRuntime[SalesContext], reservation_id: str | None = None):
    """Cancel a store reservation (id like RSV-100001; leave it out when the shopper has only one open): the
    item goes back on sale. Free, nothing to refund."""
    return run_tool("cancel_reservation", lambda: cancel_reservation(_service(runtime), _uid(runtime), reservation_id))


@tool("change_order_address", response_format="content_and_artifact")
def change_order_address_tool(
    runtime: ToolRuntime[SalesContext],
    order_id: str | None = None,
    address: str | None = None,
    address_id: str | None = None,
    name: str | None = None,
):
    """Deliver an order that has not shipped yet (default: the latest) to another address: address as the
    shopper wrote it, with a 6-digit PIN code ("Flat 3, 14 Park Street, Kolkata 700016"), or address_id of a
    saved address (ADR-...). Only cities the shop delivers to; once shipped it cannot change."""
    return run_tool(
        "change_order_address",
        lambda: change_order_address(_service(runtime), _uid(runtime), order_id, address, address_id, name),
    )


@tool("wrap_placed_order", response_format="content_and_artifact")
def wrap_placed_order_tool(
    runtime: ToolRuntime[SalesContext],
    order_id: str | None = None,
    product_id: str | None = None,
    option: str = "standard",
    message: str | None = None,
    recipient_name: str | None = None,
):
    """Gift-wrap an item of an order already placed and not yet packed (default: the latest order; product_id
    can be left out when the order has one product): option standard, premium or festive, an optional message
    card (max 200 characters) and recipient name. For items still in the cart use add_gift_wrap instead."""
    return run_tool(
        "wrap_placed_order",
        lambda: wrap_placed_order(
            _service(runtime),
            _uid(runtime),
            order_id,
            product_id,
            option,
            message,
            recipient_name,
            _action_key(
                runtime, "wrap_placed_order", order_id=order_id, product_id=product_id, option=option, message=message
            ),
        ),
    )


@tool("delivery_options", response_format="content_and_artifact")
def delivery_options_tool(runtime: ToolRuntime[SalesContext], city: str | None = None, cart_value: float | None = None):
    """How an order reaches a city and what it costs: home delivery (days, fee, the free-delivery threshold) and
    click and collect where there are stores. city: the shopper's city by default; cart_value: the cart's."""
    return run_tool("delivery_options", lambda: delivery_options(_service(runtime), _uid(runtime), city, cart_value))


@tool("find_stores", response_format="content_and_artifact")
def find_stores_tool(runtime: ToolRuntime[SalesContext], city: str | None = None):
    """The shop's stores in a city (any name of it: Bangalore, Bombay), with address, PIN code and opening
    hours; every store when city is left out."""
    return run_tool("find_stores", lambda: find_stores(_service(runtime), _uid(runtime), city))


@tool("get_policy", response_format="content_and_artifact")
def get_policy_tool(
    runtime: ToolRuntime[SalesContext], topic: Literal["returns", "exchanges", "delivery", "payment", "all"] = "all"
):
    """The shop's policy, in the words the shop publishes: returns (window, refunds), exchanges, delivery (fees,
    times) or payment (the methods taken). Answer policy questions only from this."""
    return run_tool("get_policy", lambda: get_policy(_service(runtime), _uid(runtime), topic))


@tool("contact_human", response_format="content_and_artifact")
def contact_human_tool(
    runtime: ToolRuntime[SalesContext], subject: str, details: str | None = None, order_id: str | None = None
):
    """Hand the conversation to a person in customer care: records a support ticket with the conversation's
    summary (and the order it is about) and returns its ticket id for the shopper. subject: one line."""
    return run_tool(
        "contact_human",
        lambda: contact_human(
            _service(runtime), _uid(runtime), subject, _conversation_summary(runtime, details), order_id
        ),
    )


@tool("save_address", response_format="content_and_artifact")
def save_address_tool(
    runtime: ToolRuntime[SalesContext],
    address: str,
    name: str | None = None,
    label: str | None = None,
    phone: str | None = None,
):
    """Save an address in the shopper's address book, written as they gave it with its 6-digit PIN code
    ("Flat 3, 14 Park Street, Kolkata 700016"); name: who receives parcels there (default: the shopper's)."""
    return run_tool("save_address", lambda: save_address(_service(runtime), _uid(runtime), address, name, label, phone))


@tool("list_addresses", response_format="content_and_artifact")
def list_addresses_tool(runtime: ToolRuntime[SalesContext], cursor: str | None = None):
    """The shopper's saved addresses (address ids for prepare_checkout or change_order_address)."""
    return run_tool("list_addresses", lambda: list_addresses(_service(runtime), _uid(runtime), cursor))


TOOLS = [
    list_orders_tool,
    cancel_order_tool,
    cancel_reservation_tool,
    change_order_address_tool,
    wrap_placed_order_tool,
    delivery_options_tool,
    find_stores_tool,
    get_policy_tool,
    contact_human_tool,
    save_address_tool,
    list_addresses_tool,
]
TOOL_OPERATIONS = {
    "list_orders": [("fulfillment", "listOrders")],
    "cancel_order": [("fulfillment", "listOrders"), ("fulfillment", "getOrder"), ("fulfillment", "cancelOrder")],
    "cancel_reservation": [("fulfillment", "listReservations"), ("fulfillment", "cancelReservation")],
    "change_order_address": [
        ("fulfillment", "listOrders"),
        ("fulfillment", "getOrder"),
        ("fulfillment", "updateOrderAddress"),
        ("recommendation", "getShopperProfile"),
    ],
    "wrap_placed_order": [("fulfillment", "listOrders"), ("fulfillment", "getOrder"), ("gift-wrapping", "addGiftWrap")],
    "delivery_options": [("fulfillment", "getDeliveryOptions"), ("recommendation", "getShopperProfile")],
    "find_stores": [("fulfillment", "listStores")],
    "get_policy": [("post-purchase", "getPolicy")],
    "contact_human": [("post-purchase", "createSupportTicket"), ("fulfillment", "listOrders")],
    "save_address": [("fulfillment", "saveAddress"), ("recommendation", "getShopperProfile")],
    "list_addresses": [("fulfillment", "listAddresses")],
}
