"""Inventory rules: statuses, real size/colour filters, holds that expire, all-or-nothing holds, restocks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agentkit import clock


@pytest.fixture
def client(make_app):
    return make_app("inventory").test_client()


def check(client, product_id, size=None, color=None, city=None):
    body = {"productId": product_id}
    attributes = {k: v for k, v in (("size", size), ("color", color)) if v}
    if attributes:
        body["attributes"] = attributes
    if city:
        body["locationContext"] = {"city": city}
    return client.post("/check-inventory", json=body)


def online(client, product_id, size, color):
    return check(client, product_id, size, color).get_json()["onlineStockLevel"]


def test_low_stock_and_out_of_stock_are_told_apart(client):
    low = check(client, "P1002", "L", "Black").get_json()
    assert low["onlineStatus"] == "low_stock" and 1 <= low["onlineStockLevel"] <= 5
    out = check(client, "P1006", "M", "Mustard", city="Mumbai").get_json()
    assert out["onlineStatus"] == "out_of_stock" and out["onlineStockLevel"] == 0
    assert out["availableStores"] == [] and out["fulfillmentOptions"] == []
    plenty = check(client, "P1001", "M", "Black").get_json()
    assert plenty["onlineStatus"] == "in_stock" and plenty["onlineStockLevel"] > 5


def test_size_and_colour_filters_are_real(client):
    report = check(client, "P1001", "m", "BLACK", city="mumbai").get_json()
    assert report["sku"] == "P1001-BLACK-M" and report["attributes"] == {"size": "M", "color": "Black"}
    assert [v["sku"] for v in report["variants"]] == ["P1001-BLACK-M"]
    assert report["availableStores"] and {s["city"] for s in report["availableStores"]} == {"Mumbai"}
    every_colour = check(client, "P1001", size="M").get_json()
    assert every_colour["sku"] is None and {v["size"] for v in every_colour["variants"]} == {"M"}
    assert len(every_colour["variants"]) == 3


def test_a_variant_that_does_not_exist_is_404_naming_the_attribute(client):
    reply = check(client, "P1001", "XXXL", "Black")
    assert reply.status_code == 404
    error = reply.get_json()["error"]
    assert error["code"] == "variant_not_found" and error["details"][0]["field"] == "attributes.size"
    assert "Sizes: " in error["message"]
    assert check(client, "P9999").status_code == 404


def test_hold_takes_stock_and_release_gives_it_back(client):
    before = online(client, "P1001", "M", "Black")
    hold = client.post(
        "/create-hold", json={"items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": 2}]}
    )
    assert hold.status_code == 201 and hold.get_json()["status"] == "active"
    assert online(client, "P1001", "M", "Black") == before - 2
    released = client.post("/release-hold", json={"holdId": hold.get_json()["holdId"]})
    assert released.get_json()["status"] == "released"
    assert online(client, "P1001", "M", "Black") == before
    again = client.post("/release-hold", json={"holdId": hold.get_json()["holdId"]})
    assert again.status_code == 200 and online(client, "P1001", "M", "Black") == before


def test_committed_stock_stays_sold(client):
    before = online(client, "P1001", "M", "Black")
    hold_id = client.post(
        "/create-hold", json={"items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": 1}]}
    ).get_json()["holdId"]
    committed = client.post("/commit-hold", json={"holdId": hold_id, "orderId": "ORD-200001"})
    assert committed.get_json()["status"] == "committed" and committed.get_json()["orderId"] == "ORD-200001"
    assert client.post("/release-hold", json={"holdId": hold_id}).status_code == 409
    assert online(client, "P1001", "M", "Black") == before - 1


def test_an_expired_hold_returns_its_stock_and_cannot_be_committed(client, monkeypatch):
    before = online(client, "P1001", "M", "Black")
    hold_id = client.post(
        "/create-hold",
        json={"items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": 3}], "ttlSeconds": 60},
    ).get_json()["holdId"]
    assert online(client, "P1001", "M", "Black") == before - 3
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(seconds=61))
    assert online(client, "P1001", "M", "Black") == before
    assert client.post("/get-hold", json={"holdId": hold_id}).get_json()["status"] == "expired"
    refused = client.post("/commit-hold", json={"holdId": hold_id})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "hold_expired"


def test_a_hold_is_all_or_nothing(client):
    before = online(client, "P1001", "M", "Black")
    reply = client.post(
        "/create-hold",
        json={
            "items": [
                {"productId": "P1001", "size": "M", "color": "Black", "quantity": 1},
                {"productId": "P1006", "size": "M", "color": "Mustard", "quantity": 1},
            ]
        },
    )
    assert reply.status_code == 409
    error = reply.get_json()["error"]
    assert error["code"] == "insufficient_stock" and error["details"][0]["field"] == "items.1.quantity"
    assert online(client, "P1001", "M", "Black") == before


def test_store_hold_draws_from_that_store_only(client):
    def store_level():
        stores = check(client, "P1001", "M", "Black", city="Mumbai").get_json()["availableStores"]
        return {s["storeId"]: s["stockLevel"] for s in stores}.get("ST-MUM-01", 0)

    before_store, before_online = store_level(), online(client, "P1001", "M", "Black")
    reply = client.post(
        "/create-hold",
        json={
            "items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": 1}],
            "storeId": "ST-MUM-01",
            "ttlSeconds": 86400,
        },
    )
    assert reply.status_code == 201 and reply.get_json()["lines"][0]["locationId"] == "ST-MUM-01"
    assert store_level() == before_store - 1 and online(client, "P1001", "M", "Black") == before_online
    too_many = client.post(
        "/create-hold",
        json={"items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": 20}], "storeId": "ST-MUM-01"},
    )
    assert too_many.status_code == 409
    assert (
        client.post(
            "/create-hold",
            json={
                "items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": 1}],
                "storeId": "ST-ZZZ-01",
            },
        ).status_code
        == 404
    )


def test_restock_is_audited_and_low_stock_list_reflects_it(client):
    low_skus = {i["sku"] for i in client.post("/list-low-stock", json={}).get_json()["items"]}
    assert "P1002-BLACK-L" in low_skus and "P1006-MUSTARD-M" in low_skus
    before = online(client, "P1002", "L", "Black")
    change = client.post(
        "/restock",
        json={
            "productId": "P1002",
            "size": "L",
            "color": "Black",
            "locationId": "WH-MUM",
            "quantity": 25,
            "reason": "supplier delivery PO-7781",
        },
    ).get_json()
    assert change["change"] == 25 and change["reason"] == "supplier delivery PO-7781"
    assert online(client, "P1002", "L", "Black") == before + 25
    history = client.post("/get-stock-history", json={"productId": "P1002", "size": "L", "color": "Black"}).get_json()
    assert history["entries"][0]["reason"] == "supplier delivery PO-7781"
    assert "P1002-BLACK-L" not in {i["sku"] for i in client.post("/list-low-stock", json={}).get_json()["items"]}


def test_availability_summary_lists_only_buyable_sizes_and_colours(client):
    products = client.post("/get-availability", json={"productIds": ["P1006", "P9999"]}).get_json()["products"]
    assert [p["productId"] for p in products] == ["P1006"]
    assert "Mustard" not in products[0]["availableColors"]


def test_stock_survives_a_restart(make_app, tmp_path):
    from support import fresh_database_url  # noqa: F401 - same url on purpose below

    first = make_app("inventory", tag="restart")
    url = str(first.db.engine.url.render_as_string(hide_password=False))
    first.test_client().post(
        "/restock",
        json={
            "productId": "P1001",
            "size": "M",
            "color": "Black",
            "locationId": "WH-KOL",
            "quantity": 4,
            "reason": "restart check",
        },
    )
    first.db.dispose()
    from inventory_agent.app import create_app

    second = create_app(database_url=url)
    history = second.test_client().post("/get-stock-history", json={"productId": "P1001"}).get_json()["entries"]
    assert history[0]["reason"] == "restart check"
    second.db.dispose()
