"""``python -m sales_agent orders process FILE``: good orders become orders, bad ones are reported,
nothing half-done."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from sales_agent.cards import CardVault
from sales_agent.checkout import CheckoutWorkflow
from sales_agent.clients import Clients
from sales_agent.entrypoints import batch
from sales_agent.store import SalesStore
from support import WiredSystem, fresh_database_url

SALES_DIR = Path(__file__).resolve().parents[1]
GOOD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2028, "cvc": "123"}
ADDRESS = {"name": "Priya Sharma", "line1": "Flat 1202, Sea Breeze Towers", "city": "Mumbai", "postalCode": "400053"}

ORDERS = [
    {
        "userId": "U1001",
        "items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": 1}],
        "address": ADDRESS,
        "card": GOOD,
    },
    {
        "userId": "U1003",
        "items": [{"productId": "P1003", "size": "M", "color": "Maroon", "quantity": 2}],
        "card": {**GOOD, "number": "5555555555554444"},
    },
    {
        "userId": "U1002",
        "items": [{"productId": "P1001", "size": "L", "color": "Navy", "quantity": 1}],
        "card": {**GOOD, "number": "4111111111111111"},
    },  # insufficient funds
    {
        "userId": "U1004",
        "items": [{"productId": "P1006", "size": "M", "color": "Mustard", "quantity": 1}],
        "card": GOOD,
    },  # sold out
    {
        "userId": "U1005",
        "items": [{"productId": "P9999", "size": "M", "color": "Black", "quantity": 1}],
        "card": GOOD,
    },  # unknown product
    {"userId": "U1006", "items": [], "card": GOOD},  # no items
    {
        "userId": "U1007",
        "items": [{"productId": "P1011", "size": "L", "color": "Olive", "quantity": 1}],
        "card": {**GOOD, "number": "4242424242424241"},
    },  # fails the Luhn check
    {
        "userId": "U1008",
        "items": [{"productId": "P1012", "size": "M", "color": "Brown", "quantity": 1}],
        "card": {**GOOD, "number": "4000000000002222"},
    },  # ...2222 expired card
    {
        "userId": "U1001",
        "items": [{"productId": "P1005", "size": "M", "color": "Grey", "quantity": 1}],
        "upiId": "priya.sharma@okaxis",
        "fulfillment": "click_and_collect",
        "storeId": "ST-MUM-01",
    },
]


@pytest.fixture
def shop(tmp_path):
    wired = WiredSystem(tmp_path, tag="b")
    store = SalesStore(fresh_database_url("sales", tmp_path, "b"))
    workflow = CheckoutWorkflow(Clients(retries=0), store, CardVault())
    yield wired, workflow
    store.dispose()
    wired.close()


def level(wired, product_id, size, color):
    return (
        wired.client("inventory")
        .post("/check-inventory", json={"productId": product_id, "attributes": {"size": size, "color": color}})
        .get_json()["onlineStockLevel"]
    )


def succeeded_payments(wired, user):
    payments = (
        wired.client("payment").post("/list-payments", json={"userId": user, "limit": 100}).get_json()["payments"]
    )
    return [p for p in payments if p["status"] == "succeeded"]


def test_mixed_batch_prints_a_table_and_a_summary(shop, tmp_path):
    wired, workflow = shop
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(ORDERS))
    out = io.StringIO()
    code = batch.main(str(path), workflow=workflow, console=Console(file=out, width=220, color_system=None))
    assert code == 0  # it ran, although six orders failed
    text = out.getvalue()
    assert "9 orders: 3 placed" in text and "6 failed" in text
    assert text.count("ORD-1000") == 3 and "insufficient_funds" in text
    for number in ("4242424242424242", "5555555555554444", "4111111111111111"):
        assert number not in text


def test_mixed_batch_results_and_state(shop):
    wired, workflow = shop
    stock_before = {
        (i["productId"], i["size"], i["color"]): level(wired, i["productId"], i["size"], i["color"])
        for o in ORDERS
        for i in o["items"]
        if i["productId"] != "P9999"
    }
    paid_before = {o["userId"]: len(succeeded_payments(wired, o["userId"])) for o in ORDERS}
    results = batch.process_orders(ORDERS, workflow)
    ok = {r["index"]: r for r in results if r["ok"]}
    assert sorted(ok) == [1, 2, 9]
    reasons = {r["index"]: r["reason"] for r in results if not r["ok"]}
    assert "insufficient_funds" in reasons[3] and "expired_card" in reasons[8]
    assert "No product" in reasons[5] or "P9999" in reasons[5]
    assert reasons[6] == "items must be a non-empty list" and "not a valid card number" in reasons[7]
    assert reasons[4]

    for r in ok.values():  # good ones became orders, one charge each
        order = wired.client("fulfillment").post("/get-order", json={"orderId": r["orderId"]}).get_json()
        assert order["status"] == "confirmed" and order["paymentId"] == r["paymentId"]
    charges = {u: len(succeeded_payments(wired, u)) - paid_before[u] for u in paid_before}
    assert charges == {"U1001": 2, "U1003": 1, "U1002": 0, "U1004": 0, "U1005": 0, "U1006": 0, "U1007": 0, "U1008": 0}
    for order in ORDERS:  # stock down only for the good ones
        for item in order["items"]:
            key = (item["productId"], item["size"], item["color"])
            if key not in stock_before:
                continue
            index = ORDERS.index(order) + 1
            expected = stock_before[key] - (item["quantity"] if index in ok else 0)
            assert level(wired, *key) == expected, (index, key)
    declined = [r for r in results if r["index"] == 3][0]
    assert declined["charged"] is False and [u["step"] for u in declined["undo"]] == ["releaseHold"]


def test_json_output(shop, tmp_path, capsys):
    wired, workflow = shop
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"orders": ORDERS[:1] + [{"userId": "no body"}]}))
    assert batch.main(str(path), as_json=True, workflow=workflow) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed[0]["ok"] and printed[0]["orderId"].startswith("ORD-")
    assert printed[1] == {
        "index": 2,
        "userId": "no body",
        "ok": False,
        "reason": "userId must be a shopper id: 1 to 64 letters, digits or . _ : @ -",
        "items": [],
    }


@pytest.mark.parametrize("content", [None, "not json", '{"orders": 5}', '"text"'])
def test_unreadable_file_exits_2(tmp_path, content):
    path = tmp_path / "orders.json"
    if content is not None:
        path.write_text(content)
    env = dict(os.environ)
    run = subprocess.run(
        [sys.executable, "-m", "sales_agent", "orders", "process", str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "error" in run.stderr
