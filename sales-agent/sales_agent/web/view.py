"""A turn as the web page shows it (the ``final`` event of /chat/stream and ``lastTurn`` of /chat/state, shapes in
/work/coord/web-events.md): product cards, the cart, a pending confirmation, an order card and the agent calls.

Everything a shopper reads here is a name and money text from agentkit.money (₹1,24,990); ids stay only as data
fields the page keys on. Cards are made from what the turn's tools returned (``TurnResult.tool_results``); the
pictures from the catalog's own answers (``Pictures``), so the model never has to read picture paths.
"""

from __future__ import annotations

import threading
from typing import Any

from agentkit import AgentCallError
from agentkit.money import format_inr

from ..clients import Clients
from ..session import TurnResult

LISTINGS = {"search_products": "products", "recommend_products": "products", "find_alternatives": "alternatives"}
ORDER_TOOLS = ("place_order", "order_status")
LOW_STOCK = 5  # "only 3 left" at or under this many
AVAILABILITY_LABELS = {"in_stock": "in stock", "low_stock": "low stock", "in_stores_only": "in stores only"}


class Pictures:
    """Each product's pictures (``image`` and ``images`` by colour) as the catalog answered them. Filled from every
    catalog answer a turn receives (the observer in stream.py hands them over) and, for a product not seen yet,
    from one ``getProduct``; kept for the process (the catalog's pictures are committed files that change with a
    release, and a stale path only costs a picture)."""

    MAX = 5000

    def __init__(self, clients: Clients):
        self.clients = clients
        self._known: dict[str, tuple[str | None, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def learn(self, answer: Any) -> None:
        """Remember the pictures of every product record in a catalog answer (at any depth)."""
        if isinstance(answer, dict):
            if isinstance(answer.get("productId"), str) and ("image" in answer or "images" in answer):
                with self._lock:
                    if len(self._known) < self.MAX:
                        self._known[answer["productId"]] = (answer.get("image"), dict(answer.get("images") or {}))
            for value in answer.values():
                if isinstance(value, (dict, list)):
                    self.learn(value)
        elif isinstance(answer, list):
            for value in answer:
                self.learn(value)

    def of(self, product_id: str | None, color: str | None = None) -> str | None:
        """The picture of the product in that colour (its main picture when the colour has none)."""
        if not product_id:
            return None
        known = self._known.get(product_id)
        if known is None:
            try:
                self.learn(self.clients.call("recommendation", "getProduct", {"productId": product_id}))
            except AgentCallError as exc:
                if exc.status == 404:  # not in the catalog: not asked again
                    with self._lock:
                        self._known.setdefault(product_id, (None, {}))
                return None  # no picture is better than no answer
            known = self._known.get(product_id)
            if known is None:
                return None
        image, by_color = known
        if color:
            for name, path in by_color.items():
                if name.lower() == str(color).lower():
                    return path
        return image


def stock_badge(level: Any = None, status: str | None = None) -> dict[str, Any] | None:
    """{"level": 3, "label": "only 3 left"}; from a status alone ("low_stock") the level is null."""
    if isinstance(level, int) and not isinstance(level, bool):
        if level <= 0 or status == "out_of_stock":
            return {"level": 0, "label": "out of stock online"}
        if level <= LOW_STOCK:
            return {"level": level, "label": f"only {level} left"}
        return {"level": level, "label": "in stock"}
    if status == "out_of_stock":
        return {"level": 0, "label": "out of stock online"}
    label = AVAILABILITY_LABELS.get(status or "")
    return {"level": None, "label": label} if label else None


def turn_view(turn_id: str, result: TurnResult, calls: list[dict[str, Any]], pictures: Pictures) -> dict[str, Any]:
    results = [r for r in result.tool_results if isinstance(r.get("result"), dict) and "error" not in r["result"]]
    return {
        "turnId": turn_id,
        "reply": result.reply,
        "products": products(results, pictures),
        "cart": cart_card(result.cart, pictures),
        "pendingConfirmation": pending_card(result.pending_confirmation),
        "order": order_card(results),
        "calls": [{k: c[k] for k in ("agent", "operation", "ms", "ok")} for c in calls],
    }


def products(results: list[dict[str, Any]], pictures: Pictures) -> list[dict[str, Any]]:
    """The products the turn showed: the last list a tool returned (search, recommendations, alternatives), else
    the one product whose details were asked for; with the stock a stock check of this turn found."""
    stock: dict[str, dict[str, Any]] = {}
    for r in results:
        if r["tool"] == "check_stock" and r["result"].get("productId"):
            found = r["result"]
            stock[found["productId"]] = stock_badge(found.get("onlineStockLevel"), found.get("onlineStatus")) or {}
    shown: list[dict[str, Any]] = []
    for r in reversed(results):
        key = LISTINGS.get(r["tool"])
        if key and isinstance(r["result"].get(key), list) and r["result"][key]:
            shown = [p for p in r["result"][key] if isinstance(p, dict)]
            break
        if r["tool"] == "get_product_details" and r["result"].get("productId"):
            shown = [r["result"]]
            break
    cards, seen = [], set()
    for p in shown:
        pid = p.get("productId")
        if not pid or pid in seen:
            continue
        seen.add(pid)
        price = p.get("price")
        cards.append(
            {
                "productId": pid,
                "name": p.get("name"),
                "price": price,
                "priceText": format_inr(price) if isinstance(price, (int, float)) else None,
                "colors": list(p.get("colors") or []),
                "sizes": list(p.get("sizes") or []),
                "rating": p.get("rating"),
                "stock": stock.get(pid) or stock_badge(status=p.get("availability") or p.get("status")),
                "image": pictures.of(pid),
            }
        )
    return cards


def cart_card(cart: dict[str, Any], pictures: Pictures) -> dict[str, Any]:
    items = []
    for line in cart.get("lines") or []:
        line_total = line.get("lineTotal") or 0
        unit = line.get("unitPrice") or 0
        items.append(
            {
                "productId": line.get("productId"),
                "name": line.get("name"),
                "size": line.get("size"),
                "color": line.get("color"),
                "quantity": line.get("quantity"),
                "unitPrice": unit,
                "lineTotal": line_total,
                "priceText": format_inr(unit),  # as a product card's: the price of one
                "lineTotalText": format_inr(line_total),
                "image": pictures.of(line.get("productId"), line.get("color")),
            }
        )
    total = round(float(cart.get("subtotal") or 0) + float(cart.get("giftWrapTotal") or 0), 2)
    return {"items": items, "itemCount": cart.get("itemCount", 0), "total": total, "totalText": format_inr(total)}


def pending_card(pending: dict[str, Any] | None) -> dict[str, Any] | None:
    if not pending:
        return None
    total = pending.get("total")
    return {
        "checkoutId": pending.get("checkoutId"),
        "summary": pending.get("description"),
        "totalText": format_inr(total) if isinstance(total, (int, float)) else None,
        "paymentMethod": pending.get("paymentMethod"),
        "expiresAt": pending.get("expiresAt"),
    }


def order_card(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The order this turn placed or looked up (the last one), with its status and expected date."""
    for r in reversed(results):
        order = r["result"]
        if r["tool"] in ORDER_TOOLS and order.get("orderId"):
            total = order.get("total")
            return {
                "orderId": order["orderId"],
                "status": order.get("status"),
                "statusLabel": order.get("statusLabel"),
                "expectedDelivery": _date(order.get("estimatedDelivery")),
                "totalText": format_inr(total) if isinstance(total, (int, float)) else None,
            }
    return None


def _date(value: Any) -> str | None:
    """The day of a date or a timestamp ("2026-12-02T06:30:00Z" -> "2026-12-02")."""
    return value[:10] if isinstance(value, str) and len(value) >= 10 else None
