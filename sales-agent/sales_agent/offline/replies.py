"""The offline model's reply writer: shopper-facing text built only from tool results.

Every product name, price, stock level, order id and amount in a reply is read from a ToolMessage;
nothing is invented. The shapes are read tolerantly (``dig``) so a field renamed in a tool's compact
JSON degrades to a shorter sentence, never to a wrong one.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from agentkit.money import format_inr

from .intents import Memory, cart_lines, dig, is_error, product_list

OFFLINE_TAG = "(offline mode)"
IST = timezone(timedelta(hours=5, minutes=30))

SERVICE_NAMES = {
    "inventory": "stock",
    "payment": "payment",
    "recommendation": "catalogue",
    "loyalty": "loyalty",
    "fulfillment": "delivery",
    "post-purchase": "orders",
    "post_purchase": "orders",
    "sales": "cart",
    "gift-wrapping": "gift wrapping",
}
TOOL_SERVICE = {
    "search_products": "catalogue",
    "recommend_products": "catalogue",
    "get_product_details": "catalogue",
    "find_alternatives": "catalogue",
    "check_stock": "stock",
    "add_to_cart": "stock",
    "get_offers_and_points": "loyalty",
    "apply_coupon": "loyalty",
    "redeem_points": "loyalty",
    "prepare_checkout": "checkout",
    "place_order": "payment",
    "reserve_in_store": "store reservation",
    "order_status": "orders",
    "return_item": "returns",
    "exchange_item": "exchanges",
    "my_profile": "profile",
}
UNAVAILABLE_CODES = {
    "unavailable",
    "dependency_unavailable",
    "service_unavailable",
    "agent_unavailable",
    "timeout",
    "connection_error",
    "network_error",
    "upstream_unavailable",
    "bad_gateway",
}


# --- formatting ------------------------------------------------------------------------------------


def rupees(value: Any) -> str:
    """₹4,999 · ₹1,24,990 · ₹4,718.50 (Indian digit grouping); a money object or a non-number passes through."""
    if isinstance(value, dict):
        value = value.get("amount", value.get("value"))
    try:
        return format_inr(round(float(value), 2))
    except (TypeError, ValueError, ArithmeticError):
        return str(value)


def when(value: Any, with_time: bool = False) -> str:
    """'2026-11-24T20:00:00+05:30' -> '24 Nov' (or '24 Nov, 20:00')."""
    if not isinstance(value, str):
        return str(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:  # shown in India time
        moment = moment.astimezone(IST)
    text = f"{moment.day} {moment.strftime('%b')}"
    if with_time and (moment.hour or moment.minute):
        text += f", {moment.strftime('%H:%M')}"
    return text


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def variant_text(size: Any = None, color: Any = None) -> str:
    parts = [str(p) for p in (size, color) if p]
    return f" ({', '.join(parts)})" if parts else ""


def _price_of(item: dict) -> Any:
    for key in ("price", "unitPrice", "salePrice", "amount"):
        if item.get(key) is not None:
            return item[key]
    return None


def _name(item: dict, memory: Memory | None = None, fallback: str = "this item") -> str:
    if item.get("name"):
        return str(item["name"])
    pid = item.get("productId") or item.get("product_id")
    if memory and pid and memory.products.get(pid, {}).get("name"):
        return str(memory.products[pid]["name"])
    return str(pid or fallback)


_SIZE_ORDER = {s: i for i, s in enumerate(["XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL"])}


def _size_key(size: str) -> tuple:
    if size in _SIZE_ORDER:
        return (0, _SIZE_ORDER[size], "")
    if size.isdigit():
        return (1, int(size), "")
    return (2, 0, size)


def _size_range(sizes: list) -> str:
    sizes = sorted((str(s) for s in sizes), key=_size_key)
    if len(sizes) > 3:
        return f"{sizes[0]}–{sizes[-1]}"
    return ", ".join(sizes)


# --- errors ----------------------------------------------------------------------------------------


def error_text(data: dict, tool: str = "") -> str:
    err = data.get("error", {}) if isinstance(data, dict) else {}
    code = str(err.get("code") or "")
    message = str(err.get("message") or "Something went wrong.").strip()
    if not message.endswith((".", "!", "?")):
        message += "."
    agent = str(err.get("agent") or "")
    service = SERVICE_NAMES.get(agent) or TOOL_SERVICE.get(tool) or (agent or "shop")
    # suggestions meant for a model ("find_alternatives for similar products") are not shown to shoppers
    suggestions = [str(s) for s in (err.get("suggestions") or []) if s and not re.search(r"\b[a-z]+_[a-z_]+\b", str(s))]
    status = err.get("status")
    if err.get("declineCode") or code in ("card_declined", "payment_declined", "declined"):
        reason = str(err.get("declineCode") or "declined").replace("_", " ")
        text = f"Your payment was declined ({reason}). {message}"
        if data.get("holdReleased"):
            text += " The held items were released."
        text += " Your cart is safe."
    elif (
        code in UNAVAILABLE_CODES
        or status == 503
        or "unavailable" in code
        or (err.get("retryable") and status in (None, 502, 503, 504))
    ):
        text = f"The {service} service is unavailable right now; your cart is safe — try again in a minute."
        if tool == "place_order" and "charged" in message.lower():
            text += f" ({message})"
    else:
        text = message
        if tool == "place_order" and data.get("holdReleased"):
            text += " The held items were released; your cart is safe."
    if suggestions:
        text += "\nYou could: " + " · ".join(s.rstrip(".") for s in suggestions) + "."
    return text


# --- products --------------------------------------------------------------------------------------


def product_line(index: int, item: dict) -> str:
    parts = [f"{index}. **{_name(item)}**"]
    price = _price_of(item)
    if price is not None:
        parts.append(f"— {rupees(price)}")
    details = []
    colours = item.get("availableColors") or item.get("colors") or item.get("colours")
    if isinstance(colours, list) and colours:
        details.append(", ".join(str(c) for c in colours[:5]))
    sizes = item.get("availableSizes") or item.get("sizes")
    if isinstance(sizes, list) and sizes:
        details.append("sizes " + _size_range(sizes))
    availability = item.get("availability")
    if isinstance(availability, dict):
        status = availability.get("status") or availability.get("onlineStatus")
        colours = colours if colours else availability.get("availableColors")
    else:
        status = item.get("onlineStatus") or item.get("status") or availability or item.get("stockStatus")
    if status == "low_stock":
        details.append("low stock")
    elif status == "out_of_stock":
        details.append("sold out online")
    if item.get("rating"):
        details.append(f"★{item['rating']}")
    line = " ".join(parts)
    if details:
        line += " · " + " · ".join(details)
    reason = item.get("reason") or item.get("why")
    if isinstance(reason, str) and reason:
        line += f" — _{reason}_"
    return line  # no internal ids: shoppers name products by name, number or "the first one"


def describe_filters(args: dict) -> str:
    bits = []
    if args.get("color"):
        bits.append(str(args["color"]).lower())
    if args.get("season"):
        bits.append(str(args["season"]))
    query = str(args.get("query") or "").strip()
    category = str(args.get("category") or "")
    if category and query and not all(w.rstrip("s") in category for w in query.split()):
        bits.append(f"{category} matching “{query}”")
    else:
        bits.append(category or query or "products")
    text = " ".join(bits)
    if args.get("size"):
        text += f" in size {args['size']}"
    if args.get("min_price") and args.get("max_price"):
        text += f" between {rupees(args['min_price'])} and {rupees(args['max_price'])}"
    elif args.get("max_price"):
        text += f" under {rupees(args['max_price'])}"
    elif args.get("min_price"):
        text += f" over {rupees(args['min_price'])}"
    return text


def products_reply(tool: str, args: dict, data: Any, memory: Memory, intent: str = "") -> str:
    items = product_list(data)
    if tool == "find_alternatives":
        source = (
            (data.get("name") if isinstance(data, dict) else None)
            or memory.products.get(args.get("product_id") or "", {}).get("name")
            or "that one"
        )
        if not items:
            return f"I couldn't find a close alternative to the {source} in stock right now."
        head = f"Similar items to the {source} that you can buy now:"
    elif tool == "recommend_products":
        if not items:
            return "I don't have a recommendation that fits yet — tell me a category or a budget and I'll look."
        base = memory.products.get(args.get("product_id") or "", {}).get("name")
        head = f"These go well with the {base}:" if base else "Picked for you:"
    else:
        if not items:
            return (
                f"I couldn't find any {describe_filters(args)}. Try a higher budget, another colour or "
                f"a broader word (e.g. “jackets”)."
            )
        head = f"Here's what I found for {describe_filters(args)}:"
    lines = [head] + [product_line(i, item) for i, item in enumerate(items, 1)]
    first = items[0]
    sizes = [str(x) for x in first.get("availableSizes") or first.get("sizes") or []]
    colours = [str(x) for x in first.get("availableColors") or first.get("colors") or []]
    size = args.get("size") if args.get("size") in sizes or not sizes else sizes[len(sizes) // 2]
    colour = args.get("color") if args.get("color") in colours or not colours else colours[0]
    example = ", ".join(str(x) for x in (size, colour) if x) or "M, Black"
    city = memory.shopper.get("city")
    where = f"in {city}" if city else "near me"
    more = "the second one" if len(items) > 1 else "it"
    lines.append(f"\nSay “add the first one in {example}”, “is it in stock {where}?” or “tell me more about {more}”.")
    return "\n".join(lines)


def details_reply(data: Any, memory: Memory) -> str:
    item = data.get("product", data) if isinstance(data, dict) else {}
    if not isinstance(item, dict) or not item.get("name"):
        return "I couldn't read that product's details."
    lines = [
        f"**{item['name']}** — {rupees(_price_of(item))}" + (f" · ★{item['rating']}" if item.get("rating") else "")
    ]
    if item.get("brand"):
        lines[0] += f" · {item['brand']}"
    if item.get("description"):
        lines.append(str(item["description"]))
    colours = item.get("availableColors") or item.get("colors")
    sizes = item.get("availableSizes") or item.get("sizes")
    if colours:
        lines.append("Colours: " + ", ".join(map(str, colours)))
    if sizes:
        lines.append("Sizes: " + ", ".join(map(str, sizes)))
    if item.get("season"):
        lines.append(f"Season: {item['season']}")
    lines.append("Want me to check stock near you or add it to your cart?")
    return "\n".join(lines)


# --- stock -----------------------------------------------------------------------------------------


def _online_phrase(status: Any, level: Any) -> str:
    if status == "out_of_stock" or level == 0:
        return "sold out online"
    if status == "low_stock":
        return f"only {level} left online" if level is not None else "low stock online"
    return f"in stock online ({level})" if level is not None else "in stock online"


def _store_phrase(store: dict) -> str:
    level = store.get("stockLevel")
    descriptor = str(store.get("stockDescriptor") or "").replace("_", " ")
    name = store.get("name") or store.get("storeId")
    if level is not None and level <= 2:
        return f"{name} has only {level} left"
    if descriptor and descriptor not in ("in stock", "available"):
        return f"{name} has {level} ({descriptor})" if level is not None else f"{name} ({descriptor})"
    return f"{name} has {level}" if level is not None else str(name)


def stock_reply(args: dict, data: Any, memory: Memory) -> str:
    report = data if isinstance(data, dict) else {}
    pid = report.get("productId") or args.get("product_id")
    name = report.get("name") or memory.products.get(pid or "", {}).get("name") or pid
    attrs = report.get("attributes") or {}
    size = report.get("size") or attrs.get("size") or args.get("size")
    colour = report.get("color") or attrs.get("color") or args.get("color")
    variants = [v for v in report.get("variants") or [] if isinstance(v, dict)]
    status = report.get("onlineStatus")
    level = report.get("onlineStockLevel")
    if not (size and colour) and variants and len(variants) > 1:
        return _variants_summary(name, size, colour, variants, report, args)
    text = f"**{name}**{variant_text(size, colour)}: {_online_phrase(status, level)}"
    stores = [s for s in _stores(report) if s.get("stockLevel", 1)]
    city = args.get("city")
    if stores:
        local = [s for s in stores if city and str(s.get("city", "")).lower() == city.lower()]
        shown = (local or stores)[:3]
        text += " · " + " · ".join(_store_phrase(s) for s in shown)
        if city and not local:
            text += f" (no store in {city} has it)"
    elif status != "out_of_stock":
        text += " · not in any store right now"
    text += "."
    if status == "out_of_stock" or level == 0:
        if stores:
            text += " You can still reserve it in one of those stores."
    else:
        options = report.get("fulfillmentOptions") or []
        if options:
            text += " Options: " + ", ".join(o.replace("_", " ") for o in options) + "."
    return text


def _variants_summary(name, size, colour, variants, report, args) -> str:
    by_colour: dict[str, list[str]] = {}
    low: list[str] = []
    sold: list[str] = []
    for v in variants:
        label = f"{v.get('color')} {v.get('size')}"
        if v.get("onlineStatus") == "out_of_stock" or v.get("onlineStockLevel") == 0:
            sold.append(label)
            continue
        by_colour.setdefault(str(v.get("color")), []).append(str(v.get("size")))
        if v.get("onlineStatus") == "low_stock":
            low.append(f"{label} (only {v.get('onlineStockLevel')} left)")
    online = _online_phrase(report.get("onlineStatus"), report.get("onlineStockLevel"))
    head = f"**{name}**{variant_text(size, colour)}: {online}."
    lines = [head]
    if by_colour:
        lines.append("Available online: " + "; ".join(f"{c} — {', '.join(s)}" for c, s in by_colour.items()) + ".")
    if low:
        lines.append("Running low: " + ", ".join(low[:4]) + ".")
    if sold:
        lines.append("Sold out: " + ", ".join(sold[:6]) + ("…" if len(sold) > 6 else "") + ".")
    stores = _stores(report)
    if stores:
        lines.append("In stores: " + " · ".join(_store_phrase(s) for s in stores[:3]) + ".")
    lines.append("Tell me a size and colour and I'll check exactly that one.")
    return "\n".join(lines)


def _stores(report: dict) -> list[dict]:
    stores = report.get("stores") or report.get("availableStores") or []
    return [s for s in stores if isinstance(s, dict)]


def stock_is_out(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and data.get("onlineStatus") == "out_of_stock"
        and not any(s.get("stockLevel") for s in _stores(data))
    )


# --- cart ------------------------------------------------------------------------------------------


def cart_summary(cart: Any, memory: Memory, full: bool = True) -> str:
    lines_data = cart_lines(cart)
    if not lines_data:
        return "Your cart is empty."
    out = []
    count = 0
    for line in lines_data:
        qty = int(line.get("quantity") or 1)
        count += qty
        total = line.get("lineTotal") or line.get("total")
        price = _price_of(line)
        amount = total if total is not None else (price * qty if isinstance(price, (int, float)) else price)
        stock = ""
        if line.get("onlineStatus") == "low_stock" or line.get("stockStatus") == "low_stock":
            stock = " · low stock"
        elif line.get("onlineStatus") == "out_of_stock" or line.get("available") is False:
            stock = " · now sold out"
        out.append(
            f"• **{_name(line, memory)}**{variant_text(line.get('size'), line.get('color'))} × {qty}"
            + (f" — {rupees(amount)}" if amount is not None else "")
            + stock
        )
    cart = cart if isinstance(cart, dict) else {}
    inner = cart.get("cart") if isinstance(cart.get("cart"), dict) else cart
    totals = []
    subtotal = dig(inner, "subtotal", "subTotal")
    if subtotal is not None:
        totals.append(f"subtotal {rupees(subtotal)}")
    coupon = inner.get("coupon") or inner.get("couponCode")
    if isinstance(coupon, dict):
        coupon = coupon.get("code")
    if coupon:
        totals.append(f"coupon {coupon}")
    discount = dig(inner, "discount", "discountTotal", "couponDiscount")
    if isinstance(discount, (int, float)) and discount:
        totals.append(f"discount −{rupees(discount)}")
    points = inner.get("pointsToRedeem") or inner.get("redeemPoints") or inner.get("points")
    if isinstance(points, (int, float)) and points:
        totals.append(f"{int(points):,} points to redeem")
    total = dig(inner, "total", "estimatedTotal", "grandTotal")
    if total is not None and total != subtotal:
        totals.append(f"total {rupees(total)}")
    head = f"Your cart ({plural(count, 'item')}):" if full else ""
    body = "\n".join(out) if full else ""
    tail = " · ".join(totals)
    return "\n".join(p for p in (head, body, tail[:1].upper() + tail[1:] if tail else "") if p)


def cart_reply(tool: str, args: dict, data: Any, memory: Memory) -> str:
    cart = data.get("cart") if isinstance(data, dict) and isinstance(data.get("cart"), dict) else data
    if tool == "view_cart":
        return cart_summary(cart, memory)
    pid = args.get("product_id")
    name = memory.products.get(pid or "", {}).get("name") or pid or "the item"
    if tool == "add_to_cart":
        line = next(
            (
                ln
                for ln in cart_lines(cart)
                if ln.get("productId") == pid
                and (not args.get("size") or str(ln.get("size")) == str(args.get("size")))
                and (not args.get("color") or str(ln.get("color")).lower() == str(args.get("color")).lower())
            ),
            {},
        )
        added = data.get("added") if isinstance(data, dict) else None
        added = added if isinstance(added, dict) else {}
        name = line.get("name") or added.get("name") or name
        price = _price_of(added) or _price_of(line) or memory.products.get(pid or "", {}).get("price")
        qty = args.get("quantity") or 1
        text = f"Added **{name}**{variant_text(args.get('size'), args.get('color'))} × {qty} to your cart"
        text += f" — {rupees(price)} each." if price is not None else "."
        note = dig(data, "stockNote", "note", "warning")
        status = dig(data, "onlineStatus", "stockStatus")
        level = dig(data, "onlineStockLevel", "available", "stockLevel")
        if isinstance(note, str) and note:
            text += f" {note}"
        elif status == "low_stock" and isinstance(level, int):
            text += f" Only {level} left online, so don't wait too long."
        summary = cart_summary(cart, memory, full=False)
        count = sum(int(ln.get("quantity") or 1) for ln in cart_lines(cart))
        if count:
            text += f"\nCart: {plural(count, 'item')}" + (f" · {summary}" if summary else "") + "."
        return text + "\nSay “checkout” when you're ready, or keep browsing."
    if tool == "remove_from_cart":
        return f"Removed **{name}** from your cart.\n" + cart_summary(cart, memory)
    if tool == "update_cart_quantity":
        return f"Updated **{name}** to {args.get('quantity')}.\n" + cart_summary(cart, memory)
    return cart_summary(cart, memory)


# --- loyalty ---------------------------------------------------------------------------------------


def offers_reply(data: Any, memory: Memory) -> str:
    points = dig(data, "pointsBalance", "points", "balance", "availablePoints")
    tier = dig(data, "tier")
    value = dig(data, "pointsValue", "pointsWorth", "redeemableValue")
    bits = []
    if points is not None:
        text = f"You have **{int(points):,} points**"
        if value is not None:
            text += f" (worth {rupees(value)})"
        bits.append(text)
    if tier:
        bits.append(f"{str(tier).capitalize()} tier")
    lines = [" · ".join(bits) + "." if bits else "Here are your offers."]
    offers = []
    for key in ("offers", "applicableOffers", "coupons", "availableCoupons", "eligibleCoupons", "automaticOffers"):
        for item in (data.get(key) if isinstance(data, dict) else None) or []:
            if isinstance(item, dict):
                offers.append(item)
    usable = [o for o in offers if o.get("isApplicable", True)]
    others = [o for o in offers if not o.get("isApplicable", True)]
    if usable:
        lines.append("Offers you can use:")
        for offer in usable[:6]:
            label = offer.get("code") or offer.get("offerId") or offer.get("name")
            desc = offer.get("description") or offer.get("title") or offer.get("name") or ""
            saving = offer.get("discount") or offer.get("estimatedDiscount") or offer.get("savings")
            line = f"• **{label}**" + (f" — {desc}" if desc and desc != label else "")
            if isinstance(saving, (int, float)) and saving:
                line += f" (saves {rupees(saving)} on this cart)"
            if offer.get("autoApply"):
                line += " · applied automatically"
            lines.append(line)
    if others:
        lines.append(
            "Not for this cart: "
            + "; ".join(
                f"{o.get('code') or o.get('offerId')}" + (f" ({o['reason'].rstrip('.')})" if o.get("reason") else "")
                for o in others[:4]
            )
            + "."
        )
    if usable:
        lines.append("Say “apply coupon CODE” or “redeem 500 points”.")
    elif isinstance(data, dict) and any(k in data for k in ("offers", "coupons", "applicableOffers")):
        lines.append("No coupon applies to your current cart right now.")
    return "\n".join(lines)


def coupon_reply(args: dict, data: Any, memory: Memory) -> str:
    code = dig(data, "code", "couponCode") or args.get("code")
    discount = dig(data, "discount", "discountAmount", "savings")
    total = dig(data, "newTotal", "total", "finalAmount")
    text = f"Coupon **{code}** applied"
    if discount is not None:
        text += f" — you save {rupees(discount)}"
    if total is not None:
        text += f"; your new total is {rupees(total)}"
    return text + ". It is used up only when you place the order."


def points_reply(args: dict, data: Any, memory: Memory) -> str:
    points = dig(data, "pointsToRedeem", "points", "redeemPoints") or args.get("points")
    value = dig(data, "value", "discount", "pointsValue", "amount")
    text = f"Done — {int(points):,} points" if isinstance(points, (int, float)) else "Done — your points"
    if value is not None:
        text += f" ({rupees(value)} off)"
    text += " will be redeemed when you place the order."
    balance = dig(data, "pointsBalance", "balance")
    if isinstance(balance, (int, float)):
        text += f" You have {int(balance):,} points in total."
    return text


def profile_reply(data: Any, memory: Memory) -> str:
    name = dig(data, "name") or memory.shopper.get("name") or "you"
    tier = dig(data, "tier")
    points = dig(data, "pointsBalance", "points", "balance")
    city = dig(data, "city")
    head = f"**{name}**" + (f" · {str(tier).capitalize()} member" if tier else "")
    if isinstance(points, (int, float)):
        head += f" · {int(points):,} points"
    if city:
        head += f" · {city}"
    lines = [head]
    prefs = dig(data, "preferences") or {}
    if isinstance(prefs, dict):
        if prefs.get("categories"):
            lines.append("You like: " + ", ".join(map(str, prefs["categories"])))
        if isinstance(prefs.get("sizes"), dict) and prefs["sizes"]:
            lines.append("Your sizes: " + ", ".join(f"{k} {v}" for k, v in prefs["sizes"].items()))
        if prefs.get("colors"):
            lines.append("Favourite colours: " + ", ".join(map(str, prefs["colors"])))
        if prefs.get("maxBudget"):
            lines.append(f"Usual budget: up to {rupees(prefs['maxBudget'])}")
    return "\n".join(lines)


# --- checkout and orders ---------------------------------------------------------------------------


def quote_reply(data: Any, memory: Memory) -> str:
    total = dig(data, "total", "amount", "grandTotal")
    items = [i for i in (dig(data, "items", "lines") or []) if isinstance(i, dict)]
    lines = ["Here's your order:"]
    for item in items:
        lines.append(
            f"• {_name(item, memory)}{variant_text(item.get('size'), item.get('color'))} × {item.get('quantity', 1)}"
        )
    for key, label in (("discount", "discount"), ("pointsDiscount", "points"), ("shipping", "delivery")):
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, (int, float)) and value:
            lines.append(f"{label.capitalize()}: {rupees(value)}")
    for wrap in (data.get("giftWraps") if isinstance(data, dict) else None) or []:
        if isinstance(wrap, dict):
            card = f", card: “{wrap['message']}”" if wrap.get("message") else ""
            lines.append(
                f"Gift wrap ({wrap.get('optionName')}) for the {wrap.get('name')}: {rupees(wrap.get('price'))}{card}"
            )
    where = data.get("fulfillment") if isinstance(data, dict) else None
    if isinstance(where, dict) and where.get("address"):
        lines.append(f"Delivering to: {where['address']}")
    if total is not None:
        lines.append(f"Total: **{rupees(total)}**")
    lines.append("Reply “yes” to confirm and pay.")
    return "\n".join(lines)


def order_placed_reply(data: Any, memory: Memory) -> str:
    order = data.get("order") if isinstance(data, dict) and isinstance(data.get("order"), dict) else data
    oid = dig(order, "orderId")
    total = dig(data, "total", "amount", "amountPaid", "paidAmount")
    method = dig(data, "paymentMethod", "method")
    last4 = dig(data, "last4", "cardLast4")
    text = f"🎉 Order **{oid}** is placed" if oid else "Your order is placed"
    if total is not None:
        text += f" — paid {rupees(total)}"
        if last4:
            text += f" by card ending {last4}"
        elif method:
            text += f" by {str(method).upper() if str(method).lower() == 'upi' else method}"
    text += "."
    wraps = [w for w in (data.get("giftWraps") if isinstance(data, dict) else None) or [] if isinstance(w, dict)]
    if wraps:
        text += " Gift wrap: " + "; ".join(f"{w.get('optionName')} ({rupees(w.get('price'))})" for w in wraps) + "."
    earned = dig(data, "pointsEarned", "earnedPoints")
    if isinstance(earned, (int, float)) and earned:
        text += f" You earned {int(earned):,} loyalty points."
    eta = dig(data, "estimatedDelivery", "deliveryEstimate", "eta")
    store = dig(data, "storeName")
    if eta:
        text += f" Estimated delivery: {when(eta)}."
    if store:
        text += f" Collect it at {store}."
    warnings = dig(data, "warnings", "notes")
    if isinstance(warnings, list) and warnings:
        text += "\nNote: " + " ".join(str(w) for w in warnings)
    return text + "\nSay “where is my order” any time to track it."


def reservation_reply(args: dict, data: Any, memory: Memory) -> str:
    rid = dig(data, "reservationId", "orderId", "id")
    store = dig(data, "storeName")
    if not store:
        nested = dig(data, "store")
        store = nested.get("name") if isinstance(nested, dict) else dig(data, "storeId")
    until = dig(data, "expiresAt", "holdUntil", "reservedUntil", "pickupBy")
    pid = args.get("product_id")
    name = memory.products.get(pid or "", {}).get("name") or dig(data, "name") or pid
    text = f"Reserved **{name}**{variant_text(args.get('size'), args.get('color'))}"
    if store:
        text += f" at {store}"
    if until:
        text += f" until {when(until, with_time=True)}"
    text += "."
    if rid:
        text += f" Your reservation is **{rid}** — show it at the counter to try it on or pay."
    return text


def order_status_reply(data: Any, memory: Memory) -> str:
    oid = dig(data, "orderId")
    label = dig(data, "statusLabel") or str(dig(data, "status") or "").replace("_", " ")
    text = f"Order **{oid}**: {label}." if oid else f"Your order: {label}."
    items = [i for i in (data.get("items") if isinstance(data, dict) else None) or [] if isinstance(i, dict)]
    if items:
        text += "\nItems: " + "; ".join(
            f"{_name(i, memory)}{variant_text(i.get('size'), i.get('color'))} × {i.get('quantity', 1)}" for i in items
        )
    total = data.get("total") if isinstance(data, dict) else None
    if total is not None:
        text += f"\nTotal: {rupees(total)}"
    status = dig(data, "status")
    if status not in ("delivered", "cancelled") and dig(data, "estimatedDelivery"):
        text += f" · expected by {when(dig(data, 'estimatedDelivery'))}"
    if dig(data, "trackingNumber"):
        text += f"\nTracking: {dig(data, 'carrier') or 'courier'} {dig(data, 'trackingNumber')}"
        if dig(data, "trackingUrl"):
            text += f" — {dig(data, 'trackingUrl')}"
    if status == "delivered":
        if data.get("returnEligible"):
            text += f"\nYou can return or exchange items until {when(data.get('returnWindowEndsAt'))}."
        elif "returnEligible" in data:
            text += "\nThe return window for this order has closed."
    return text


def return_reply(data: Any, memory: Memory) -> str:
    rid = dig(data, "returnId")
    message = dig(data, "message")
    amount = dig(data, "refundAmount")
    text = f"Return **{rid}** is started." if rid else "Your return is started."
    if message:
        text += f" {message}"
    elif amount is not None:
        text += f" Refund: {rupees(amount)} to your original payment."
    return text


def exchange_reply(data: Any, memory: Memory) -> str:
    eid = dig(data, "exchangeId")
    message = dig(data, "message")
    text = f"Exchange **{eid}** is set up." if eid else "Your exchange is set up."
    if message:
        text += f" {message}"
    return text


# --- the one entry point for a tool result ---------------------------------------------------------


def describe(tool: str, args: dict, data: Any, memory: Memory, intent: str = "", rejected: bool = False) -> str:
    """One paragraph about one tool result."""
    if rejected:
        if tool == "place_order":
            return (
                "No problem — I haven't placed the order and nothing was charged. The held items are "
                "released; your cart is still saved."
            )
        return f"Okay, I didn't run {tool.replace('_', ' ')}."
    if is_error(data):
        return error_text(data, tool)
    if isinstance(data, str):
        text = data.strip()
        return text if text else "Done."
    if tool in ("search_products", "recommend_products", "find_alternatives"):
        return products_reply(tool, args, data, memory, intent)
    if tool == "get_product_details":
        return details_reply(data, memory)
    if tool == "check_stock":
        return stock_reply(args, data, memory)
    if tool in ("add_to_cart", "view_cart", "remove_from_cart", "update_cart_quantity"):
        return cart_reply(tool, args, data, memory)
    if tool == "get_offers_and_points":
        return offers_reply(data, memory)
    if tool == "apply_coupon":
        return coupon_reply(args, data, memory)
    if tool == "redeem_points":
        return points_reply(args, data, memory)
    if tool == "prepare_checkout":
        return quote_reply(data, memory)
    if tool == "place_order":
        return order_placed_reply(data, memory)
    if tool == "cancel_checkout":
        return "Checkout cancelled and the held stock released. Your cart is still saved."
    if tool == "reserve_in_store":
        return reservation_reply(args, data, memory)
    if tool == "order_status":
        return order_status_reply(data, memory)
    if tool == "return_item":
        return return_reply(data, memory)
    if tool == "exchange_item":
        return exchange_reply(data, memory)
    if tool == "my_profile":
        return profile_reply(data, memory)
    from .skills import all_skills  # a skill (an agent tool module's, say) may write its own tools' replies

    for skill in all_skills():
        if skill.reply is not None and tool in skill.tools:
            written = skill.reply(tool, args, data, memory)
            if written:
                return written
    message = dig(data, "message", "summary")
    return str(message) if message else "Done."


def gift_reply(data: Any, memory: Memory) -> str:
    if not isinstance(data, dict):
        return "Done."
    if isinstance(data.get("giftWrap"), dict):
        wrap = data["giftWrap"]
        name = wrap.get("name") or memory.products.get(str(wrap.get("productId")), {}).get("name") or "item"
        text = (
            f"🎁 Done — the **{name}** will be gift-wrapped in the **{wrap.get('optionName') or wrap.get('optionId')}**"
            f" ({rupees(wrap.get('price'))})"
        )
        if wrap.get("message"):
            text += f", with a free message card: “{wrap['message']}”"
        if wrap.get("recipientName"):
            text += f" (to {wrap['recipientName']})"
        return text + ". The wrap is added to your total at checkout — say “checkout” when you're ready."
    if isinstance(data.get("removed"), list):
        names = [memory.products.get(str(p), {}).get("name") or str(p) for p in data["removed"]]
        return f"Gift wrap removed from the {', '.join(names)}."
    if data.get("wrapId"):
        text = f"Gift wrap added: **{data.get('optionName') or data.get('optionId')}**"
        if data.get("price") is not None:
            text += f" ({rupees(data['price'])})"
        if data.get("orderReference"):
            text += f" for {data['orderReference']}"
        if data.get("message"):
            text += f", with the card “{data['message']}”"
        return text + "."
    name = (
        data.get("productName")
        or data.get("name")
        or memory.products.get(str(data.get("productId")), {}).get("name")
        or data.get("productId")
        or "This item"
    )
    if data.get("wrappable") is False:
        reason = data.get("reason") or "it can't be gift-wrapped"
        return f"Sorry — the **{name}** can't be gift-wrapped: {str(reason).rstrip('.')}."
    options = [o for o in data.get("options") or [] if isinstance(o, dict)]
    if not options:
        return str(data.get("note") or data.get("message") or f"The {name} can be gift-wrapped.")
    lines = [f"The **{name}** can be gift-wrapped:"]
    for option in options:
        line = f"• **{option.get('name')}** — {rupees(option.get('price'))}"
        if option.get("description"):
            line += f": {option['description']}"
        lines.append(line)
    if data.get("note"):
        lines.append(str(data["note"]))
    if data.get("currentWrap"):
        lines.append(f"It's currently set to the {data['currentWrap'].get('optionName')}.")
    if "messageCard" in data or data.get("inCart"):
        lines.append(
            "A message card is free. Which wrap would you like? Say e.g. “premium please with a note Happy birthday”."
        )
    else:
        lines.append("Say which one you'd like when you check out (e.g. “premium gift box”).")
    return "\n".join(lines)


# --- replies without tools ---------------------------------------------------------------------------

CAPABILITIES = (
    "I can search the catalogue (“winter jackets under ₹6,000”), recommend things, check stock "
    "by size, colour and city, manage your cart, apply coupons and points, check out, reserve in a "
    "store, and track, return or exchange orders."
)


def greeting(name: str | None) -> str:
    hello = f"Hi {name}!" if name else "Hi there!"
    return f"{hello} I'm the shop assistant {OFFLINE_TAG}. {CAPABILITIES} What are you shopping for today?"


def help_text() -> str:
    return (
        f"I'm the shop assistant {OFFLINE_TAG} — a rule-based helper, not an AI model. {CAPABILITIES}\n"
        "Try: “show me winter jackets under 6000”, “is the first one in stock in M in Mumbai?”, "
        "“add it in M, Black”, “apply coupon WELCOME10”, “checkout with UPI priya@okhdfc”, "
        "“where is my order?”, “I want to return it”."
    )


def not_understood() -> str:
    return (
        "Sorry, I didn't catch that — I'm in offline mode, so I understand common shopping requests. "
        "Try “show me kurtas under 2000”, “what's in my cart?”, “checkout” or “where is my order?”."
    )


def small_talk() -> str:
    return (
        "I'm the shop's assistant — a program, not a person, running in offline mode. I can find clothes, "
        "check stock, manage your cart, check out and track orders. What are you shopping for?"
    )


def decline() -> str:
    return (
        "Sorry, I can't help with that here — I can search the catalogue, recommend gifts and outfits, "
        "check stock, manage your cart and orders."
    )


def browse_menu() -> str:
    from .lexicon import CATEGORIES, CATEGORY_LABELS

    return (
        "We have "
        + ", ".join(CATEGORY_LABELS[c] for c in CATEGORIES)
        + ". Which would you like to see? You can add a budget, size, colour or season, "
        "e.g. “festive kurtas under 3000”."
    )


def clean(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()
