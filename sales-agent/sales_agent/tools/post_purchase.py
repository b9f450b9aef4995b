"""After the sale (the post-purchase agent): where an order is, returns and exchanges. An order left out is the
shopper's latest (the last one placed here, else the newest fulfillment lists).

  order_status         {orderId, status, statusLabel, items, total, estimatedDelivery, deliveredAt, carrier,
                        trackingNumber, trackingUrl, returnEligible, returnWindowEndsAt}
  return_item          {returnId, orderId, status, refundAmount, returnMethod, pickupDate, message}
  exchange_item        {exchangeId, orderId, fromSku, toSku, status, holdExpiresAt, message}
  get_policy           {topic, policies: [{topic, title, summary, facts}]}   (the shop's own words, from getPolicy)
  contact_human        {ticketId, status, subject, orderId, note}
"""

from __future__ import annotations

from typing import Any, Literal

from langchain.tools import ToolRuntime

from .. import memory
from ..context import SalesContext
from ..errors import ToolFailure
from .common import ORDER_ID_RE, clean
from .registry import SalesTools, action_key, declare, service, user_id

POLICY_TOPICS = ("returns", "exchanges", "delivery", "payment", "all")
RETURN_REASONS = ("wrong_size", "damaged", "not_as_described", "changed_mind", "late_delivery", "other")
STATUS_KEYS = (
    "orderId",
    "status",
    "statusLabel",
    "fulfillmentType",
    "storeId",
    "total",
    "estimatedDelivery",
    "deliveredAt",
    "carrier",
    "trackingNumber",
    "trackingUrl",
    "returnEligible",
    "returnWindowEndsAt",
)


def resolve_order(parts: SalesTools, user_id: str, order_id: str | None) -> str:
    if order_id:
        value = order_id.strip().upper()
        if not ORDER_ID_RE.match(value):
            raise ToolFailure("invalid_argument", f"An order id looks like ORD-100001, not {order_id!r}.")
        return value
    last = parts.store.last_order(user_id)
    if last:
        return last["orderId"]
    orders = parts.clients.call("fulfillment", "listOrders", {"userId": user_id, "limit": 1})
    if not orders["orders"]:
        raise ToolFailure("no_orders", "You have no orders yet.", agent="fulfillment", operation="listOrders")
    return orders["orders"][0]["orderId"]


@declare(("post-purchase", "getOrderStatus"), ("fulfillment", "listOrders"))
def order_status(runtime: ToolRuntime[SalesContext], order_id: str | None = None):
    """Where an order is (default: the shopper's latest order): status, delivery date, tracking, return window."""
    parts, uid = service(runtime), user_id(runtime)
    oid = resolve_order(parts, uid, order_id)
    r = parts.clients.call("post-purchase", "getOrderStatus", {"orderId": oid, "userId": uid})
    out = {k: r.get(k) for k in STATUS_KEYS}
    out["items"] = [
        {k: i[k] for k in ("sku", "name", "size", "color", "quantity", "unitPrice", "returnableQuantity")}
        for i in r["items"]
    ]
    if r.get("returns"):
        out["returns"] = [{k: x[k] for k in ("returnId", "status", "refundAmount")} for x in r["returns"]]
    if r.get("exchanges"):
        out["exchanges"] = [{k: x[k] for k in ("exchangeId", "fromSku", "toSku", "status")} for x in r["exchanges"]]
    return out


