"""Reserve in store holds real store stock in a real in-process inventory agent, and gives it back."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import requests
import responses
from order_owners import error_of, fields

from agentkit import AgentClient
from agentkit.registry import import_app_factory
from support import route_to_app

INVENTORY_URL = "http://inventory.fulfillment-reservations.test"
DOWN_URL = "http://inventory.down.test"
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.usefixtures("frozen_clock")
JACKET = {"productId": "P1001", "size": "M", "color": "Black"}


@pytest.fixture
def inventory_app(make_app):
    return make_app("inventory")


@pytest.fixture
def app(make_app, inventory_app):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        route_to_app(rsps, INVENTORY_URL, inventory_app)
        yield make_app("fulfillment", clients={"inventory": AgentClient("inventory", base_url=INVENTORY_URL)})


@pytest.fixture
def down_client(make_app):
    """A fulfillment agent whose inventory agent refuses every connection."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(
            responses.POST,
            re.compile(re.escape(DOWN_URL) + r"/.*"),
            body=requests.ConnectionError("connection refused"),
        )
        app = make_app(
            "fulfillment", tag="down", clients={"inventory": AgentClient("inventory", base_url=DOWN_URL, retries=0)}
        )
        yield app.test_client()


def store_level(inventory_app, store_id: str, city: str = "Mumbai", **variant) -> int:
    """What the real inventory agent says one store has of the jacket (0 when it is not listed)."""
    wanted = {**JACKET, **variant}
    reply = inventory_app.test_client().post(
        "/check-inventory",
        json={
            "productId": wanted["productId"],
            "attributes": {"size": wanted["size"], "color": wanted["color"]},
            "locationContext": {"city": city},
        },
    )
    assert reply.status_code == 200, reply.get_json()
    return next((s["stockLevel"] for s in reply.get_json()["availableStores"] if s["storeId"] == store_id), 0)


def reserve(client, **overrides):
    return client.post("/reserve-in-store", json={"userId": "U1001", **JACKET, "storeId": "ST-MUM-01", **overrides})


