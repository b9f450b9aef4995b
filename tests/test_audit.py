"""The integrity audit (python -m agentkit.audit) against every agent in process: a shop at rest and after a normal
checkout has no findings; each planted inconsistency is found, named by the record it is about.

Plants are made through the agents' APIs where an API can make them (a charge with no order, a hold left active,
a refund whose reason is blank); the ones no API should be able to make any more (an order whose payment does not
exist, points earned twice, a negative balance, an order's hold released) are written into the owner's database,
as an old bug or a half-done undo would have left them. Either way the audit only reads through the APIs.
"""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest
import sqlalchemy as sa
from shops import JACKET, USER, WiredShop

from agentkit import audit, clock

CARD = "4242 4242 4242 4242 exp 12/30 cvc 123"
PAY_CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123", "holderName": "Priya Sharma"}


class Shop(WiredShop):
    def __init__(self, tmp_path):
        super().__init__(tmp_path, "audit")

    post = functools.partialmethod(WiredShop.post, expect_ok=True)  # every call here must succeed

    def checkout(self) -> dict:
        self.vault.redact(USER, CARD)
        self.store.add_line(USER, dict(JACKET))
        return self.place(card_ref="card_ending_4242")

    def charge_without_order(self, amount=999) -> str:
        session = self.post("payment", "/initiate-checkout", {"userId": "U1002", "amount": amount, "currency": "INR"})
        paid = self.post(
            "payment",
            "/process-payment",
            {
                "userId": "U1002",
                "amount": amount,
                "currency": "INR",
                "method": "card",
                "card": PAY_CARD,
                "checkoutSessionId": session["checkoutSessionId"],
            },
            headers={"Idempotency-Key": "audit-" + session["checkoutSessionId"]},
        )
        assert paid["status"] == "succeeded", paid
        return paid["paymentId"]

    def db(self, agent):
        return self.wired.apps[agent].db


@pytest.fixture
def shop(tmp_path):
    s = Shop(tmp_path)
    yield s
    s.close()


def findings(now=None, grace=0):
    return audit.audit(audit.collect(), now=now, grace_seconds=grace)


def about(found, check):
    return {(f.check, f.subject) for f in found if f.check == check}


def test_the_seeded_shop_and_a_normal_checkout_have_no_findings(shop):
    assert findings() == []
    placed = shop.checkout()
    snapshot = audit.collect()
    # The audit saw the checkout in every owner's records: the order, its payment, its committed hold, its points.
    order = next(o for o in snapshot.orders if o["orderId"] == placed["orderId"])
    assert any(p["paymentId"] == placed["paymentId"] for p in snapshot.payments)
    assert any(h["holdId"] == order["holdId"] and h["status"] == "committed" for h in snapshot.holds)
    assert any(e["orderId"] == placed["orderId"] and e["type"] == "earn" for e in snapshot.ledger)
    assert audit.audit(snapshot) == []


def test_a_charge_with_no_order_is_found(shop):
    payment_id = shop.charge_without_order()
    found = findings()
    assert about(found, "payment") == {("payment", payment_id)}
    assert "with no order" in str(found[0])
    assert findings(grace=3600) == []  # a charge a minute old may be a checkout between paying and ordering
    shop.post("payment", "/refund-payment", {"paymentId": payment_id, "reason": "no order"}, caller="operator")
    assert findings() == []  # refunded in full: nothing held without an order


def test_an_active_hold_past_its_ttl_is_found(shop):
    hold = shop.post(
        "inventory",
        "/create-hold",
        {
            "items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": 1}],
            "ttlSeconds": 60,
            "reference": "abandoned",
        },
    )
    assert findings() == []  # active within its TTL: a checkout in progress
    later = clock.now() + timedelta(seconds=120)
    found = findings(now=later)
    assert about(found, "hold") == {("hold", hold["holdId"])}
    assert "still active" in str(found[0]) and "abandoned" in str(found[0])


