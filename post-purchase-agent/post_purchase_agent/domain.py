"""Post-purchase rules: who may see an order, the return window, what a refund is worth, exchanges, feedback.

Orders are the fulfillment agent's, money is the payment agent's and stock is the inventory agent's;
every function here asks them through their contracts and keeps only what happened after the sale.

Payment agent down during a return: the return is recorded as ``refund_pending`` *before* any
money moves, so the return id (the refund's idempotency key) exists before the first attempt and
a retry (``retryRefund``) can never pay twice. The shopper gets a 201 with ``refund_pending``.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from agentkit import (
    AgentCallError,
    AgentClient,
    ApiError,
    BusinessRuleViolation,
    Conflict,
    Database,
    DependencyUnavailable,
    NotFound,
    ValidationFailed,
    clock,
)
from agentkit.contracts import Contract
from agentkit.logs import get_logger, log

from . import storage

DEFAULT_RETURN_WINDOW_DAYS = 30
EXCHANGE_HOLD_SECONDS = 7 * 24 * 3600
IST = timezone(timedelta(hours=5, minutes=30))
CENT = Decimal("0.01")
logger = get_logger("post-purchase")

TRACKING_URLS = {
    "bluedart": "https://www.bluedart.com/tracking?trackingNumber={}",
    "delhivery": "https://www.delhivery.com/track/package/{}",
    "ekart": "https://ekartlogistics.com/shipmenttrack/{}",
    "dtdc": "https://www.dtdc.in/tracking.asp?strCnno={}",
    "xpressbees": "https://www.xpressbees.com/track?awb={}",
    "india post": "https://www.indiapost.gov.in/_layouts/15/dop.portal.tracking/trackconsignment.aspx?consignment={}",
}


# --- helpers -----------------------------------------------------------------------------------


def _new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4).upper()}"


def _money(value: Decimal | float | int) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _day(moment: datetime) -> str:
    """A date the way a shopper in India reads it: 16 Nov 2026."""
    local = moment.astimezone(IST)
    return f"{local.day} {local.strftime('%b %Y')}"


def return_window_days() -> int:
    """RETURN_WINDOW_DAYS (default 30): days after delivery during which returns and exchanges are accepted."""
    raw = os.environ.get("RETURN_WINDOW_DAYS", "").strip()
    days = int(raw) if raw else DEFAULT_RETURN_WINDOW_DAYS
    if days < 0:
        raise ValueError(f"RETURN_WINDOW_DAYS must be 0 or more, not {raw!r}")
    return days


def _window_end(order: dict[str, Any]) -> datetime | None:
    delivered = order.get("deliveredAt")
    return clock.parse(delivered) + timedelta(days=return_window_days()) if delivered else None


def _dependency_error(error: AgentCallError, what: str) -> ApiError:
    if error.unavailable:
        return DependencyUnavailable(
            f"The {error.agent} service is not answering, so {what} cannot be done right now. "
            "Please try again in a minute.",
            details=[{"field": "", "message": f"{error.agent}: {error.code}"}],
            retryAfter=5,
        )
    log(
        logger,
        logging.ERROR,
        "unexpected dependency answer",
        agent=error.agent,
        operation=error.operation,
        status=error.status,
        code=error.code,
    )
    return DependencyUnavailable(
        f"The {error.agent} service gave an unexpected answer, so {what} cannot be done right now.",
        code="dependency_error",
        details=[{"field": "", "message": f"{error.agent}: {error.code}: {error.message}"}],
    )


def fetch_order(fulfillment: AgentClient, order_id: str, user_id: str, what: str) -> dict[str, Any]:
    """The shopper's own order from the fulfillment agent; another shopper's order is simply unknown."""
    try:
        order = fulfillment.call("getOrder", {"orderId": order_id, "userId": user_id})
    except AgentCallError as error:
        if error.status in (403, 404):
            raise NotFound.of("order", order_id, "orderId") from None
        raise _dependency_error(error, what) from None
    if order.get("userId") != user_id:
        raise NotFound.of("order", order_id, "orderId")
    return order


def _lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's items merged per SKU (an order may list the same SKU twice)."""
    merged: dict[str, dict[str, Any]] = {}
    for item in order.get("items", []):
        line = merged.get(item["sku"])
        if line is None:
            merged[item["sku"]] = {
                "sku": item["sku"],
                "product_id": item.get("productId") or item["sku"].split("-")[0],
                "name": item.get("name") or item["sku"],
                "size": item.get("size") or "",
                "color": item.get("color") or "",
                "quantity": item["quantity"],
                "unit_price": _money(item["unitPrice"]),
            }
        else:
            line["quantity"] += item["quantity"]
    return list(merged.values())


