"""Recommendation business rules, with the real inventory agent wired in process through ``responses``.

Time is frozen at 2026-11-21 (the seed's "today", winter) so seasonal ranking does not depend on the
date the suite runs.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import requests
import responses

from agentkit import AgentClient
from support import route_to_app

INVENTORY_URL = "http://inventory.agent.test"
NOW = datetime(2026, 11, 21, 4, 30, tzinfo=timezone.utc)
pytestmark = pytest.mark.usefixtures("frozen_clock")


def inventory_client() -> AgentClient:
    return AgentClient("inventory", base_url=INVENTORY_URL, retries=0)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def inventory(make_app, rsps):
    """The real inventory agent, answering at INVENTORY_URL."""
    app = make_app("inventory")
    route_to_app(rsps, INVENTORY_URL, app)
    return app.test_client()


@pytest.fixture
def rec(make_app, inventory):
    """The recommendation agent wired to the real inventory agent."""
    return make_app("recommendation", clients={"inventory": inventory_client()}).test_client()


def call(client, path, body):
    reply = client.post(path, json=body)
    return reply.status_code, reply.get_json()


def catalog(client) -> dict[str, dict]:
    status, body = call(client, "/search-products", {"limit": 50, "sort": "price_asc"})
    assert status == 200 and body["total"] == 66, body
    everything = {p["productId"]: p for p in body["products"]}
    status, body = call(client, "/search-products", {"limit": 50, "sort": "price_desc"})
    everything.update({p["productId"]: p for p in body["products"]})
    assert len(everything) == 66
    return everything


# --- filters -----------------------------------------------------------------------------------

FILTERS = [
    {"size": "M"},
    {"size": "m", "category": "jackets"},
    {"size": "32", "category": "bottoms"},
    {"size": "9"},
    {"size": "One Size", "maxPrice": 1500},
    {"color": "Olive"},
    {"color": "maroon", "season": "winter"},
    {"maxPrice": 2000},
    {"minPrice": 3000, "maxPrice": 6000, "category": "Jackets"},
    {"maxPrice": 6000, "season": "winter", "category": "jacket", "size": "M", "color": "Black"},
    {"gender": "men", "tags": ["winter"]},
]


def assert_honours(product: dict, filters: dict) -> None:
    if "size" in filters:
        wanted = filters["size"].upper().replace(" ", "")
        assert wanted in [s.upper().replace(" ", "") for s in product["sizes"]], (product["productId"], filters)
    if "color" in filters:
        assert filters["color"].lower() in [c.lower() for c in product["colors"]], (product["productId"], filters)
    if "maxPrice" in filters:
        assert product["price"] <= filters["maxPrice"], (product["productId"], filters)
    if "minPrice" in filters:
        assert product["price"] >= filters["minPrice"], (product["productId"], filters)
    if "category" in filters:
        assert product["category"].rstrip("s") == filters["category"].lower().rstrip("s")
    if "season" in filters:
        assert product["season"] == filters["season"] or filters["season"] in product["tags"]
    if "gender" in filters:
        assert product["gender"] in (filters["gender"], "unisex")
    for tag in filters.get("tags", []):
        assert tag in product["tags"]


@pytest.mark.parametrize("filters", FILTERS, ids=[json.dumps(f) for f in FILTERS])
def test_every_recommended_and_searched_product_honours_the_filters(rec, filters):
    status, body = call(rec, "/get-recommendations", {"context": "browse", "count": 20, "filters": filters})
    assert status == 200, body
    assert body["products"], "the filter should match something in the seed"
    assert body["availabilityChecked"] is True
    for product in body["products"]:
        assert_honours(product, filters)
        assert product["availability"] in ("in_stock", "low_stock", "in_stores_only")
    if "maxPrice" in filters:
        assert all(item["price"] <= filters["maxPrice"] for b in body["bundles"] for item in b["items"])

    status, found = call(rec, "/search-products", {**filters, "limit": 50})
    assert status == 200, found
    assert found["total"] == len(found["products"]) > 0
    for product in found["products"]:
        assert_honours(product, filters)


def test_a_personal_list_honours_the_filters_too(rec):
    filters = {"size": "L", "color": "Navy", "maxPrice": 5000}
    status, body = call(
        rec, "/get-recommendations", {"userId": "U1008", "context": "general", "count": 20, "filters": filters}
    )
    assert status == 200, body
    assert body["products"]
    for product in body["products"]:
        assert_honours(product, filters)


def test_size_and_colour_filters_use_real_stock_not_just_the_catalog(rec):
    """P1006 is made in Mustard but every Mustard P1006 is sold out; P1012 Mustard is in stock."""
    status, body = call(
        rec,
        "/get-recommendations",
        {"context": "browse", "count": 20, "filters": {"category": "jackets", "color": "Mustard"}},
    )
    assert status == 200, body
    ids = [p["productId"] for p in body["products"]]
    assert "P1012" in ids
    assert "P1006" not in ids
    status, found = call(rec, "/search-products", {"category": "jackets", "color": "Mustard"})
    assert {p["productId"] for p in found["products"]} == {"P1006", "P1012"}  # search is the catalog


def variant_stock(inventory, product_id: str, size: str, color: str) -> int:
    status, report = call(
        inventory, "/check-inventory", {"productId": product_id, "attributes": {"size": size, "color": color}}
    )
    assert status == 200, report
    return sum(v["onlineStockLevel"] + v["storeStockLevel"] for v in report["variants"])


def test_size_and_colour_filters_need_that_exact_pair_in_stock(rec, inventory):
    """Issue 8, repro 10: P1031 XS Gold is sold out everywhere, though XS is in stock (in Black) and Gold is in
    stock (in other sizes). Checked separately, P1031 was recommended as in stock for XS Gold."""
    assert variant_stock(inventory, "P1031", "XS", "Gold") == 0
    assert variant_stock(inventory, "P1031", "XS", "Black") > 0 and variant_stock(inventory, "P1031", "S", "Gold") > 0
    wanted = {"context": "browse", "count": 20, "filters": {"size": "XS", "color": "Gold"}}
    status, body = call(rec, "/get-recommendations", wanted)
    assert status == 200 and body["availabilityChecked"] is True, body
    assert "P1031" not in [p["productId"] for p in body["products"]]
    for product in body["products"]:  # whatever is listed has the pair itself in stock, read back from inventory
        assert variant_stock(inventory, product["productId"], "XS", "Gold") > 0, product["productId"]
    # Each filter alone still finds it: the size in Black, the colour in S.
    for filters in ({"size": "XS", "color": "Black"}, {"size": "S", "color": "Gold"}):
        status, body = call(rec, "/get-recommendations", {"context": "browse", "count": 20, "filters": filters})
        assert "P1031" in [p["productId"] for p in body["products"]], filters
    # The inventory agent reports the pairs themselves, not only the union of sizes and colours.
    _, availability = call(inventory, "/get-availability", {"productIds": ["P1031"]})
    pairs = {(v["size"], v["color"]) for v in availability["products"][0]["availableVariants"]}
    assert ("XS", "Black") in pairs and ("S", "Gold") in pairs and ("XS", "Gold") not in pairs
    assert "XS" in availability["products"][0]["availableSizes"]
    assert "Gold" in availability["products"][0]["availableColors"]


def test_an_alternatives_colour_is_reported_for_the_shoppers_size(rec, inventory):
    """Alternatives to a dress in XS Gold: P1031 is one (same category) and has XS, but not in Gold."""
    status, body = call(rec, "/get-alternatives", {"productId": "P1031", "size": "XS", "color": "Gold", "count": 10})
    assert status == 200, body
    for alt in body["alternatives"]:
        pairs = {(v["size"], v["color"]) for v in alt["availability"]["availableVariants"]}
        has_pair = variant_stock(inventory, alt["productId"], "XS", "Gold") > 0 if "Gold" in alt["colors"] else False
        assert ("XS", "Gold") in pairs if has_pair else ("XS", "Gold") not in pairs
        assert ("also in Gold" in alt["reason"]) == has_pair, alt["reason"]


def test_count_and_price_bounds(rec):
    status, body = call(rec, "/get-recommendations", {"context": "general", "count": 3})
    assert status == 200 and len(body["products"]) == 3
    status, body = call(rec, "/get-recommendations", {"context": "general", "filters": {"maxPrice": 1, "size": "M"}})
    assert status == 200 and body["products"] == [] and body["bundles"] == []
    assert "No products match" in body["note"]
    status, body = call(
        rec, "/get-recommendations", {"context": "general", "filters": {"minPrice": 5000, "maxPrice": 100}}
    )
    assert status == 400 and body["error"]["details"][0]["field"] == "filters.minPrice"


def test_unknown_ids_and_categories(rec):
    status, body = call(rec, "/get-recommendations", {"userId": "U9999", "context": "general"})
    assert status == 404 and body["error"]["details"][0]["field"] == "userId"
    status, body = call(rec, "/get-recommendations", {"context": "product_view", "contextProductId": "P9999"})
    assert status == 404 and body["error"]["details"][0]["field"] == "contextProductId"
    status, body = call(rec, "/get-recommendations", {"context": "browse", "filters": {"category": "furniture"}})
    assert status == 422 and body["error"]["code"] == "unknown_category"
    assert body["error"]["details"][0]["field"] == "filters.category" and "jackets" in body["error"]["message"]
    for path, field, value in (
        ("/get-product", "productId", "P9999"),
        ("/get-alternatives", "productId", "P9999"),
        ("/get-shopper-profile", "userId", "U9999"),
    ):
        status, body = call(rec, path, {field: value})
        assert status == 404 and body["error"]["details"][0]["field"] == field, (path, body)


# --- bundles -----------------------------------------------------------------------------------

BUNDLE_REQUESTS = [
    {"context": "product_view", "contextProductId": "P1001"},
    {"context": "cart", "contextProductId": "P1022", "userId": "U1004"},
    {"context": "checkout", "contextProductId": "P1063", "userId": "U1007"},
    {"context": "general", "userId": "U1002", "count": 10},
    {"context": "gift", "userId": "U1005"},
    {"context": "browse", "filters": {"category": "jackets", "maxPrice": 6000, "season": "winter"}},
]


@pytest.mark.parametrize("request_body", BUNDLE_REQUESTS, ids=[json.dumps(r) for r in BUNDLE_REQUESTS])
def test_bundle_arithmetic_is_right(rec, request_body):
    prices = {pid: p["price"] for pid, p in catalog(rec).items()}
    status, body = call(rec, "/get-recommendations", request_body)
    assert status == 200, body
    assert body["bundles"], "every one of these requests has complements to bundle"
    bought = set()
    if "userId" in request_body:
        _, profile = call(rec, "/get-shopper-profile", {"userId": request_body["userId"]})
        bought = {p["productId"] for p in profile["purchaseHistory"]}
    for bundle in body["bundles"]:
        ids = [item["productId"] for item in bundle["items"]]
        assert bundle["productIds"] == ids and len(set(ids)) == len(ids) >= 2
        assert bundle["bundleId"] == "BND-" + "-".join(ids)
        assert all(item["price"] == prices[item["productId"]] for item in bundle["items"])
        total = sum(Decimal(str(item["price"])) for item in bundle["items"])
        assert Decimal(str(bundle["total"])) == total
        # Issue 8, repro 11: a bundle price nothing charges is not shown; the total is what the checkout charges.
        assert not {"bundlePrice", "savings", "discountPercent"} & set(bundle)
        assert not (set(ids) & bought), "never bundle what the shopper already bought"
    if request_body["context"] in ("cart", "checkout"):
        anchor = request_body["contextProductId"]
        assert all(anchor not in b["productIds"][1:] for b in body["bundles"])
        assert anchor not in [p["productId"] for p in body["products"]]


def test_the_context_product_anchors_the_first_bundle_with_its_complements(rec):
    status, product = call(rec, "/get-product", {"productId": "P1001"})
    status, body = call(rec, "/get-recommendations", {"context": "product_view", "contextProductId": "P1001"})
    first = body["bundles"][0]
    assert first["productIds"][0] == "P1001"
    assert set(first["productIds"][1:]) <= {c["productId"] for c in product["complements"]}
    assert first["title"].startswith("Complete the look: Alpine Puffer Jacket")


# --- reasons and the shopper profile -----------------------------------------------------------


def test_reasons_come_from_the_shopper_profile(rec):
    _, profile = call(rec, "/get-shopper-profile", {"userId": "U1002"})
    colours = [c.lower() for c in profile["preferences"]["colors"]]
    bought = {p["productId"] for p in profile["purchaseHistory"]}
    status, body = call(rec, "/get-recommendations", {"userId": "U1002", "context": "general", "count": 10})
    assert status == 200, body
    assert body["userId"] == "U1002" and len(body["products"]) == 10
    colour_reasons = [p for p in body["products"] if "Matches your preference for" in p["reason"]]
    assert colour_reasons
    for product in colour_reasons:
        colour = product["reason"].split("Matches your preference for ")[1].split(";")[0]
        assert colour in colours and colour in [c.lower() for c in product["colors"]]
    assert not bought & {p["productId"] for p in body["products"]}, "never recommend what they already bought"
    assert all(p["gender"] in ("men", "unisex") for p in body["products"]), "U1002 only ever bought men's wear"
    scores = [p["score"] for p in body["products"]]
    assert scores == sorted(scores, reverse=True)


def test_a_colour_preference_names_the_colour(rec):
    status, body = call(
        rec,
        "/get-recommendations",
        {"userId": "U1002", "context": "browse", "filters": {"color": "Olive", "category": "jackets"}},
    )
    assert status == 200 and body["products"], body
    assert all("Olive" in p["colors"] for p in body["products"])
    assert any("Matches your preference for olive" in p["reason"] for p in body["products"])


def test_preferred_categories_and_budget_lead_the_list(rec):
    _, profile = call(rec, "/get-shopper-profile", {"userId": "U1001"})
    status, body = call(rec, "/get-recommendations", {"userId": "U1001", "context": "general", "count": 5})
    assert status == 200, body
    top = body["products"]
    assert sum(p["category"] in profile["preferences"]["categories"] for p in top) >= 3
    assert all(p["price"] <= profile["preferences"]["maxBudget"] for p in top)
    assert all(p["gender"] in ("women", "unisex") for p in top)


def test_complements_of_the_viewed_product_come_first_with_that_reason(rec):
    status, body = call(
        rec, "/get-recommendations", {"context": "product_view", "contextProductId": "P1001", "count": 3}
    )
    assert status == 200, body
    assert body["products"][0]["reason"].startswith("Goes with the Alpine Puffer Jacket you viewed")
    assert all(p["productId"] != "P1001" for p in body["products"])
    status, cart = call(rec, "/get-recommendations", {"context": "cart", "contextProductId": "P1001", "count": 3})
    assert cart["products"][0]["reason"].startswith("Goes with the Alpine Puffer Jacket in your cart")


def test_anonymous_winter_picks_say_so(rec):
    status, body = call(
        rec,
        "/get-recommendations",
        {"context": "browse", "filters": {"category": "jackets", "maxPrice": 6000, "season": "winter"}},
    )
    assert status == 200 and body["userId"] is None
    assert {p["productId"] for p in body["products"]} <= {"P1001", "P1003", "P1005", "P1006", "P1011", "P1012"}
    assert any(p["reason"] == "Popular winter pick under ₹6,000" for p in body["products"])


def test_gift_picks_are_giftable_and_ignore_the_shoppers_own_taste(rec):
    status, body = call(rec, "/get-recommendations", {"userId": "U1005", "context": "gift", "count": 20})
    assert status == 200, body
    everything = catalog(rec)
    assert body["products"] and all(everything[p["productId"]]["giftable"] for p in body["products"])
    assert not any("preference" in p["reason"] for p in body["products"])


def test_a_query_narrows_recommendations_or_says_it_matched_nothing(rec):
    status, body = call(rec, "/get-recommendations", {"context": "occasion", "query": "wedding", "count": 10})
    assert status == 200 and body["products"]
    assert all("wedding" in p["tags"] for p in body["products"])
    status, body = call(rec, "/get-recommendations", {"context": "general", "query": "zzqqxx", "count": 2})
    assert status == 200 and len(body["products"]) == 2 and "zzqqxx" in body["note"]


def test_shopper_profile(rec):
    status, body = call(rec, "/get-shopper-profile", {"userId": "U1001"})
    assert status == 200, body
    assert body["tier"] == "gold" and body["city"] == "Mumbai"
    assert body["purchaseHistory"][0] == {"productId": "P1059", "name": "Varanasi Zari Banarasi Saree"}
    assert body["address"]["postalCode"] == "400053"


# --- search ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query,expected",
    [
        ("puffer jaket", {"P1001", "P1006"}),
        ("Alpine Puffer Jacket", {"P1001"}),
        ("PUFFER JACKETS", {"P1001", "P1006"}),
        ("sarees", {"P1059", "P1060", "P1061", "P1062"}),
        ("saree", {"P1059", "P1060", "P1061", "P1062"}),
        ("kurtha", {"P1017", "P1020", "P1063", "P1064", "P1066"}),
        ("sneakrs", {"P1036", "P1037"}),
        ("t-shirts", {"P1014", "P1015"}),
        ("chelsea boot", {"P1038"}),
        ("northline beanie", {"P1050"}),
    ],
)
def test_search_is_tolerant(rec, query, expected):
    status, body = call(rec, "/search-products", {"query": query, "limit": 50})
    assert status == 200, body
    found = [p["productId"] for p in body["products"]]
    assert expected <= set(found), (query, found)
    assert set(found[: len(expected)]) == expected, f"{query!r}: best matches first, got {found}"


def test_search_matches_season_and_tags(rec):
    status, body = call(rec, "/search-products", {"query": "winter", "limit": 50})
    assert status == 200 and body["total"] >= 18
    assert all(p["season"] == "winter" or "winter" in p["tags"] for p in body["products"])
    status, body = call(rec, "/search-products", {"query": "winter jackets", "limit": 50})
    assert body["total"] == 10 and all(p["category"] == "jackets" and p["season"] == "winter" for p in body["products"])


def test_search_sorts_and_limits(rec):
    status, body = call(rec, "/search-products", {"category": "jackets", "sort": "price_asc", "limit": 5})
    prices = [p["price"] for p in body["products"]]
    assert body["total"] == 12 and len(prices) == 5 and prices == sorted(prices)
    status, body = call(rec, "/search-products", {"category": "jackets", "sort": "price_desc", "limit": 50})
    assert [p["price"] for p in body["products"]] == sorted((p["price"] for p in body["products"]), reverse=True)
    status, body = call(rec, "/search-products", {"sort": "rating", "limit": 50})
    assert [p["rating"] for p in body["products"]] == sorted((p["rating"] for p in body["products"]), reverse=True)
    status, body = call(rec, "/search-products", {"query": "qwxzvb"})
    assert status == 200 and body == {"total": 0, "products": []}


def test_product_details_and_categories(rec):
    status, body = call(rec, "/get-product", {"productId": "P1044"})
    assert status == 200, body
    assert len(body["variants"]) == len(body["sizes"]) * len(body["colors"]) == 3
    assert {v["sku"] for v in body["variants"]} == {"P1044-MAROON-ONESIZE", "P1044-BEIGE-ONESIZE", "P1044-TEAL-ONESIZE"}
    assert [c["productId"] for c in body["complements"]] == ["P1003", "P1060", "P1033"]
    assert body["complements"][0]["name"] == "Himalaya Quilted Jacket" and body["currency"] == "INR"

    status, body = call(rec, "/list-categories", {})
    assert status == 200
    by_name = {c["category"]: c for c in body["categories"]}
    assert sum(c["productCount"] for c in body["categories"]) == 66 and len(by_name) == 8
    assert by_name["jackets"]["productCount"] == 12
    assert by_name["jackets"]["priceRange"] == {"min": 2499, "max": 8499}


# --- alternatives (real inventory) -------------------------------------------------------------


def sell_out(inventory, product_id: str) -> None:
    """Hold every unit of a product, online and in every store, so the inventory agent reports it sold out."""
    status, report = call(inventory, "/check-inventory", {"productId": product_id})
    assert status == 200, report
    for variant in report["variants"]:
        item = {"productId": product_id, "size": variant["size"], "color": variant["color"]}
        status, detail = call(
            inventory,
            "/check-inventory",
            {"productId": product_id, "attributes": {"size": variant["size"], "color": variant["color"]}},
        )
        places = [(None, detail["onlineStockLevel"])] + [
            (s["storeId"], s["stockLevel"]) for s in detail["availableStores"]
        ]
        for store_id, level in places:
            lines = [{**item, "quantity": min(20, level - start)} for start in range(0, level, 20)]
            for start in range(0, len(lines), 20):
                hold = {"items": lines[start : start + 20], "ttlSeconds": 3600, "reference": "test-sell-out"}
                if store_id:
                    hold["storeId"] = store_id
                status, body = call(inventory, "/create-hold", hold)
                assert status == 201, body
    _, after = call(inventory, "/get-availability", {"productIds": [product_id]})
    assert after["products"][0]["onlineStockLevel"] == after["products"][0]["storeStockLevel"] == 0


def test_alternatives_share_the_category_sit_near_the_price_and_are_in_stock(rec, inventory):
    status, body = call(rec, "/get-alternatives", {"productId": "P1006", "size": "M", "color": "Mustard", "count": 10})
    assert status == 200, body
    assert body["productId"] == "P1006" and body["category"] == "jackets"
    alternatives = body["alternatives"]
    assert alternatives, body
    diffs = [abs(a["price"] - 5499) for a in alternatives]
    assert diffs == sorted(diffs), "closest price first"
    for alt in alternatives:
        assert alt["productId"] != "P1006" and alt["category"] == "jackets"
        assert 5499 * 0.7 <= alt["price"] <= 5499 * 1.3
        assert alt["gender"] in ("women", "unisex")
        assert "M" in alt["availability"]["availableSizes"]
        assert "size M" in alt["reason"] and "Mustard" in alt["reason"]
        _, stock = call(inventory, "/check-inventory", {"productId": alt["productId"], "attributes": {"size": "M"}})
        assert any(v["onlineStockLevel"] + v["storeStockLevel"] > 0 for v in stock["variants"])


def test_alternatives_exclude_a_product_that_is_sold_out(rec, inventory):
    status, before = call(rec, "/get-alternatives", {"productId": "P1006", "count": 10})
    assert "P1003" in [a["productId"] for a in before["alternatives"]]
    sell_out(inventory, "P1003")
    status, after = call(rec, "/get-alternatives", {"productId": "P1006", "count": 10})
    assert status == 200, after
    ids = [a["productId"] for a in after["alternatives"]]
    assert "P1003" not in ids and ids == [a["productId"] for a in before["alternatives"] if a["productId"] != "P1003"]
    status, recs = call(
        rec, "/get-recommendations", {"context": "browse", "count": 20, "filters": {"category": "jackets"}}
    )
    assert "P1003" not in [p["productId"] for p in recs["products"]]


def test_no_alternatives_in_the_band_is_an_empty_list_with_a_note(rec):
    status, body = call(rec, "/get-alternatives", {"productId": "P1059", "size": "One Size"})
    assert status == 200, body
    assert body["alternatives"] == [] or all(a["category"] == "ethnicwear" for a in body["alternatives"])
    status, body = call(rec, "/get-alternatives", {"productId": "P1001", "size": "XXXL"})
    assert status == 200 and body["alternatives"] == [] and "XXXL" in body["note"]


# --- a fake inventory: exact control over what is in stock -------------------------------------


def fake_inventory(rsps, sold_out: set[str] = frozenset(), sizes: dict[str, list[str]] | None = None):
    """An inventory agent that has everything in every size except what the test says."""

    def row(pid: str) -> dict:
        in_sizes = [] if pid in sold_out else (sizes or {}).get(pid, ["XS", "S", "M", "L", "XL", "XXL"])
        in_colors = [] if pid in sold_out else ["Black", "Navy", "Olive", "Beige", "Maroon"]
        return {
            "productId": pid,
            "onlineStatus": "out_of_stock" if pid in sold_out else "in_stock",
            "onlineStockLevel": 0 if pid in sold_out else 50,
            "storeStockLevel": 0 if pid in sold_out else 5,
            "availableSizes": in_sizes,
            "availableColors": in_colors,
            "availableVariants": [
                {"size": s, "color": c, "onlineStockLevel": 10, "storeStockLevel": 1}
                for c in in_colors
                for s in in_sizes
            ],
        }

    def answer(request):
        rows = [row(pid) for pid in json.loads(request.body)["productIds"]]
        return 200, {}, json.dumps({"products": rows})

    rsps.add_callback(responses.POST, INVENTORY_URL + "/get-availability", callback=answer)


def test_out_of_stock_products_are_never_recommended(make_app, rsps):
    sold_out = {"P1045", "P1022", "P1003", "P1011"}
    fake_inventory(rsps, sold_out)
    rec = make_app("recommendation", clients={"inventory": inventory_client()}).test_client()
    for request_body in (
        {"context": "product_view", "contextProductId": "P1001", "count": 20},
        {"context": "browse", "count": 20, "filters": {"category": "jackets"}},
    ):
        status, body = call(rec, "/get-recommendations", request_body)
        assert status == 200, body
        assert not sold_out & {p["productId"] for p in body["products"]}
        assert not sold_out & {pid for b in body["bundles"] for pid in b["productIds"]}
    status, body = call(rec, "/get-alternatives", {"productId": "P1006", "count": 10})
    assert not sold_out & {a["productId"] for a in body["alternatives"]}


def test_an_alternative_must_have_the_requested_size_in_stock(make_app, rsps):
    fake_inventory(rsps, sizes={"P1003": ["XS", "S"]})
    rec = make_app("recommendation", clients={"inventory": inventory_client()}).test_client()
    _, body = call(rec, "/get-alternatives", {"productId": "P1006", "size": "M", "count": 10})
    assert "P1003" not in [a["productId"] for a in body["alternatives"]]
    _, body = call(rec, "/get-alternatives", {"productId": "P1006", "size": "S", "count": 10})
    assert "P1003" in [a["productId"] for a in body["alternatives"]]


# --- inventory down ----------------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["unreachable", "503", "broken answer"])
def test_inventory_down_recommendations_still_work_alternatives_say_why(make_app, rsps, failure):
    if failure == "unreachable":
        rsps.add(responses.POST, INVENTORY_URL + "/get-availability", body=requests.ConnectionError("refused"))
    elif failure == "503":
        rsps.add(
            responses.POST,
            INVENTORY_URL + "/get-availability",
            status=503,
            json={"error": {"code": "unavailable", "message": "down for maintenance", "details": []}},
        )
    else:
        rsps.add(responses.POST, INVENTORY_URL + "/get-availability", json={"products": "nope"})
    rec = make_app("recommendation", clients={"inventory": inventory_client()}).test_client()

    status, body = call(
        rec,
        "/get-recommendations",
        {"userId": "U1002", "context": "product_view", "contextProductId": "P1011", "count": 4},
    )
    assert status == 200, body
    assert body["availabilityChecked"] is False and len(body["products"]) == 4
    assert all(p["availability"] == "unknown" for p in body["products"])
    assert "could not be checked" in body["note"]
    assert body["bundles"]

    status, body = call(rec, "/get-alternatives", {"productId": "P1006", "size": "M"})
    assert status == 503, body
    assert body["error"]["code"] == "dependency_unavailable"
    assert "inventory" in body["error"]["message"] and body["error"]["details"][0]["field"] == "inventory"
    assert body["error"]["retryable"] is True and body["error"]["retryAfter"] == 5

    for path, request_body in (
        ("/search-products", {"query": "jacket"}),
        ("/get-product", {"productId": "P1001"}),
        ("/list-categories", {}),
        ("/get-shopper-profile", {"userId": "U1001"}),
    ):
        assert call(rec, path, request_body)[0] == 200, path


# --- restart -----------------------------------------------------------------------------------


def test_data_survives_a_restart_and_is_not_seeded_twice(make_app, rsps):
    from recommendation_agent import storage

    fake_inventory(rsps)
    first = make_app("recommendation", clients={"inventory": inventory_client()})
    with first.db.write() as conn:  # a purchase recorded after the seed
        conn.execute(storage.purchases.insert().values(user_id="U1004", product_id="P1014", position=1))
    url = first.db.url
    first.db.dispose()

    from recommendation_agent.app import create_app

    second = create_app(database_url=url, clients={"inventory": inventory_client()})
    second.testing = True
    try:
        client = second.test_client()
        _, profile = call(client, "/get-shopper-profile", {"userId": "U1004"})
        assert [p["productId"] for p in profile["purchaseHistory"]] == ["P1015", "P1014"]
        _, body = call(client, "/get-recommendations", {"userId": "U1004", "context": "general", "count": 20})
        assert "P1014" not in [p["productId"] for p in body["products"]]
        _, categories = call(client, "/list-categories", {})
        assert sum(c["productCount"] for c in categories["categories"]) == 66
    finally:
        second.db.dispose()


def test_indian_rupee_formatting():
    from recommendation_agent.domain import inr

    assert inr(6000) == "₹6,000" and inr(12499) == "₹12,499" and inr(150000) == "₹1,50,000"
    assert inr(999) == "₹999" and inr(1234567.5) == "₹12,34,567.50" and inr(0) == "₹0"


def test_an_alternatives_status_is_that_of_the_shoppers_size(rec, inventory):
    """The status an alternative reports is its stock in the size asked for, as the inventory agent counts it."""
    status, body = call(rec, "/get-alternatives", {"productId": "P1006", "size": "M", "count": 10})
    assert status == 200 and body["alternatives"], body
    for alt in body["alternatives"]:
        _, stock = call(inventory, "/check-inventory", {"productId": alt["productId"], "attributes": {"size": "M"}})
        online = sum(v["onlineStockLevel"] for v in stock["variants"])
        stores = sum(v["storeStockLevel"] for v in stock["variants"])
        expected = "in_stores_only" if online == 0 else ("low_stock" if online <= 5 else "in_stock")
        assert stores + online > 0 and alt["availability"]["status"] == expected, alt["productId"]
