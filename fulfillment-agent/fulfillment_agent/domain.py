"""Fulfillment rules: order totals, delivery estimates and slots, the order lifecycle, store reservations.

Stock belongs to the inventory agent. A store reservation holds real store stock through it.
An order is made only of facts its owners confirm (claims.py). Cancelling or rejecting an order undoes it with
every owner: the stock goes back (inventory), the payment is refunded (payment, once per order), the points it
earned are taken back and the points and coupon it used given back (loyalty reversePoints).
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
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
    clock,
    load_contract,
)
from agentkit.logs import get_logger, log

from . import addresses, cities, claims, paging, storage
from .claims import Owners

logger = get_logger("fulfillment")

DEFAULT_APPROVAL_THRESHOLD = Decimal("50000")
RESERVATION_SECONDS = 24 * 60 * 60
IST = timezone(timedelta(hours=5, minutes=30))
CENT = Decimal("0.01")

# --- the order lifecycle ---------------------------------------------------------------------------

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending_approval": ("cancelled",),  # only approveOrder confirms it: the approval step cannot be skipped
    "pending": ("confirmed", "cancelled"),
    "confirmed": ("packed", "cancelled"),
    "packed": ("in_transit", "cancelled"),
    "in_transit": ("delivered",),
    "delivered": (),
    "cancelled": (),
}

# --- delivery --------------------------------------------------------------------------------------

SHIPPING_FEE, FREE_SHIPPING_ABOVE = claims.SHIPPING_FEE, claims.FREE_SHIPPING_ABOVE
WINDOWS = {"1014": ("10:00-14:00", 14), "1418": ("14:00-18:00", 18), "1821": ("18:00-21:00", 21)}
SLOT_DAYS = 3
HOME_DELIVERY_HOUR, COLLECT_READY_HOUR = 20, 12
CARRIERS = {"metro": "BlueDart", "other": "Delhivery"}


# --- small helpers ---------------------------------------------------------------------------------


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def _out(value: Decimal | float | int) -> float:
    return round(float(value), 2)


def _rupees(value: Decimal) -> str:
    return f"Rs {value.quantize(CENT)}"


def _today_ist() -> date:
    return clock.now().astimezone(IST).date()


def _ist_moment(day: date, hour: int) -> str:
    return clock.iso(datetime(day.year, day.month, day.day, hour, tzinfo=IST))


def _metro(city: str) -> str | None:
    found = cities.find(city)
    return found.name if found and found.metro else None


def _display_city(city: str) -> str:
    found = cities.find(city)
    return found.name if found else " ".join(city.split())


def _ship_days(city: str) -> tuple[int, int]:
    found = cities.find(city)
    return cities.delivery_days(metro=bool(found and found.metro))


def _slot_dates(fulfillment_type: str, city: str | None) -> list[date]:
    """The dates a delivery (or pick-up) slot can be booked on, from today in India."""
    first = 1 if fulfillment_type == "click_and_collect" else _ship_days(city or "")[1]
    today = _today_ist()
    return [today + timedelta(days=first + n) for n in range(SLOT_DAYS)]


def _slot_id(day: date, code: str) -> str:
    return f"SL-{day:%Y%m%d}-{code}"


def _slot_view(slot_id: str) -> dict[str, Any]:
    _, day, code = slot_id.split("-")
    return {"slotId": slot_id, "date": f"{day[:4]}-{day[4:6]}-{day[6:]}", "window": WINDOWS[code][0]}


def _parse_slot(slot_id: str) -> tuple[date, str] | None:
    _, day, code = slot_id.split("-")
    try:
        return datetime.strptime(day, "%Y%m%d").date(), code
    except ValueError:
        return None


def _unavailable(exc: AgentCallError, doing: str) -> DependencyUnavailable:
    log(logger, logging.WARNING, "inventory call failed", operation=exc.operation, status=exc.status, code=exc.code)
    return DependencyUnavailable(
        f"The inventory service is not answering, so we could not {doing}. Nothing was changed; "
        f"please try again in a minute.",
        details=[{"field": "", "message": f"inventory.{exc.operation}: {exc.code}: {exc.message}"}],
        retryable=True,
    )


# --- views -----------------------------------------------------------------------------------------


def _order_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "orderId": row["order_id"],
        "userId": row["user_id"],
        "status": row["status"],
        "fulfillmentType": row["fulfillment_type"],
        "items": row["items"],
        "subtotal": _out(row["subtotal"]),
        "discount": _out(row["discount"]),
        "deliveryFee": _out(row["delivery_fee"]),
        "giftWrapFee": _out(row["gift_wrap_fee"]),
        "total": _out(row["total"]),
        "paymentId": row["payment_id"],
        "holdId": row["hold_id"],
        "shippingAddress": row["shipping_address"],
        "storeId": row["store_id"],
        "storeName": row.get("store_name"),
        "couponCode": row["coupon_code"],
        "pointsRedeemed": row["points_redeemed"],
        "deliverySlot": _slot_view(row["delivery_slot"]) if row["delivery_slot"] else None,
        "estimatedDelivery": row["estimated_delivery"],
        "deliveredAt": row["delivered_at"],
        "carrier": row["carrier"],
        "trackingNumber": row["tracking_number"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "statusHistory": [{"status": h["status"], "at": h["at"], "note": h["note"]} for h in row["history"]],
        "nextStatuses": list(TRANSITIONS[row["status"]]),
    }


def _reservation_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "reservationId": row["reservation_id"],
        "userId": row["user_id"],
        "productId": row["product_id"],
        "sku": row["sku"],
        "size": row["size"],
        "color": row["color"],
        "quantity": row["quantity"],
        "storeId": row["store_id"],
        "storeName": row["store_name"],
        "storeAddress": row["store_address"],
        "city": row["city"],
        "holdId": row["hold_id"],
        "status": row["status"],
        "expiresAt": row["expires_at"],
        "createdAt": row["created_at"],
    }


def _load_order(db: Database, order_id: str) -> dict[str, Any]:
    with db.read() as conn:
        row = storage.order(conn, order_id)
    if row is None:
        raise NotFound.of("order", order_id, "orderId")
    return row


# --- createOrder -----------------------------------------------------------------------------------


def _check_amounts(body: dict[str, Any]) -> None:
    """Every amount is rupees and paise; the totals add up to the paisa."""
    amounts = [(f"items.{i}.unitPrice", item["unitPrice"]) for i, item in enumerate(body["items"])]
    amounts += [
        (name, body[name]) for name in ("subtotal", "discount", "deliveryFee", "giftWrapFee", "total") if name in body
    ]
    for field, value in amounts:
        try:
            exact = _money(value) == _money(value).quantize(CENT)
        except InvalidOperation:
            exact = False
        if not exact:
            raise BusinessRuleViolation(
                f"{field} is {value}: amounts are rupees with at most two decimals (paise).",
                code="invalid_amount",
                details=[{"field": field, "message": "more than two decimals"}],
            )
    items_sum = sum((item["quantity"] * _money(item["unitPrice"]) for item in body["items"]), Decimal(0))
    subtotal, discount = _money(body["subtotal"]), _money(body["discount"])
    fee, total = _money(body.get("deliveryFee", 0)) + _money(body.get("giftWrapFee", 0)), _money(body["total"])
    if subtotal != items_sum:
        raise BusinessRuleViolation(
            f"subtotal is {_rupees(subtotal)} but the items add up to {_rupees(items_sum)} (quantity x unitPrice).",
            code="totals_mismatch",
            details=[{"field": "subtotal", "message": f"expected {items_sum.quantize(CENT)}"}],
        )
    if discount > subtotal:
        raise BusinessRuleViolation(
            f"The discount {_rupees(discount)} is larger than the subtotal {_rupees(subtotal)}.",
            code="totals_mismatch",
            details=[{"field": "discount", "message": f"at most {subtotal.quantize(CENT)}"}],
        )
    expected_total = subtotal - discount + fee
    if total != expected_total:
        raise BusinessRuleViolation(
            f"total is {_rupees(total)} but subtotal - discount + deliveryFee + giftWrapFee "
            f"is {_rupees(expected_total)}.",
            code="totals_mismatch",
            details=[{"field": "total", "message": f"expected {expected_total.quantize(CENT)}"}],
        )


def _check_items(items: list[dict[str, Any]]) -> None:
    for index, item in enumerate(items):
        expected = "-".join(
            [item["productId"], item["color"].upper().replace(" ", ""), item["size"].upper().replace(" ", "")]
        )
        if item["sku"] != expected:
            raise BusinessRuleViolation(
                f"Item {index + 1}: sku {item['sku']} does not match {item['productId']} in {item['color']} "
                f"size {item['size']} (expected {expected}).",
                code="sku_mismatch",
                details=[{"field": f"items.{index}.sku", "message": f"expected {expected}"}],
            )


def _check_fulfillment_fields(body: dict[str, Any]) -> None:
    kind = body["fulfillmentType"]
    if "shippingAddress" in body and "addressId" in body:
        raise BusinessRuleViolation(
            "Give either a shippingAddress or the addressId of a saved address, not both.",
            code="address_ambiguous",
            details=[{"field": "addressId", "message": "not together with shippingAddress"}],
        )
    if kind == "ship_to_home":
        if "shippingAddress" not in body and "addressId" not in body:
            raise BusinessRuleViolation(
                "A ship_to_home order needs a shippingAddress (or the addressId of one saved with saveAddress).",
                code="shipping_address_required",
                details=[{"field": "shippingAddress", "message": "required for ship_to_home"}],
            )
        if "storeId" in body:
            raise BusinessRuleViolation(
                "A ship_to_home order has no storeId; use click_and_collect to pick up at a store.",
                code="store_not_expected",
                details=[{"field": "storeId", "message": "only for click_and_collect"}],
            )
    else:
        if "storeId" not in body:
            raise BusinessRuleViolation(
                "A click_and_collect order needs the storeId of the store to collect from.",
                code="store_required",
                details=[{"field": "storeId", "message": "required for click_and_collect"}],
            )
        for field in ("shippingAddress", "addressId"):
            if field in body:
                raise BusinessRuleViolation(
                    f"A click_and_collect order is picked up at the store and has no {field}.",
                    code="shipping_address_not_expected",
                    details=[{"field": field, "message": "only for ship_to_home"}],
                )


def _with_shipping_address(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    """The order with the full address it ships to: an addressId is looked up in the shopper's own book, and
    the city must be one the shop delivers to."""
    if "addressId" not in body:
        if "shippingAddress" in body:
            addresses.delivered_city(body["shippingAddress"]["city"], "shippingAddress.city")
        return body
    address = addresses.shipping_address(db, body["userId"], body["addressId"])
    addresses.delivered_city(address["city"], "addressId")
    return {**{k: v for k, v in body.items() if k != "addressId"}, "shippingAddress": address}


def _estimated_delivery(body: dict[str, Any], city: str | None) -> str:
    kind = body["fulfillmentType"]
    slot = body.get("deliverySlot")
    if slot:
        parsed = _parse_slot(slot)
        allowed = _slot_dates(kind, city)
        if parsed is None or parsed[0] not in allowed:
            where = " to " + _display_city(city) if city and kind == "ship_to_home" else ""
            raise BusinessRuleViolation(
                f"Slot {slot} cannot be booked: {kind} slots{where} "
                f"are from {allowed[0]:%d %b %Y} to {allowed[-1]:%d %b %Y}. See getDeliveryOptions.",
                code="slot_unavailable",
                details=[{"field": "deliverySlot", "message": "not an available slot"}],
            )
        return _ist_moment(parsed[0], WINDOWS[parsed[1]][1])
    if kind == "click_and_collect":
        return _ist_moment(_today_ist() + timedelta(days=1), COLLECT_READY_HOUR)
    return _ist_moment(_today_ist() + timedelta(days=_ship_days(city or "")[1]), HOME_DELIVERY_HOUR)


class IdUnavailable(ApiError):
    """An id that cannot be issued: nothing is written, and retrying will not help."""

    status, code = 503, "id_unavailable"


def issue_id(conn: sa.Connection, counter: str, contract_name: str, prefix: str, digits: int) -> str:
    """The next id from ``counter``, formatted with at least ``digits`` digits and checked against the rule the
    contracts hold for it (``common.json`` or this agent's own contract). An id that would break it is a clean
    503 ``id_unavailable``; raised inside the caller's transaction, so the counter does not move either."""
    number = storage.next_number(conn, counter)
    ident = f"{prefix}{number or 0:0{digits}d}"
    if number is None or not _id_rule_allows(contract_name, ident):
        log(logger, logging.ERROR, "id space exhausted", counter=counter, number=number)
        raise IdUnavailable(
            f"No new {counter} id can be issued ({ident} would not be a valid id). Nothing was recorded.",
            details=[{"field": "", "message": f"{counter} ids exhausted"}],
            retryable=False,
        )
    return ident


def _id_rule_allows(name: str, ident: str) -> bool:
    """The contract's rule for this id (its bundled definitions: common.json's, or fulfillment's own)."""
    spec = load_contract("fulfillment").defs[name]
    return bool(re.fullmatch(spec["pattern"], ident)) and len(ident) <= spec.get("maxLength", len(ident))


def _check_not_used(conn: sa.Connection, body: dict[str, Any]) -> None:
    for column, field in (("payment_id", "paymentId"), ("hold_id", "holdId")):
        if field in body:
            other = storage.order_using(conn, column, body[field])
            if other:
                what = "already paid for" if field == "paymentId" else "is already used by"
                raise Conflict(
                    f"{'Payment' if field == 'paymentId' else 'Hold'} {body[field]} {what} order {other}.",
                    code="payment_already_used" if field == "paymentId" else "hold_already_used",
                    details=[{"field": field, "message": f"used by {other}"}],
                )


ABANDONED_AFTER_SECONDS = 120  # creating an order takes seconds; a discount intent this old was abandoned


def _forget_intent_if_undone(db: Database, owners: Owners, order_id: str, user_id: str, *, undone: bool | None) -> None:
    """After a failed creation: once loyalty has given back what it recorded for ``order_id``, forget the intent;
    if it could not (loyalty down), the intent stays and a later createOrder settles it."""
    if undone is None:
        undone = claims.undo_loyalty(owners.loyalty, user_id, order_id, "order not created")
    if undone:
        with db.write() as conn:
            storage.drop_discount_intent(conn, order_id)


def _settle_abandoned_discounts(db: Database, owners: Owners) -> None:
    """Coupon uses and points recorded for an order that was never written (loyalty was down when it should have
    been undone, or the process died between the two) are given back here, lazily, like expired reservations."""
    cutoff = clock.iso(clock.now() - timedelta(seconds=ABANDONED_AFTER_SECONDS))
    with db.read() as conn:
        stale = storage.abandoned_discount_intents(conn, cutoff)
    for intent in stale:
        if claims.undo_loyalty(owners.loyalty, intent["user_id"], intent["order_id"], "order never created"):
            with db.write() as conn:
                storage.drop_discount_intent(conn, intent["order_id"])


def create_order(
    db: Database,
    body: dict[str, Any],
    *,
    owners: Owners,
    approval_threshold: Decimal = DEFAULT_APPROVAL_THRESHOLD,
) -> tuple[dict[str, Any], int]:
    """Check every claim with its owner (claims.py), then issue the id, record the coupon and points under it
    and write the order. A refusal at any step leaves nothing behind: loyalty is undone, no row is written."""
    _check_fulfillment_fields(body)
    body = _with_shipping_address(db, body)
    _check_items(body["items"])
    _check_amounts(body)
    address = body.get("shippingAddress")
    total = _money(body["total"])
    with db.read() as conn:
        store_id = body.get("storeId")
        store = storage.store(conn, store_id) if store_id else None
        if store_id and store is None:
            raise NotFound.of("store", store_id, "storeId")
        _check_not_used(conn, body)
    estimated = _estimated_delivery(body, address["city"] if address else (store["city"] if store else None))
    _settle_abandoned_discounts(db, owners)
    checked = claims.check_order(owners, body)
    uses_loyalty = bool(body.get("couponCode") or body.get("pointsRedeemed"))
    with db.write() as conn:
        order_id = issue_id(conn, "order", "orderId", "ORD-", 6)
        if uses_loyalty:  # written before loyalty records anything: if this order is never written, it is undone
            storage.add_discount_intent(conn, order_id, body["userId"], clock.now_iso())
    try:
        claims.record_discount(owners.loyalty, body, order_id, checked)
    except ApiError:
        _forget_intent_if_undone(db, owners, order_id, body["userId"], undone=None)
        raise
    now = clock.now_iso()
    if total > approval_threshold:
        status = "pending_approval"
        note = (
            f"The total {_rupees(total)} is above the approval threshold of {_rupees(approval_threshold)}; "
            f"waiting for approval."
        )
    else:
        status, note = "confirmed", f"Payment {body['paymentId']} received."
    try:
        with db.write() as conn:
            _check_not_used(conn, body)  # a racing request for the same payment or hold may have won meanwhile
            storage.insert_order(
                conn,
                {
                    "order_id": order_id,
                    "user_id": body["userId"],
                    "status": status,
                    "fulfillment_type": body["fulfillmentType"],
                    "items": checked.items,
                    "subtotal": checked.subtotal,
                    "discount": _money(body["discount"]),
                    "delivery_fee": checked.delivery_fee,
                    "gift_wrap_fee": _money(body.get("giftWrapFee", 0)),
                    "total": total,
                    "payment_id": body["paymentId"],
                    "hold_id": body.get("holdId"),
                    "shipping_address": address,
                    "store_id": store_id,
                    "coupon_code": body["couponCode"].upper() if "couponCode" in body else None,
                    "points_redeemed": body.get("pointsRedeemed", 0),
                    "delivery_slot": body.get("deliverySlot"),
                    "estimated_delivery": estimated,
                    "delivered_at": None,
                    "carrier": None,
                    "tracking_number": None,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            storage.add_history(conn, order_id, status, now, note)
            storage.drop_discount_intent(conn, order_id)  # with the order: the coupon and points are its now
    except (ApiError, sa.exc.SQLAlchemyError) as exc:
        if checked.loyalty_committed:
            undone = claims.undo_loyalty(owners.loyalty, body["userId"], order_id, "order not created")
            _forget_intent_if_undone(db, owners, order_id, body["userId"], undone=undone)
        if isinstance(exc, sa.exc.IntegrityError):
            with db.read() as conn:
                _check_not_used(conn, body)
        raise
    log(logger, logging.INFO, "order created", orderId=order_id, status=status)
    return _order_view(_load_order(db, order_id)), 201


# --- reading orders --------------------------------------------------------------------------------


def get_order(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    row = _load_order(db, body["orderId"])
    if "userId" in body and row["user_id"] != body["userId"]:
        raise NotFound.of("order", body["orderId"], "orderId")
    return _order_view(row)


def list_orders(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        rows, cursor = paging.page(
            "order",
            body,
            lambda n, after: storage.user_orders(conn, body["userId"], body.get("status"), n, after),
            lambda row: (row["created_at"], row["order_id"]),
        )
    return {
        "userId": body["userId"],
        "count": len(rows),
        "orders": [_order_view(r) for r in rows],
        "nextCursor": cursor,
    }


def list_all_orders(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    """Every order, a page at a time (operator only: the integrity audit reads them all)."""
    offset, limit = body.get("offset", 0), body.get("limit", 200)
    with db.read() as conn:
        rows = storage.all_orders(conn, offset, limit)
    return {"orders": [_order_view(r) for r in rows], "nextOffset": offset + limit if len(rows) == limit else None}


# --- moving orders ---------------------------------------------------------------------------------


def _tracking_number(carrier: str) -> str:
    digits = "".join(str(secrets.randbelow(10)) for _ in range(12))
    return ("7" + digits[:10]) if carrier == "BlueDart" else ("1" + digits)


def _move(conn: sa.Connection, row: dict[str, Any], target: str, note: str | None) -> int:
    """Move ``row`` to ``target`` with one guarded UPDATE and record it; returns the history entry id."""
    now = clock.now_iso()
    values: dict[str, Any] = {"updated_at": now}
    if target == "in_transit" and row["fulfillment_type"] == "ship_to_home":
        city = (row["shipping_address"] or {}).get("city", "")
        carrier = row["carrier"] or CARRIERS["metro" if _metro(city) else "other"]
        values.update(carrier=carrier, tracking_number=row["tracking_number"] or _tracking_number(carrier))
    if target == "delivered":
        values["delivered_at"] = now
    if not storage.move_order(conn, row["order_id"], row["status"], target, **values):
        raise Conflict(
            f"Order {row['order_id']} changed status while this update ran; look it up and try again.",
            code="concurrent_update",
            details=[{"field": "orderId", "message": "status changed meanwhile"}],
        )
    return storage.add_history(conn, row["order_id"], target, now, note)


def _return_stock(owners: Owners, row: dict[str, Any]) -> tuple[bool, str | None]:
    """Give a cancelled order's stock back: release an active hold, restock a committed one."""
    inventory = owners.inventory
    hold_id = row["hold_id"]
    if not hold_id:
        return True, None
    try:
        hold = inventory.call("getHold", {"holdId": hold_id})
        if hold["status"] == "active":
            inventory.call("releaseHold", {"holdId": hold_id})
            return True, f"Held stock released (hold {hold_id})."
        if hold["status"] == "committed" and hold.get("orderId") in (None, row["order_id"]):
            for line in hold["lines"]:
                inventory.call(
                    "restock",
                    {
                        "productId": line["productId"],
                        "size": line["size"],
                        "color": line["color"],
                        "locationId": line["locationId"],
                        "quantity": line["quantity"],
                        "reason": f"order {row['order_id']} cancelled",
                    },
                )
            places = sorted({line["locationId"] for line in hold["lines"]})
            return True, f"Stock returned to {', '.join(places)} (hold {hold_id})."
        return True, None
    except AgentCallError as exc:
        if exc.status == 404:
            return True, f"Hold {hold_id} is unknown to inventory, so there was no stock to return."
        _undo_failed(row, "stock", exc)
        return False, f"Stock not returned yet (hold {hold_id}): inventory answered {exc.code}."


def _refund_payment(owners: Owners, row: dict[str, Any]) -> tuple[bool, str | None]:
    """Refund what is left of the order's payment, once: read back first, and an Idempotency-Key per order."""
    payment_id = row["payment_id"]
    try:
        payment = owners.payment.call("checkPaymentStatus", {"paymentId": payment_id})
        if payment["status"] == "failed":
            return True, f"Payment {payment_id} charged nothing, so there is nothing to refund."
        left = _money(payment["amount"]) - _money(payment["refundedAmount"])
        if left <= 0:
            return True, f"Payment {payment_id} is already refunded."
        receipt = owners.payment.call(
            "refundPayment",
            {"paymentId": payment_id, "reason": f"order {row['order_id']} cancelled"},
            idempotency_key=f"{row['order_id']}-cancel-refund",
        )
        return True, f"{_rupees(_money(receipt['amount']))} refunded ({receipt['refundId']})."
    except AgentCallError as exc:
        if exc.status == 404:
            return True, f"Payment {payment_id} is unknown to the payment agent, so there was nothing to refund."
        _undo_failed(row, "payment", exc)
        return False, f"Refund not made yet (payment {payment_id}): the payment agent answered {exc.code}."


def _reverse_loyalty(owners: Owners, row: dict[str, Any]) -> tuple[bool, str | None]:
    """Take back the points the order earned, give back the points it redeemed and free its coupon use."""
    try:
        reversal = owners.loyalty.call(
            "reversePoints",
            {
                "userId": row["user_id"],
                "orderId": row["order_id"],
                "reason": f"order {row['order_id']} cancelled",
                "restoreRedeemed": True,
            },
        )
    except AgentCallError as exc:
        if exc.status == 404:
            return True, None  # not a loyalty member: nothing was earned, redeemed or used
        _undo_failed(row, "loyalty", exc)
        return False, f"Points and coupon not given back yet: loyalty answered {exc.code}."
    parts = []
    if reversal["pointsReversed"]:
        parts.append(f"{reversal['pointsReversed']} points earned taken back")
    if reversal["pointsRestored"]:
        parts.append(f"{reversal['pointsRestored']} points redeemed given back")
    if reversal["couponsReleased"]:
        parts.append(f"coupon {', '.join(reversal['couponsReleased'])} freed")
    return True, ("Loyalty: " + ", ".join(parts) + ".") if parts else None


def _undo_failed(row: dict[str, Any], step: str, exc: AgentCallError) -> None:
    log(
        logger,
        logging.WARNING,
        "cancelled order not fully undone",
        orderId=row["order_id"],
        step=step,
        operation=exc.operation,
        status=exc.status,
        code=exc.code,
    )


UNDO_STEPS = (("stock", _return_stock), ("payment", _refund_payment), ("loyalty", _reverse_loyalty))


def _after_cancel(db: Database, owners: Owners, row: dict[str, Any], note: str | None) -> None:
    """Undo a cancelled order with each owner: stock, payment, loyalty. Every step is tried even if another failed,
    and each is recorded once done, so cancelling again finishes what is left and never repeats what is done."""
    with db.read() as conn:
        done = storage.undo_steps_done(conn, row["order_id"])
    outcomes = []
    for step, action in UNDO_STEPS:
        if step in done:
            continue
        ok, outcome = action(owners, row)
        if ok:
            with db.write() as conn:
                storage.record_undo_step(conn, row["order_id"], step, outcome, clock.now_iso())
        if outcome:
            outcomes.append(outcome)
    if outcomes:
        with db.write() as conn:
            history_id = storage.last_history_id(conn, row["order_id"], "cancelled")
            if history_id is not None:
                previous = storage.history_note(conn, history_id) or note
                storage.set_history_note(conn, history_id, " ".join(([previous] if previous else []) + outcomes))


def _invalid_transition(row: dict[str, Any], target: str) -> Conflict:
    current, allowed = row["status"], TRANSITIONS[row["status"]]
    if allowed:
        message = (
            f"Order {row['order_id']} is {current} and cannot move to {target}. "
            f"From {current} it can move to: {', '.join(allowed)}."
        )
    else:
        message = f"Order {row['order_id']} is {current} and cannot move to {target}: {current} is final."
    return Conflict(
        message,
        code="invalid_transition",
        details=[
            {"field": "status", "message": f"allowed next statuses from {current}: {', '.join(allowed) or 'none'}"}
        ],
    )


def update_order_status(db: Database, body: dict[str, Any], *, owners: Owners) -> dict[str, Any]:
    target, note = body["status"], body.get("note")
    with db.write() as conn:
        row = storage.order(conn, body["orderId"])
        if row is None:
            raise NotFound.of("order", body["orderId"], "orderId")
        if target not in TRANSITIONS[row["status"]]:
            raise _invalid_transition(row, target)
        _move(conn, row, target, note)
    if target == "cancelled":
        _after_cancel(db, owners, row, note)
    return _order_view(_load_order(db, body["orderId"]))


def approve_order(db: Database, body: dict[str, Any], *, owners: Owners) -> dict[str, Any]:
    approve = body["approve"]
    target = "confirmed" if approve else "cancelled"
    note = f"{'Approved' if approve else 'Rejected'} by {body['approver']}" + (
        f": {body['note']}" if "note" in body else "."
    )
    with db.write() as conn:
        row = storage.order(conn, body["orderId"])
        if row is None:
            raise NotFound.of("order", body["orderId"], "orderId")
        already = row["status"] == "cancelled" and not approve  # rejecting again finishes the undo, once
        if row["status"] != "pending_approval" and not already:
            raise Conflict(
                f"Order {row['order_id']} is {row['status']}, not waiting for approval.",
                code="not_pending_approval",
                details=[{"field": "orderId", "message": f"status is {row['status']}"}],
            )
        if not already:
            _move(conn, row, target, note)
    if not approve:
        _after_cancel(db, owners, row, note)
    return _order_view(_load_order(db, body["orderId"]))


def cancel_order(db: Database, body: dict[str, Any], *, owners: Owners) -> dict[str, Any]:
    order_id = body["orderId"]
    note = f"Cancelled by the shopper: {body['reason']}"
    with db.write() as conn:
        row = storage.order(conn, order_id)
        if row is None or row["user_id"] != body["userId"]:
            raise NotFound.of("order", order_id, "orderId")
        already = row["status"] == "cancelled"
        if not already and "cancelled" not in TRANSITIONS[row["status"]]:
            if row["status"] == "delivered":
                message = (
                    f"Order {order_id} was delivered on {row['delivered_at'][:10]}, so it cannot be cancelled. "
                    f"It can be returned instead."
                )
            else:
                message = (
                    f"Order {order_id} is already {row['status']}, so it can no longer be cancelled. "
                    f"Once it is delivered it can be returned instead."
                )
            raise Conflict(
                message, code="cannot_cancel", details=[{"field": "orderId", "message": f"status is {row['status']}"}]
            )
        if not already:
            _move(conn, row, "cancelled", note)
    _after_cancel(db, owners, row, note)  # cancelling again finishes an undo that could not complete
    return _order_view(_load_order(db, order_id))


# --- changing where an order goes ------------------------------------------------------------------

NOT_SHIPPED = ("pending_approval", "pending", "confirmed", "packed")


def update_order_address(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    """Deliver a ship_to_home order that has not shipped to another address (from the book or given inline)."""
    given = [field for field in ("addressId", "shippingAddress") if field in body]
    if len(given) == 2:
        raise BusinessRuleViolation(
            "Give either a shippingAddress or the addressId of a saved address, not both.",
            code="address_ambiguous",
            details=[{"field": "addressId", "message": "not together with shippingAddress"}],
        )
    if not given:
        raise BusinessRuleViolation(
            "Say where the order should go: a shippingAddress, or the addressId of one saved with saveAddress.",
            code="shipping_address_required",
            details=[{"field": "shippingAddress", "message": "required (or addressId)"}],
        )
    order_id, field = body["orderId"], given[0]
    row = _load_order(db, order_id)
    if row["user_id"] != body["userId"]:
        raise NotFound.of("order", order_id, "orderId")
    if field == "addressId":
        address = addresses.shipping_address(db, body["userId"], body["addressId"])
        addresses.delivered_city(address["city"], "addressId")
    else:
        address = addresses.tidy(body["shippingAddress"], "shippingAddress", name_required=False)
    with db.write() as conn:
        row = storage.order(conn, order_id)
        if row is None:  # pragma: no cover - orders are never deleted
            raise NotFound.of("order", order_id, "orderId")
        if row["fulfillment_type"] != "ship_to_home":
            raise BusinessRuleViolation(
                f"Order {order_id} is collected at a store, so it has no delivery address to change.",
                code="shipping_address_not_expected",
                details=[{"field": field, "message": "only for ship_to_home orders"}],
            )
        if row["status"] not in NOT_SHIPPED:
            shipped = row["status"] in ("in_transit", "delivered")
            raise Conflict(
                f"Order {order_id} is already {row['status']}, so its delivery address can no longer be changed."
                if shipped
                else f"Order {order_id} is {row['status']}, so its delivery address can no longer be changed.",
                code="already_shipped" if shipped else "cannot_change_address",
                details=[{"field": "orderId", "message": f"status is {row['status']}"}],
            )
        estimated = row["estimated_delivery"]
        if not row["delivery_slot"]:  # a farther city can take longer: the estimate moves later, never earlier
            estimated = max(estimated, _estimated_delivery({"fulfillmentType": "ship_to_home"}, address["city"]))
        if not storage.set_order_address(conn, order_id, row["status"], address, estimated, clock.now_iso()):
            raise Conflict(
                f"Order {order_id} changed status while this update ran; look it up and try again.",
                code="concurrent_update",
                details=[{"field": "orderId", "message": "status changed meanwhile"}],
            )
    log(logger, logging.INFO, "order address changed", orderId=order_id)
    return _order_view(_load_order(db, order_id))


# --- delivery options ------------------------------------------------------------------------------


def get_delivery_options(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    city = addresses.delivered_city(body["city"], "city").name
    today = _today_ist()
    low, high = _ship_days(city)
    cart = _money(body["cartValue"]) if "cartValue" in body else None
    fee = Decimal(0) if cart is not None and cart > FREE_SHIPPING_ABOVE else SHIPPING_FEE
    fee_text = "Free above Rs 999." if fee == 0 else "Rs 99, free above Rs 999."
    options = [
        {
            "type": "ship_to_home",
            "description": f"Delivered to your door in {low}-{high} days. {fee_text}",
            "estimatedDays": {"min": low, "max": high},
            "estimatedDate": (today + timedelta(days=high)).isoformat(),
            "fee": _out(fee),
            "freeAbove": _out(FREE_SHIPPING_ABOVE),
            "stores": [],
            "slots": [_slot_view(_slot_id(day, code)) for day in _slot_dates("ship_to_home", city) for code in WINDOWS],
        }
    ]
    with db.read() as conn:
        local = storage.stores_in_city(conn, city)
    if local:
        options.append(
            {
                "type": "click_and_collect",
                "description": f"Free pick-up at a store in {city}, ready the next day from 12:00.",
                "estimatedDays": {"min": 1, "max": 1},
                "estimatedDate": (today + timedelta(days=1)).isoformat(),
                "fee": 0,
                "freeAbove": None,
                "stores": [
                    {
                        "storeId": s["store_id"],
                        "name": s["name"],
                        "address": s["address"],
                        "openingHours": s["opening_hours"],
                    }
                    for s in local
                ],
                "slots": [
                    _slot_view(_slot_id(day, code))
                    for day in _slot_dates("click_and_collect", city)
                    for code in WINDOWS
                ],
            }
        )
    return {"city": city, "postalCode": body.get("postalCode"), "metro": _metro(city) is not None, "options": options}


# --- store reservations ----------------------------------------------------------------------------


def _expire_due_reservations(db: Database) -> None:
    now = clock.now_iso()
    with db.read() as conn:
        if not storage.any_due_reservation(conn, now):
            return
    with db.write() as conn:
        storage.expire_due_reservations(conn, now)


def _size_label(size: str) -> str:
    return size.upper() if size.lower() in {"xs", "s", "m", "l", "xl", "xxl"} else size


def _not_in_store(inventory: AgentClient, body: dict[str, Any], store: dict[str, Any], exc: AgentCallError) -> Conflict:
    """409 not_in_store, pointing at other stores in the city (or online stock) when inventory can tell."""
    size, color, quantity = _size_label(body["size"]), body["color"], body.get("quantity", 1)
    suggestions, elsewhere = [], ""
    sku = f"{body['productId']}-{color.upper()}-{size.upper().replace(' ', '')}"
    try:
        report = inventory.call(
            "checkInventory",
            {
                "productId": body["productId"],
                "attributes": {"size": body["size"], "color": body["color"]},
                "locationContext": {"city": store["city"]},
            },
        )
        size = report["attributes"].get("size", size)
        color = report["attributes"].get("color", color)
        sku = report["sku"] or sku
        others = [
            s for s in report["availableStores"] if s["storeId"] != store["store_id"] and s["stockLevel"] >= quantity
        ]
        suggestions = [f"Reserve at {s['name']} ({s['storeId']}): {s['stockLevel']} left" for s in others]
        if others:
            elsewhere = f" {others[0]['name']} ({others[0]['storeId']}) in {store['city']} has it."
        if report["onlineStockLevel"] >= quantity:
            suggestions.append("Order it online for delivery to your home")
            elsewhere = elsewhere or " It is in stock online and can be delivered to you."
    except AgentCallError as lookup:
        log(logger, logging.WARNING, "no alternatives for not_in_store", code=lookup.code, status=lookup.status)
    short = store["name"].split(",")[0]
    what = f"no {color} {size} left" if quantity == 1 else f"fewer than {quantity} {color} {size} left"
    return Conflict(
        f"The {short} store has {what}.{elsewhere}",
        code="not_in_store",
        details=[{"field": "storeId", "message": f"no {sku} left at {store['store_id']}"}],
        suggestions=suggestions or None,
    )


def reserve_in_store(db: Database, body: dict[str, Any], *, inventory: AgentClient) -> tuple[dict[str, Any], int]:
    _expire_due_reservations(db)
    with db.read() as conn:
        store = storage.store(conn, body["storeId"])
    if store is None:
        raise NotFound.of("store", body["storeId"], "storeId")
    with db.write() as conn:
        reservation_id = issue_id(conn, "reservation", "reservationId", "RSV-", 6)
    quantity = body.get("quantity", 1)
    try:
        hold = inventory.call(
            "createHold",
            {
                "items": [
                    {"productId": body["productId"], "size": body["size"], "color": body["color"], "quantity": quantity}
                ],
                "storeId": body["storeId"],
                "ttlSeconds": RESERVATION_SECONDS,
                "reference": reservation_id,
            },
        )
    except AgentCallError as exc:
        if exc.status == 409 and exc.code == "insufficient_stock":
            raise _not_in_store(inventory, body, store, exc) from None
        if exc.status == 404:
            details = [
                {"field": d.get("field", "").removeprefix("attributes."), "message": d.get("message", "")}
                for d in exc.details
                if isinstance(d, dict)
            ]
            raise NotFound(
                exc.message, code=exc.code, details=details or [{"field": "productId", "message": "unknown"}]
            ) from None
        raise _unavailable(exc, "reserve the item") from None
    line = hold["lines"][0]
    now = clock.now_iso()
    try:
        with db.write() as conn:
            storage.insert_reservation(
                conn,
                {
                    "reservation_id": reservation_id,
                    "user_id": body["userId"],
                    "product_id": body["productId"],
                    "sku": line["sku"],
                    "size": line["size"],
                    "color": line["color"],
                    "quantity": quantity,
                    "store_id": body["storeId"],
                    "hold_id": hold["holdId"],
                    "status": "active",
                    "expires_at": hold["expiresAt"],
                    "created_at": now,
                    "updated_at": now,
                },
            )
    except sa.exc.SQLAlchemyError:
        # The stock is held but we could not record why: give it back before reporting the fault.
        try:
            inventory.call("releaseHold", {"holdId": hold["holdId"]})
        except AgentCallError as exc:
            log(logger, logging.ERROR, "orphaned reservation hold", holdId=hold["holdId"], code=exc.code)
        raise
    with db.read() as conn:
        row = storage.reservation(conn, reservation_id)
    log(logger, logging.INFO, "reserved in store", reservationId=reservation_id, holdId=hold["holdId"])
    return _reservation_view(row), 201


def _load_reservation(db: Database, reservation_id: str, user_id: str) -> dict[str, Any]:
    with db.read() as conn:
        row = storage.reservation(conn, reservation_id)
    if row is None or row["user_id"] != user_id:
        raise NotFound.of("reservation", reservation_id, "reservationId")
    return row


def cancel_reservation(db: Database, body: dict[str, Any], *, inventory: AgentClient) -> dict[str, Any]:
    _expire_due_reservations(db)
    row = _load_reservation(db, body["reservationId"], body["userId"])
    if row["status"] == "cancelled":
        return _reservation_view(row)
    if row["status"] == "expired":
        raise Conflict(
            f"Reservation {row['reservation_id']} expired at {row['expires_at']}; the item is already back on sale.",
            code="reservation_expired",
            details=[{"field": "reservationId", "message": "expired"}],
        )
    try:
        inventory.call("releaseHold", {"holdId": row["hold_id"]})
    except AgentCallError as exc:
        if exc.status == 409:
            raise Conflict(
                f"The items of reservation {row['reservation_id']} were already bought, so it cannot be "
                f"cancelled; return them instead.",
                code="reservation_collected",
                details=[{"field": "reservationId", "message": exc.message}],
            ) from None
        if exc.status != 404:
            raise _unavailable(exc, "cancel the reservation") from None
        log(logger, logging.WARNING, "reservation hold unknown to inventory", holdId=row["hold_id"])
    with db.write() as conn:
        storage.move_reservation(conn, row["reservation_id"], "active", "cancelled", clock.now_iso())
    return _reservation_view(_load_reservation(db, body["reservationId"], body["userId"]))


def list_reservations(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    _expire_due_reservations(db)
    with db.read() as conn:
        rows, cursor = paging.page(
            "reservation",
            body,
            lambda n, after: storage.user_reservations(conn, body["userId"], body.get("status"), n, after),
            lambda row: (row["created_at"], row["reservation_id"]),
        )
    return {"userId": body["userId"], "reservations": [_reservation_view(r) for r in rows], "nextCursor": cursor}