def _goods_totals(order: dict[str, Any], lines: list[dict[str, Any]]) -> tuple[Decimal, Decimal]:
    """(subtotal of the goods, what was paid for them after the order discount). Shipping is not goods."""
    subtotal = sum((line["unit_price"] * line["quantity"] for line in lines), Decimal(0))
    discount = _money(order.get("discount") or 0)
    return subtotal, max(subtotal - discount, Decimal(0))


def _check_returnable(order: dict[str, Any], action: str) -> datetime:
    """Delivered, and today is inside the return window. Returns the window's end."""
    if order.get("status") != "delivered" or not order.get("deliveredAt"):
        raise BusinessRuleViolation(
            f"{order['orderId']} is {order.get('status')}; items can be {action} once it has been delivered.",
            code="not_delivered",
            details=[{"field": "orderId", "message": "not delivered yet"}],
        )
    ends = _window_end(order)
    if clock.now() > ends:
        delivered = clock.parse(order["deliveredAt"])
        raise BusinessRuleViolation(
            f"The return window for {order['orderId']} closed on {_day(ends)} "
            f"({return_window_days()} days after delivery on {_day(delivered)}).",
            code="return_window_closed",
            details=[
                {"field": "orderId", "message": f"return window closed on {ends.astimezone(IST).date().isoformat()}"}
            ],
            suggestions=["Contact customer care if the item is faulty; a warranty claim may still be possible."],
        )
    return ends


# --- views -------------------------------------------------------------------------------------


def _return_view(row: dict[str, Any]) -> dict[str, Any]:
    amount = storage.money(row["refund_amount"])
    if row["return_method"] == "pickup":
        where = f"A courier will collect the parcel on {row['pickup_date']}."
    else:
        where = f"Please bring the items back to {row['store_name'] or 'the store'} ({row['store_id']})."
    if row["status"] == "refunded":
        money = f"₹{amount:.2f} has been refunded to the original payment."
    else:
        money = (
            f"The refund of ₹{amount:.2f} is accepted but could not reach the payment service yet; "
            "it will be sent again (retryRefund) and never twice."
        )
    return {
        "returnId": row["return_id"],
        "orderId": row["order_id"],
        "userId": row["user_id"],
        "status": row["status"],
        "reason": row["reason"],
        "comment": row["comment"],
        "items": [
            {
                "sku": i["sku"],
                "productId": i["product_id"],
                "name": i["name"],
                "quantity": i["quantity"],
                "unitPrice": storage.money(i["unit_price"]),
            }
            for i in row["items"]
        ],
        "refundAmount": amount,
        "refundId": row["refund_id"],
        "paymentId": row["payment_id"],
        "returnMethod": row["return_method"],
        "pickupDate": row["pickup_date"],
        "storeId": row["store_id"],
        "createdAt": row["created_at"],
        "refundedAt": row["refunded_at"],
        "restocked": row.get("restocked_at") is not None,
        "pointsTakenBack": row.get("points_taken_back"),
        "message": f"Return accepted. {where} {money}",
    }


def _exchange_view(row: dict[str, Any]) -> dict[str, Any]:
    until = clock.parse(row["hold_expires_at"]).astimezone(IST).date().isoformat()
    if row["status"] == "completed":
        message = f"Exchange completed: {row['to_sku']} is on its way and {row['from_sku']} went back to stock."
    elif row["status"] == "expired":
        message = (
            f"The hold on {row['to_sku']} ended before the exchange was completed, so it was released; "
            f"{row['from_sku']} can be returned or exchanged again."
        )
    else:
        message = (
            f"{row['to_sku']} is held for you until {until}. "
            f"A courier will collect {row['from_sku']} and bring the new one."
        )
    return {
        "exchangeId": row["exchange_id"],
        "orderId": row["order_id"],
        "userId": row["user_id"],
        "fromSku": row["from_sku"],
        "toSku": row["to_sku"],
        "status": row["status"],
        "reason": row["reason"],
        "holdId": row["hold_id"],
        "holdExpiresAt": row["hold_expires_at"],
        "createdAt": row["created_at"],
        "closedAt": row.get("closed_at"),
        "message": message,
    }


def _feedback_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "feedbackId": row["feedback_id"],
        "orderId": row["order_id"],
        "userId": row["user_id"],
        "productId": row["product_key"] or None,
        "rating": row["rating"],
        "comment": row["comment"],
        "createdAt": row["created_at"],
    }