def test_a_refund_with_a_blank_reason_is_found(shop):
    refund = shop.post(
        "payment", "/refund-payment", {"paymentId": "PAY-7K3M9Q2X", "amount": 100, "reason": "   "}, caller="operator"
    )
    found = findings()
    assert about(found, "refund") == {("refund", "PAY-7K3M9Q2X")}
    assert refund["refundId"] in str(found[0]) and "no reason" in str(found[0])


def test_planted_corruption_is_each_found(shop):
    placed = shop.checkout()
    order_id, seeded = placed["orderId"], "ORD-100002"  # ORD-100002 is U1001's, delivered, paid, earned once
    from fulfillment_agent import storage as fulfillment
    from inventory_agent import storage as inventory
    from loyalty_agent import storage as loyalty

    with shop.db("fulfillment").write() as conn:
        conn.execute(
            fulfillment.orders.update().where(fulfillment.orders.c.order_id == seeded).values(payment_id="PAY-GONE0000")
        )
        hold_id = conn.execute(
            sa.select(fulfillment.orders.c.hold_id).where(fulfillment.orders.c.order_id == order_id)
        ).scalar()
    with shop.db("inventory").write() as conn:
        conn.execute(inventory.holds.update().where(inventory.holds.c.hold_id == hold_id).values(status="released"))
    with shop.db("loyalty").write() as conn:
        conn.execute(
            loyalty.ledger.insert().values(
                user_id=USER,
                type="earn",
                points=117,
                balance_after=0,
                order_id=order_id,
                reference=None,
                description="earned again",
                at=clock.now_iso(),
            )
        )
        conn.execute(  # earned again on a cancelled order (ORD-100008, earned and reversed once in the seed)
            loyalty.ledger.insert().values(
                user_id="U1006",
                type="earn",
                points=30,
                balance_after=0,
                order_id="ORD-100008",
                reference=None,
                description="earned after the cancel",
                at=clock.now_iso(),
            )
        )
        conn.execute(
            loyalty.ledger.insert().values(
                user_id="U1006",
                type="earn",
                points=1_000_000,
                balance_after=0,
                order_id="ORD-999999",
                reference=None,
                description="minted",
                at=clock.now_iso(),
            )
        )

    snapshot = audit.collect()
    # The loyalty database refuses a negative balance (CHECK points_never_negative), so that one is planted in
    # what the audit read, to show the rule holds should another store or a future ledger allow one.
    next(m for m in snapshot.members if m["userId"] == "U1004")["pointsBalance"] = -5
    found = audit.audit(snapshot)
    text = "\n".join(map(str, found))
    assert ("payment", seeded) in about(found, "payment") and "PAY-GONE0000 does not exist" in text
    # Its real payment now holds money with no order pointing at it.
    assert ("payment", "PAY-4H8T2N6W") in about(found, "payment")
    assert about(found, "stock") == {("stock", order_id)} and "released, not committed" in text
    assert about(found, "points") == {("points", order_id), ("points", "ORD-999999"), ("points", "ORD-100008")}
    assert "earned 2 times" in text and "for no such order" in text and "earned 2 times and reversed 1" in text
    assert about(found, "balance") == {("balance", "U1004")}


def test_the_command_prints_each_finding_and_exits_non_zero(shop, capsys):
    assert audit.main([]) == 0
    assert capsys.readouterr().out.strip().startswith("0 findings")
    payment_id = shop.charge_without_order()
    assert audit.main([]) == 1
    out = capsys.readouterr().out
    assert f"[payment] {payment_id}:" in out and "1 finding " in out
    assert audit.main(["--grace", "3600"]) == 0


def test_the_listings_are_for_the_operator_only(shop):
    for agent, operation, _ in audit.LISTINGS.values():
        op = shop.wired.apps[agent].contract.operation(operation)
        assert op.callers == ("operator",), (agent, operation)
        refused = shop.wired.client(agent).as_caller("sales").post(op.path, json={})
        assert refused.status_code == 403, (agent, operation)
