"""The shopper's cart, kept in the sales agent's own store: adding (checked against the catalogue and the stock),
viewing, removing and changing quantities.

  add_to_cart          {"added": line, "stock": {onlineStatus, onlineStockLevel}, "cart": cart}
  view_cart / remove_from_cart / update_cart_quantity   {"cart": cart}   cart = {lines: [line], itemCount, subtotal,
                        couponCode, redeemPoints}; line = {productId, sku, name, size, color, quantity, unitPrice,
                        lineTotal, category, giftWrap?}, giftWrapTotal?
"""

from __future__ import annotations

from typing import Any

from langchain.tools import ToolRuntime

from agentkit import AgentCallError

from ..checkout.pricing import find_variant
from ..context import SalesContext
from ..errors import ToolFailure, is_down
from .common import cart_view, check_product_id, money
from .registry import declare, service, user_id


@declare(("recommendation", "getProduct"), ("inventory", "checkInventory"))
def add_to_cart(runtime: ToolRuntime[SalesContext], product_id: str, size: str, color: str, quantity: int = 1):
    """Add a product in one size and colour to the cart (checks stock first)."""
    parts, uid = service(runtime), user_id(runtime)
    product_id = check_product_id(product_id)
    quantity = int(quantity or 1)
    if not 1 <= quantity <= 20:
        raise ToolFailure("invalid_argument", "quantity must be between 1 and 20.")
    if not size or not color:
        raise ToolFailure(
            "missing_variant",
            "Adding to the cart needs a size and a colour.",
            suggestions=["Ask the shopper which size and colour they want."],
        )
    product = parts.clients.call("recommendation", "getProduct", {"productId": product_id})
    variant = find_variant(product, size, color)
    if variant is None:
        raise ToolFailure(
            "no_such_variant",
            f"{product['name']} does not come in size {size} and colour {color}.",
            suggestions=[
                f"Sizes: {', '.join(product.get('sizes', []))}",
                f"Colours: {', '.join(product.get('colors', []))}",
            ],
            agent="recommendation",
            operation="getProduct",
        )
    sku, size, color = variant["sku"], variant["size"], variant["color"]
    stock = _stock_for(parts.clients, product_id, product, sku, size, color, quantity)
    line = {
        "productId": product_id,
        "sku": sku,
        "name": product["name"],
        "category": product.get("category"),
        "size": size,
        "color": color,
        "quantity": quantity,
        "unitPrice": money(product["price"]),
    }
    cart = parts.store.add_line(uid, line)
    return {"added": line, "stock": stock, "cart": cart_view(cart)}


def _stock_for(
    clients: Any, product_id: str, product: dict[str, Any], sku: str, size: str, color: str, quantity: int
) -> dict[str, Any]:
    """Enough online stock of the variant, or a refusal saying what is in stock; an inventory agent that is down
    lets the line in (checkout holds the stock, so it is checked again there)."""
    stock: dict[str, Any] = {"checked": True}
    try:
        report = clients.call(
            "inventory", "checkInventory", {"productId": product_id, "attributes": {"size": size, "color": color}}
        )
        stock.update(onlineStatus=report["onlineStatus"], onlineStockLevel=report["onlineStockLevel"])
        if report["onlineStatus"] == "out_of_stock" or report["onlineStockLevel"] < quantity:
            raise _short_of_stock(product, report, sku, size, color, quantity)
    except AgentCallError as exc:
        if not is_down(exc):
            raise
        stock = {"checked": False, "note": "Stock could not be checked right now; it is checked again at checkout."}
    return stock


def _short_of_stock(
    product: dict[str, Any], report: dict[str, Any], sku: str, size: str, color: str, quantity: int
) -> ToolFailure:
    in_stock = [
        f"{v['color']} {v['size']}"
        for v in report.get("variants", [])
        if v["onlineStockLevel"] >= quantity and v["sku"] != sku
    ][:6]
    level = report["onlineStockLevel"]
    message = (
        f"{product['name']} in {color}, size {size} is sold out online."
        if level == 0
        else f"Only {level} of {product['name']} in {color}, size {size} left online."
    )
    suggestions = []
    if in_stock:
        suggestions.append("In stock: " + ", ".join(in_stock))
    if report.get("availableStores"):
        suggestions.append("Some stores have it: check_stock with a city, or reserve_in_store")
    suggestions.append("find_alternatives for similar products")
    return ToolFailure(
        "out_of_stock" if level == 0 else "not_enough_stock",
        message,
        suggestions=suggestions,
        agent="inventory",
        operation="checkInventory",
        onlineStockLevel=level,
    )


@declare()
def view_cart(runtime: ToolRuntime[SalesContext]):
    """Show the shopper's cart: lines, subtotal, coupon and points saved on it."""
    parts, uid = service(runtime), user_id(runtime)
    return {"cart": cart_view(parts.store.cart(uid))}


@declare()
def remove_from_cart(
    runtime: ToolRuntime[SalesContext], product_id: str, size: str | None = None, color: str | None = None
):
    """Remove a product (optionally only one size/colour) from the cart."""
    parts, uid = service(runtime), user_id(runtime)
    cart, removed = parts.store.remove_lines(uid, check_product_id(product_id), size, color)
    if not removed:
        raise ToolFailure(
            "not_in_cart",
            f"{product_id} ({size or 'any size'}, {color or 'any colour'}) is not in the cart.",
            cart=cart_view(cart),
        )
    return {"removed": removed, "cart": cart_view(cart)}


@declare()
def update_cart_quantity(
    runtime: ToolRuntime[SalesContext],
    product_id: str,
    quantity: int,
    size: str | None = None,
    color: str | None = None,
):
    """Change how many of a cart line the shopper wants (0 removes it)."""
    parts, uid = service(runtime), user_id(runtime)
    quantity = int(quantity)
    if quantity > 20:
        raise ToolFailure("invalid_argument", "At most 20 of one item per order.")
    cart, touched = parts.store.set_quantity(uid, check_product_id(product_id), quantity, size, color)
    if not touched:
        raise ToolFailure("not_in_cart", f"{product_id} is not in the cart.", cart=cart_view(cart))
    return {"cart": cart_view(cart)}
