"""A process that dies mid-checkout leaves nothing behind: the sales service's reconciler, with no shopper
acting, cancels the order, refunds the charge and gives the stock back (issue 8, reproduction 15)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from agentkit import audit
from agentkit.client import AgentClient
from faults import AgentGroup, FaultProxy
from support import ROOT

AGENTS = ["fulfillment", "recommendation", "inventory", "post-purchase", "payment", "loyalty", "gift-wrapping"]
ORDER = {
    "userId": "U1004",
    "items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": 1}],
    "card": {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"},
}


def _until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


def _online_stock(inventory: AgentClient) -> int:
    stock = inventory.call("checkInventory", {"productId": "P1001", "attributes": {"size": "M", "color": "Black"}})
    return stock["onlineStockLevel"]


def test_a_checkout_whose_process_died_after_the_order_is_undone_by_the_reconciler(tmp_path):
    group = AgentGroup(
        tmp_path,
        [*AGENTS, "sales"],
        workers=1,
        tag="reconcile",
        extra_env={"SALES_RECONCILE_SECONDS": "1", "SALES_RECONCILE_STALE_SECONDS": "2"},
    )
    group.start()
    proxy = FaultProxy("fulfillment", group.urls["fulfillment"], delay=60)
    batch = None
    try:
        operator = {n: AgentClient(n, group.urls[n], caller="operator", read_timeout=30) for n in AGENTS}
        stock_before = _online_stock(operator["inventory"])
        proxy.arm("delay", "/create-order")  # the order is made; its answer is held while the buyer dies
        orders = tmp_path / "orders.json"
        orders.write_text(json.dumps([ORDER]))
        env = {**group.env, "FULFILLMENT_AGENT_URL": proxy.url, "AGENT_CALLER": "sales"}
        batch = subprocess.Popen(
            [sys.executable, "-m", "sales_agent", "orders", "process", str(orders), "--json"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        created = _until(lambda: proxy.responses("/create-order"), 120, "the order to be created")[0]
        os.kill(batch.pid, signal.SIGKILL)  # between the order and the rest of the checkout
        batch.wait(10)
        order_id, payment_id = created["orderId"], created["paymentId"]
        assert operator["payment"].call("checkPaymentStatus", {"paymentId": payment_id})["status"] == "succeeded"
        assert _online_stock(operator["inventory"]) == stock_before - 1

        # Nobody acts now; the sales service's reconciler (every 1 s, stale after 2 s) must settle it.
        def undone():
            payment = operator["payment"].call("checkPaymentStatus", {"paymentId": payment_id})
            order = operator["fulfillment"].call("getOrder", {"orderId": order_id})
            return payment["status"] == "refunded" and order["status"] == "cancelled" and (payment, order)

        payment, order = _until(undone, 60, "the reconciler to cancel and refund")
        assert payment["refundedAmount"] == payment["amount"]  # refunded once, in full
        assert _online_stock(operator["inventory"]) == stock_before
        # Cancelling the order already refunds it (fulfillment undoes it with every owner), so the money can be
        # back before the reconciler has finished the checkout's other undo steps and logged it.
        _until(lambda: "reconciled checkout" in group.log_path.read_text(), 60, "the reconciler to log the checkout")
        findings = audit.audit(audit.collect(operator))  # the shop at rest: every owner's records agree
        assert findings == [], [str(f) for f in findings]
    finally:
        if batch is not None and batch.poll() is None:
            batch.kill()
        proxy.close()
        group.stop()