def test_reserving_really_lowers_the_store_stock_and_cancelling_brings_it_back(client, inventory_app):
    before = store_level(inventory_app, "ST-MUM-01")
    assert before == 3  # the seed guarantees P1001 Black M in the Lower Parel store
    reply = reserve(client, quantity=2, color="black", size="m")
    reservation = reply.get_json()
    assert reply.status_code == 201, reservation
    assert reservation["reservationId"] == "RSV-100001"
    assert reservation["status"] == "active" and reservation["quantity"] == 2
    assert (reservation["sku"], reservation["size"], reservation["color"]) == ("P1001-BLACK-M", "M", "Black")
    assert reservation["storeName"] == "Phoenix Palladium, Lower Parel" and reservation["city"] == "Mumbai"
    assert reservation["createdAt"] == "2026-11-21T10:00:00Z"
    assert reservation["expiresAt"] == "2026-11-22T10:00:00Z"  # 24 hours
    assert store_level(inventory_app, "ST-MUM-01") == before - 2

    hold = inventory_app.test_client().post("/get-hold", json={"holdId": reservation["holdId"]}).get_json()
    assert hold["status"] == "active" and hold["storeId"] == "ST-MUM-01"
    assert hold["reference"] == "RSV-100001" and hold["expiresAt"] == reservation["expiresAt"]
    assert hold["lines"][0]["locationId"] == "ST-MUM-01"

    cancelled = client.post("/cancel-reservation", json={"reservationId": "RSV-100001", "userId": "U1001"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert store_level(inventory_app, "ST-MUM-01") == before
    again = client.post("/cancel-reservation", json={"reservationId": "RSV-100001", "userId": "U1001"})
    assert again.status_code == 200 and store_level(inventory_app, "ST-MUM-01") == before


def test_a_store_with_none_left_is_409_not_in_store(client, inventory_app):
    assert reserve(client, quantity=3).status_code == 201
    error = error_of(reserve(client), 409, "not_in_store")
    assert error["message"].startswith("The Phoenix Palladium store has no Black M left.")
    assert "Infiniti Mall" in error["message"]  # the other Mumbai store still has it
    assert any("ST-MUM-02" in s for s in error["suggestions"])
    assert fields(error) == ["storeId"]
    assert store_level(inventory_app, "ST-MUM-01") == 0


def test_a_store_that_never_had_it(client):
    error = error_of(reserve(client, storeId="ST-DEL-01"), 409, "not_in_store")
    assert error["message"].startswith("The Select Citywalk store has no Black M left.")


@pytest.mark.parametrize(
    "change,field",
    [
        ({"productId": "P9999"}, "productId"),
        ({"color": "Purple"}, "color"),
        ({"size": "XXXL"}, "size"),
        ({"storeId": "ST-GOA-01"}, "storeId"),
    ],
)
def test_unknown_product_variant_or_store_is_404(client, change, field):
    error = error_of(reserve(client, **change), 404)
    assert fields(error) == [field]
    assert client.post("/list-reservations", json={"userId": "U1001"}).get_json()["reservations"] == []


def test_inventory_down_is_503_and_nothing_is_reserved(down_client):
    error = error_of(reserve(down_client), 503, "dependency_unavailable")
    assert "inventory" in error["message"] and "Nothing was changed" in error["message"]
    assert error["retryable"] is True
    assert down_client.post("/list-reservations", json={"userId": "U1001"}).get_json()["reservations"] == []


def test_cancel_with_inventory_down_is_503_and_keeps_the_reservation(make_app, inventory_app, client):
    reservation = reserve(client).get_json()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(
            responses.POST,
            re.compile(re.escape(DOWN_URL) + r"/.*"),
            body=requests.ConnectionError("connection refused"),
        )
        # The same database, now with an inventory agent that does not answer.
        down = import_app_factory("fulfillment")(
            database_url=client.application.db.url,
            clients={"inventory": AgentClient("inventory", base_url=DOWN_URL, retries=0)},
        )
        try:
            reply = down.test_client().post(
                "/cancel-reservation", json={"reservationId": reservation["reservationId"], "userId": "U1001"}
            )
            error_of(reply, 503, "dependency_unavailable")
        finally:
            down.db.dispose()
    listed = client.post("/list-reservations", json={"userId": "U1001"}).get_json()["reservations"]
    assert [r["status"] for r in listed] == ["active"]


def test_only_the_shopper_can_cancel_their_reservation(client, inventory_app):
    reservation = reserve(client).get_json()
    reply = client.post("/cancel-reservation", json={"reservationId": reservation["reservationId"], "userId": "U1002"})
    assert fields(error_of(reply, 404, "not_found")) == ["reservationId"]
    assert store_level(inventory_app, "ST-MUM-01") == 2


def test_a_reservation_expires_after_24_hours(client, inventory_app, frozen_clock):
    reservation = reserve(client).get_json()
    frozen_clock["now"] = NOW + timedelta(hours=24, seconds=1)
    listed = client.post("/list-reservations", json={"userId": "U1001"}).get_json()["reservations"]
    assert [r["status"] for r in listed] == ["expired"]
    reply = client.post("/cancel-reservation", json={"reservationId": reservation["reservationId"], "userId": "U1001"})
    assert "back on sale" in error_of(reply, 409, "reservation_expired")["message"]
    assert store_level(inventory_app, "ST-MUM-01") == 3  # the inventory agent expired its hold too


def test_list_reservations_newest_first_and_by_status(client, frozen_clock):
    first = reserve(client).get_json()["reservationId"]
    frozen_clock["now"] = NOW + timedelta(minutes=5)
    second = reserve(client, storeId="ST-BLR-01").get_json()["reservationId"]
    client.post("/cancel-reservation", json={"reservationId": first, "userId": "U1001"})
    listed = client.post("/list-reservations", json={"userId": "U1001"}).get_json()["reservations"]
    assert [r["reservationId"] for r in listed] == [second, first]
    active = client.post("/list-reservations", json={"userId": "U1001", "status": "active"}).get_json()
    assert [r["reservationId"] for r in active["reservations"]] == [second]
    assert active["reservations"][0]["city"] == "Bengaluru"


def test_reservations_survive_a_restart(app, client, inventory_app):
    reservation = reserve(client).get_json()
    app.db.dispose()
    again = import_app_factory("fulfillment")(
        database_url=app.db.url, clients={"inventory": AgentClient("inventory", base_url=INVENTORY_URL)}
    )
    try:
        listed = again.test_client().post("/list-reservations", json={"userId": "U1001"}).get_json()
        assert listed["reservations"] == [reservation]
        cancelled = again.test_client().post(
            "/cancel-reservation", json={"reservationId": reservation["reservationId"], "userId": "U1001"}
        )
        assert cancelled.status_code == 200
        assert store_level(inventory_app, "ST-MUM-01") == 3
    finally:
        again.db.dispose()
