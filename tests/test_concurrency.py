"""No oversell: many concurrent holds against a variant with 10 units, served by 2 gunicorn workers on
loopback, on SQLite and (with TEST_DATABASE=postgres) PostgreSQL."""

from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor

import requests

from support import auth_headers, served

JACKET = {"productId": "P1002", "size": "L", "color": "Black"}
ATTEMPTS = 200


def online_level(base: str) -> int:
    body = {"productId": JACKET["productId"], "attributes": {"size": JACKET["size"], "color": JACKET["color"]}}
    reply = requests.post(f"{base}/check-inventory", json=body, headers=auth_headers("sales"), timeout=10)
    return reply.json()["onlineStockLevel"]


def set_online_level(base: str, target: int) -> None:
    missing = target - online_level(base)
    assert missing > 0, "the seed keeps this variant low on purpose"
    requests.post(
        f"{base}/restock",
        json={**JACKET, "locationId": "WH-MUM", "quantity": missing, "reason": "concurrency test"},
        headers=auth_headers("operator"),
        timeout=10,
    ).raise_for_status()
    assert online_level(base) == target


def test_200_concurrent_holds_on_10_units_sell_exactly_10(tmp_path):
    with served(tmp_path, ["inventory"], workers=2) as urls:
        base = urls["inventory"]
        set_online_level(base, 10)

        sales = auth_headers("sales")

        def hold(_):
            with requests.Session() as session:
                body = {"items": [{**JACKET, "quantity": 1}]}
                reply = session.post(f"{base}/create-hold", json=body, headers=sales, timeout=60)
                return reply.status_code, reply.json()

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(hold, range(ATTEMPTS)))
        statuses = collections.Counter(status for status, _ in results)
        assert statuses == {201: 10, 409: ATTEMPTS - 10}, statuses
        refusals = {body["error"]["code"] for status, body in results if status == 409}
        assert refusals == {"insufficient_stock"}
        assert online_level(base) == 0
        history = requests.post(
            f"{base}/get-stock-history", json={**JACKET, "limit": 500}, headers=auth_headers("operator"), timeout=10
        ).json()["entries"]
        assert all(entry["newLevel"] >= 0 for entry in history)
        assert sum(1 for e in history if e["reason"].startswith("hold ")) == 10


PAYMENT = {
    "userId": "U1003",
    "amount": 2499,
    "currency": "INR",
    "method": "card",
    "card": {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"},
}


def test_50_concurrent_payments_with_one_key_charge_once(tmp_path):
    with served(tmp_path, ["payment"], workers=2) as urls:
        base = urls["payment"]
        sales = auth_headers("sales")

        def before_count():
            return len(
                requests.post(
                    f"{base}/list-payments", json={"userId": "U1003", "limit": 100}, headers=sales, timeout=10
                ).json()["payments"]
            )

        existing = before_count()

        def pay(_):
            reply = requests.post(
                f"{base}/process-payment",
                json=PAYMENT,
                headers={**sales, "Idempotency-Key": "checkout-CHK-concurrency-1"},
                timeout=60,
            )
            return reply.status_code, reply.json()

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(pay, range(50)))
        assert {status for status, _ in results} == {201}, collections.Counter(s for s, _ in results)
        assert len({body["paymentId"] for _, body in results}) == 1
        assert before_count() == existing + 1

        other_body = requests.post(
            f"{base}/process-payment",
            json={**PAYMENT, "amount": 2500},
            headers={**sales, "Idempotency-Key": "checkout-CHK-concurrency-1"},
            timeout=10,
        )
        assert other_body.status_code == 409
        assert other_body.json()["error"]["code"] == "idempotency_key_reused"
        assert before_count() == existing + 1


def test_concurrent_store_reservations_never_oversell_the_store(tmp_path):
    with served(tmp_path, ["inventory", "fulfillment"], workers=2) as urls:
        variant = {"productId": "P1001", "size": "M", "color": "Black"}
        sales = auth_headers("sales")
        report = requests.post(
            f"{urls['inventory']}/check-inventory",
            json={
                "productId": "P1001",
                "attributes": {"size": "M", "color": "Black"},
                "locationContext": {"city": "Mumbai"},
            },
            headers=sales,
            timeout=10,
        ).json()
        in_store = {s["storeId"]: s["stockLevel"] for s in report["availableStores"]}["ST-MUM-01"]

        def reserve(_):
            reply = requests.post(
                f"{urls['fulfillment']}/reserve-in-store",
                json={"userId": "U1002", **variant, "storeId": "ST-MUM-01", "quantity": 1},
                headers=sales,
                timeout=60,
            )
            return reply.status_code

        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = collections.Counter(pool.map(reserve, range(60)))
        assert statuses == {201: in_store, 409: 60 - in_store}, statuses
        after = requests.post(
            f"{urls['inventory']}/check-inventory",
            json={
                "productId": "P1001",
                "attributes": {"size": "M", "color": "Black"},
                "locationContext": {"city": "Mumbai"},
            },
            headers=sales,
            timeout=10,
        ).json()
        assert "ST-MUM-01" not in {s["storeId"] for s in after["availableStores"]}
