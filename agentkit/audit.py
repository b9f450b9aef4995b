"""The integrity audit: every agent's records, read through their contracts as the operator, checked against each
other. ``python -m agentkit.audit`` (``make audit``) prints each finding and exits 1 when there are any.

What it checks (each agent owns its data; the audit only reads, through the operator-only listings):

- every order has one payment (payment agent) that succeeded, is the order's shopper's, is for the order's total
  to the paisa and is no other order's; a cancelled order's payment is refunded in full;
- every charge that still holds money belongs to an order (no charge without an order);
- every order's stock hold (inventory agent) is committed, to that order, with the order's SKUs and quantities;
  a cancelled order's hold is not left active;
- points (loyalty agent): an order of a member earned exactly once, for that member; a cancelled order's earnings
  are each reversed; no points are earned for an order that does not exist;
- every refund has a reason, and a payment's refundedAmount is the sum of its refunds;
- no active hold is past its expiry (its TTL);
- every points balance is non-negative.

Orders placed before holds existed carry no hold (``holdId`` null): their stock cannot be checked and is not a
finding. ``--grace SECONDS`` leaves out charges younger than that (a checkout between paying and ordering); the
default 0 is for a shop at rest, which is how the tests and the reconciler's "zero findings" are meant.

Exit status: 0 no findings, 1 findings, 2 an agent could not be read (nothing can be concluded).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable

from . import clock
from .client import AgentCallError, AgentClient

PAGE = 500
# (agent, operation, the list in its answer)
LISTINGS = {
    "orders": ("fulfillment", "listAllOrders", "orders"),
    "payments": ("payment", "listAllPayments", "payments"),
    "holds": ("inventory", "listHolds", "holds"),
    "members": ("loyalty", "listMembers", "members"),
    "ledger": ("loyalty", "listLedger", "entries"),
}
HOLDING_MONEY = ("succeeded", "partially_refunded")
PAID = ("succeeded", "partially_refunded", "refunded")


@dataclass(frozen=True)
class Finding:
    check: str  # payment, stock, points, refund, hold, balance
    subject: str  # the record it is about, e.g. ORD-100012 or PAY-7K3M9Q2X
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.message}"


@dataclass
class Snapshot:
    """Everything the audit reads, as the owning agents answered."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _read_all(client: AgentClient, operation: str, key: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        answer = client.call(operation, {"offset": offset, "limit": PAGE})
        found.extend(answer[key])
        offset = answer["nextOffset"]
    return found


def collect(clients: dict[str, AgentClient] | None = None) -> Snapshot:
    """Read every listing as the operator (raises AgentCallError when an agent cannot be read)."""
    clients = clients or {}
    snapshot = Snapshot()
    for attribute, (agent, operation, key) in LISTINGS.items():
        client = clients.get(agent) or AgentClient(agent, caller="operator")
        setattr(snapshot, attribute, _read_all(client, operation, key))
    return snapshot


def _by_id(rows: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in rows}


def check_payments(snapshot: Snapshot, now: datetime, grace_seconds: float = 0) -> list[Finding]:
    found: list[Finding] = []
    payments = _by_id(snapshot.payments, "paymentId")
    orders_of_payment: dict[str, list[str]] = defaultdict(list)
    for order in snapshot.orders:
        orders_of_payment[order["paymentId"]].append(order["orderId"])
    for order in snapshot.orders:
        oid, pid = order["orderId"], order["paymentId"]
        paid = payments.get(pid)
        if paid is None:
            found.append(Finding("payment", oid, f"its payment {pid} does not exist"))
            continue
        if len(orders_of_payment[pid]) > 1:
            found.append(
                Finding("payment", oid, f"payment {pid} is also the payment of {sorted(orders_of_payment[pid])}")
            )
        if paid["status"] not in PAID:
            found.append(Finding("payment", oid, f"payment {pid} is {paid['status']}, not succeeded"))
            continue
        if paid["userId"] != order["userId"]:
            found.append(
                Finding("payment", oid, f"payment {pid} is {paid['userId']}'s, the order is {order['userId']}'s")
            )
        amount, total = _money(paid["amount"]), _money(order["total"])
        if amount != total:
            found.append(Finding("payment", oid, f"payment {pid} is for {amount}, the order's total is {total}"))
        refunded = _money(paid["refundedAmount"])
        if order["status"] == "cancelled" and refunded != amount:
            found.append(
                Finding("payment", oid, f"cancelled, but only {refunded} of payment {pid}'s {amount} refunded")
            )
    cutoff = clock.iso(now - timedelta(seconds=grace_seconds))
    for paid in snapshot.payments:
        pid = paid["paymentId"]
        left = _money(paid["amount"]) - _money(paid["refundedAmount"])
        if paid["status"] in HOLDING_MONEY and left > 0 and pid not in orders_of_payment:
            if clock.iso(clock.parse(paid["createdAt"])) <= cutoff:
                found.append(Finding("payment", pid, f"{left} charged to {paid['userId']} with no order"))
    return found


