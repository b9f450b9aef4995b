"""What the tools of several agents share: the id rules, argument checks, and the shapes of products and carts
in tool results."""

from __future__ import annotations

from typing import Any

from agentkit.contracts import id_pattern

from ..errors import ToolFailure

# The id rules the contracts hold (common.json), not copies of them: ids have no fixed width.
USER_ID_RE, PRODUCT_ID_RE, ORDER_ID_RE = id_pattern("userId"), id_pattern("productId"), id_pattern("orderId")


def clean(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != ""}


def money(value: Any) -> float:
    return round(float(value or 0), 2)


def check_product_id(product_id: str | None, field: str = "product_id") -> str:
    value = (product_id or "").strip().upper()
    if not PRODUCT_ID_RE.match(value):
        raise ToolFailure(
            "invalid_argument",
            f"{field} must be a catalog id like P1001, not {product_id!r}. Use search_products to find the id.",
        )
    return value


def product_summary(p: dict[str, Any]) -> dict[str, Any]:
    keys = ("productId", "name", "brand", "category", "subcategory", "price", "colors", "sizes", "rating", "season")
    out = {k: p[k] for k in keys if k in p}
    if p.get("tags"):
        out["tags"] = p["tags"][:5]
    return out


def cart_view(cart: dict[str, Any]) -> dict[str, Any]:
    lines = []
    for line in cart["lines"]:
        view = {
            k: line.get(k) for k in ("productId", "sku", "name", "size", "color", "quantity", "unitPrice", "category")
        }
        view["lineTotal"] = round(float(line.get("unitPrice") or 0) * int(line["quantity"]), 2)
        if line.get("giftWrap"):
            view["giftWrap"] = dict(line["giftWrap"])
        lines.append(view)
    out = {
        "lines": lines,
        "itemCount": cart["itemCount"],
        "subtotal": cart["subtotal"],
        "couponCode": cart["couponCode"],
        "redeemPoints": cart["redeemPoints"],
    }
    wraps = round(sum(float(ln["giftWrap"].get("price") or 0) for ln in lines if ln.get("giftWrap")), 2)
    if wraps:
        out["giftWrapTotal"] = wraps  # added to the total at checkout
    return out


def cart_or_fail(store: Any, user_id: str) -> dict[str, Any]:
    cart = store.cart(user_id)
    if not cart["lines"]:
        raise ToolFailure("empty_cart", "The cart is empty.", suggestions=["Add something to the cart first."])
    return cart
