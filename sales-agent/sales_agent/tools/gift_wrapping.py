"""Gift wrapping (the gift-wrapping agent, port 5007) as sales tools.

  check_gift_wrapping  {productId, name, category, wrappable, reason, note, options: [{optionId, name, description,
                        price}], messageCard, inCart, currentWrap}
  add_gift_wrap        {"giftWrap": {productId, name, optionId, optionName, price, message, recipientName},
                        "cart": cart, "note"}
  remove_gift_wrap     {"removed": [productId], "cart": cart}

The chosen wrap is remembered on the cart line (``line["giftWrap"]``), priced from checkGiftWrapping. Nothing is
ordered from the gift-wrapping agent here: the checkout adds the wrap price to the total and, once the order
exists, calls addGiftWrap with the order id (see sales_agent/checkout).
"""

from __future__ import annotations

import re
from typing import Any

from langchain.tools import ToolRuntime

from agentkit.money import format_inr

from ..context import SalesContext
from ..errors import ToolFailure
from ..offline.skills.base import Skill
from .common import cart_view, check_product_id
from .post_purchase import resolve_order
from .registry import SalesTools, action_key, declare, service, user_id

OPTION_IDS = ("standard", "premium", "festive")
MESSAGE_MAX, RECIPIENT_MAX = 200, 100
_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f]+")


def _text(value: str | None, limit: int, field: str) -> str | None:
    """One printable line (control characters and newlines become spaces), or None when blank."""
    if value is None:
        return None
    text = re.sub(r"\s+", " ", _CONTROL.sub(" ", str(value))).strip().strip("\"'“”‘’").strip()
    if not text:
        return None
    if len(text) > limit:
        raise ToolFailure(
            "invalid_argument",
            f"The {field} can be at most {limit} characters ({len(text)} given).",
            suggestions=[f"Shorten the {field}."],
        )
    return text


def _option_id(option: str | None) -> str:
    value = (option or "standard").strip().lower()
    value = {
        "basic": "standard",
        "normal": "standard",
        "regular": "standard",
        "kraft": "standard",
        "box": "premium",
        "gift box": "premium",
        "premium gift box": "premium",
        "deluxe": "premium",
        "festival": "festive",
        "diwali": "festive",
    }.get(value, value)
    value = value.removesuffix(" wrap").strip()
    if value not in OPTION_IDS:
        raise ToolFailure(
            "invalid_argument",
            f"option must be one of {', '.join(OPTION_IDS)}, not {option!r}.",
            suggestions=["Call check_gift_wrapping to see the options and prices."],
        )
    return value


def _product_for(parts: SalesTools, user_id: str, product_id: str | None) -> str:
    """The product named, else the newest cart line not yet wrapped (else the newest line)."""
    if product_id:
        return check_product_id(product_id)
    lines = parts.store.cart(user_id)["lines"]
    if not lines:
        raise ToolFailure(
            "no_product",
            "Which product is the gift? The cart is empty.",
            suggestions=["Give the product id (like P1001)", "Add the gift to the cart first."],
        )
    unwrapped = [line for line in lines if not line.get("giftWrap")]
    return (unwrapped or lines)[-1]["productId"]


def _options(check: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: o[k] for k in ("optionId", "name", "description", "price")} for o in check["options"]]


@declare(("gift-wrapping", "checkGiftWrapping"))
def check_gift_wrapping(runtime: ToolRuntime[SalesContext], product_id: str | None = None):
    """Whether a product can be gift-wrapped and the wrap options with their prices in rupees (a message card
    is free). product_id like P1001; leave it out for the newest item in the cart. Use when the shopper says
    it is a gift."""
    parts, uid = service(runtime), user_id(runtime)
    pid = _product_for(parts, uid, product_id)
    check = parts.clients.call("gift-wrapping", "checkGiftWrapping", {"productId": pid})
    lines = [line for line in parts.store.cart(uid)["lines"] if line["productId"] == pid]
    current = next((line["giftWrap"] for line in lines if line.get("giftWrap")), None)
    return {
        "productId": check["productId"],
        "name": check["productName"],
        "category": check["category"],
        "wrappable": check["wrappable"],
        "reason": check["reason"],
        "note": check["note"],
        "options": _options(check),
        "messageCard": "A message card is included free (up to 200 characters).",
        "inCart": bool(lines),
        "currentWrap": current,
    }