def check_refunds(snapshot: Snapshot) -> list[Finding]:
    found: list[Finding] = []
    for paid in snapshot.payments:
        pid, refunds = paid["paymentId"], paid["refunds"]
        for refund in refunds:
            if not (refund.get("reason") or "").strip():
                found.append(Finding("refund", pid, f"refund {refund['refundId']} of {refund['amount']} has no reason"))
        total = sum((_money(r["amount"]) for r in refunds), Decimal(0))
        if total != _money(paid["refundedAmount"]):
            found.append(
                Finding("refund", pid, f"refundedAmount {paid['refundedAmount']} but its refunds add up to {total}")
            )
        if _money(paid["refundedAmount"]) > _money(paid["amount"]):
            found.append(
                Finding("refund", pid, f"refunded {paid['refundedAmount']}, more than the {paid['amount']} paid")
            )
    return found


def check_stock(snapshot: Snapshot, now: datetime) -> list[Finding]:
    found: list[Finding] = []
    holds = _by_id(snapshot.holds, "holdId")
    for order in snapshot.orders:
        oid, hid = order["orderId"], order.get("holdId")
        if hid is None:
            continue  # placed before holds existed: nothing to check it against
        hold = holds.get(hid)
        if hold is None:
            found.append(Finding("stock", oid, f"its hold {hid} does not exist"))
            continue
        if order["status"] == "cancelled":
            if hold["status"] == "active":
                found.append(Finding("stock", oid, f"cancelled, but its hold {hid} is still active"))
            continue
        if hold["status"] != "committed":
            found.append(Finding("stock", oid, f"its hold {hid} is {hold['status']}, not committed"))
        if hold.get("orderId") not in (None, oid):
            found.append(Finding("stock", oid, f"its hold {hid} was committed to {hold['orderId']}"))
        held: Counter[str] = Counter()
        for line in hold["lines"]:
            held[line["sku"]] += line["quantity"]
        ordered: Counter[str] = Counter()
        for item in order["items"]:
            ordered[item["sku"]] += item["quantity"]
        if held != ordered:
            found.append(Finding("stock", oid, f"ordered {dict(ordered)} but hold {hid} has {dict(held)}"))
    moment = clock.iso(now)
    for hold in snapshot.holds:
        if hold["status"] == "active" and hold["expiresAt"] <= moment:
            found.append(
                Finding("hold", hold["holdId"], f"still active, expired at {hold['expiresAt']} ({hold['reference']})")
            )
    return found


def check_points(snapshot: Snapshot) -> list[Finding]:
    found: list[Finding] = []
    members = {m["userId"] for m in snapshot.members}
    orders = _by_id(snapshot.orders, "orderId")
    earned: dict[str, list[dict[str, Any]]] = defaultdict(list)
    reversed_: Counter[str] = Counter()
    for entry in snapshot.ledger:
        if entry["orderId"] is None:
            continue
        if entry["type"] == "earn":
            earned[entry["orderId"]].append(entry)
        elif entry["type"] == "reverse":
            reversed_[entry["orderId"]] += 1
    for oid, entries in earned.items():
        order = orders.get(oid)
        if order is None:
            points = sum(e["points"] for e in entries)
            found.append(Finding("points", oid, f"{points} points earned by {entries[0]['userId']} for no such order"))
            continue
        for entry in entries:
            if entry["userId"] != order["userId"]:
                found.append(
                    Finding("points", oid, f"points earned by {entry['userId']}, the order is {order['userId']}'s")
                )
    for order in snapshot.orders:
        oid = order["orderId"]
        if order["userId"] not in members:
            continue  # not a loyalty member: nothing to earn
        times = len(earned.get(oid, []))
        if order["status"] == "cancelled":
            # Each earning needs a reversal. Not "the points add up to zero": points already spent come back as a
            # debt the loyalty agent keeps, so the reversal entry may take back less than was earned.
            if times > reversed_[oid]:
                found.append(
                    Finding("points", oid, f"cancelled, but earned {times} times and reversed {reversed_[oid]}")
                )
        elif times != 1:
            found.append(Finding("points", oid, f"points earned {times} times, not once"))
    return found


def check_balances(snapshot: Snapshot) -> list[Finding]:
    return [
        Finding("balance", m["userId"], f"points balance is {m['pointsBalance']}")
        for m in snapshot.members
        if m["pointsBalance"] < 0
    ]


def audit(snapshot: Snapshot, now: datetime | None = None, grace_seconds: float = 0) -> list[Finding]:
    """Every finding in the snapshot, as of ``now`` (default: the current time)."""
    now = now or clock.now()
    return [
        *check_payments(snapshot, now, grace_seconds),
        *check_refunds(snapshot),
        *check_stock(snapshot, now),
        *check_points(snapshot),
        *check_balances(snapshot),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentkit.audit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--grace", type=float, default=0.0, metavar="SECONDS", help="ignore charges younger than this")
    parser.add_argument("--json", action="store_true", help="print the findings as one JSON document")
    args = parser.parse_args(argv)
    try:
        snapshot = collect()
    except AgentCallError as exc:
        print(f"audit incomplete: {exc.agent}.{exc.operation}: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    findings = audit(snapshot, grace_seconds=args.grace)
    counts = {name: len(getattr(snapshot, name)) for name in LISTINGS}
    if args.json:
        print(json.dumps({"checked": counts, "findings": [asdict(f) for f in findings]}, indent=1))
    else:
        for finding in findings:
            print(finding)
        checked = ", ".join(f"{n} {name}" for name, n in counts.items())
        print(f"{len(findings)} finding{'s' if len(findings) != 1 else ''} ({checked} checked)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