def status_label(order: dict[str, Any]) -> str:
    """The order's status as a shopper would say it: 'On its way with BlueDart, arriving by 22 Nov 2026'."""
    status = order.get("status") or "unknown"
    carrier = order.get("carrier")
    store = order.get("storeName") or order.get("storeId")
    collect = order.get("fulfillmentType") == "click_and_collect"
    eta = order.get("estimatedDelivery")
    by = f" by {_day(clock.parse(eta))}" if eta else ""
    if status == "delivered":
        when = f" on {_day(clock.parse(order['deliveredAt']))}" if order.get("deliveredAt") else ""
        if collect:
            return f"Collected{when}" + (f" from {store}" if store else "")
        return f"Delivered{when}" + (f" by {carrier}" if carrier else "")
    if status == "in_transit":
        if collect:
            return "On its way to " + (store or "the store") + (f", ready to collect{by}" if eta else "")
        return (f"On its way with {carrier}" if carrier else "On its way") + (f", arriving{by}" if eta else "")
    if status == "packed":
        if collect:
            return "Packed, soon on its way to " + (store or "the store")
        return "Packed, waiting for " + (carrier or "the courier") + (f"; expected{by}" if eta else "")
    if status == "confirmed":
        return "Confirmed and being prepared" + (f"; expected{by}" if eta else "")
    if status == "pending":
        return "Order received, waiting for payment confirmation"
    if status == "pending_approval":
        return "Order received, waiting for a quick manual approval"
    if status == "cancelled":
        return "Cancelled"
    return status.replace("_", " ").capitalize()


def tracking_url(carrier: str | None, number: str | None) -> str | None:
    if not carrier or not number:
        return None
    template = TRACKING_URLS.get(carrier.strip().lower())
    return template.format(number) if template else None


# --- operations --------------------------------------------------------------------------------


def get_order_status(
    db: Database, body: dict[str, Any], *, fulfillment: AgentClient, inventory: AgentClient
) -> dict[str, Any]:
    order = fetch_order(fulfillment, body["orderId"], body["userId"], "the order status")
    lines = _lines(order)
    with db.read() as conn:
        lapsed = [x for x in storage.exchanges_for_order(conn, order["orderId"]) if _lapsed(x)]
    for exchange in lapsed:  # an exchange whose hold ran out is closed before it is shown
        _settle_exchange(db, exchange, inventory, ask=False)
    with db.read() as conn:
        counts = storage.order_line_counts(conn, order["orderId"])
        past_returns = storage.returns_for_order(conn, order["orderId"])
        past_exchanges = storage.exchanges_for_order(conn, order["orderId"])
    ends = _window_end(order)
    open_window = order.get("status") == "delivered" and ends is not None and clock.now() <= ends

    def left(line: dict[str, Any]) -> int:
        used = counts.get(line["sku"], {})
        return max(line["quantity"] - used.get("returned_qty", 0) - used.get("exchanged_qty", 0), 0)

    items = [
        {
            "sku": ln["sku"],
            "productId": ln["product_id"],
            "name": ln["name"],
            "size": ln["size"],
            "color": ln["color"],
            "quantity": ln["quantity"],
            "unitPrice": storage.money(ln["unit_price"]),
            "returnableQuantity": left(ln) if open_window else 0,
        }
        for ln in lines
    ]
    history = order.get("statusHistory") or []
    return {
        "orderId": order["orderId"],
        "userId": order["userId"],
        "status": order.get("status"),
        "statusLabel": status_label(order),
        "fulfillmentType": order.get("fulfillmentType") or "ship_to_home",
        "storeId": order.get("storeId"),
        "storeName": order.get("storeName"),
        "items": items,
        "total": storage.money(order.get("total") or 0),
        "estimatedDelivery": order.get("estimatedDelivery"),
        "deliveredAt": order.get("deliveredAt"),
        "carrier": order.get("carrier"),
        "trackingNumber": order.get("trackingNumber"),
        "trackingUrl": tracking_url(order.get("carrier"), order.get("trackingNumber")),
        "timeline": [{"status": h["status"], "at": h["at"]} for h in history],
        "returnEligible": open_window and any(item["returnableQuantity"] > 0 for item in items),
        "returnWindowEndsAt": clock.iso(ends) if ends else None,
        "returns": [_return_view(r) for r in past_returns],
        "exchanges": [_exchange_view(x) for x in past_exchanges],
    }


def _wanted_items(
    body: dict[str, Any], lines: list[dict[str, Any]], counts: dict[str, dict[str, Any]]
) -> dict[str, int]:
    by_sku = {line["sku"]: line for line in lines}
    if "items" not in body:
        wanted = {}
        for line in lines:
            used = counts.get(line["sku"], {})
            left = line["quantity"] - used.get("returned_qty", 0) - used.get("exchanged_qty", 0)
            if left > 0:
                wanted[line["sku"]] = left
        if not wanted:
            raise BusinessRuleViolation(
                "Every item of this order has already been returned or exchanged.",
                code="exceeds_purchased",
                details=[{"field": "items", "message": "nothing left to return"}],
            )
        return wanted
    wanted: dict[str, int] = {}
    for index, item in enumerate(body["items"]):
        if item["sku"] not in by_sku:
            raise BusinessRuleViolation(
                f"{item['sku']} is not part of {body['orderId']}; it has {', '.join(by_sku)}.",
                code="not_in_order",
                details=[{"field": f"items.{index}.sku", "message": "not in this order"}],
            )
        wanted[item["sku"]] = wanted.get(item["sku"], 0) + item["quantity"]
    return wanted