@declare(("post-purchase", "initiateReturn"), ("fulfillment", "listOrders"))
def return_item(
    runtime: ToolRuntime[SalesContext], order_id: str | None = None, reason: str = "other", sku: str | None = None
):
    """Return a delivered order or one item of it (sku). reason: wrong_size, damaged, not_as_described,
    changed_mind, late_delivery, other. Refunds to the original payment."""
    parts, uid = service(runtime), user_id(runtime)
    oid = resolve_order(parts, uid, order_id)
    body = clean(
        orderId=oid,
        userId=uid,
        reason=reason if reason in RETURN_REASONS else "other",
        items=[{"sku": sku.strip().upper(), "quantity": 1}] if sku else None,
    )
    r = parts.clients.call(
        "post-purchase",
        "initiateReturn",
        body,
        idempotency_key=action_key(runtime, "return_item", order_id=order_id, reason=reason, sku=sku),
    )
    keys = ("returnId", "orderId", "status", "refundAmount", "returnMethod", "pickupDate", "storeId", "message")
    out = {k: r.get(k) for k in keys}
    out["items"] = [{k: i[k] for k in ("sku", "name", "quantity")} for i in r["items"]]
    return out


@declare(("post-purchase", "initiateExchange"), ("fulfillment", "listOrders"))
def exchange_item(
    runtime: ToolRuntime[SalesContext],
    sku: str,
    order_id: str | None = None,
    new_size: str | None = None,
    new_color: str | None = None,
    reason: str = "wrong_size",
):
    """Exchange one delivered item (sku like P1001-BLACK-M) for another size and/or colour."""
    parts, uid = service(runtime), user_id(runtime)
    if not new_size and not new_color:
        raise ToolFailure("invalid_argument", "An exchange needs a new size or a new colour.")
    oid = resolve_order(parts, uid, order_id)
    body = clean(
        orderId=oid,
        userId=uid,
        sku=(sku or "").strip().upper(),
        newSize=new_size,
        newColor=new_color,
        reason=reason if reason in RETURN_REASONS else "other",
    )
    key_args = dict(sku=sku, order_id=order_id, new_size=new_size, new_color=new_color, reason=reason)
    r = parts.clients.call(
        "post-purchase", "initiateExchange", body, idempotency_key=action_key(runtime, "exchange_item", **key_args)
    )
    keys = ("exchangeId", "orderId", "fromSku", "toSku", "status", "holdExpiresAt", "message")
    return {k: r.get(k) for k in keys}


@declare(("post-purchase", "getPolicy"))
def get_policy(
    runtime: ToolRuntime[SalesContext], topic: Literal["returns", "exchanges", "delivery", "payment", "all"] = "all"
):
    """The shop's published policy on returns, exchanges, delivery or payment methods. Answer policy only from it."""
    value = (topic or "all").strip().lower()
    r = service(runtime).clients.call(
        "post-purchase", "getPolicy", {"topic": value if value in POLICY_TOPICS else "all"}
    )
    return {"topic": r["topic"], "policies": r["policies"]}


def conversation_summary(runtime: ToolRuntime[SalesContext], details: str | None) -> str:
    """What the person picking the ticket up reads: the shopper's words, then the conversation's summary (the
    same summary memory.py keeps of a long conversation; card numbers are masked by it and by the agent)."""
    state = runtime.state if isinstance(runtime.state, dict) else {}
    text = memory.summarize(list(state.get("messages") or []))
    if details and details.strip():
        text = f"The shopper says: {details.strip()}\n{text}"
    return text.strip()[:4000] or "The shopper asked to talk to a person."


@declare(("post-purchase", "createSupportTicket"), ("fulfillment", "listOrders"))
def contact_human(
    runtime: ToolRuntime[SalesContext], subject: str, details: str | None = None, order_id: str | None = None
):
    """Hand over to a person in customer care: a support ticket with the conversation's summary; give the
    shopper its id. subject: one line."""
    parts, uid = service(runtime), user_id(runtime)
    body: dict[str, Any] = {
        "userId": uid,
        "subject": " ".join((subject or "").split())[:120] or "The shopper asked to talk to a person",
        "summary": conversation_summary(runtime, details),
    }
    if order_id:
        body["orderId"] = resolve_order(parts, uid, order_id)
    r = parts.clients.call("post-purchase", "createSupportTicket", body)
    return {
        "ticketId": r["ticketId"],
        "status": r["status"],
        "subject": r["subject"],
        "orderId": r.get("orderId"),
        "note": "A person from customer care picks this up with the conversation so far; quote the ticket id.",
    }
