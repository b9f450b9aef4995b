"""The sales agent's tools: one ``@tool`` per thing a shopper needs, each a thin call through a contract client.

Every tool returns compact JSON (a string) and never raises into the model. A failure is
``{"error": {"agent", "operation", "code", "message", "suggestions"?, "declineCode"?, "retryable"?}}``.
The shopper's user id comes from the runtime context (``SalesContext``), never from tool arguments.
Each tool's artifact is ``{"calls": [{tool, agent, operation, ms, ok}, ...]}``: what the terminal shows.
A tool that changes something (return_item, exchange_item, reserve_in_store) sends the Idempotency-Key that
``_action_key`` gets from idempotency.py (one per shopper and intended action); no tool makes its own.

Tools for agents added later live in ``sales_agent/agent_tools/<name>.py``, each exposing ``TOOLS`` (LangChain
tools) and ``TOOL_OPERATIONS`` ({tool name: [(agent, operation)]}); they are discovered with pkgutil on first use
and join ``build_tools()``, ``TOOL_NAMES`` and ``TOOL_OPERATIONS`` (see ``discover_agent_tools``). Gift wrapping
lives there (agent_tools/gift_wrapping.py: check_gift_wrapping, add_gift_wrap, remove_gift_wrap).

Result shapes (field names follow the agent contracts, trimmed to what a shopper needs):
  search_products      {"total", "products": [product]}            product = {productId, name, brand, category,
                                                                     price, colors, sizes, rating, season, tags}
  recommend_products   {"products": [product + reason, availability], "bundles": [...], "note"}
  get_product_details  product + {description, giftable, complements: [{productId, name, price}], variants}
  check_stock          {productId, sku, size, color, city, onlineStatus, onlineStockLevel, stores: [{storeId, name,
                        city, stockLevel, stockDescriptor}], fulfillmentOptions, variants: [{sku, size, color,
                        onlineStatus, onlineStockLevel}]}
  find_alternatives    {productId, name, alternatives: [product + reason, status, availableSizes, availableColors],
                        note}
  add_to_cart          {"added": line, "stock": {onlineStatus, onlineStockLevel}, "cart": cart}
  view_cart / remove_from_cart / update_cart_quantity   {"cart": cart}   cart = {lines: [line], itemCount, subtotal,
                        couponCode, redeemPoints}; line = {productId, sku, name, size, color, quantity, unitPrice,
                        lineTotal, category, giftWrap?}, giftWrapTotal?
  get_offers_and_points {tier, pointsBalance, pointsValue, redeemablePoints, bestOffer, bestOfferDiscount,
                        offers: [{code|offerId, title, isApplicable, estimatedDiscount, reason}]}
  apply_coupon         {couponCode, discountAmount, finalAmount, description}
  redeem_points        {pointsToRedeem, pointsValue, pointsBalance}
  prepare_checkout     quote: {checkoutId, items, subtotal, discounts: [{kind, code|offerId, title, amount}],
                        pointsRedeemed, pointsValue, deliveryFee, giftWraps?, giftWrapTotal?, total,
                        payment: {method, cardRef, brand, last4 | upiId}, fulfillment: {type, storeId, city,
                        estimatedDate}, holdExpiresAt, status: "awaiting_confirmation"}
  place_order          {orderId, status, total, paymentId, pointsEarned, pointsBalance, estimatedDelivery, items, ...}
                        or {"error": {..., declineCode?, suggestions}, "undo": [{step, ok, detail}], "charged",
                        "refunded"}
  cancel_checkout      {checkoutId, status: "cancelled", holdReleased}
  reserve_in_store     {reservationId, productId, sku, size, color, storeId, storeName, storeAddress, city, expiresAt}
  order_status         {orderId, status, statusLabel, items, total, estimatedDelivery, deliveredAt, carrier,
                        trackingNumber, trackingUrl, returnEligible, returnWindowEndsAt}
  return_item          {returnId, orderId, status, refundAmount, returnMethod, pickupDate, message}
  exchange_item        {exchangeId, orderId, fromSku, toSku, status, holdExpiresAt, message}
  my_profile           {userId, name, city, tier, preferences, pointsBalance, pointsValue, nextTier, pointsToNextTier}
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
import re
import time
from types import ModuleType
from typing import Any, Callable, Literal

from langchain.tools import ToolRuntime, tool
from langchain_core.tools import BaseTool

from agentkit import AgentCallError
from agentkit.contracts import id_pattern

from . import idempotency
from .cards import CardVault
from .cart import SalesStore
from .clients import Clients, recording
from .context import SalesContext
from .errors import ToolFailure, error_from_call, is_down

log = logging.getLogger("agents.sales.tools")

# The id rules the contracts hold (common.json), not copies of them: ids have no fixed width.
USER_ID_RE, PRODUCT_ID_RE, ORDER_ID_RE = id_pattern("userId"), id_pattern("productId"), id_pattern("orderId")
RETURN_REASONS = ("wrong_size", "damaged", "not_as_described", "changed_mind", "late_delivery", "other")
REC_CONTEXTS = ("general", "browse", "product_view", "cart", "checkout", "gift", "occasion")
SEASONS = ("winter", "summer", "monsoon", "festive", "all-season")


# ---------------------------------------------------------------------------------------------
# results and errors
# ---------------------------------------------------------------------------------------------
def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def run_tool(name: str, fn: Callable[[], Any]) -> tuple[str, dict[str, Any]]:
    """Run a tool body: JSON content plus the calls it made; never raises."""
    started = time.perf_counter()
    with recording(name) as calls:
        try:
            result = fn()
        except AgentCallError as exc:
            result = {"error": error_from_call(exc)}
        except ToolFailure as exc:
            result = {"error": exc.payload}
        except Exception as exc:  # a tool must never raise into the model: log it, report it
            log.exception("tool %s failed", name)
            result = {
                "error": {
                    "agent": "sales",
                    "operation": name,
                    "code": "internal_error",
                    "message": f"Something went wrong on our side ({type(exc).__name__}); "
                    "it has been logged. Please try again.",
                }
            }
    if not calls:
        ok = not (isinstance(result, dict) and "error" in result)
        calls = [
            {
                "tool": name,
                "agent": "sales",
                "operation": name,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "ok": ok,
            }
        ]
    return dumps(result), {"calls": list(calls)}


def _clean(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != ""}


def _money(value: Any) -> float:
    return round(float(value or 0), 2)


def product_summary(p: dict[str, Any]) -> dict[str, Any]:
    keys = ("productId", "name", "brand", "category", "subcategory", "price", "colors", "sizes", "rating", "season")
    out = {k: p[k] for k in keys if k in p}
    if p.get("tags"):
        out["tags"] = p["tags"][:5]
    return out


def _check_product_id(product_id: str | None, field: str = "product_id") -> str:
    value = (product_id or "").strip().upper()
    if not PRODUCT_ID_RE.match(value):
        raise ToolFailure(
            "invalid_argument",
            f"{field} must be a catalog id like P1001, not {product_id!r}. Use search_products to find the id.",
        )
    return value


# ---------------------------------------------------------------------------------------------
# the service: plain methods (user id first), used by the @tool wrappers and by tests
# ---------------------------------------------------------------------------------------------
class SalesTools:
    def __init__(self, clients: Clients, store: SalesStore, workflow: Any, vault: CardVault):
        self.clients, self.store, self.workflow, self.vault = clients, store, workflow, vault

    # -- catalogue ---------------------------------------------------------------------------
    def search_products(
        self,
        user_id: str,
        query: str = "",
        category: str | None = None,
        max_price: float | None = None,
        min_price: float | None = None,
        size: str | None = None,
        color: str | None = None,
        season: str | None = None,
        limit: int = 5,
    ) -> dict:
        season = season.lower() if season else None
        if season and season not in SEASONS:
            season = None
        body = _clean(
            query=(query or "").strip()[:200] or None,
            category=category,
            maxPrice=max_price,
            minPrice=min_price,
            size=size,
            color=color,
            season=season,
            limit=max(1, min(int(limit or 5), 20)),
        )
        result = self.clients.call("recommendation", "searchProducts", body)
        return {"total": result["total"], "products": [product_summary(p) for p in result["products"]]}

    def recommend_products(
        self,
        user_id: str,
        context: str = "general",
        product_id: str | None = None,
        category: str | None = None,
        max_price: float | None = None,
        size: str | None = None,
        color: str | None = None,
        count: int = 5,
        query: str | None = None,
    ) -> dict:
        filters = _clean(category=category, maxPrice=max_price, size=size, color=color)
        body = _clean(
            userId=user_id if USER_ID_RE.match(user_id or "") else None,
            context=context if context in REC_CONTEXTS else "general",
            contextProductId=_check_product_id(product_id) if product_id else None,
            count=max(1, min(int(count or 5), 10)),
            query=(query or "").strip()[:200] or None,
            filters=filters or None,
        )
        try:
            result = self.clients.call("recommendation", "getRecommendations", body)
        except AgentCallError as exc:
            if exc.status != 404 or "userId" not in body:
                raise
            body.pop("userId")  # a guest the catalogue does not know: recommend as for a visitor
            result = self.clients.call("recommendation", "getRecommendations", body)
        products = []
        for p in result["products"]:
            item = product_summary(p)
            item.update(reason=p.get("reason"), availability=p.get("availability"))
            products.append(item)
        bundles = [
            {
                "title": b["title"],
                "productIds": b["productIds"],
                "total": b["total"],  # each item at its own price: no bundle discount is charged, so none is shown
            }
            for b in result.get("bundles", [])
        ]
        return {"products": products, "bundles": bundles, "note": result.get("note")}

    def get_product_details(self, user_id: str, product_id: str) -> dict:
        p = self.clients.call("recommendation", "getProduct", {"productId": _check_product_id(product_id)})
        out = product_summary(p)
        out.update(
            description=p.get("description"), giftable=p.get("giftable"), complements=p.get("complements", [])[:4]
        )
        return out

    def find_alternatives(
        self, user_id: str, product_id: str, size: str | None = None, color: str | None = None
    ) -> dict:
        body = _clean(productId=_check_product_id(product_id), size=size, color=color, count=3)
        result = self.clients.call("recommendation", "getAlternatives", body)
        alternatives = []
        for a in result["alternatives"]:
            item = product_summary(a)
            availability = a.get("availability") or {}
            item.update(
                reason=a.get("reason"),
                status=availability.get("status"),
                availableSizes=availability.get("availableSizes"),
                availableColors=availability.get("availableColors"),
            )
            alternatives.append(item)
        return {
            "productId": result["productId"],
            "name": result["name"],
            "size": result.get("size"),
            "color": result.get("color"),
            "alternatives": alternatives,
            "note": result.get("note"),
        }

    # -- stock --------------------------------------------------------------------------------
    def check_stock(
        self, user_id: str, product_id: str, size: str | None = None, color: str | None = None, city: str | None = None
    ) -> dict:
        body = _clean(
            productId=_check_product_id(product_id),
            attributes=_clean(size=size, color=color) or None,
            locationContext={"city": city} if city else None,
        )
        r = self.clients.call("inventory", "checkInventory", body)
        stores = r.get("availableStores", [])
        if city:
            in_city = [s for s in stores if s["city"].lower() == city.lower()]
            stores = in_city or stores
        return {
            "productId": r["productId"],
            "sku": r.get("sku"),
            "size": (r.get("attributes") or {}).get("size", size),
            "color": (r.get("attributes") or {}).get("color", color),
            "city": city,
            "onlineStatus": r["onlineStatus"],
            "onlineStockLevel": r["onlineStockLevel"],
            "stores": [
                {k: s[k] for k in ("storeId", "name", "city", "stockLevel", "stockDescriptor")} for s in stores[:5]
            ],
            "fulfillmentOptions": r.get("fulfillmentOptions", []),
            "variants": [
                {k: v[k] for k in ("sku", "size", "color", "onlineStatus", "onlineStockLevel")}
                for v in r.get("variants", [])[:30]
            ],
        }

    # -- cart ---------------------------------------------------------------------------------
    def add_to_cart(self, user_id: str, product_id: str, size: str, color: str, quantity: int = 1) -> dict:
        product_id = _check_product_id(product_id)
        quantity = int(quantity or 1)
        if not 1 <= quantity <= 20:
            raise ToolFailure("invalid_argument", "quantity must be between 1 and 20.")
        if not size or not color:
            raise ToolFailure(
                "missing_variant",
                "Adding to the cart needs a size and a colour.",
                suggestions=["Ask the shopper which size and colour they want."],
            )
        product = self.clients.call("recommendation", "getProduct", {"productId": product_id})
        canonical = _match_variant(product, size, color)
        if canonical is None:
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
        sku, size, color = canonical
        stock: dict[str, Any] = {"checked": True}
        try:
            report = self.clients.call(
                "inventory", "checkInventory", {"productId": product_id, "attributes": {"size": size, "color": color}}
            )
            stock.update(onlineStatus=report["onlineStatus"], onlineStockLevel=report["onlineStockLevel"])
            if report["onlineStatus"] == "out_of_stock" or report["onlineStockLevel"] < quantity:
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
                raise ToolFailure(
                    "out_of_stock" if level == 0 else "not_enough_stock",
                    message,
                    suggestions=suggestions,
                    agent="inventory",
                    operation="checkInventory",
                    onlineStockLevel=level,
                )
        except AgentCallError as exc:
            if not is_down(exc):
                raise
            stock = {"checked": False, "note": "Stock could not be checked right now; it is checked again at checkout."}
        line = {
            "productId": product_id,
            "sku": sku,
            "name": product["name"],
            "category": product.get("category"),
            "size": size,
            "color": color,
            "quantity": quantity,
            "unitPrice": _money(product["price"]),
        }
        cart = self.store.add_line(user_id, line)
        return {"added": line, "stock": stock, "cart": cart_view(cart)}

    def view_cart(self, user_id: str) -> dict:
        return {"cart": cart_view(self.store.cart(user_id))}

    def remove_from_cart(
        self, user_id: str, product_id: str, size: str | None = None, color: str | None = None
    ) -> dict:
        cart, removed = self.store.remove_lines(user_id, _check_product_id(product_id), size, color)
        if not removed:
            raise ToolFailure(
                "not_in_cart",
                f"{product_id} ({size or 'any size'}, {color or 'any colour'}) is not in the cart.",
                cart=cart_view(cart),
            )
        return {"removed": removed, "cart": cart_view(cart)}

    def update_cart_quantity(
        self, user_id: str, product_id: str, quantity: int, size: str | None = None, color: str | None = None
    ) -> dict:
        quantity = int(quantity)
        if quantity > 20:
            raise ToolFailure("invalid_argument", "At most 20 of one item per order.")
        cart, touched = self.store.set_quantity(user_id, _check_product_id(product_id), quantity, size, color)
        if not touched:
            raise ToolFailure("not_in_cart", f"{product_id} is not in the cart.", cart=cart_view(cart))
        return {"cart": cart_view(cart)}

    # -- offers and points --------------------------------------------------------------------
    def _cart_or_fail(self, user_id: str) -> dict:
        cart = self.store.cart(user_id)
        if not cart["lines"]:
            raise ToolFailure("empty_cart", "The cart is empty.", suggestions=["Add something to the cart first."])
        return cart

    def get_offers_and_points(self, user_id: str) -> dict:
        cart = self.store.cart(user_id)
        body = {"userId": user_id, "cartAmount": cart["subtotal"], **loyalty_cart_fields(cart["lines"])}
        r = self.clients.call("loyalty", "getApplicableOffers", body)
        offers = [
            _clean(
                code=o.get("code"),
                offerId=o.get("offerId"),
                title=o["title"],
                isApplicable=o["isApplicable"],
                estimatedDiscount=o["estimatedDiscount"],
                autoApply=o["autoApply"],
                reason=o.get("reason"),
                amountToQualify=o.get("amountToQualify"),
            )
            for o in r["offers"][:8]
        ]
        return {
            "tier": r["tier"],
            "cartAmount": r["cartAmount"],
            "pointsBalance": r["pointsBalance"],
            "pointsValue": r["pointsValue"],
            "pointValue": r["pointValue"],
            "minimumRedeemablePoints": r["minimumRedeemablePoints"],
            "redeemablePoints": r["redeemablePoints"],
            "bestOffer": r["bestOffer"],
            "bestOfferDiscount": r["bestOfferDiscount"],
            "offers": offers,
            "couponOnCart": cart["couponCode"],
            "pointsOnCart": cart["redeemPoints"],
        }

    def apply_coupon(self, user_id: str, code: str) -> dict:
        code = (code or "").strip().upper()
        if not re.fullmatch(r"[A-Z0-9_-]{2,40}", code):
            raise ToolFailure("invalid_argument", f"{code!r} is not a coupon code.")
        cart = self._cart_or_fail(user_id)
        body = {
            "userId": user_id,
            "couponCode": code,
            "cartAmount": cart["subtotal"],
            **loyalty_cart_fields(cart["lines"]),
            "commit": False,
        }
        r = self.clients.call("loyalty", "applyCoupon", body)
        self.store.set_coupon(user_id, r["couponCode"])
        return {
            "couponCode": r["couponCode"],
            "description": r["description"],
            "cartAmount": r["cartAmount"],
            "discountAmount": r["discountAmount"],
            "finalAmount": r["finalAmount"],
            "note": "Saved on the cart; it is used when the order is placed.",
        }

    def redeem_points(self, user_id: str, points: int) -> dict:
        points = int(points)
        if points < 0:
            raise ToolFailure("invalid_argument", "points must be zero or more.")
        if points == 0:
            self.store.set_redeem_points(user_id, 0)
            return {"pointsToRedeem": 0, "note": "No points will be used."}
        cart = self._cart_or_fail(user_id)
        member = self.clients.call("loyalty", "getMember", {"userId": user_id, "activityLimit": 1})
        minimum = member["minimumRedeemablePoints"]
        if points < minimum:
            raise ToolFailure(
                "below_minimum_redemption",
                f"At least {minimum} points can be redeemed at a time.",
                agent="loyalty",
                operation="getMember",
            )
        if points > member["pointsBalance"]:
            raise ToolFailure(
                "insufficient_points",
                f"You have {member['pointsBalance']} points, fewer than {points}.",
                suggestions=[f"Redeem up to {member['pointsBalance']} points."],
                agent="loyalty",
                operation="getMember",
            )
        value = round(points * float(member["pointValue"]), 2)
        if value >= cart["subtotal"]:
            raise ToolFailure(
                "exceeds_cart_amount",
                f"{points} points are worth ₹{value:,.2f}, more than the cart.",
                agent="loyalty",
                operation="getMember",
            )
        self.store.set_redeem_points(user_id, points)
        return {
            "pointsToRedeem": points,
            "pointsValue": value,
            "pointsBalance": member["pointsBalance"],
            "note": "Saved on the cart; the points are deducted when the order is placed.",
        }

    # -- checkout -----------------------------------------------------------------------------
    def prepare_checkout(
        self,
        user_id: str,
        payment_method: str = "card",
        card_ref: str | None = None,
        upi_id: str | None = None,
        fulfillment: str = "ship_to_home",
        store_id: str | None = None,
        address: str | None = None,
        address_id: str | None = None,
    ) -> dict:
        from .agent_tools.shopper_asks import address_from_book, written_address

        where = None
        if fulfillment == "ship_to_home" and address_id:
            where = address_from_book(self, user_id, address_id)
        elif fulfillment == "ship_to_home" and address:
            where = written_address(self, user_id, address, None, None)
        return self.workflow.prepare(
            user_id,
            payment_method=payment_method,
            card_ref=card_ref,
            upi_id=upi_id,
            fulfillment=fulfillment,
            store_id=store_id,
            address=where,
        )

    def place_order(self, user_id: str) -> dict:
        pending = self.store.pending_checkout(user_id)
        if pending is None:
            raise ToolFailure(
                "no_pending_checkout",
                "There is no checkout waiting to be placed.",
                suggestions=["Call prepare_checkout first."],
            )
        return self.workflow.place(user_id, pending["checkoutId"])

    def cancel_checkout(self, user_id: str) -> dict:
        return self.workflow.cancel(user_id)

    # -- stores and orders --------------------------------------------------------------------
    def reserve_in_store(
        self,
        user_id: str,
        product_id: str,
        size: str,
        color: str,
        store_id: str | None = None,
        city: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict:
        product_id = _check_product_id(product_id)
        planned = self.store.action_plan(idempotency_key, user_id) if idempotency_key and not store_id else None
        if planned:
            store_id = planned["storeId"]  # this action chose its store already: a retry asks for the same one
        if not store_id:
            if not city:
                profile = self.clients.shopper_profile(user_id)
                city = profile.get("city") if profile else None
            if not city:
                raise ToolFailure("missing_store", "Which store or city should it be reserved in?")
            report = self.clients.call(
                "inventory",
                "checkInventory",
                {
                    "productId": product_id,
                    "attributes": {"size": size, "color": color},
                    "locationContext": {"city": city},
                },
            )
            stores = [s for s in report.get("availableStores", []) if s["city"].lower() == city.lower()]
            if not stores:
                raise ToolFailure(
                    "not_in_store",
                    f"No store in {city} has {color} {size} right now.",
                    suggestions=["Order it online instead", "Try another city"],
                    agent="inventory",
                    operation="checkInventory",
                )
            store_id = max(stores, key=lambda s: s["stockLevel"])["storeId"]
            if idempotency_key:
                store_id = self.store.plan_action(idempotency_key, user_id, {"storeId": store_id})["storeId"]
        r = self.clients.call(
            "fulfillment",
            "reserveInStore",
            {
                "userId": user_id,
                "productId": product_id,
                "size": size,
                "color": color,
                "storeId": store_id.strip().upper(),
                "quantity": 1,
            },
            idempotency_key=idempotency_key,
        )
        keys = (
            "reservationId",
            "productId",
            "sku",
            "size",
            "color",
            "quantity",
            "storeId",
            "storeName",
            "storeAddress",
            "city",
            "status",
            "expiresAt",
        )
        return {k: r[k] for k in keys if k in r}

    def _resolve_order(self, user_id: str, order_id: str | None) -> str:
        if order_id:
            value = order_id.strip().upper()
            if not ORDER_ID_RE.match(value):
                raise ToolFailure("invalid_argument", f"An order id looks like ORD-100001, not {order_id!r}.")
            return value
        last = self.store.last_order(user_id)
        if last:
            return last["orderId"]
        orders = self.clients.call("fulfillment", "listOrders", {"userId": user_id, "limit": 1})
        if not orders["orders"]:
            raise ToolFailure("no_orders", "You have no orders yet.", agent="fulfillment", operation="listOrders")
        return orders["orders"][0]["orderId"]

    def order_status(self, user_id: str, order_id: str | None = None) -> dict:
        oid = self._resolve_order(user_id, order_id)
        r = self.clients.call("post-purchase", "getOrderStatus", {"orderId": oid, "userId": user_id})
        keys = (
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
        out = {k: r.get(k) for k in keys}
        out["items"] = [
            {k: i[k] for k in ("sku", "name", "size", "color", "quantity", "unitPrice", "returnableQuantity")}
            for i in r["items"]
        ]
        if r.get("returns"):
            out["returns"] = [{k: x[k] for k in ("returnId", "status", "refundAmount")} for x in r["returns"]]
        if r.get("exchanges"):
            out["exchanges"] = [{k: x[k] for k in ("exchangeId", "fromSku", "toSku", "status")} for x in r["exchanges"]]
        return out

    def return_item(
        self,
        user_id: str,
        order_id: str | None = None,
        reason: str = "other",
        sku: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict:
        oid = self._resolve_order(user_id, order_id)
        body = _clean(
            orderId=oid,
            userId=user_id,
            reason=reason if reason in RETURN_REASONS else "other",
            items=[{"sku": sku.strip().upper(), "quantity": 1}] if sku else None,
        )
        r = self.clients.call("post-purchase", "initiateReturn", body, idempotency_key=idempotency_key)
        keys = ("returnId", "orderId", "status", "refundAmount", "returnMethod", "pickupDate", "storeId", "message")
        out = {k: r.get(k) for k in keys}
        out["items"] = [{k: i[k] for k in ("sku", "name", "quantity")} for i in r["items"]]
        return out

    def exchange_item(
        self,
        user_id: str,
        order_id: str | None,
        sku: str,
        new_size: str | None = None,
        new_color: str | None = None,
        reason: str = "wrong_size",
        idempotency_key: str | None = None,
    ) -> dict:
        if not new_size and not new_color:
            raise ToolFailure("invalid_argument", "An exchange needs a new size or a new colour.")
        oid = self._resolve_order(user_id, order_id)
        body = _clean(
            orderId=oid,
            userId=user_id,
            sku=(sku or "").strip().upper(),
            newSize=new_size,
            newColor=new_color,
            reason=reason if reason in RETURN_REASONS else "other",
        )
        r = self.clients.call("post-purchase", "initiateExchange", body, idempotency_key=idempotency_key)
        keys = ("exchangeId", "orderId", "fromSku", "toSku", "status", "holdExpiresAt", "message")
        return {k: r.get(k) for k in keys}

    def my_profile(self, user_id: str) -> dict:
        out: dict[str, Any] = {"userId": user_id}
        problems = []
        try:
            profile = self.clients.shopper_profile(user_id)
            if profile:
                out.update(
                    name=profile["name"],
                    city=profile["city"],
                    tier=profile["tier"],
                    preferences=profile["preferences"],
                    recentPurchases=[p["name"] for p in profile.get("purchaseHistory", [])[:5]],
                )
            else:
                out["guest"] = True
        except AgentCallError as exc:
            problems.append(error_from_call(exc))
        try:
            member = self.clients.call("loyalty", "getMember", {"userId": user_id, "activityLimit": 3})
            out.update(
                tier=member["tier"],
                pointsBalance=member["pointsBalance"],
                pointsValue=member["pointsValue"],
                nextTier=member.get("nextTier"),
                pointsToNextTier=member.get("pointsToNextTier"),
            )
        except AgentCallError as exc:
            if exc.status != 404:
                problems.append(error_from_call(exc))
        if problems and len(out) == 1:
            return {"error": problems[0]}
        if problems:
            out["partial"] = [p["message"] for p in problems]
        return out


def _match_variant(product: dict[str, Any], size: str, color: str) -> tuple[str, str, str] | None:
    """The catalog's (sku, size, colour) for a size and colour given in any case ("one size", "black")."""

    def norm(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", str(text).lower())

    for variant in product.get("variants", []):
        if norm(variant["size"]) == norm(size) and norm(variant["color"]) == norm(color):
            return variant["sku"], variant["size"], variant["color"]
    return None


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


def loyalty_cart_fields(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """categories / productIds / items as loyalty's offers and coupons want them."""
    items = [
        {
            "productId": ln["productId"],
            "category": ln["category"],
            "amount": round(float(ln["unitPrice"]) * int(ln["quantity"]), 2),
        }
        for ln in lines
        if ln.get("category")
    ]
    out: dict[str, Any] = {}
    if items:
        out["items"] = items[:50]
        out["categories"] = sorted({i["category"] for i in items})[:20]
    return out


# ---------------------------------------------------------------------------------------------
# the @tool wrappers the model sees
# ---------------------------------------------------------------------------------------------
def _uid(runtime: ToolRuntime[SalesContext]) -> str:
    context = runtime.context
    if isinstance(context, dict):
        return context["user_id"]
    return context.user_id


def _service(runtime: ToolRuntime[SalesContext]) -> SalesTools:
    context = runtime.context
    service = context.get("service") if isinstance(context, dict) else getattr(context, "service", None)
    if service is None:
        raise ToolFailure(
            "not_configured", "The sales tools are not connected to the agents (no service in the context)."
        )
    return service


def _action_key(runtime: ToolRuntime[SalesContext], tool: str, **args: Any) -> str:
    """The Idempotency-Key of a tool call that changes something: made in idempotency.py from the shopper, the
    conversation, the model answer and the call (never the model's tool-call id alone)."""
    return idempotency.tool_call_key(runtime, _uid(runtime), tool, args)


_TOOLS: list[BaseTool] | None = None


def build_tools() -> list[BaseTool]:
    """The @tool objects, built once per process (building them costs about a second of schema work).

    Each call finds its SalesTools (clients, store, workflow, vault) in the runtime context
    (``SalesContext.service``), and the shopper's id there too.
    """
    global _TOOLS
    if _TOOLS is None:
        _TOOLS = _build_tools() + list(_extensions()[0])
    return list(_TOOLS)


def _build_tools() -> list[BaseTool]:
    @tool(response_format="content_and_artifact")
    def search_products(
        runtime: ToolRuntime[SalesContext],
        query: str = "",
        category: str | None = None,
        max_price: float | None = None,
        min_price: float | None = None,
        size: str | None = None,
        color: str | None = None,
        season: str | None = None,
        limit: int = 5,
    ):
        """Search the catalog by words and filters. category: jackets, tops, bottoms, dresses, footwear,
        accessories, activewear, ethnicwear. Prices in rupees. season: winter, summer, monsoon, festive,
        all-season. Does not check stock (use check_stock)."""
        return run_tool(
            "search_products",
            lambda: _service(runtime).search_products(
                _uid(runtime), query, category, max_price, min_price, size, color, season, limit
            ),
        )

    @tool(response_format="content_and_artifact")
    def recommend_products(
        runtime: ToolRuntime[SalesContext],
        context: str = "general",
        product_id: str | None = None,
        category: str | None = None,
        max_price: float | None = None,
        size: str | None = None,
        color: str | None = None,
        count: int = 5,
        query: str | None = None,
    ):
        """Personal recommendations for this shopper, each with a reason. context: general, browse,
        product_view (with product_id: what goes with it), cart, checkout, gift, occasion. query: the shopper's
        words ("anniversary present for my wife", "goes well with a banarasi saree"). In stock only."""
        return run_tool(
            "recommend_products",
            lambda: _service(runtime).recommend_products(
                _uid(runtime), context, product_id, category, max_price, size, color, count, query
            ),
        )

    @tool(response_format="content_and_artifact")
    def get_product_details(runtime: ToolRuntime[SalesContext], product_id: str):
        """Everything about one product (id like P1001): description, price, sizes, colours, what goes with it."""
        return run_tool("get_product_details", lambda: _service(runtime).get_product_details(_uid(runtime), product_id))

    @tool(response_format="content_and_artifact")
    def check_stock(
        runtime: ToolRuntime[SalesContext],
        product_id: str,
        size: str | None = None,
        color: str | None = None,
        city: str | None = None,
    ):
        """Stock of a product online and in stores, optionally for one size and colour and near a city."""
        return run_tool(
            "check_stock", lambda: _service(runtime).check_stock(_uid(runtime), product_id, size, color, city)
        )

    @tool(response_format="content_and_artifact")
    def find_alternatives(
        runtime: ToolRuntime[SalesContext], product_id: str, size: str | None = None, color: str | None = None
    ):
        """Similar in-stock products when a product, size or colour is sold out."""
        return run_tool(
            "find_alternatives", lambda: _service(runtime).find_alternatives(_uid(runtime), product_id, size, color)
        )

    @tool(response_format="content_and_artifact")
    def add_to_cart(runtime: ToolRuntime[SalesContext], product_id: str, size: str, color: str, quantity: int = 1):
        """Add a product in one size and colour to the cart (checks stock first)."""
        return run_tool(
            "add_to_cart", lambda: _service(runtime).add_to_cart(_uid(runtime), product_id, size, color, quantity)
        )

    @tool(response_format="content_and_artifact")
    def view_cart(runtime: ToolRuntime[SalesContext]):
        """Show the shopper's cart: lines, subtotal, coupon and points saved on it."""
        return run_tool("view_cart", lambda: _service(runtime).view_cart(_uid(runtime)))

    @tool(response_format="content_and_artifact")
    def remove_from_cart(
        runtime: ToolRuntime[SalesContext], product_id: str, size: str | None = None, color: str | None = None
    ):
        """Remove a product (optionally only one size/colour) from the cart."""
        return run_tool(
            "remove_from_cart", lambda: _service(runtime).remove_from_cart(_uid(runtime), product_id, size, color)
        )

    @tool(response_format="content_and_artifact")
    def update_cart_quantity(
        runtime: ToolRuntime[SalesContext],
        product_id: str,
        quantity: int,
        size: str | None = None,
        color: str | None = None,
    ):
        """Change how many of a cart line the shopper wants (0 removes it)."""
        return run_tool(
            "update_cart_quantity",
            lambda: _service(runtime).update_cart_quantity(_uid(runtime), product_id, quantity, size, color),
        )

    @tool(response_format="content_and_artifact")
    def get_offers_and_points(runtime: ToolRuntime[SalesContext]):
        """Offers and coupons that apply to the current cart (and why others do not), plus the points balance."""
        return run_tool("get_offers_and_points", lambda: _service(runtime).get_offers_and_points(_uid(runtime)))

    @tool(response_format="content_and_artifact")
    def apply_coupon(runtime: ToolRuntime[SalesContext], code: str):
        """Price a coupon code on the current cart and keep it for checkout."""
        return run_tool("apply_coupon", lambda: _service(runtime).apply_coupon(_uid(runtime), code))

    @tool(response_format="content_and_artifact")
    def redeem_points(runtime: ToolRuntime[SalesContext], points: int):
        """Use loyalty points at checkout (checked against the balance now, deducted when the order is placed)."""
        return run_tool("redeem_points", lambda: _service(runtime).redeem_points(_uid(runtime), points))

    @tool(response_format="content_and_artifact")
    def prepare_checkout(
        runtime: ToolRuntime[SalesContext],
        payment_method: Literal["card", "upi"] = "card",
        card_ref: str | None = None,
        upi_id: str | None = None,
        fulfillment: Literal["ship_to_home", "click_and_collect"] = "ship_to_home",
        store_id: str | None = None,
        address: str | None = None,
        address_id: str | None = None,
    ):
        """Start checkout for the cart: holds the stock and prices it with offers, coupon and points.
        card_ref is like card_ending_4242 (the card the shopper typed). To ship somewhere other than the address
        on file, pass address as the shopper wrote it with its 6-digit PIN code ("Flat 3, 14 Park Street, Kolkata
        700016") or address_id of a saved one. Returns the quote (with where it goes); then call place_order."""
        return run_tool(
            "prepare_checkout",
            lambda: _service(runtime).prepare_checkout(
                _uid(runtime), payment_method, card_ref, upi_id, fulfillment, store_id, address, address_id
            ),
        )

    @tool(response_format="content_and_artifact")
    def place_order(runtime: ToolRuntime[SalesContext]):
        """Pay for and place the prepared checkout. The shopper is always asked to confirm first."""
        return run_tool("place_order", lambda: _service(runtime).place_order(_uid(runtime)))

    @tool(response_format="content_and_artifact")
    def cancel_checkout(runtime: ToolRuntime[SalesContext]):
        """Cancel the prepared checkout and release the held stock."""
        return run_tool("cancel_checkout", lambda: _service(runtime).cancel_checkout(_uid(runtime)))

    @tool(response_format="content_and_artifact")
    def reserve_in_store(
        runtime: ToolRuntime[SalesContext],
        product_id: str,
        size: str,
        color: str,
        store_id: str | None = None,
        city: str | None = None,
    ):
        """Put a size and colour aside in a store for 24 hours to try on (store id like ST-MUM-01, or a city)."""
        return run_tool(
            "reserve_in_store",
            lambda: _service(runtime).reserve_in_store(
                _uid(runtime),
                product_id,
                size,
                color,
                store_id,
                city,
                idempotency_key=_action_key(
                    runtime,
                    "reserve_in_store",
                    product_id=product_id,
                    size=size,
                    color=color,
                    store_id=store_id,
                    city=city,
                ),
            ),
        )

    @tool(response_format="content_and_artifact")
    def order_status(runtime: ToolRuntime[SalesContext], order_id: str | None = None):
        """Where an order is (default: the shopper's latest order): status, delivery date, tracking, return window."""
        return run_tool("order_status", lambda: _service(runtime).order_status(_uid(runtime), order_id))

    @tool(response_format="content_and_artifact")
    def return_item(
        runtime: ToolRuntime[SalesContext], order_id: str | None = None, reason: str = "other", sku: str | None = None
    ):
        """Return a delivered order or one item of it (sku). reason: wrong_size, damaged, not_as_described,
        changed_mind, late_delivery, other. Refunds to the original payment."""
        return run_tool(
            "return_item",
            lambda: _service(runtime).return_item(
                _uid(runtime),
                order_id,
                reason,
                sku,
                idempotency_key=_action_key(runtime, "return_item", order_id=order_id, reason=reason, sku=sku),
            ),
        )

    @tool(response_format="content_and_artifact")
    def exchange_item(
        runtime: ToolRuntime[SalesContext],
        sku: str,
        order_id: str | None = None,
        new_size: str | None = None,
        new_color: str | None = None,
        reason: str = "wrong_size",
    ):
        """Exchange one delivered item (sku like P1001-BLACK-M) for another size and/or colour."""
        return run_tool(
            "exchange_item",
            lambda: _service(runtime).exchange_item(
                _uid(runtime),
                order_id,
                sku,
                new_size,
                new_color,
                reason,
                idempotency_key=_action_key(
                    runtime,
                    "exchange_item",
                    sku=sku,
                    order_id=order_id,
                    new_size=new_size,
                    new_color=new_color,
                    reason=reason,
                ),
            ),
        )

    @tool(response_format="content_and_artifact")
    def my_profile(runtime: ToolRuntime[SalesContext]):
        """The shopper's name, city, style preferences, loyalty tier and points."""
        return run_tool("my_profile", lambda: _service(runtime).my_profile(_uid(runtime)))

    return [
        search_products,
        recommend_products,
        get_product_details,
        check_stock,
        find_alternatives,
        add_to_cart,
        view_cart,
        remove_from_cart,
        update_cart_quantity,
        get_offers_and_points,
        apply_coupon,
        redeem_points,
        prepare_checkout,
        place_order,
        cancel_checkout,
        reserve_in_store,
        order_status,
        return_item,
        exchange_item,
        my_profile,
    ]


_BASE_TOOL_NAMES = (
    "search_products",
    "recommend_products",
    "get_product_details",
    "check_stock",
    "find_alternatives",
    "add_to_cart",
    "view_cart",
    "remove_from_cart",
    "update_cart_quantity",
    "get_offers_and_points",
    "apply_coupon",
    "redeem_points",
    "prepare_checkout",
    "place_order",
    "cancel_checkout",
    "reserve_in_store",
    "order_status",
    "return_item",
    "exchange_item",
    "my_profile",
)

# Which agent operations each tool may call (the consistency test and the terminal read it).
_BASE_TOOL_OPERATIONS: dict[str, list[tuple[str, str]]] = {
    "search_products": [("recommendation", "searchProducts")],
    "recommend_products": [("recommendation", "getRecommendations")],
    "get_product_details": [("recommendation", "getProduct")],
    "check_stock": [("inventory", "checkInventory")],
    "find_alternatives": [("recommendation", "getAlternatives")],
    "add_to_cart": [("recommendation", "getProduct"), ("inventory", "checkInventory")],
    "view_cart": [],
    "remove_from_cart": [],
    "update_cart_quantity": [],
    "get_offers_and_points": [("loyalty", "getApplicableOffers")],
    "apply_coupon": [("loyalty", "applyCoupon")],
    "redeem_points": [("loyalty", "getMember")],
    "prepare_checkout": [
        ("recommendation", "getProduct"),
        ("recommendation", "getShopperProfile"),
        ("inventory", "createHold"),
        ("inventory", "releaseHold"),
        ("loyalty", "getApplicableOffers"),
        ("loyalty", "applyCoupon"),
        ("fulfillment", "getDeliveryOptions"),
        ("fulfillment", "listAddresses"),
        ("payment", "initiateCheckout"),
        ("gift-wrapping", "checkGiftWrapping"),
    ],
    "place_order": [
        ("payment", "processPayment"),
        ("fulfillment", "createOrder"),
        ("inventory", "commitHold"),
        ("loyalty", "applyCoupon"),
        ("loyalty", "redeemLoyaltyPoints"),
        ("loyalty", "earnPoints"),
        ("payment", "refundPayment"),
        ("payment", "listPayments"),
        ("inventory", "releaseHold"),
        ("inventory", "getHold"),
        ("fulfillment", "cancelOrder"),
        ("loyalty", "reversePoints"),
        ("gift-wrapping", "addGiftWrap"),
        ("gift-wrapping", "getGiftWraps"),
        ("gift-wrapping", "cancelGiftWrap"),
    ],
    "cancel_checkout": [("inventory", "releaseHold")],
    "reserve_in_store": [
        ("fulfillment", "reserveInStore"),
        ("inventory", "checkInventory"),
        ("recommendation", "getShopperProfile"),
    ],
    "order_status": [("post-purchase", "getOrderStatus"), ("fulfillment", "listOrders")],
    "return_item": [("post-purchase", "initiateReturn"), ("fulfillment", "listOrders")],
    "exchange_item": [("post-purchase", "initiateExchange"), ("fulfillment", "listOrders")],
    "my_profile": [("recommendation", "getShopperProfile"), ("loyalty", "getMember")],
}


# ---------------------------------------------------------------------------------------------
# extension hook: tools for agents added later
# ---------------------------------------------------------------------------------------------
AGENT_TOOLS_PACKAGE = "sales_agent.agent_tools"


def discover_agent_tools() -> list[ModuleType]:
    """The modules in ``sales_agent/agent_tools/`` (a package), imported in name order.

    Each module ``sales_agent/agent_tools/<name>.py`` exposes ``TOOLS: list`` (LangChain tools, e.g. built with
    ``@tool(response_format="content_and_artifact")`` around ``run_tool``, finding its ``SalesTools`` through
    ``_service(runtime)`` and the shopper through ``_uid(runtime)``) and ``TOOL_OPERATIONS: dict[tool name,
    list[(agent, operation)]]``. Modules whose name starts with ``_`` are skipped. A module that does not import
    or breaks these rules stops the import of tools.py with the reason: a tool silently missing is worse.
    """
    package = importlib.import_module(AGENT_TOOLS_PACKAGE)
    found = sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name)
    return [
        importlib.import_module(f"{AGENT_TOOLS_PACKAGE}.{info.name}") for info in found if not info.name.startswith("_")
    ]


def collect_agent_tools(
    modules: list[ModuleType] | None = None, taken: tuple[str, ...] = ()
) -> tuple[list[BaseTool], dict[str, list[tuple[str, str]]]]:
    """(tools, operations) of the extension modules, checked: every tool has operations, no name twice."""
    tools: list[BaseTool] = []
    operations: dict[str, list[tuple[str, str]]] = {}
    seen = set(taken)
    for module in discover_agent_tools() if modules is None else modules:
        module_tools = list(getattr(module, "TOOLS", None) or [])
        module_ops = dict(getattr(module, "TOOL_OPERATIONS", None) or {})
        names = [t.name for t in module_tools]
        if sorted(names) != sorted(module_ops):
            raise ValueError(
                f"{module.__name__}: TOOLS {sorted(names)} and TOOL_OPERATIONS {sorted(module_ops)} "
                "must name the same tools"
            )
        for name in names:
            if name in seen:
                raise ValueError(f"{module.__name__}: a tool named {name!r} already exists")
            seen.add(name)
        tools.extend(module_tools)
        operations.update({name: [tuple(op) for op in ops] for name, ops in module_ops.items()})
    return tools, operations


_EXTENSIONS: tuple[list[BaseTool], dict[str, list[tuple[str, str]]]] | None = None


def _extensions() -> tuple[list[BaseTool], dict[str, list[tuple[str, str]]]]:
    """The extension modules' (tools, operations), discovered once, on first use (not at import, so a module
    in agent_tools can import from this one in either order)."""
    global _EXTENSIONS
    if _EXTENSIONS is None:
        _EXTENSIONS = collect_agent_tools(taken=_BASE_TOOL_NAMES)
    return _EXTENSIONS


def __getattr__(name: str) -> Any:
    # TOOL_NAMES / TOOL_OPERATIONS: the built-in tools plus every tool found in sales_agent/agent_tools/.
    if name == "TOOL_NAMES":
        return _BASE_TOOL_NAMES + tuple(t.name for t in _extensions()[0])
    if name == "TOOL_OPERATIONS":
        return {**_BASE_TOOL_OPERATIONS, **_extensions()[1]}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
