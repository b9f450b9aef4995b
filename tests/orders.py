"""Real orders for tests, made the way a checkout makes them: catalog prices, a stock hold, a succeeded payment,
``createOrder`` and ``commitHold``, each through the owning agent's API (no order is written behind an agent's back).

``place_order(system, "U1003", [("P1001", "M", "Black", 1)], deliver=True)`` also moves the order to delivered
as the operator would, so returns and exchanges can be tried on it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

ADDRESS = {
    "name": "Test Shopper",
    "line1": "Flat 12, Sea Breeze Towers",
    "city": "Mumbai",
    "state": "Maharashtra",
    "postalCode": "400053",
    "country": "IN",
    "phone": "+919820011001",
}


def _post(client, path: str, body: dict[str, Any], status: int, key: str | None = None) -> dict[str, Any]:
    reply = client.post(path, json=body, headers={"Idempotency-Key": key} if key else {})
    assert reply.status_code == status, (path, reply.get_json())
    return reply.get_json()


def sku_of(product_id: str, size: str, color: str) -> str:
    return "-".join([product_id, color.upper().replace(" ", ""), size.upper().replace(" ", "")])


def place_order(system, user_id: str, lines: list[tuple[str, str, str, int]], *, deliver: bool = False) -> dict:
    """A confirmed (or delivered) ship-to-home order of ``lines`` (productId, size, colour, quantity), paid in full."""
    catalog = system.client("recommendation")
    items = []
    for product_id, size, color, quantity in lines:
        product = _post(catalog, "/get-product", {"productId": product_id}, 200)
        items.append(
            {
                "productId": product_id,
                "sku": sku_of(product_id, size, color),
                "name": product["name"],
                "size": size,
                "color": color,
                "quantity": quantity,
                "unitPrice": product["price"],
            }
        )
    subtotal = sum((Decimal(str(i["unitPrice"])) * i["quantity"] for i in items), Decimal(0))
    assert subtotal > 999, "keep test orders above the free-shipping line so the total is the subtotal"
    hold = _post(
        system.client("inventory").as_caller("sales"),
        "/create-hold",
        {"items": [{k: i[k] for k in ("productId", "size", "color", "quantity")} for i in items], "ttlSeconds": 900},
        201,
    )
    payment = _post(
        system.client("payment").as_caller("sales"),
        "/process-payment",
        {"userId": user_id, "amount": float(subtotal), "method": "upi", "upiId": "test.shopper@okaxis"},
        201,
        key=f"test-order-{hold['holdId']}",
    )
    assert payment["status"] == "succeeded", payment
    order = _post(
        system.client("fulfillment").as_caller("sales"),
        "/create-order",
        {
            "userId": user_id,
            "items": items,
            "fulfillmentType": "ship_to_home",
            "shippingAddress": ADDRESS,
            "paymentId": payment["paymentId"],
            "holdId": hold["holdId"],
            "subtotal": float(subtotal),
            "discount": 0,
            "deliveryFee": 0,
            "total": float(subtotal),
        },
        201,
    )
    _post(
        system.client("inventory").as_caller("sales"),
        "/commit-hold",
        {"holdId": hold["holdId"], "orderId": order["orderId"]},
        200,
    )
    if deliver:
        operator = system.client("fulfillment").as_caller("operator")
        for status in ("packed", "in_transit", "delivered"):
            order = _post(operator, "/update-order-status", {"orderId": order["orderId"], "status": status}, 200)
    return order