@declare(("gift-wrapping", "checkGiftWrapping"))
def add_gift_wrap(
    runtime: ToolRuntime[SalesContext],
    product_id: str | None = None,
    option: str = "standard",
    message: str | None = None,
    recipient_name: str | None = None,
):
    """Gift-wrap an item in the cart: option standard, premium or festive (see check_gift_wrapping for prices),
    an optional message card text (max 200 characters) and recipient name. Remembered on the cart line; the
    price is added at checkout. product_id: leave it out for the newest item in the cart."""
    parts, uid = service(runtime), user_id(runtime)
    pid = _product_for(parts, uid, product_id)
    option_id = _option_id(option)
    message = _text(message, MESSAGE_MAX, "message")
    recipient = _text(recipient_name, RECIPIENT_MAX, "recipient name")
    lines = [line for line in parts.store.cart(uid)["lines"] if line["productId"] == pid]
    if not lines:
        raise ToolFailure(
            "not_in_cart",
            f"{pid} is not in the cart; only items in the cart can be gift-wrapped.",
            suggestions=["Add it to the cart first (add_to_cart), then add the wrap."],
        )
    check = parts.clients.call("gift-wrapping", "checkGiftWrapping", {"productId": pid})
    chosen = _offered_option(check, option_id)
    wrap = {
        "optionId": option_id,
        "optionName": chosen["name"],
        "price": round(float(chosen["price"]), 2),
        "message": message,
        "recipientName": recipient,
    }
    cart, _ = parts.store.set_gift_wrap(uid, pid, wrap)
    return {
        "giftWrap": {"productId": pid, "name": check["productName"], **wrap},
        "cart": cart_view(cart),
        "note": "Saved on the cart line: the wrap price is added to the total at checkout and the wrap is "
        "ordered with the order.",
    }


def _offered_option(check: dict[str, Any], option_id: str) -> dict[str, Any]:
    """The option of checkGiftWrapping's answer, or a refusal saying why it cannot be had and what can."""
    if not check["wrappable"]:
        raise ToolFailure(
            "not_wrappable",
            check["reason"] or f"{check['productName']} cannot be gift-wrapped.",
            agent="gift-wrapping",
            operation="checkGiftWrapping",
        )
    offered = {o["optionId"]: o for o in check["options"]}
    if option_id not in offered:
        names = ", ".join(f"{o['name']} {format_inr(o['price'])}" for o in check["options"])
        raise ToolFailure(
            "option_unavailable",
            f"{check['productName']} cannot have the {option_id} wrap. {check['note'] or ''} Offered: {names}.".replace(
                "  ", " "
            ),
            suggestions=[f"Use the {o['optionId']} wrap ({format_inr(o['price'])})" for o in check["options"]],
            agent="gift-wrapping",
            operation="checkGiftWrapping",
        )
    return offered[option_id]


@declare()
def remove_gift_wrap(runtime: ToolRuntime[SalesContext], product_id: str | None = None):
    """Take the gift wrap off a cart item (or off every wrapped item when product_id is left out)."""
    parts, uid = service(runtime), user_id(runtime)
    lines = parts.store.cart(uid)["lines"]
    wrapped = [line["productId"] for line in lines if line.get("giftWrap")]
    if product_id:
        pid = check_product_id(product_id)
        wrapped = [p for p in wrapped if p == pid]
    if not wrapped:
        raise ToolFailure(
            "not_wrapped",
            "Nothing in the cart is gift-wrapped" + (f" for {product_id}." if product_id else "."),
            cart=cart_view(parts.store.cart(uid)),
        )
    for pid in dict.fromkeys(wrapped):
        parts.store.set_gift_wrap(uid, pid, None)
    return {"removed": list(dict.fromkeys(wrapped)), "cart": cart_view(parts.store.cart(uid))}