def _exceeds(order_id: str, sku: str, line: dict[str, Any], used: dict[str, Any], asked: int, field: str) -> ApiError:
    done = used.get("returned_qty", 0) + used.get("exchanged_qty", 0)
    left = max(line["quantity"] - done, 0)
    return BusinessRuleViolation(
        f"{order_id} has {line['quantity']} of {sku} and {done} already returned or exchanged, "
        f"so at most {left} can go back (asked for {asked}).",
        code="exceeds_purchased",
        details=[{"field": field, "message": f"at most {left} left"}],
    )


def _refundable_left(payment: AgentClient, payment_id: str) -> Decimal | None:
    """What the payment agent can still refund on this payment (other refunds, e.g. goodwill, come off);
    None when it cannot be asked right now (the refund is then capped when it is sent)."""
    try:
        found = payment.call("checkPaymentStatus", {"paymentId": payment_id})
    except AgentCallError as error:
        if error.unavailable:
            return None
        raise _dependency_error(error, "a return") from None
    if found.get("status") == "failed":
        return Decimal(0)
    return max(Decimal(0), _money(found["amount"]) - _money(found.get("refundedAmount") or 0))


def initiate_return(
    db: Database,
    body: dict[str, Any],
    *,
    fulfillment: AgentClient,
    payment: AgentClient,
    inventory: AgentClient,
    loyalty: AgentClient,
) -> tuple[dict[str, Any], int]:
    order = fetch_order(fulfillment, body["orderId"], body["userId"], "a return")
    _check_returnable(order, "returned")
    left = _refundable_left(payment, order["paymentId"])
    order_id = order["orderId"]
    lines = _lines(order)
    by_sku = {line["sku"]: line for line in lines}
    subtotal, paid_for_goods = _goods_totals(order, lines)
    now = clock.now()
    return_id = _new_id("RET")
    collect = order.get("fulfillmentType") == "click_and_collect" and order.get("storeId")

    # 1. Record the return and reserve its units in one transaction, before any money moves.
    with db.write() as conn:
        storage.ensure_order_lines(conn, order_id, lines)
        counts = storage.order_line_counts(conn, order_id, lock=True)
        wanted = _wanted_items(body, lines, counts)
        returned_value_before = sum(
            (by_sku[s]["unit_price"] * c["returned_qty"] for s, c in counts.items() if s in by_sku), Decimal(0)
        )
        for index, (sku, quantity) in enumerate(wanted.items()):
            if not storage.take_units(conn, order_id, sku, quantity, "returned_qty"):
                field = f"items.{index}.quantity" if "items" in body else "items"
                raise _exceeds(order_id, sku, by_sku[sku], counts.get(sku, {}), quantity, field)
        value = sum((by_sku[s]["unit_price"] * q for s, q in wanted.items()), Decimal(0))
        # Pro-rate the discount cumulatively, so partial returns add up to exactly what was paid.
        ratio = (paid_for_goods / subtotal) if subtotal else Decimal(0)
        refund = _money((returned_value_before + value) * ratio) - _money(returned_value_before * ratio)
        if left is not None:
            # Never more than the payment can still give back: a goodwill refund made earlier comes off,
            # and so do this order's other returns whose refunds are still on their way.
            pending = sum(
                (
                    _money(r["refund_amount"])
                    for r in storage.returns_for_order(conn, order_id)
                    if r["status"] == "refund_pending"
                ),
                Decimal(0),
            )
            refund = max(Decimal(0), min(refund, left - pending))
        row = {
            "return_id": return_id,
            "order_id": order_id,
            "user_id": order["userId"],
            "status": "refund_pending",
            "reason": body["reason"],
            "comment": body.get("comment"),
            "payment_id": order["paymentId"],
            "refund_amount": refund,
            "refund_id": None,
            "return_method": "store_drop_off" if collect else "pickup",
            "pickup_date": None if collect else (now.astimezone(IST) + timedelta(days=1)).date().isoformat(),
            "store_id": order.get("storeId") if collect else None,
            "store_name": order.get("storeName") if collect else None,
            "created_at": clock.iso(now),
            "updated_at": clock.iso(now),
            "refunded_at": None,
        }
        storage.insert_return(
            conn,
            row,
            [
                {
                    "sku": s,
                    "product_id": by_sku[s]["product_id"],
                    "name": by_sku[s]["name"],
                    "quantity": q,
                    "unit_price": by_sku[s]["unit_price"],
                }
                for s, q in wanted.items()
            ],
        )

    # 2. Refund through the payment agent, keyed by the return id.
    _send_refund(db, return_id, payment, undo_on_refusal=True)
    # 3. The goods go back in stock and the points earned on them are taken back.
    _follow_up(db, return_id, order, inventory=inventory, loyalty=loyalty)
    with db.read() as conn:
        return _return_view(storage.get_return(conn, return_id)), 201


