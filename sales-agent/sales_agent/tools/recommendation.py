"""The catalogue and the shopper's profile (the recommendation agent): search, recommendations, product
details, alternatives for what is sold out, and the profile with its loyalty standing.

  search_products      {"total", "products": [product]}            product = {productId, name, brand, category,
                                                                     price, colors, sizes, rating, season, tags}
  recommend_products   {"products": [product + reason, availability], "bundles": [...], "note"}
  get_product_details  product + {description, giftable, complements: [{productId, name, price}]}
  find_alternatives    {productId, name, alternatives: [product + reason, status, availableSizes, availableColors],
                        note}
  my_profile           {userId, name, city, tier, preferences, pointsBalance, pointsValue, nextTier, pointsToNextTier}
"""

from __future__ import annotations

from typing import Any

from langchain.tools import ToolRuntime

from agentkit import AgentCallError

from ..context import SalesContext
from ..errors import error_from_call
from .common import USER_ID_RE, check_product_id, clean, product_summary
from .registry import declare, service, user_id

REC_CONTEXTS = ("general", "browse", "product_view", "cart", "checkout", "gift", "occasion")
SEASONS = ("winter", "summer", "monsoon", "festive", "all-season")


@declare(("recommendation", "searchProducts"))
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
    parts = service(runtime)
    season = season.lower() if season else None
    if season and season not in SEASONS:
        season = None
    body = clean(
        query=(query or "").strip()[:200] or None,
        category=category,
        maxPrice=max_price,
        minPrice=min_price,
        size=size,
        color=color,
        season=season,
        limit=max(1, min(int(limit or 5), 20)),
    )
    result = parts.clients.call("recommendation", "searchProducts", body)
    return {"total": result["total"], "products": [product_summary(p) for p in result["products"]]}


@declare(("recommendation", "getRecommendations"))
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
    parts, uid = service(runtime), user_id(runtime)
    filters = clean(category=category, maxPrice=max_price, size=size, color=color)
    body = clean(
        userId=uid if USER_ID_RE.match(uid or "") else None,
        context=context if context in REC_CONTEXTS else "general",
        contextProductId=check_product_id(product_id) if product_id else None,
        count=max(1, min(int(count or 5), 10)),
        query=(query or "").strip()[:200] or None,
        filters=filters or None,
    )
    try:
        result = parts.clients.call("recommendation", "getRecommendations", body)
    except AgentCallError as exc:
        if exc.status != 404 or "userId" not in body:
            raise
        body.pop("userId")  # a guest the catalogue does not know: recommend as for a visitor
        result = parts.clients.call("recommendation", "getRecommendations", body)
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


@declare(("recommendation", "getProduct"))
def get_product_details(runtime: ToolRuntime[SalesContext], product_id: str):
    """Everything about one product (id like P1001): description, price, sizes, colours, what goes with it."""
    parts = service(runtime)
    p = parts.clients.call("recommendation", "getProduct", {"productId": check_product_id(product_id)})
    out = product_summary(p)
    out.update(description=p.get("description"), giftable=p.get("giftable"), complements=p.get("complements", [])[:4])
    return out


@declare(("recommendation", "getAlternatives"))
def find_alternatives(
    runtime: ToolRuntime[SalesContext], product_id: str, size: str | None = None, color: str | None = None
):
    """Similar in-stock products when a product, size or colour is sold out."""
    parts = service(runtime)
    body = clean(productId=check_product_id(product_id), size=size, color=color, count=3)
    result = parts.clients.call("recommendation", "getAlternatives", body)
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


@declare(("recommendation", "getShopperProfile"), ("loyalty", "getMember"))
def my_profile(runtime: ToolRuntime[SalesContext]):
    """The shopper's name, city, style preferences, loyalty tier and points."""
    parts, uid = service(runtime), user_id(runtime)
    out: dict[str, Any] = {"userId": uid}
    problems = []
    try:
        profile = parts.clients.shopper_profile(uid)
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
        member = parts.clients.call("loyalty", "getMember", {"userId": uid, "activityLimit": 3})
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