@declare(("fulfillment", "listOrders"), ("fulfillment", "getOrder"), ("gift-wrapping", "addGiftWrap"))
def wrap_placed_order(
    runtime: ToolRuntime[SalesContext],
    order_id: str | None = None,
    product_id: str | None = None,
    option: str = "standard",
    message: str | None = None,
    recipient_name: str | None = None,
):
    """Gift-wrap an item of a placed order not yet packed (default: the latest; product_id may be left out for a
    one-product order). Cart items: add_gift_wrap instead."""
    parts, uid = service(runtime), user_id(runtime)
    oid = resolve_order(parts, uid, order_id)
    order = parts.clients.call("fulfillment", "getOrder", {"orderId": oid, "userId": uid})
    items = order["items"]
    choices = [f"{i['name']} ({i['productId']})" for i in items]
    if product_id:
        pid = check_product_id(product_id)
    elif len({i["productId"] for i in items}) == 1:
        pid = items[0]["productId"]
    else:
        raise ToolFailure(
            "which_item", f"Order {oid} has {len(items)} items; which one is the gift?", suggestions=choices
        )
    item = next((i for i in items if i["productId"] == pid), None)
    if item is None:
        raise ToolFailure("not_in_order", f"{pid} is not in order {oid}.", suggestions=choices)
    body: dict[str, Any] = {
        "orderReference": oid,
        "userId": uid,
        "productId": pid,
        "sku": item["sku"],
        "optionId": _option_id(option),
    }
    text, recipient = _text(message, MESSAGE_MAX, "message"), _text(recipient_name, RECIPIENT_MAX, "recipient name")
    if text:
        body["message"] = text
    if recipient:
        body["recipientName"] = recipient
    wrap = parts.clients.call(
        "gift-wrapping",
        "addGiftWrap",
        body,
        idempotency_key=action_key(
            runtime, "wrap_placed_order", order_id=oid, product_id=pid, option=body["optionId"], message=text
        ),
    )
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


def plan_gift_wrap(planner: Any, s: dict, memory: Any) -> Any:
    """Check the wrapping options of a product, add a wrap (with a note) or take it off again."""
    from ..offline.model import Step  # the model imports the tools: imported when planning

    option = s.get("wrap_option")
    if s.get("wrap_remove") and planner.can("remove_gift_wrap"):
        return planner.calls(planner.call("remove_gift_wrap", product_id=s.get("product_id")))
    if not option and s.get("card_message"):
        # a note for a wrap already chosen keeps that wrap's option
        wrapped = [
            ln
            for ln in memory.cart_lines()
            if isinstance(ln.get("giftWrap"), dict)
            and (not s.get("product_id") or ln.get("productId") == s.get("product_id"))
        ]
        if wrapped:
            option = wrapped[-1]["giftWrap"].get("optionId")
    tool = "add_gift_wrap" if option and planner.can("add_gift_wrap") else "check_gift_wrapping"
    if not planner.can(tool):
        return Step(reply="Gift wrapping isn't available here yet — I can't add it to an order in offline mode.")
    in_cart = [str(ln.get("productId")) for ln in memory.cart_lines()]
    if not s.get("product_id") and not in_cart:
        return planner.resolve(s) or Step(reply="Which product should be gift-wrapped?", awaiting=["product"])
    if s.get("product_id") and s.get("product_ref") == "pronoun" and in_cart and s["product_id"] not in in_cart:
        s["product_id"] = in_cart[-1]  # "it" is the thing in the cart when wrapping
    return planner.calls(
        planner.call(
            tool,
            product_id=s.get("product_id"),
            option=option,
            message=s.get("card_message"),
            recipient_name=s.get("recipient_name"),
        )
    )