RETURNS_LOCATION = "WH-MUM"  # where returned parcels of an order without a recorded hold go back to


def _restock_locations(inventory: AgentClient, order: dict[str, Any]) -> dict[str, str]:
    """Per SKU, the warehouse or store the order's units were taken from (its committed hold)."""
    places: dict[str, str] = {}
    if order.get("holdId"):
        try:
            hold = inventory.call("getHold", {"holdId": order["holdId"]})
            for line in hold.get("lines", []):
                places.setdefault(line["sku"], line["locationId"])
        except AgentCallError as error:
            if error.status != 404:
                raise
    return places


def _restock(inventory: AgentClient, order: dict[str, Any], items: list[dict[str, Any]], key: str, why: str) -> None:
    """Put units back in stock with a ``return`` reason in the stock history, once per key and SKU."""
    lines = {line["sku"]: line for line in _lines(order)}
    places = _restock_locations(inventory, order)
    fallback = order.get("storeId") if order.get("fulfillmentType") == "click_and_collect" else None
    for item in items:
        line = lines[item["sku"]]
        inventory.call(
            "restock",
            {
                "productId": line["product_id"],
                "size": line["size"],
                "color": line["color"],
                "locationId": places.get(item["sku"]) or fallback or RETURNS_LOCATION,
                "quantity": item["quantity"],
                "reason": why,
            },
            idempotency_key=f"{key}-{item['sku']}",
        )


def _follow_up(
    db: Database,
    return_id: str,
    order: dict[str, Any] | None,
    *,
    inventory: AgentClient,
    loyalty: AgentClient,
    fulfillment: AgentClient | None = None,
) -> None:
    """Once a return's refund is settled: restock its goods and take back their points. Each step is
    recorded when done; a step whose agent is down is left for retryRefund and never done twice."""
    with db.read() as conn:
        row = storage.get_return(conn, return_id)
    if row is None or row["status"] != "refunded":
        return
    if row["restocked_at"] is None:
        try:
            if order is None and fulfillment is not None:
                order = fetch_order(fulfillment, row["order_id"], row["user_id"], "restocking a return")
            if order is not None:
                _restock(
                    inventory,
                    order,
                    row["items"],
                    return_id,
                    f"return {return_id} of {row['order_id']} ({row['reason']})",
                )
                with db.write() as conn:
                    storage.mark_followup(conn, return_id, restocked_at=clock.now_iso())
        except (AgentCallError, ApiError) as error:
            log(logger, logging.WARNING, "return not restocked yet", returnId=return_id, error=str(error)[:200])
    if row["points_at"] is None:
        try:
            reversed_ = loyalty.call(
                "reversePoints",
                {
                    "userId": row["user_id"],
                    "orderId": row["order_id"],
                    "returnId": return_id,
                    "reason": f"return {return_id} ({row['reason']})",
                },
            )
            taken = reversed_["pointsReversed"] + reversed_["pointsShortfall"]
        except AgentCallError as error:
            not_a_member = error.status == 404 and any(d.get("field") == "userId" for d in error.details)
            if not not_a_member:
                log(logger, logging.WARNING, "return points not taken back yet", returnId=return_id, code=error.code)
                return
            taken = 0  # not a loyalty member: no points were earned
        with db.write() as conn:
            storage.mark_followup(conn, return_id, points_at=clock.now_iso(), points_taken_back=taken)


# A refund outcome is only certain when the payment agent answered. Timeouts, 5xx and garbled answers
# may hide a refund that happened: the return then stays refund_pending and a retry with the same
# idempotency key replays it instead of paying again.
NOT_SENT = {"invalid_request"}
REFUSED = {400, 402, 404, 422}  # a definite no; 409 (key in use), 429 and 5xx leave the outcome open


def _send_refund(db: Database, return_id: str, payment: AgentClient, *, undo_on_refusal: bool) -> None:
    with db.read() as conn:
        row = storage.get_return(conn, return_id)
    if row["status"] != "refund_pending":
        return
    amount = storage.money(row["refund_amount"])
    if amount <= 0:  # nothing was paid for these items (a 100% discount): nothing to send
        with db.write() as conn:
            storage.mark_refunded(conn, return_id, None, clock.now_iso())
        return
    request = {
        "paymentId": row["payment_id"],
        "amount": amount,
        "reason": f"return {return_id} of {row['order_id']} accepted ({row['reason']})",
    }
    try:
        result = payment.call("refundPayment", request, idempotency_key=return_id)
    except AgentCallError as error:
        refused = error.status in REFUSED
        if not refused and error.code not in NOT_SENT:
            log(
                logger, logging.WARNING, "refund left pending", returnId=return_id, status=error.status, code=error.code
            )
            return
        if undo_on_refusal:
            _undo_return(db, return_id)
        if error.code in NOT_SENT:
            raise _dependency_error(error, "the refund") from None
        raise BusinessRuleViolation(
            f"The payment service refused the refund of ₹{amount:.2f} for {row['order_id']}: {error.message}"
            + (" Nothing was returned." if undo_on_refusal else " The return stays pending; customer care will help."),
            code="refund_refused",
            details=[{"field": "orderId", "message": f"payment: {error.code}"}],
        ) from None
    with db.write() as conn:
        storage.mark_refunded(conn, return_id, result["refundId"], clock.now_iso())


