"""The checkout holds under faults: a seeded, randomised run of real checkouts against real agents.

N checkouts (``CHECKOUT_FAULT_RUNS``, default 300; ``make soak`` runs 2000) go through the real
``CheckoutWorkflow`` the way ``batch.py`` uses it (prepare + place, no model), in process, against the
agents under gunicorn on loopback, each behind a ``FaultProxy``. Every checkout gets random faults:
declined cards (…1111, …2222), the network-error card (…3333), an agent answering 503, a read timeout
(the proxy forwards, then holds the answer), and twice per run the fulfillment agent is killed with
SIGKILL mid-request and restarted on the same database. Twice per run the sales service itself dies: that
checkout runs in its own sales process (``python -m sales_agent orders process``), SIGKILLed once an agent
has done one of its steps. ``CHECKOUT_FAULT_SEED`` replays a run.

Afterwards nobody acts: the sales service's reconciler (``sales_agent.reconciler``) runs every
``RECONCILE_EVERY`` seconds and must bring the integrity audit to 0 findings within three intervals. Then
the invariants are read back from the agents' own APIs, and every database, WAL, log and the sales memory
store is scanned for a full card number or CVC.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from agentkit import AgentClient, audit, clock
from agentkit.client import CircuitBreaker
from faults import AgentGroup, FaultProxy, card_ending, files_to_scan, scan_for_secrets
from support import ROOT

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE", "sqlite") == "postgres",
    reason="the soak scans SQLite files; the agents' PostgreSQL path is covered elsewhere",
)

RUNS = int(os.environ.get("CHECKOUT_FAULT_RUNS", 300))
SEED = int(os.environ.get("CHECKOUT_FAULT_SEED") or random.SystemRandom().randrange(1, 10**9))
READ_TIMEOUT = 0.5  # the sales clients' read timeout
DELAY = 0.8  # what an armed proxy holds an answer for: past the read timeout
HOLD_TTL = 15  # short, so the end of the run can check that unreleased holds expired
SNAPSHOT_EVERY = 12  # list payments/orders/ledger this often, so the 100-row list limits never truncate
USERS = [f"U10{n:02d}" for n in range(1, 9)]
COUPONS = [None, None, None, "WELCOME10", "STYLE300", "WINTER20", "GOLD15", "RUN15", "FESTIVE1000", "DIWALI25"]
OUT_OF_STOCK = {
    "P1023-BLACK-34",
    "P1031-GOLD-XS",
    "P1036-WHITE-11",
    "P1041-TAN-7",
    "P1053-RED-XXL",
    "P1059-RED-ONESIZE",
}
SUCCESS_CARDS = ["4242", "4242", "5556", "8210", "0005"]
OPS = {  # the operations a checkout calls, per agent
    "inventory": ["/create-hold", "/commit-hold", "/release-hold"],
    "payment": ["/initiate-checkout", "/process-payment", "/refund-payment", "/list-payments"],
    "fulfillment": ["/get-delivery-options", "/create-order", "/cancel-order"],
    "loyalty": ["/get-applicable-offers", "/apply-coupon", "/redeem-loyalty-points", "/earn-points", "/reverse-points"],
    "recommendation": ["/get-product", "/get-shopper-profile"],
}
FULFILLMENT_OWNERS = ("inventory", "recommendation", "payment", "loyalty")
STORES = ["ST-MUM-01", "ST-DEL-01", "ST-BLR-01", "ST-CHE-01", "ST-KOL-01"]
MAIN = ["recommendation", "inventory", "payment", "loyalty"]
KILLABLE = "fulfillment"
# Where a checkout's own sales process is killed: right after the agent has done this step (in checkout order).
SALES_KILL_POINTS = [
    ("inventory", "/create-hold"),
    ("payment", "/process-payment"),
    ("fulfillment", "/create-order"),
    ("inventory", "/commit-hold"),
    ("loyalty", "/earn-points"),
]
NAMES_OF = {"503": "http_503", "delay": "read_timeout", "kill": "agent_killed"}  # proxy mode -> fault name
RECONCILE_EVERY = 6.0  # past the client's circuit-breaker cooldown, as the production default (60 s) is


def _plan(rng: random.Random, kill: bool) -> tuple[list[str], str, list[tuple]]:
    """Faults for one checkout: (fault names, the card's last four, proxy rules)."""
    names, rules, last4 = [], [], rng.choice(SUCCESS_CARDS)
    kind = rng.choices(
        ["none", "decline_insufficient", "decline_expired", "network_card", "http_503", "read_timeout"],
        weights=[22, 12, 12, 12, 24, 18],
    )[0]
    kinds = [kind] + ([rng.choice(["http_503", "read_timeout"])] if rng.random() < 0.12 else [])
    for kind in kinds:
        if kind == "none":
            continue
        names.append(kind)
        if kind == "decline_insufficient":
            last4 = "1111"
        elif kind == "decline_expired":
            last4 = "2222"
        elif kind == "network_card":
            last4 = "3333"
        else:
            agent = rng.choices(list(OPS), weights=[3, 3, 3, 3, 1])[0]
            path = rng.choice(OPS[agent] + [None])
            rules.append(
                (agent, "503" if kind == "http_503" else "delay", path, rng.choice([0, 0, 1]), rng.choice([1, 2, 2, 3]))
            )
    if kill:
        names.append("agent_killed")
        rules.append((KILLABLE, "kill", rng.choice(["/create-order", "/create-order", "/create-order", None]), 0, 1))
    # A kill that did not fire (the checkout stopped earlier) waits for the next checkout.
    return names, last4, rules


def _items(rng: random.Random, catalog: list[dict]) -> list[dict]:
    items = []
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        variant = rng.choice(catalog)
        items.append({**variant, "quantity": rng.choice([1, 1, 1, 2, 3])})
    return items


class Soak:
    def __init__(self, tmp_path: Path):
        from sales_agent.cards import CardVault
        from sales_agent.checkout import CheckoutWorkflow
        from sales_agent.clients import Clients
        from sales_agent.store import SalesStore

        self.tmp = tmp_path
        self.proxies: dict[str, FaultProxy] = {}
        self.store = None
        self.main = AgentGroup(tmp_path, MAIN, tag="main")
        # The killable agent (fulfillment) checks each order with the agents that own its facts, in the main group.
        owners = {f"{name.upper()}_AGENT_URL": self.main.urls[name] for name in FULFILLMENT_OWNERS}
        self.killable = AgentGroup(tmp_path, [KILLABLE], tag=KILLABLE, extra_env=owners)
        # Loyalty reads each order it credits points for from fulfillment, in the killable group.
        self.main.env["FULFILLMENT_AGENT_URL"] = self.killable.urls[KILLABLE]
        try:  # anything failing half-way must not leave agents running
            self._start(tmp_path, CardVault, SalesStore, CheckoutWorkflow, Clients)
        except BaseException:
            self.close()
            raise

    def _start(self, tmp_path, CardVault, SalesStore, CheckoutWorkflow, Clients) -> None:
        self.main.start()
        self.killable.start()
        self.direct_urls = {**self.main.urls, **self.killable.urls}
        self.proxies = {name: FaultProxy(name, url, DELAY) for name, url in self.direct_urls.items()}
        self.direct = {
            name: AgentClient(name, url, caller="operator", retries=3, read_timeout=30)
            for name, url in self.direct_urls.items()
        }
        (tmp_path / "sales").mkdir()
        self.clients = Clients(
            base_urls={n: p.url for n, p in self.proxies.items()}, read_timeout=READ_TIMEOUT, connect_timeout=1.0
        )
        self.store_url = f"sqlite:///{tmp_path / 'sales' / 'sales.db'}"
        self.store = SalesStore(self.store_url)
        self.fulfillment_killed = threading.Event()
        self.vault = CardVault()
        self.workflow = CheckoutWorkflow(self.clients, self.store, self.vault, hold_ttl=HOLD_TTL)
        self.payments: dict[str, dict] = {}
        self.orders: dict[str, dict] = {}
        self.ledger: dict[str, set] = {u: set() for u in USERS}
        self.baseline = {"payments": set(), "orders": set(), "ledger": {u: set() for u in USERS}}
        self.last_checkout_at = time.monotonic()
        self.snapshot(into_baseline=True)

    # -- reading the agents' own APIs ------------------------------------------------------------
    def snapshot(self, into_baseline: bool = False) -> None:
        for user in USERS:
            pays = self.direct["payment"].call("listPayments", {"userId": user, "limit": 100})["payments"]
            orders = self.direct["fulfillment"].call("listOrders", {"userId": user, "limit": 100})["orders"]
            member = self.direct["loyalty"].call("getMember", {"userId": user, "activityLimit": 100})
            entries = {tuple(sorted((k, v) for k, v in e.items())) for e in member["recentActivity"]}
            if into_baseline:
                self.baseline["payments"] |= {p["paymentId"] for p in pays}
                self.baseline["orders"] |= {o["orderId"] for o in orders}
                self.baseline["ledger"][user] |= entries
                continue
            self.payments.update({p["paymentId"]: p for p in pays if p["paymentId"] not in self.baseline["payments"]})
            self.orders.update({o["orderId"]: o for o in orders if o["orderId"] not in self.baseline["orders"]})
            self.ledger[user] |= entries - self.baseline["ledger"][user]

    def catalog(self, rng: random.Random) -> list[dict]:
        variants = []
        for n in range(1001, 1067):
            product = self.direct["recommendation"].call("getProduct", {"productId": f"P{n}"})
            variants += [
                {"productId": product["productId"], "size": v["size"], "color": v["color"]}
                for v in product["variants"]
                if v["sku"] not in OUT_OF_STOCK
            ]
        rng.shuffle(variants)
        return variants

    def arm(self, rules: list[tuple]) -> None:
        for agent, mode, path, skip, times in rules:
            self.proxies[agent].arm(mode, path, skip, times, on_kill=self.kill_fulfillment if mode == "kill" else None)

    def kill_fulfillment(self) -> None:
        self.killable.kill()
        self.fulfillment_killed.set()

    def restart_what_died(self) -> None:
        if self.fulfillment_killed.is_set():
            self.killable.restart()
            self.fulfillment_killed.clear()

    def checkout_in_a_process_that_dies(self, order: dict, agent: str, path: str, index: int) -> dict:
        """One checkout in its own sales process, SIGKILLed as soon as ``agent`` has done ``path``.

        Returns what the process reported when it lived to the end (the step was never reached)."""
        orders = self.tmp / f"orders-{index}.json"
        orders.write_text(json.dumps([order]))
        env = {
            **self.main.env,
            **{f"{n.upper().replace('-', '_')}_AGENT_URL": p.url for n, p in self.proxies.items()},
            "SALES_DATABASE_URL": self.store_url,
            "SALES_HOLD_TTL": str(HOLD_TTL),
            "SALES_RECONCILE_SECONDS": "0",
            "AGENT_CALLER": "sales",
            "VAR_DIR": str(self.tmp / "var-sales"),
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "sales_agent", "orders", "process", str(orders), "--json"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        killed = threading.Event()

        def kill_sales() -> None:
            os.kill(child.pid, signal.SIGKILL)
            killed.set()

        rule = self.proxies[agent].arm("kill", path, on_kill=kill_sales)
        try:
            out, _ = child.communicate(timeout=180)
        finally:
            self.proxies[agent].drop(rule)  # never fires in a later checkout, at a process long gone
            if child.poll() is None:
                child.kill()
        if killed.is_set():
            return {"salesKilled": f"{agent}{path}"}
        assert child.returncode == 0, f"the sales process exited {child.returncode} before being killed"
        row = json.loads(out)[0]
        return {"orderId": row["orderId"]} if row.get("ok") else {"error": {"message": row.get("reason")}}

    def close(self) -> None:
        try:
            for proxy in self.proxies.values():
                proxy.close()
            if self.store is not None:
                self.store.dispose()
        finally:
            try:
                self.killable.stop()
            finally:
                self.main.stop()


def run_soak(tmp_path: Path, runs: int, seed: int) -> dict:
    rng = random.Random(seed)
    print(f"\ncheckout fault soak: seed={seed} runs={runs} (replay: CHECKOUT_FAULT_SEED={seed})")
    started = time.monotonic()
    log_handler = logging.FileHandler(tmp_path / "sales-side.log")
    log_handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(log_handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    soak = Soak(tmp_path)
    try:
        catalog = soak.catalog(rng)
        kill_at = set(rng.sample(range(runs), k=min(runs, max(1, 2 * runs // 300))))
        spare = sorted(set(range(runs)) - kill_at)
        sales_kill_at = set(rng.sample(spare, k=min(len(spare), max(1, 2 * runs // 300))))
        faults, outcomes = Counter(), Counter()
        cards: dict[str, str] = {}  # number -> cvc
        results = []
        for index in range(runs):
            if index in sales_kill_at:
                outcome = _checkout_killed(soak, rng, catalog, cards, index)
                soak.restart_what_died()  # a fulfillment kill still pending may have fired in that checkout
                soak.last_checkout_at = time.monotonic()
                fired = Counter(NAMES_OF[mode] for p in soak.proxies.values() for mode in p.new_faults())
                if outcome.get("salesKilled"):  # its kill rule fired through a proxy: not an agent killed
                    fired.update({"agent_killed": -1, "sales_killed": 1})
                faults.update({name: 1 for name, n in fired.items() if n > 0})
                kind = "sales_killed" if "salesKilled" in outcome else "orders" if "error" not in outcome else "undone"
                outcomes[kind] += 1
                results.append({"index": index, "user": None, "faults": sorted(+fired), "outcome": outcome})
                continue
            names, last4, rules = _plan(rng, index in kill_at)
            soak.arm(rules)
            user = rng.choice(USERS)
            number, cvc = card_ending(rng, last4), f"{rng.randrange(100, 10000):03d}"
            cards[number] = cvc
            card = {
                "number": number,
                "expMonth": rng.randrange(1, 13),
                "expYear": rng.choice([2027, 2028, 2030]),
                "cvc": cvc,
            }
            fulfil = rng.random() < 0.15
            outcome = soak.workflow.run(
                user,
                _items(rng, catalog),
                card=card,
                coupon=rng.choice(COUPONS),
                points=rng.choice([0, 0, 0, 100, 250, 500, 2000]),
                fulfillment="click_and_collect" if fulfil else "ship_to_home",
                store_id=rng.choice(STORES) if fulfil else None,
            )
            for proxy in soak.proxies.values():
                proxy.disarm()
            soak.restart_what_died()
            soak.last_checkout_at = time.monotonic()
            fired = {n for n in names if n.startswith(("decline", "network"))}
            fired |= {NAMES_OF[mode] for p in soak.proxies.values() for mode in p.new_faults()}
            faults.update(fired)
            if outcome.get("unresolved"):
                outcomes["unresolved"] += 1
            elif "error" not in outcome:
                outcomes["orders"] += 1
            elif outcome["error"].get("declineCode"):
                outcomes["declined"] += 1
            else:
                outcomes["undone"] += 1
            results.append({"index": index, "user": user, "faults": sorted(fired), "outcome": outcome})
            if (index + 1) % SNAPSHOT_EVERY == 0:
                soak.snapshot()
        # Nobody acts now. What a killed sales process or a cut-off placement left open (unresolved orders,
        # charges without an order, points still pending) is settled by the sales service's reconciler.
        passes, findings = reconcile_until_the_audit_is_clean(soak, max_passes=3)
        outcomes["reconciler_passes"] = passes
        soak.snapshot()
        violations = check_invariants(soak, results)
        # The integrity audit anyone can run agrees: every owner's records match at rest.
        violations += [f"audit after {passes} reconciler passes: {finding}" for finding in findings]
        secrets = scan(soak, tmp_path, cards)
        elapsed = time.monotonic() - started
        line = (
            "faults: "
            + " ".join(
                f"{k}={faults[k]}"
                for k in (
                    "decline_insufficient",
                    "decline_expired",
                    "network_card",
                    "http_503",
                    "read_timeout",
                    "agent_killed",
                )
            )
            + f" sales_killed={faults['sales_killed']}"
            + f"; checkouts={runs} orders={outcomes['orders']} declined={outcomes['declined']} "
            f"undone={outcomes['undone']} unresolved_then_recovered={outcomes['unresolved']}; "
            f"audit clean after {outcomes['reconciler_passes']} reconciler passes of {RECONCILE_EVERY:.0f}s; "
            f"invariant violations: {len(violations)}; secrets found: {len(secrets)}; {elapsed:.0f}s"
        )
        print(line)
        for v in violations[:40]:
            print("  VIOLATION", v)
        for s in secrets[:20]:
            print("  SECRET", s)
        return {
            "violations": violations,
            "secrets": secrets,
            "line": line,
            "results": results,
            "faults": faults,
            "outcomes": outcomes,
        }
    finally:
        soak.close()
        root.removeHandler(log_handler)
        root.setLevel(old_level)
        log_handler.close()


def _checkout_killed(soak: Soak, rng: random.Random, catalog: list[dict], cards: dict[str, str], index: int) -> dict:
    user = rng.choice(USERS)
    number, cvc = card_ending(rng, rng.choice(SUCCESS_CARDS)), f"{rng.randrange(100, 10000):03d}"
    cards[number] = cvc
    fulfil = rng.random() < 0.15
    order = {
        "userId": user,
        "items": _items(rng, catalog),
        "card": {"number": number, "expMonth": 12, "expYear": 2030, "cvc": cvc},
        "fulfillment": "click_and_collect" if fulfil else "ship_to_home",
        **({"storeId": rng.choice(STORES)} if fulfil else {}),
        **({"coupon": c} if (c := rng.choice(COUPONS)) else {}),
    }
    agent, path = rng.choice(SALES_KILL_POINTS)
    return soak.checkout_in_a_process_that_dies(order, agent, path, index)


def reconcile_until_the_audit_is_clean(soak: Soak, max_passes: int) -> tuple[int, list]:
    """Run the reconciler as the sales service does, every RECONCILE_EVERY s; audit after each pass.

    Returns (passes run, the findings of the last audit); stops at the first clean audit."""
    from sales_agent.reconciler import Reconciler

    reconciler = Reconciler(lambda: soak.workflow, every=RECONCILE_EVERY, stale=RECONCILE_EVERY)
    findings: list = []
    for done in range(1, max_passes + 1):
        time.sleep(RECONCILE_EVERY)  # the reconciler's own interval: nobody calls it early
        try:
            reconciler.run_once()
        except Exception as exc:  # as the service's loop does: logged, tried again next interval
            logging.getLogger("soak").warning("reconciler pass %d failed: %s", done, exc)
        findings = audit.audit(audit.collect(soak.direct))
        if not findings:
            return done, []
    return max_passes, findings


# ---------------------------------------------------------------------------------------------
# invariants, read back from the agents
# ---------------------------------------------------------------------------------------------
CHARGED = ("succeeded", "partially_refunded", "refunded")
ORDER_REF = re.compile(r"\((ORD-[0-9A-Z]+)\)")


def check_invariants(soak: Soak, results: list[dict]) -> list[str]:
    d = soak.direct
    violations: list[str] = []
    # The snapshots are final: a payment or order changes only inside its own checkout, and every faulty
    # request (delayed or cut by a kill) had done its work upstream before that checkout returned.
    payments, orders = dict(soak.payments), dict(soak.orders)
    live = {oid: o for oid, o in orders.items() if o["status"] != "cancelled"}
    by_result = {r["outcome"].get("orderId"): r for r in results if r["outcome"].get("orderId")}
    live_payment_ids = {o["paymentId"] for o in live.values()}
    by_session = {}
    for r in results:
        stored = soak.store.checkout(r["outcome"]["checkoutId"]) if r["outcome"].get("checkoutId") else None
        if stored:
            by_session[stored["payment"].get("checkoutSessionId")] = r
    reported = {r["outcome"].get("checkoutId") for r in results}
    for stored in _checkouts(soak):  # the checkouts of sales processes that were killed: only the store knows them
        if stored["checkoutId"] not in reported and stored["payment"].get("checkoutSessionId") not in by_session:
            outcome = {"salesKilled": True, "checkoutId": stored["checkoutId"], "status": stored["status"]}
            killed = {"index": "?", "faults": ["sales_killed"], "outcome": outcome}
            by_session[stored["payment"].get("checkoutSessionId")] = killed

    # 1. every order: exactly one successful charge for its total, and its hold committed
    for oid, order in live.items():
        pay = payments.get(order["paymentId"]) or d["payment"].call(
            "checkPaymentStatus", {"paymentId": order["paymentId"]}
        )
        result = by_result.get(oid)
        placed = result is not None and "error" not in result["outcome"]
        if result is None:  # the checkout never heard of its order: which one made it?
            result = by_session.get(pay.get("checkoutSessionId"))
            # Its sales process died: the order may stand only if the reconciler finished that checkout.
            if result and result["outcome"].get("salesKilled"):
                placed = (soak.store.checkout(result["outcome"]["checkoutId"]) or {}).get("status") == "placed"
        if pay["status"] != "succeeded" or abs(pay["amount"] - order["total"]) > 0.005 or pay["refundedAmount"]:
            what = (
                f"order {oid} ({order['status']}, total {order['total']}) has payment {pay['paymentId']} "
                f"{pay['status']} amount {pay['amount']} refunded {pay['refundedAmount']}"
                f" [checkout result: {'placed' if placed else _why(result)}]"
            )
            violations.append(what)
        same = [
            p
            for p in payments.values()
            if p["status"] in CHARGED and p.get("checkoutSessionId") == pay.get("checkoutSessionId")
        ]
        if len(same) != 1:
            violations.append(f"order {oid}: {len(same)} charges for checkout session {pay.get('checkoutSessionId')}")
        hold = d["inventory"].call("getHold", {"holdId": order["holdId"]})
        if hold["status"] != "committed" or hold.get("orderId") != oid:
            violations.append(
                f"order {oid}: hold {order['holdId']} is {hold['status']} "
                f"(order {hold.get('orderId')}) [checkout result: {'placed' if placed else _why(result)}]"
            )
        if not placed:
            violations.append(f"order {oid} is {order['status']} but its checkout reported {_why(result)}")

    # 2. every successful charge without a (live) order was refunded in full
    for pid, pay in payments.items():
        if pay["status"] in ("succeeded", "partially_refunded") and pid not in live_payment_ids:
            made_by = by_session.get(pay.get("checkoutSessionId"))
            violations.append(
                f"payment {pid} ({pay['amount']}) is {pay['status']} with no live order"
                f" [checkout {made_by['index'] if made_by else '?'}, faults {made_by['faults'] if made_by else '?'}:"
                f" {_why(made_by)}; undo {made_by['outcome'].get('undo') if made_by else '?'}]"
            )
        if pay["status"] == "refunded" and abs(pay["refundedAmount"] - pay["amount"]) > 0.005:
            violations.append(f"payment {pid} refunded {pay['refundedAmount']} of {pay['amount']}")

    # 3. no hold left active past its expiry (every hold inventory handed out during the run)
    hold_ids = {r["holdId"] for r in soak.proxies["inventory"].responses("/create-hold") if r}
    hold_ids |= {o["holdId"] for o in orders.values() if o.get("holdId")}
    hold_ids |= {c["holdId"] for c in _checkouts(soak) if c.get("holdId")}
    wait = HOLD_TTL + 1.5 - (time.monotonic() - soak.last_checkout_at)
    time.sleep(max(0.0, min(wait, HOLD_TTL + 2)))
    now = clock.now_iso()
    left_active = 0
    for hid in sorted(hold_ids):
        hold = d["inventory"].call("getHold", {"holdId": hid})
        if hold["status"] == "active" and hold["expiresAt"] < now:
            left_active += 1
            violations.append(f"hold {hid} still active after its expiry {hold['expiresAt']}")
    soak.hold_count = len(hold_ids)

    # 4. loyalty: one earn per order; redeemed points of failed checkouts restored
    for user in USERS:
        entries = [dict(e) for e in soak.ledger[user]]
        earns = Counter(e["orderId"] for e in entries if e["type"] == "earn")
        restored = {e["reference"] for e in entries if e["type"] == "reverse" and e["points"] > 0 and e["reference"]}
        for oid, order in live.items():
            if order["userId"] == user and earns[oid] != 1:
                violations.append(f"order {oid}: earnPoints recorded {earns[oid]} times")
        for oid, order in orders.items():
            if order["userId"] == user and order["status"] == "cancelled":
                net = sum(
                    e["points"]
                    for e in entries
                    if e["orderId"] == oid and e["type"] in ("earn", "reverse") and not e["reference"]
                )
                if net:
                    violations.append(f"cancelled order {oid}: {net} earned points not taken back")
        for e in entries:
            if e["type"] != "redeem":
                continue
            match = ORDER_REF.search(e["description"])
            oid = match.group(1) if match else None
            if oid in live and e["reference"] in restored:
                violations.append(f"{user}: points redeemed on live order {oid} were given back ({e['reference']})")
            if oid not in live and e["reference"] not in restored:
                violations.append(
                    f"{user}: {-e['points']} points redeemed ({e['reference']}, order {oid}) "
                    "by a failed checkout were never restored"
                )
    return violations


def _checkouts(soak: Soak) -> list[dict]:
    import sqlalchemy as sa

    from sales_agent.store import checkouts

    with soak.store.db.read() as conn:
        rows = conn.execute(sa.select(checkouts.c.checkout_id)).all()
    return [soak.store.checkout(r[0]) for r in rows]


def _why(result: dict | None) -> str:
    if result is None:
        return "no result"
    error = result["outcome"].get("error") or {}
    return (
        f"failed at {error.get('failedStep')}: {error.get('agent')}.{error.get('operation')} {error.get('code')}; "
        f"undo {[(u['step'], u['ok']) for u in result['outcome'].get('undo', [])]}; faults {result['faults']}"
    )


# ---------------------------------------------------------------------------------------------
# issue item 8: no card number or CVC anywhere on disk
# ---------------------------------------------------------------------------------------------
def scan(soak: Soak, tmp_path: Path, cards: dict[str, str]) -> list[str]:
    from sales_agent.testing import session_for_tests

    # The chat path too: a few of the run's cards typed into a real session, so the memory store is written.
    chat_dir = tmp_path / "sales"
    session = session_for_tests(
        chat_dir,
        database_url=f"sqlite:///{chat_dir / 'chat.db'}",
        memory_url=str(chat_dir / "sales-memory.db"),
        clients=soak.clients,
    )
    try:
        for number, cvc in list(cards.items())[:3]:
            session.send(
                "U1001", f"add the first jacket, I'll pay with card {number} exp 12/29 cvc {cvc}", channel="test"
            )
            session.send(
                "U1001",
                f"my card is {' '.join(number[i : i + 4] for i in range(0, 16, 4))} expiry 11/30 cvv {cvc}",
                channel="test",
            )
    finally:
        close = getattr(session, "close", None)
        if close:
            close()
    files = files_to_scan([tmp_path])
    assert any(f.name == "sales-memory.db" for f in files), files
    assert any(f.suffix == ".log" for f in files)
    return scan_for_secrets(files, set(cards), set(cards.values()))


# ---------------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------------
def test_checkout_survives_random_faults(tmp_path):
    report = run_soak(tmp_path, RUNS, SEED)
    assert report["outcomes"]["orders"] > 0 and report["outcomes"]["undone"] > 0
    assert not report["secrets"], report["secrets"][:10]
    assert not report["violations"], f"seed {SEED}: " + "\n".join(report["violations"][:20])


def test_a_sales_process_killed_after_each_step_is_settled_by_the_reconciler(tmp_path):
    """Issue 8, reproduction 15, at every step: the shopper's sales process dies right after an agent did it."""
    soak = Soak(tmp_path)
    try:
        rng = random.Random(5)
        catalog = soak.catalog(rng)
        results = []
        for index, (agent, path) in enumerate(SALES_KILL_POINTS):
            order = {
                "userId": USERS[index],
                "items": [{**catalog[index], "quantity": 1}],
                "card": {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"},
                "coupon": "WELCOME10",
            }
            outcome = soak.checkout_in_a_process_that_dies(order, agent, path, index)
            assert outcome == {"salesKilled": f"{agent}{path}"}, outcome  # it died at that step
            results.append({"index": index, "user": USERS[index], "faults": ["sales_killed"], "outcome": outcome})
        soak.last_checkout_at = time.monotonic()
        passes, findings = reconcile_until_the_audit_is_clean(soak, max_passes=3)
        assert findings == [], [str(f) for f in findings]
        soak.snapshot()
        assert check_invariants(soak, results) == []
        statuses = Counter(c["status"] for c in _checkouts(soak))
        # Died before paying: never placed. Died after paying: undone, or finished if the order was committed.
        assert statuses["placing"] == statuses["recovering"] == 0, statuses
        assert statuses["failed"] + statuses["placed"] >= len(SALES_KILL_POINTS) - 1, statuses
    finally:
        soak.close()


def test_order_created_but_answer_lost_is_not_left_paid_for_nothing(tmp_path):
    soak = Soak(tmp_path)
    try:
        catalog = soak.catalog(random.Random(1))
        soak.proxies["fulfillment"].arm("delay", "/create-order", times=2)  # both attempts time out, after the work
        outcome = soak.workflow.run(
            "U1002",
            [{**catalog[0], "quantity": 1}],
            card={"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"},
        )
        soak.proxies["fulfillment"].disarm()
        time.sleep(DELAY)
        soak.snapshot()
        orders = [soak.direct["fulfillment"].call("getOrder", {"orderId": oid}) for oid in soak.orders]
        live = [o for o in orders if o["status"] != "cancelled"]
        for order in live:  # an order that stands must be paid and own its stock
            pay = soak.direct["payment"].call("checkPaymentStatus", {"paymentId": order["paymentId"]})
            hold = soak.direct["inventory"].call("getHold", {"holdId": order["holdId"]})
            assert pay["status"] == "succeeded", (order["orderId"], pay["status"], outcome.get("error"))
            assert hold["status"] == "committed", (order["orderId"], hold["status"])
        assert ("error" in outcome) == (not live)
    finally:
        soak.close()


def test_a_refund_that_fails_during_the_undo_is_retried_until_it_goes_through(tmp_path):
    soak = Soak(tmp_path)
    try:
        catalog = soak.catalog(random.Random(3))
        card = {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"}
        # The order cannot be created (an order that was would refund itself when cancelled); then undone.
        soak.proxies["fulfillment"].arm("503", "/create-order", times=10)
        soak.proxies["payment"].arm("503", "/refund-payment", times=10)  # and the refund fails too
        outcome = soak.workflow.run("U1005", [{**catalog[0], "quantity": 1}], card=card, coupon="WELCOME10")
        for proxy in soak.proxies.values():
            proxy.disarm()
        assert outcome.get("charged") is True and outcome.get("refunded") is False, outcome
        paid = soak.direct["payment"].call("listPayments", {"userId": "U1005", "limit": 5})["payments"][0]
        assert paid["status"] == "succeeded"
        stored = soak.store.checkout(outcome["checkoutId"])
        assert stored["status"] == "placing"  # left open for the reconciler, not closed as "failed"
        time.sleep(CircuitBreaker().cooldown + 1)  # the breakers the faults tripped have closed
        soak.workflow.recover_stale(None, older_than=0)
        after = soak.direct["payment"].call("checkPaymentStatus", {"paymentId": paid["paymentId"]})
        assert after["status"] == "refunded" and after["refundedAmount"] == after["amount"], after
        assert soak.store.checkout(outcome["checkoutId"])["status"] == "failed"
        soak.workflow.recover_stale(None, older_than=0)  # nothing left to do: refunded once
        again = soak.direct["payment"].call("checkPaymentStatus", {"paymentId": paid["paymentId"]})
        assert len(again["refunds"]) == 1, again["refunds"]
    finally:
        soak.close()


def test_points_pending_are_credited_later(tmp_path):
    soak = Soak(tmp_path)
    try:
        catalog = soak.catalog(random.Random(2))
        card = {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"}
        soak.proxies["loyalty"].arm("503", "/earn-points", times=2)  # the first try and the client's retry
        first = soak.workflow.run("U1003", [{**catalog[0], "quantity": 1}], card=card)
        soak.proxies["loyalty"].disarm()
        assert first.get("pointsPending") is True, first
        soak.workflow.recover_stale("U1003", older_than=0)
        second = soak.workflow.run("U1003", [{**catalog[1], "quantity": 1}], card=card)  # the shopper comes back
        assert "error" not in second, second
        member = soak.direct["loyalty"].call("getMember", {"userId": "U1003", "activityLimit": 20})
        earned = [e for e in member["recentActivity"] if e["type"] == "earn" and e["orderId"] == first["orderId"]]
        assert len(earned) == 1, member["recentActivity"][:5]
    finally:
        soak.close()


def test_get_hold_reports_an_expired_hold_as_expired(make_app):
    client = make_app("inventory").test_client()
    made = client.post(
        "/create-hold",
        json={
            "items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": 1}],
            "ttlSeconds": 1,
            "reference": "CO-EXPIRY",
        },
    )
    assert made.status_code in (200, 201), made.get_json()
    time.sleep(1.2)  # past the hold's expiry
    hold = client.post("/get-hold", json={"holdId": made.get_json()["holdId"]}).get_json()
    assert hold["status"] == "expired", hold


def test_the_secret_scan_finds_what_it_looks_for(tmp_path):
    """The scan is only worth its 'none found' if it finds a planted card number and CVC."""
    number = card_ending(random.Random(3), "1111")
    (tmp_path / "a.log").write_text(f"charging {number} now\n")
    (tmp_path / "b.db-wal").write_bytes(b'\x00{"cvc": "4821"}\x00')
    (tmp_path / "c.log").write_text(f"card {' '.join(number[i : i + 4] for i in range(0, 16, 4))}; last4 1111 only\n")
    (tmp_path / "d.db").write_bytes(b"card_ending_1111 visa 1111 cvc removed 4821")  # harmless: no label+value
    found = scan_for_secrets(files_to_scan([tmp_path]), {number}, {"4821"})
    assert sorted(f.split(":")[0].rsplit("/", 1)[-1] for f in found) == ["a.log", "b.db-wal", "c.log"], found
    assert card_ending(random.Random(4), "3333").endswith("3333")
