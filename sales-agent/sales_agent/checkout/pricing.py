"""Pricing a checkout: the lines at the catalogue's prices, the gift wraps at their current prices, and the
quote: the best of the shopper's coupon and the applicable offers, points as rupees off, the delivery fee.

Amounts are ``Decimal`` rupees to the paisa while they are added up (``money``) and floats in what is stored
and sent (``json_amount``). Discounts and points apply to the items only; the wraps are added after them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from agentkit import AgentCallError
from agentkit.contracts import id_pattern
from agentkit.money import format_inr, to_paisa

from ..addresses import one_line
from ..errors import ToolFailure, is_down


def money(value: Any) -> Decimal:
    """Rupees to the paisa (agentkit.money's one rounding rule); nothing is ₹0."""
    return to_paisa(value or 0)


def json_amount(value: Decimal) -> float:
    """The amount as the contracts carry it (a number of rupees, to the paisa)."""
    return float(to_paisa(value))


def price_lines(clients: Any, items: list[dict]) -> list[dict[str, Any]]:
    """The items as order lines at the catalogue's prices, the same variant merged and one wrap per product."""
    products: dict[str, dict] = {}
    lines = []
    for item in items:
        pid = str(item.get("productId", "")).strip().upper()
        quantity = int(item.get("quantity") or 1)
        if not id_pattern("productId").fullmatch(pid):
            raise ToolFailure("invalid_argument", f"{pid!r} is not a product id like P1001.")
        if not 1 <= quantity <= 20:
            raise ToolFailure("invalid_argument", f"quantity for {pid} must be between 1 and 20.")
        if pid not in products:
            products[pid] = clients.call("recommendation", "getProduct", {"productId": pid})
        product = products[pid]
        variant = find_variant(product, str(item.get("size", "")), str(item.get("color", "")))
        if variant is None:
            raise ToolFailure(
                "no_such_variant",
                f"{product['name']} does not come in size {item.get('size')} and colour {item.get('color')}.",
                suggestions=[f"Sizes: {', '.join(product['sizes'])}", f"Colours: {', '.join(product['colors'])}"],
            )
        lines.append(
            {
                "productId": pid,
                "sku": variant["sku"],
                "name": product["name"],
                "category": product["category"],
                "size": variant["size"],
                "color": variant["color"],
                "quantity": quantity,
                "unitPrice": json_amount(money(product["price"])),
            }
        )
        if item.get("giftWrap"):
            lines[-1]["giftWrap"] = dict(item["giftWrap"])
    merged: dict[str, dict] = {}
    wrapped: set[str] = set()
    for line in lines:
        wrap = line.pop("giftWrap", None)
        if wrap and line["productId"] not in wrapped:  # one wrap per product per order
            wrapped.add(line["productId"])
            line["giftWrap"] = wrap
        if line["sku"] in merged:
            merged[line["sku"]]["quantity"] = min(20, merged[line["sku"]]["quantity"] + line["quantity"])
            if wrap and "giftWrap" in line:
                merged[line["sku"]]["giftWrap"] = wrap
        else:
            merged[line["sku"]] = line
    return list(merged.values())


def price_wraps(clients: Any, lines: list[dict]) -> None:
    """Check each chosen wrap is still offered and take its current price (checkGiftWrapping)."""
    for line in lines:
        wrap = line.get("giftWrap")
        if not wrap:
            continue
        try:
            check = clients.call("gift-wrapping", "checkGiftWrapping", {"productId": line["productId"]})
        except AgentCallError as exc:
            if is_down(exc):
                raise ToolFailure(
                    "gift_wrap_unavailable",
                    f"The gift wrap for {line['name']} cannot be confirmed right now (the "
                    "gift-wrapping service is not answering). Nothing was held or charged.",
                    suggestions=[
                        "Try again in a moment",
                        "Remove the gift wrap and check out without it (remove_gift_wrap)",
                    ],
                    agent="gift-wrapping",
                    operation="checkGiftWrapping",
                ) from None
            raise
        option = next((o for o in check["options"] if o["optionId"] == wrap.get("optionId")), None)
        if not check["wrappable"] or option is None:
            raise ToolFailure(
                "option_unavailable",
                f"{line['name']} can no longer have the "
                f"{wrap.get('optionName') or wrap.get('optionId')}: "
                f"{check['reason'] or check['note'] or 'not offered'}.",
                suggestions=[f"Choose the {o['optionId']} wrap ({format_inr(o['price'])})" for o in check["options"]]
                + ["Remove the gift wrap"],
                agent="gift-wrapping",
                operation="checkGiftWrapping",
            )
        line["giftWrap"] = {
            "optionId": option["optionId"],
            "optionName": option["name"],
            "price": json_amount(money(option["price"])),
            "message": wrap.get("message"),
            "recipientName": wrap.get("recipientName"),
        }


def quote(
    clients: Any, user_id: str, lines: list[dict], coupon: str | None, points: int, destination: dict
) -> dict[str, Any]:
    """The price of the lines for this shopper and destination (``destination`` gets its estimated date). Keys
    starting with ``_`` are for the workflow, not the shopper."""
    subtotal = sum((money(ln["unitPrice"]) * ln["quantity"] for ln in lines), Decimal("0"))
    notes: list[str] = []
    fields = loyalty_fields(lines)
    report = _offers(clients, user_id, subtotal, fields, notes)
    chosen = _best_discount(clients, user_id, subtotal, fields, coupon, report, notes)
    discount = min(chosen["amount"], subtotal) if chosen else Decimal("0")
    if chosen and coupon and chosen.get("code") != str(coupon).upper():
        notes.append(f"{chosen['title']} saves more than coupon {coupon}, so it is used instead.")
    points_used, points_value = _points(points, report, subtotal - discount, notes)
    fee, estimated = _delivery(clients, destination, subtotal)
    wraps = [
        {"productId": ln["productId"], "sku": ln["sku"], "name": ln["name"], **ln["giftWrap"]}
        for ln in lines
        if ln.get("giftWrap")
    ]
    wrap_total = sum((money(w["price"]) for w in wraps), Decimal("0"))
    total = subtotal - discount - points_value + fee + wrap_total
    discounts = []
    if chosen:
        discounts.append({k: (json_amount(v) if k == "amount" else v) for k, v in chosen.items() if v is not None})
    destination["estimatedDate"] = estimated
    return {
        "items": [
            {k: ln[k] for k in ("productId", "sku", "name", "size", "color", "quantity", "unitPrice")}
            | {"lineTotal": json_amount(money(ln["unitPrice"]) * ln["quantity"])}
            for ln in lines
        ],
        "subtotal": json_amount(subtotal),
        "discounts": discounts,
        "discount": json_amount(discount + points_value),
        "pointsRedeemed": points_used,
        "pointsValue": json_amount(points_value),
        "deliveryFee": json_amount(fee),
        **({"giftWraps": wraps, "giftWrapTotal": json_amount(wrap_total)} if wraps else {}),
        "total": json_amount(total),
        "currency": "INR",
        "fulfillment": clean(
            {
                "type": destination["type"],
                "storeId": destination.get("storeId"),
                "storeName": destination.get("storeName"),
                "storeAddress": destination.get("storeAddress"),
                "city": destination["city"],
                "address": one_line(destination.get("address")) or None,  # where it goes, shown when confirming
                "estimatedDate": estimated,
            }
        ),
        "notes": notes,
        "_total": total,
        "_beforePoints": subtotal - discount,
        "_discountCode": chosen["code"] if chosen and chosen["kind"] == "coupon" else None,
    }


def _offers(clients: Any, user_id: str, subtotal: Decimal, fields: dict, notes: list[str]) -> dict[str, Any] | None:
    """Loyalty's offers and points for the cart; None (with a note) for a guest or while loyalty is down."""
    try:
        return clients.call(
            "loyalty", "getApplicableOffers", {"userId": user_id, "cartAmount": json_amount(subtotal), **fields}
        )
    except AgentCallError as exc:
        if exc.status == 404:
            notes.append("Not a loyalty member: no member offers or points.")
        elif is_down(exc):
            notes.append("Offers and points could not be checked right now; the price is without them.")
        else:
            raise
    return None


def _best_discount(
    clients: Any,
    user_id: str,
    subtotal: Decimal,
    fields: dict,
    coupon: str | None,
    report: dict[str, Any] | None,
    notes: list[str],
) -> dict[str, Any] | None:
    """The one discount: the best of the shopper's coupon and the best applicable offer."""
    candidates: list[dict[str, Any]] = []
    if coupon and report is not None:
        try:
            priced = clients.call(
                "loyalty",
                "applyCoupon",
                {
                    "userId": user_id,
                    "couponCode": coupon,
                    "cartAmount": json_amount(subtotal),
                    **fields,
                    "commit": False,
                },
            )
            candidates.append(
                {
                    "kind": "coupon",
                    "code": priced["couponCode"],
                    "title": priced["description"],
                    "amount": money(priced["discountAmount"]),
                }
            )
        except AgentCallError as exc:
            if is_down(exc):
                raise
            notes.append(f"Coupon {coupon} cannot be used: {exc.message}")
    if report is not None and report.get("bestOffer"):
        best = next(
            (
                o
                for o in report["offers"]
                if o["isApplicable"] and report["bestOffer"] in (o.get("code"), o.get("offerId"))
            ),
            None,
        )
        if best is not None:
            candidates.append(
                {
                    "kind": "coupon" if best["kind"] == "coupon" else "offer",
                    "code": best.get("code"),
                    "offerId": best.get("offerId"),
                    "title": best["title"],
                    "amount": money(best["estimatedDiscount"]),
                }
            )
    return max(candidates, key=lambda c: c["amount"], default=None)


def _points(
    points: int, report: dict[str, Any] | None, after_discount: Decimal, notes: list[str]
) -> tuple[int, Decimal]:
    """Points as rupees off, leaving at least ₹1 to pay: (points used, their value)."""
    if points <= 0:
        return 0, Decimal("0")
    if report is None:
        notes.append("Points could not be used right now.")
        return 0, Decimal("0")
    value_per_point = Decimal(str(report["pointValue"]))
    usable = min(points, int(report["pointsBalance"]))
    room = after_discount - 1
    if value_per_point > 0 and usable * value_per_point > room:
        usable = int(max(room, Decimal("0")) / value_per_point)
    if usable < int(report["minimumRedeemablePoints"]):
        notes.append(
            f"Points not used: at least {report['minimumRedeemablePoints']} are needed "
            f"and {usable} can be used on this cart."
        )
        return 0, Decimal("0")
    if usable < points:
        notes.append(f"Only {usable} of the {points} points can be used on this cart.")
    return usable, money(usable * value_per_point)


def _delivery(clients: Any, destination: dict, subtotal: Decimal) -> tuple[Decimal, str | None]:
    """The delivery fee and date fulfillment quotes; while it is down, the usual fee (free over ₹999 or when
    collected) and no date."""
    try:
        if not destination.get("city"):
            raise AgentCallError("fulfillment", "getDeliveryOptions", 400, "no_city", "no city to ask about")
        options = clients.call(
            "fulfillment",
            "getDeliveryOptions",
            clean(
                {
                    "city": destination["city"],
                    "postalCode": (destination.get("address") or {}).get("postalCode"),
                    "cartValue": json_amount(subtotal),
                }
            ),
        )
        option = next((o for o in options["options"] if o["type"] == destination["type"]), None)
        if option is not None:
            # The store's name and address, so the confirmation names it (a shopper never reads its id).
            for store in option.get("stores") or []:
                if store["storeId"] == destination.get("storeId"):
                    destination.update(storeName=store["name"], storeAddress=store["address"])
            return money(option["fee"]), option["estimatedDate"]
        return Decimal("0"), None
    except AgentCallError as exc:
        if not is_down(exc) and exc.status != 400:
            raise
        return (Decimal("0") if subtotal > 999 or destination["type"] != "ship_to_home" else Decimal("99")), None


def find_variant(product: dict[str, Any], size: str, color: str) -> dict[str, Any] | None:
    """The catalogue's variant for a size and colour given in any case or spacing ("one size", "black")."""

    def norm(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", str(text).lower())

    for variant in product.get("variants", []):
        if norm(variant["size"]) == norm(size) and norm(variant["color"]) == norm(color):
            return variant
    return None


def loyalty_fields(lines: list[dict]) -> dict[str, Any]:
    """categories / items as loyalty's offers and coupons want them (the cart's and the checkout's alike)."""
    items = [
        {
            "productId": ln["productId"],
            "category": ln["category"],
            "amount": json_amount(money(ln["unitPrice"]) * ln["quantity"]),
        }
        for ln in lines
        if ln.get("category")
    ]
    if not items:
        return {}
    return {"items": items[:50], "categories": sorted({i["category"] for i in items})[:20]}


def describe(lines: list[dict]) -> str:
    parts = [f"{ln['quantity']} x {ln['name']} ({ln['color']}, {ln['size']})" for ln in lines]
    return "; ".join(parts)


def clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
