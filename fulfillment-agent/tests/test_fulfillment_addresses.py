"""The address book, the store finder, delivery to a city, and cursor paging of a shopper's listings: status
codes, error fields, and the state read back through the API."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from order_owners import JACKET_LINE, error_of, fields

from agentkit import clock
from fulfillment_agent import addresses, cities, storage

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.usefixtures("frozen_clock")
HOME = {
    "name": "Priya Sharma",
    "line1": "Flat 1202, Sea Breeze Towers",
    "line2": "Lokhandwala Complex, Andheri West",
    "city": "Mumbai",
    "state": "Maharashtra",
    "postalCode": "400053",
    "phone": "+919820011001",
}
JACKET = JACKET_LINE


def save(client, user: str = "U1001", **address) -> dict:
    reply = client.post("/save-address", json={"userId": user, "address": {**HOME, **address}})
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def order_body(user: str = "U1001", **fields_) -> dict:
    return {
        "userId": user,
        "items": [JACKET],
        "fulfillmentType": "ship_to_home",
        "subtotal": 4999,
        "discount": 0,
        "total": 4999,
        **fields_,
    }


# --- the address book ----------------------------------------------------------------------------


def test_save_list_order_with_the_address_id_and_the_order_shows_the_address(client, owners):
    saved = client.post("/save-address", json={"userId": "U1001", "label": " Home ", "address": HOME})
    assert saved.status_code == 201
    entry = saved.get_json()
    assert entry["addressId"].startswith("ADR-") and entry["label"] == "Home" and entry["userId"] == "U1001"
    assert entry["address"] == {**HOME, "country": "IN"} and entry["createdAt"] == "2026-11-21T10:00:00Z"
    listed = client.post("/list-addresses", json={"userId": "U1001"}).get_json()
    assert listed == {"userId": "U1001", "addresses": [entry], "nextCursor": None}
    assert client.post("/list-addresses", json={"userId": "U1002"}).get_json()["addresses"] == []

    paid = owners.pay("U1001", 4999)
    reply = client.post("/create-order", json=order_body(addressId=entry["addressId"], paymentId=paid["paymentId"]))
    assert reply.status_code == 201, reply.get_json()
    order_id = reply.get_json()["orderId"]
    order = client.post("/get-order", json={"orderId": order_id, "userId": "U1001"}).get_json()
    assert order["shippingAddress"] == {**HOME, "country": "IN"}
    assert order["estimatedDelivery"] == "2026-11-24T14:30:00Z"  # Mumbai, a metro: 3 days

    # Deleting the address later leaves the order's copy as it was.
    deleted = client.post("/delete-address", json={"userId": "U1001", "addressId": entry["addressId"]})
    assert deleted.status_code == 200
    assert deleted.get_json() == {"userId": "U1001", "addressId": entry["addressId"], "deleted": True}
    assert client.post("/list-addresses", json={"userId": "U1001"}).get_json()["addresses"] == []
    again = client.post("/get-order", json={"orderId": order_id}).get_json()
    assert again["shippingAddress"] == {**HOME, "country": "IN"}
    gone = client.post("/delete-address", json={"userId": "U1001", "addressId": entry["addressId"]})
    assert fields(error_of(gone, 404, "not_found")) == ["addressId"]


def test_someone_elses_address_id_is_unknown_to_orders_and_deletes(client, owners):
    entry = save(client, "U1001")
    before = client.post("/list-orders", json={"userId": "U1002"}).get_json()["orders"]
    paid = owners.pay("U1002", 4999)
    body = order_body("U1002", addressId=entry["addressId"], paymentId=paid["paymentId"])
    assert fields(error_of(client.post("/create-order", json=body), 404, "not_found")) == ["addressId"]
    assert client.post("/list-orders", json={"userId": "U1002"}).get_json()["orders"] == before  # no order made
    reply = client.post("/delete-address", json={"userId": "U1002", "addressId": entry["addressId"]})
    assert fields(error_of(reply, 404, "not_found")) == ["addressId"]
    assert [
        a["addressId"] for a in client.post("/list-addresses", json={"userId": "U1001"}).get_json()["addresses"]
    ] == [entry["addressId"]]


def test_an_address_id_and_an_address_together_or_on_click_and_collect_are_refused(client):
    entry = save(client)
    both = order_body(addressId=entry["addressId"], shippingAddress=HOME, paymentId="PAY-T900001")
    assert fields(error_of(client.post("/create-order", json=both), 422, "address_ambiguous")) == ["addressId"]
    collect = order_body(
        fulfillmentType="click_and_collect", storeId="ST-MUM-01", addressId=entry["addressId"], paymentId="PAY-T900002"
    )
    error = error_of(client.post("/create-order", json=collect), 422, "shipping_address_not_expected")
    assert fields(error) == ["addressId"]


@pytest.mark.parametrize("postal_code", ["40005", "4000531", "040053", "40OO53", "", " 400053"], ids=lambda p: repr(p))
def test_a_pin_code_that_is_not_six_digits_from_1_is_a_400_naming_it(client, postal_code):
    reply = client.post("/save-address", json={"userId": "U1001", "address": {**HOME, "postalCode": postal_code}})
    assert fields(error_of(reply, 400, "validation_error")) == ["address.postalCode"]
    assert client.post("/list-addresses", json={"userId": "U1001"}).get_json()["addresses"] == []


def test_name_line1_city_and_pin_code_are_required(client):
    for field in ("name", "line1", "city", "postalCode"):
        address = {k: v for k, v in HOME.items() if k != field}
        reply = client.post("/save-address", json={"userId": "U1001", "address": address})
        error = error_of(reply, 400, "validation_error")
        assert any(f.startswith("address") for f in fields(error)) and field in error["message"], error


@pytest.mark.parametrize("field", ["name", "line1", "city"])
def test_a_required_field_of_only_spaces_is_a_422_naming_it(client, field):
    reply = client.post("/save-address", json={"userId": "U1001", "address": {**HOME, field: "   "}})
    assert fields(error_of(reply, 422, "blank_field")) == [f"address.{field}"]
    assert client.post("/list-addresses", json={"userId": "U1001"}).get_json()["addresses"] == []


def test_a_city_the_shop_does_not_deliver_to_is_refused_everywhere(client):
    reply = client.post("/save-address", json={"userId": "U1001", "address": {**HOME, "city": "Shillong"}})
    error = error_of(reply, 422, "city_not_delivered")
    assert fields(error) == ["address.city"] and "Shillong" in error["message"] and "Pune" in error["message"]
    inline = order_body(shippingAddress={**HOME, "city": "Shillong"}, paymentId="PAY-T900003")
    assert fields(error_of(client.post("/create-order", json=inline), 422, "city_not_delivered")) == [
        "shippingAddress.city"
    ]
    options = client.post("/get-delivery-options", json={"city": "Shillong"})
    assert fields(error_of(options, 422, "city_not_delivered")) == ["city"]


def test_another_name_of_a_delivered_city_is_accepted_as_written(client):
    entry = save(client, city="Bangalore", postalCode="560038")
    assert entry["address"]["city"] == "Bangalore"  # the shopper's address as written; the city is Bengaluru's
    assert cities.find("  bangalore ").name == "Bengaluru" and cities.find("Gurgaon").name == "Gurugram"


def test_saving_the_same_address_again_answers_the_entry_not_a_copy(client):
    first = save(client)
    again = client.post(
        "/save-address", json={"userId": "U1001", "address": {**HOME, "line1": " Flat 1202,  Sea Breeze Towers"}}
    )
    assert again.status_code == 200 and again.get_json()["addressId"] == first["addressId"]
    assert len(client.post("/list-addresses", json={"userId": "U1001"}).get_json()["addresses"]) == 1


def test_a_book_holds_twenty_addresses_and_deleting_one_frees_a_place(client):
    saved = [save(client, line1=f"House {n}") for n in range(addresses.MAX_ADDRESSES)]
    reply = client.post("/save-address", json={"userId": "U1001", "address": {**HOME, "line1": "House 99"}})
    error = error_of(reply, 409, "address_book_full")
    assert fields(error) == ["userId"] and "20" in error["message"]
    assert save(client, "U1002", line1="House 99")["userId"] == "U1002"  # another shopper's book is their own
    deleted = client.post("/delete-address", json={"userId": "U1001", "addressId": saved[3]["addressId"]})
    assert deleted.status_code == 200
    assert save(client, line1="House 99")["address"]["line1"] == "House 99"
    error_of(client.post("/save-address", json={"userId": "U1001", "address": {**HOME, "line1": "House 100"}}), 409)


def test_racing_saves_never_pass_the_bound(app):
    for n in range(addresses.MAX_ADDRESSES - 3):
        save(app.test_client(), line1=f"House {n}")
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def one(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        body = {"userId": "U1001", "address": {**HOME, "line1": f"Racing {n}"}}
        statuses.append(client.post("/save-address", json=body).status_code)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 3 + [409] * 5
    listed = app.test_client().post("/list-addresses", json={"userId": "U1001", "limit": 50}).get_json()
    assert len(listed["addresses"]) == addresses.MAX_ADDRESSES and listed["nextCursor"] is None


def test_racing_saves_of_the_same_address_make_one_entry(app):
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def one() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/save-address", json={"userId": "U1003", "address": HOME}).status_code)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [201]
    assert len(app.test_client().post("/list-addresses", json={"userId": "U1003"}).get_json()["addresses"]) == 1


def test_user_id_columns_hold_64_characters(app):
    """Shopper ids become opaque strings of up to 64 characters: every user-id column takes one (on PostgreSQL
    a narrower column would refuse it)."""
    widths = {t.name: t.c.user_id.type.length for t in storage.metadata.sorted_tables if "user_id" in t.c}
    assert set(widths) >= {"orders", "reservations", "discount_intents", "addresses", "address_books"}
    assert all(width >= 64 for width in widths.values()), widths
    long_id = "web-" + "x" * 60
    with app.db.write() as conn:
        assert storage.lock_address_book(conn, long_id) == 0
        storage.insert_address(
            conn,
            {"address_id": "ADR-LONG000001", "user_id": long_id, "label": None, "address": HOME, "created_at": "x"},
        )
        storage.add_discount_intent(conn, "ORD-999991", long_id, clock.now_iso())
    with app.db.read() as conn:
        assert storage.user_addresses(conn, long_id, 5)[0]["user_id"] == long_id


# --- the store finder and delivery to a city -----------------------------------------------------


def test_stores_by_city_any_name_of_it_and_every_store(client):
    bangalore = client.post("/list-stores", json={"city": "Bangalore"}).get_json()
    assert bangalore["city"] == "Bengaluru"
    assert [s["storeId"] for s in bangalore["stores"]] == ["ST-BLR-01", "ST-BLR-02"]
    assert bangalore["stores"][0] == {
        "storeId": "ST-BLR-01",
        "name": "Phoenix Marketcity, Whitefield",
        "city": "Bengaluru",
        "address": "Shop 2-18, Phoenix Marketcity, Whitefield Main Road, Mahadevapura, Bengaluru",
        "postalCode": "560048",
        "openingHours": "10:00-22:00",
    }
    everything = client.post("/list-stores", json={}).get_json()
    seed = json.loads((storage.SEED_DIR / "stores.json").read_text())["stores"]
    assert everything["city"] is None and len(everything["stores"]) == len(seed) == 10
    assert sorted(s["storeId"] for s in everything["stores"]) == sorted(s["storeId"] for s in seed)
    assert client.post("/list-stores", json={"city": "Jaipur"}).get_json() == {"city": "Jaipur", "stores": []}
    assert client.post("/list-stores", json={"city": "Shillong"}).get_json()["stores"] == []


def test_every_store_is_in_a_city_the_shop_delivers_to():
    seed = json.loads((storage.SEED_DIR / "stores.json").read_text())["stores"]
    assert all(cities.find(s["city"]) is not None and cities.find(s["city"]).name == s["city"] for s in seed)


@pytest.mark.parametrize(
    "city,metro,days", [("Pune", True, (2, 3)), ("poona", True, (2, 3)), ("Jaipur", False, (4, 6))]
)
def test_delivery_time_and_cost_to_a_city_without_a_cart(client, city, metro, days):
    reply = client.post("/get-delivery-options", json={"city": city})
    assert reply.status_code == 200
    answer = reply.get_json()
    home = answer["options"][0]
    assert answer["metro"] is metro and home["type"] == "ship_to_home"
    assert (home["estimatedDays"]["min"], home["estimatedDays"]["max"]) == days
    assert home["fee"] == 99 and home["freeAbove"] == 999
    assert home["estimatedDate"] == (NOW.date() + timedelta(days=days[1])).isoformat()


# --- cursor paging -------------------------------------------------------------------------------


def _seed_orders(app, user: str, count: int) -> list[str]:
    """``count`` orders for ``user``, written straight to storage; every third pair shares a creation time, so
    the order id has to break ties."""
    ids = []
    with app.db.write() as conn:
        for n in range(count):
            order_id = f"ORD-{500000 + n}"
            at = clock.iso(NOW - timedelta(hours=count - n // 2 * 2))  # pairs of equal times
            storage.insert_order(
                conn,
                {
                    "order_id": order_id,
                    "user_id": user,
                    "status": "confirmed",
                    "fulfillment_type": "ship_to_home",
                    "items": [JACKET],
                    "subtotal": 4999,
                    "discount": 0,
                    "delivery_fee": 0,
                    "gift_wrap_fee": 0,
                    "total": 4999,
                    "payment_id": f"PAY-PAGE{n:04d}",
                    "hold_id": None,
                    "shipping_address": HOME,
                    "store_id": None,
                    "coupon_code": None,
                    "points_redeemed": 0,
                    "delivery_slot": None,
                    "estimated_delivery": clock.iso(NOW),
                    "delivered_at": None,
                    "carrier": None,
                    "tracking_number": None,
                    "created_at": at,
                    "updated_at": at,
                },
            )
            storage.add_history(conn, order_id, "confirmed", at, None)
            ids.append(order_id)
    return ids


def _pages(client, path: str, key: str, body: dict) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        reply = client.post(path, json={**body, **({"cursor": cursor} if cursor else {})})
        assert reply.status_code == 200, reply.get_json()
        answer = reply.get_json()
        pages.append([item[key] for item in answer[path.removeprefix("/list-")]])
        cursor = answer["nextCursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "paging does not end"


def test_paging_through_25_orders_returns_each_exactly_once_newest_first(app, client):
    ids = _seed_orders(app, "U2001", 25)
    pages = _pages(client, "/list-orders", "orderId", {"userId": "U2001"})
    assert [len(p) for p in pages] == [10, 10, 5]  # the default page is 10
    flat = [order_id for page in pages for order_id in page]
    assert sorted(flat) == sorted(ids) and len(set(flat)) == 25
    with app.db.read() as conn:
        created = {r["order_id"]: r["created_at"] for r in storage.user_orders(conn, "U2001", None, 100)}
    assert [created[i] for i in flat] == sorted((created[i] for i in flat), reverse=True)
    assert [len(p) for p in _pages(client, "/list-orders", "orderId", {"userId": "U2001", "limit": 7})] == [7, 7, 7, 4]
    assert _pages(client, "/list-orders", "orderId", {"userId": "U2001", "limit": 25}) == [flat]
    first = client.post("/list-orders", json={"userId": "U2001", "limit": 10}).get_json()
    assert first["count"] == 10 and first["nextCursor"]


def test_orders_arriving_while_paging_shift_nothing(app, client, owners):
    _seed_orders(app, "U1001", 12)
    first = client.post("/list-orders", json={"userId": "U1001", "limit": 5}).get_json()
    paid = owners.pay("U1001", 4999)
    created = client.post("/create-order", json=order_body(shippingAddress=HOME, paymentId=paid["paymentId"]))
    assert created.status_code == 201
    rest = _pages(client, "/list-orders", "orderId", {"userId": "U1001", "limit": 5, "cursor": first["nextCursor"]})
    seen = [o["orderId"] for o in first["orders"]] + [i for page in rest for i in page]
    assert len(seen) == len(set(seen)) == 12 + 2  # the seed's two for U1001, each once; the new one is newer
    assert created.get_json()["orderId"] not in seen


def test_a_status_filter_pages_too(app, client):
    _seed_orders(app, "U2002", 13)
    pages = _pages(client, "/list-orders", "orderId", {"userId": "U2002", "status": "confirmed", "limit": 6})
    assert [len(p) for p in pages] == [6, 6, 1]
    assert client.post("/list-orders", json={"userId": "U2002", "status": "delivered"}).get_json() == {
        "userId": "U2002",
        "count": 0,
        "orders": [],
        "nextCursor": None,
    }


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "WyJyZXNlcnZhdGlvbiIsIjIwMjYiLCJSU1YtMTAwMDAxIl0", "e30", "WyJvcmRlciIsMSwyXQ"],
    ids=["garbage", "a reservation cursor", "an object", "numbers"],
)
def test_a_cursor_that_is_not_from_this_listing_is_a_400_naming_it(client, cursor):
    reply = client.post("/list-orders", json={"userId": "U1001", "cursor": cursor})
    assert fields(error_of(reply, 400, "invalid_cursor")) == ["cursor"]


def test_page_limits_are_checked(client):
    for path, most in (("/list-orders", 100), ("/list-reservations", 50), ("/list-addresses", 50)):
        assert client.post(path, json={"userId": "U1001", "limit": most}).status_code == 200
        for limit in (0, most + 1):
            assert fields(error_of(client.post(path, json={"userId": "U1001", "limit": limit}), 400)) == ["limit"]


def test_addresses_and_reservations_page_with_their_own_cursors(app, client, frozen_clock):
    for n in range(13):
        frozen_clock["now"] = NOW + timedelta(minutes=n // 3)  # saved three to a minute: ties broken by id
        save(client, line1=f"House {n}")
    pages = _pages(client, "/list-addresses", "addressId", {"userId": "U1001", "limit": 5})
    assert [len(p) for p in pages] == [5, 5, 3]
    flat = [a for page in pages for a in page]
    assert len(set(flat)) == 13
    with app.db.write() as conn:
        for n in range(12):
            storage.insert_reservation(
                conn,
                {
                    "reservation_id": f"RSV-{200000 + n}",
                    "user_id": "U1001",
                    "product_id": "P1001",
                    "sku": "P1001-BLACK-M",
                    "size": "M",
                    "color": "Black",
                    "quantity": 1,
                    "store_id": "ST-MUM-01",
                    "hold_id": f"HLD-PAGE{n:04d}",
                    "status": "cancelled",
                    "expires_at": clock.iso(NOW + timedelta(days=1)),
                    "created_at": clock.iso(NOW - timedelta(minutes=n // 4)),
                    "updated_at": clock.iso(NOW),
                },
            )
    pages = _pages(client, "/list-reservations", "reservationId", {"userId": "U1001"})
    assert [len(p) for p in pages] == [10, 2]
    assert sorted(r for page in pages for r in page) == [f"RSV-{200000 + n}" for n in range(12)]
    address_cursor = client.post("/list-addresses", json={"userId": "U1001", "limit": 5}).get_json()["nextCursor"]
    reply = client.post("/list-reservations", json={"userId": "U1001", "cursor": address_cursor})
    assert fields(error_of(reply, 400, "invalid_cursor")) == ["cursor"]