def read_gift_wrap(fixed: str, raw: str, slots: dict, memory: Any, note: str | None) -> None:
    """The gift-wrap slots of a message: the wrap option (unless only asked about), a card message, who it is
    for, taking the wrap off; "it" while wrapping is the product being wrapped."""
    from ..offline import lexicon as lx
    from ..offline.intents import has

    m = re.search(r"\b(standard|premium|festive|basic|gift box)\b", fixed)
    asking = has(
        fixed, "how much", "what(?:'s| is| are)", "which", "options", "difference", "price of", "cost"
    ) and not has(fixed, "add", "want", "use", "choose", "go with", "take", "please", "book")
    if m and not asking:
        slots["wrap_option"] = {"basic": "standard", "gift box": "premium"}.get(m.group(1), m.group(1))
    slots.pop("season", None)
    slots.pop("occasion", None)
    if note:
        slots["card_message"] = note
    who = re.search(
        r"\b(?:for|to)\s+(?:my\s+)?(sister|brother|mom|mum|mother|dad|father|wife|husband|"
        r"friend|girlfriend|boyfriend|son|daughter|boss|colleague|aunt|uncle|grandma|grandpa|"
        r"niece|nephew|cousin|partner|fiance|fiancee)\b",
        fixed,
    )
    if who:
        slots["gift_for"] = who.group(1)
    named = re.search(r"\b(?:for|to)\s+([A-Z][a-z]{1,30})\b", raw)
    if named and named.group(1).lower() not in lx.COMMON_WORDS | {"my", "the", "her", "him", "it", "me"}:
        slots["recipient_name"] = named.group(1)
    if has(
        fixed,
        "remove (?:the )?(?:gift )?wrap",
        "no gift wrap",
        "without (?:the |a )?(?:gift )?wrap",
        "don't wrap",
        "dont wrap",
        "do not wrap",
        "cancel (?:the )?(?:gift )?wrap",
        "unwrap",
        "take off the (?:gift )?wrap",
        "no wrapping",
    ):
        slots["wrap_remove"] = True
        slots.pop("wrap_option", None)
    if slots.get("product_ref") == "pronoun" or "product_id" not in slots:
        previous = memory.previous or {}
        if previous.get("intent") == "gift_wrap" and (previous.get("slots") or {}).get("product_id"):
            slots["product_id"] = previous["slots"]["product_id"]
            slots.pop("product_name", None)
        if (
            previous.get("intent") == "gift_wrap"
            and not slots.get("card_message")
            and (previous.get("slots") or {}).get("card_message")
        ):
            slots["card_message"] = previous["slots"]["card_message"]


def reply_gift_wrap(tool: str, args: dict, data: Any, memory: Any) -> str:
    from ..offline.replies import gift_reply

    return gift_reply(data, memory)


SKILLS = [
    Skill(
        name="gift_wrap",
        family="checkout",
        examples=(
            "gift wrap it",
            "can you gift wrap the jacket",
            "it's a present, please wrap it",
            "add premium wrapping",
            "what gift wrapping options are there",
            "wrap it in festive paper",
            "add a gift note saying happy birthday",
            "remove the gift wrap",
            "don't wrap it",
            "use the standard wrap",
            "put it in a gift box",
            "add a message card for my sister",
            "is this giftable",
            "can it be wrapped as a gift",
            "this is a gift for my brother",
            "it's a present for my mom",
            "it's for a gift, wrap it",
        ),
        plan=plan_gift_wrap,
        reply=reply_gift_wrap,
        read=read_gift_wrap,
        slots=("product_id",),
        tools=("check_gift_wrapping", "add_gift_wrap", "remove_gift_wrap"),
        product=True,
    )
]