def _undo_return(db: Database, return_id: str) -> None:
    """Take back a return the payment agent refused: its units become returnable again."""
    with db.write() as conn:
        row = storage.get_return(conn, return_id)
        if row is None or row["status"] != "refund_pending":
            return
        storage.give_back_units(conn, row["order_id"], row["items"], "returned_qty")
        storage.delete_return(conn, return_id)


def retry_refund(
    db: Database,
    body: dict[str, Any],
    *,
    payment: AgentClient,
    fulfillment: AgentClient,
    inventory: AgentClient,
    loyalty: AgentClient,
) -> dict[str, Any]:
    with db.read() as conn:
        row = storage.get_return(conn, body["returnId"])
    if row is None or row["user_id"] != body["userId"]:
        raise NotFound.of("return", body["returnId"], "returnId")
    _send_refund(db, row["return_id"], payment, undo_on_refusal=False)
    _follow_up(db, row["return_id"], None, inventory=inventory, loyalty=loyalty, fulfillment=fulfillment)
    with db.read() as conn:
        row = storage.get_return(conn, body["returnId"])
    if row["status"] == "refund_pending":
        raise DependencyUnavailable(
            "The payment service is still not answering; the refund stays pending and "
            "will not be paid twice. Please try again in a few minutes.",
            details=[{"field": "returnId", "message": "refund still pending"}],
            retryAfter=30,
        )
    return _return_view(row)


def get_return_status(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        row = storage.get_return(conn, body["returnId"])
    if row is None or row["user_id"] != body["userId"]:
        raise NotFound.of("return", body["returnId"], "returnId")
    return _return_view(row)


def get_exchange_status(db: Database, body: dict[str, Any], *, inventory: AgentClient) -> dict[str, Any]:
    with db.read() as conn:
        row = storage.get_exchange(conn, body["exchangeId"])
    if row is None or row["user_id"] != body["userId"]:
        raise NotFound.of("exchange", body["exchangeId"], "exchangeId")
    return _exchange_view(_settle_exchange(db, row, inventory, ask=True))


# --- exchanges ---------------------------------------------------------------------------------


def exchange_hold_seconds(inventory_contract: Contract) -> int:
    """Seven days, or the longest hold the inventory contract allows if that is shorter."""
    spec = inventory_contract.operation("createHold").request_schema["properties"].get("ttlSeconds", {})
    return min(EXCHANGE_HOLD_SECONDS, spec.get("maximum", EXCHANGE_HOLD_SECONDS))


def _hold_seconds(inventory: AgentClient) -> int:
    return exchange_hold_seconds(inventory.contract)


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def initiate_exchange(
    db: Database, body: dict[str, Any], *, fulfillment: AgentClient, inventory: AgentClient
) -> tuple[dict[str, Any], int]:
    if "newSize" not in body and "newColor" not in body:
        raise ValidationFailed(
            "Say which size or colour you want instead.",
            details=[{"field": "newSize", "message": "give newSize, newColor or both"}],
        )
    order = fetch_order(fulfillment, body["orderId"], body["userId"], "an exchange")
    _check_returnable(order, "exchanged")
    order_id, sku = order["orderId"], body["sku"]
    lines = {line["sku"]: line for line in _lines(order)}
    line = lines.get(sku)
    if line is None:
        raise BusinessRuleViolation(
            f"{sku} is not part of {order_id}; it has {', '.join(lines)}.",
            code="not_in_order",
            details=[{"field": "sku", "message": "not in this order"}],
        )
    size, color = body.get("newSize", line["size"]), body.get("newColor", line["color"])
    if _same(size, line["size"]) and _same(color, line["color"]):
        raise BusinessRuleViolation(
            f"{sku} is already {line['color']} in size {line['size']}; choose another size or colour.",
            code="same_variant",
            details=[{"field": "newSize" if "newSize" in body else "newColor", "message": "same as the item bought"}],
        )
    with db.read() as conn:
        used = storage.order_line_counts(conn, order_id).get(sku, {})
    if line["quantity"] - used.get("returned_qty", 0) - used.get("exchanged_qty", 0) < 1:
        raise _exceeds(order_id, sku, line, used, 1, "sku")

    product_id = line["product_id"]
    try:
        report = inventory.call("checkInventory", {"productId": product_id})
    except AgentCallError as error:
        if error.status == 404:
            raise _no_variant(product_id, size, color, []) from None
        raise _dependency_error(error, "an exchange") from None
    variants = report.get("variants", [])
    target = next((v for v in variants if _same(v["size"], size) and _same(v["color"], color)), None)
    if target is None:
        raise _no_variant(product_id, size, color, variants)
    if target["onlineStockLevel"] < 1:
        raise _unavailable(target, line, variants)

    exchange_id = _new_id("EXC")
    try:
        hold = inventory.call(
            "createHold",
            {
                "items": [{"productId": product_id, "size": target["size"], "color": target["color"], "quantity": 1}],
                "ttlSeconds": _hold_seconds(inventory),
                "reference": exchange_id,
            },
        )
    except AgentCallError as error:
        if error.status == 409:
            raise _unavailable(target, line, variants) from None
        if error.status == 404:
            raise _no_variant(product_id, size, color, variants) from None
        raise _dependency_error(error, "an exchange") from None

    try:
        with db.write() as conn:
            storage.ensure_order_lines(conn, order_id, lines.values())
            storage.order_line_counts(conn, order_id, lock=True)
            if not storage.take_units(conn, order_id, sku, 1, "exchanged_qty"):
                raise _exceeds(order_id, sku, line, storage.order_line_counts(conn, order_id).get(sku, {}), 1, "sku")
            row = {
                "exchange_id": exchange_id,
                "order_id": order_id,
                "user_id": order["userId"],
                "status": "reserved",
                "reason": body["reason"],
                "from_sku": sku,
                "to_sku": target["sku"],
                "hold_id": hold["holdId"],
                "hold_expires_at": hold["expiresAt"],
                "created_at": clock.now_iso(),
            }
            storage.insert_exchange(conn, row)
    except BaseException:
        _release_hold(inventory, hold["holdId"])
        raise
    return _exchange_view(row), 201


def _lapsed(row: dict[str, Any]) -> bool:
    return row["status"] == "reserved" and clock.now() > clock.parse(row["hold_expires_at"])


def _expire(db: Database, row: dict[str, Any], inventory: AgentClient, why: str) -> dict[str, Any]:
    """Close an exchange whose hold ended: the hold is released (harmless if inventory already expired it)
    and the exchanged unit counts as the shopper's again, so it can be returned or exchanged anew."""
    _release_hold(inventory, row["hold_id"])
    with db.write() as conn:
        if storage.close_exchange(conn, row["exchange_id"], "expired", clock.now_iso(), why):
            storage.give_back_units(conn, row["order_id"], [{"sku": row["from_sku"], "quantity": 1}], "exchanged_qty")
        return _known(storage.get_exchange(conn, row["exchange_id"]))


def _known(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:  # exchanges are never deleted
        raise RuntimeError("an exchange just read is gone")
    return row


def _settle_exchange(db: Database, row: dict[str, Any], inventory: AgentClient, *, ask: bool) -> dict[str, Any]:
    """A reserved exchange as it really stands: expired when its hold ran out (by the clock, or, with ``ask``,
    as inventory reports the hold: expired or released)."""
    if row["status"] != "reserved":
        return row
    if _lapsed(row):
        return _expire(db, row, inventory, f"hold {row['hold_id']} expired at {row['hold_expires_at']}")
    if ask:
        try:
            hold = inventory.call("getHold", {"holdId": row["hold_id"]})
        except AgentCallError:
            return row  # inventory cannot say now; the clock decides at the next look
        if hold["status"] in ("expired", "released"):
            return _expire(db, row, inventory, f"hold {row['hold_id']} was {hold['status']} in inventory")
    return row


def complete_exchange(
    db: Database, body: dict[str, Any], *, fulfillment: AgentClient, inventory: AgentClient
) -> dict[str, Any]:
    """The old unit was collected: the replacement's hold is committed to the order (its stock leaves for
    good and ships), and the old unit goes back in stock with a ``return`` reason. Idempotent."""
    with db.read() as conn:
        row = storage.get_exchange(conn, body["exchangeId"])
    if row is None:
        raise NotFound.of("exchange", body["exchangeId"], "exchangeId")
    row = _settle_exchange(db, row, inventory, ask=False)
    if row["status"] == "completed":
        return _exchange_view(row)
    if row["status"] == "expired":
        raise _exchange_expired(row)
    order = fetch_order(fulfillment, row["order_id"], row["user_id"], "completing an exchange")
    try:
        inventory.call("commitHold", {"holdId": row["hold_id"], "orderId": row["order_id"]})
    except AgentCallError as error:
        if error.status == 409:  # expired or released meanwhile
            raise _exchange_expired(_expire(db, row, inventory, f"hold {row['hold_id']}: {error.code}")) from None
        raise _dependency_error(error, "completing an exchange") from None
    try:
        _restock(
            inventory,
            order,
            [{"sku": row["from_sku"], "quantity": 1}],
            row["exchange_id"],
            f"return {row['exchange_id']} of {row['order_id']} (exchanged for {row['to_sku']})",
        )
    except AgentCallError as error:
        raise _dependency_error(error, "restocking the exchanged item") from None  # a retry finishes it
    with db.write() as conn:
        storage.close_exchange(
            conn,
            row["exchange_id"],
            "completed",
            clock.now_iso(),
            f"hold {row['hold_id']} committed to {row['order_id']}; {row['from_sku']} restocked",
        )
        return _exchange_view(_known(storage.get_exchange(conn, row["exchange_id"])))


def _exchange_expired(row: dict[str, Any]) -> Conflict:
    return Conflict(
        f"Exchange {row['exchange_id']} expired: the hold on {row['to_sku']} ended ({row.get('note')}). "
        "Start a new exchange or return the item.",
        code="exchange_expired",
        details=[{"field": "exchangeId", "message": "expired"}],
    )


def _release_hold(inventory: AgentClient, hold_id: str) -> None:
    try:
        inventory.call("releaseHold", {"holdId": hold_id})
    except AgentCallError as error:  # the hold still expires by itself; say so loudly
        log(logger, logging.ERROR, "could not release exchange hold", holdId=hold_id, code=error.code)


def _no_variant(product_id: str, size: str, color: str, variants: list[dict[str, Any]]) -> ApiError:
    sizes = sorted({v["size"] for v in variants})
    colors = sorted({v["color"] for v in variants})
    offer = f" Sizes: {', '.join(sizes)}. Colours: {', '.join(colors)}." if variants else ""
    return BusinessRuleViolation(
        f"{product_id} does not come in {color}, size {size}.{offer}",
        code="variant_not_found",
        details=[{"field": "newSize" if color in colors else "newColor", "message": "no such variant"}],
    )


def _unavailable(target: dict[str, Any], line: dict[str, Any], variants: list[dict[str, Any]]) -> ApiError:
    in_stock = [
        v
        for v in variants
        if v["onlineStockLevel"] > 0
        and v["sku"] != line["sku"]
        and (_same(v["color"], target["color"]) or _same(v["size"], target["size"]))
    ]
    suggestions = [f"{v['color']} in size {v['size']} is in stock ({v['sku']})" for v in in_stock[:5]]
    suggestions.append(f"Return {line['sku']} for a refund instead (initiateReturn).")
    return Conflict(
        f"{target['sku']} ({target['color']}, size {target['size']}) is out of stock online, "
        "so it cannot be exchanged right now.",
        code="exchange_unavailable",
        details=[{"field": "newSize", "message": f"{target['sku']} out of stock"}],
        suggestions=suggestions,
    )


# --- feedback ----------------------------------------------------------------------------------


def submit_feedback(db: Database, body: dict[str, Any], *, fulfillment: AgentClient) -> tuple[dict[str, Any], int]:
    order = fetch_order(fulfillment, body["orderId"], body["userId"], "feedback")
    product_id = body.get("productId")
    if product_id:
        products = {line["product_id"] for line in _lines(order)}
        if product_id not in products:
            raise BusinessRuleViolation(
                f"{product_id} is not part of {order['orderId']}; it has {', '.join(sorted(products))}.",
                code="not_in_order",
                details=[{"field": "productId", "message": "not in this order"}],
            )
        if order.get("status") != "delivered":
            raise BusinessRuleViolation(
                f"{order['orderId']} is {order.get('status')}; products can be rated once "
                "they have arrived. Feedback about the order itself is welcome now.",
                code="not_delivered",
                details=[{"field": "productId", "message": "not delivered yet"}],
            )
    key = product_id or ""
    row = {
        "feedback_id": _new_id("FBK"),
        "order_id": order["orderId"],
        "user_id": order["userId"],
        "product_key": key,
        "rating": body["rating"],
        "comment": body.get("comment"),
        "created_at": clock.now_iso(),
    }
    try:
        with db.write() as conn:
            existing = storage.find_feedback(conn, order["orderId"], key)
            if existing is None:
                storage.insert_feedback(conn, row)
    except sa.exc.IntegrityError:  # a concurrent twin won the unique constraint
        with db.read() as conn:
            existing = storage.find_feedback(conn, order["orderId"], key)
    if existing is not None:
        about = f"{product_id} in {order['orderId']}" if product_id else order["orderId"]
        raise Conflict(
            f"Feedback for {about} was already given on {existing['created_at'][:10]}.",
            code="feedback_exists",
            details=[{"field": "productId" if product_id else "orderId", "message": "feedback exists"}],
        )
    return _feedback_view(row), 201
