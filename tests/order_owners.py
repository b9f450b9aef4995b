"""The agents an order's facts belong to (catalog, inventory, payment, loyalty), in process, for fulfillment tests.

``OrderOwners`` starts each owner on a fresh database, routes its contract URL into it (``responses``), and gives
the fulfillment app clients for them. Tests make real payments and holds through it and read the owners' own
records back: payment status and refunds, stock levels, points balances and coupon uses.
"""

from __future__ import annotations

import itertools
from typing import Any

import responses

from agentkit import AgentClient
from support import route_to_app

OWNER_AGENTS = ("inventory", "recommendation", "payment", "loyalty")
GOOD_CARD = {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"}
POOR_CARD = {"number": "4111111111111111", "expMonth": 12, "expYear": 2030, "cvc": "123"}  # insufficient funds
_keys = itertools.count(1)


class OrderOwners:
    def __init__(self, make_app, tag: str = ""):
        self.urls = {name: f"http://{name}.owners{tag}.test" for name in OWNER_AGENTS}
        # Loyalty reads the orders it credits points for from fulfillment: the app under test (serve_fulfillment).
        self.fulfillment_url = f"http://fulfillment.owners{tag}.test"
        loyalty_clients = {"fulfillment": AgentClient("fulfillment", base_url=self.fulfillment_url, retries=0)}
        self.apps = {
            name: make_app(name, tag=f"owner{tag}", **({"clients": loyalty_clients} if name == "loyalty" else {}))
            for name in OWNER_AGENTS
        }
        self.rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
        for name, app in self.apps.items():
            route_to_app(self.rsps, self.urls[name], app)
        self.rsps.start()

    def serve_fulfillment(self, app) -> None:
        """Route the fulfillment URL the owners call (loyalty reading orders) into ``app``."""
        route_to_app(self.rsps, self.fulfillment_url, app)

    def clients(self, retries: int = 0) -> dict[str, AgentClient]:
        return {name: AgentClient(name, base_url=url, retries=retries) for name, url in self.urls.items()}

    def close(self) -> None:
        self.rsps.stop()
        self.rsps.reset()

    # --- calls into one owner, as the caller its contract lists first (or the one given) --------------
    def post(self, agent: str, path: str, body: dict[str, Any], caller: str | None = None, **headers: str):
        client = self.apps[agent].test_client() if caller is None else self.apps[agent].test_client(caller=caller)
        return client.post(path, json=body, headers=headers or None)

    def ok(self, agent: str, path: str, body: dict[str, Any], caller: str | None = None) -> dict[str, Any]:
        reply = self.post(agent, path, body, caller)
        assert reply.status_code < 300, reply.get_json()
        return reply.get_json()

    # --- facts the tests set up ------------------------------------------------------------------------
    def pay(self, user: str, amount: float, card: dict[str, Any] = GOOD_CARD) -> dict[str, Any]:
        """A card payment as the sales service makes it; a declined card still leaves a failed payment."""
        reply = self.post(
            "payment",
            "/process-payment",
            {"userId": user, "amount": amount, "currency": "INR", "method": "card", "card": card},
            **{"Idempotency-Key": f"test-pay-{next(_keys)}"},
        )
        body = reply.get_json()
        if reply.status_code == 402:
            failed = self.ok("payment", "/list-payments", {"userId": user, "status": "failed", "limit": 1})
            return failed["payments"][0]
        assert reply.status_code == 201, body
        return body

    def hold(self, items: list[dict[str, Any]]) -> str:
        body = {
            "items": [{k: i[k] for k in ("productId", "size", "color", "quantity")} for i in items],
            "reference": f"test-{next(_keys)}",
        }
        return self.ok("inventory", "/create-hold", body)["holdId"]

    # --- reading the owners' records back ---------------------------------------------------------------
    def payment(self, payment_id: str) -> dict[str, Any]:
        return self.ok("payment", "/check-payment-status", {"paymentId": payment_id}, caller="operator")

    def stock(self, product_id: str = "P1001", size: str = "M", color: str = "Black") -> int:
        report = self.ok(
            "inventory",
            "/check-inventory",
            {"productId": product_id, "attributes": {"size": size, "color": color}},
            caller="operator",
        )
        return report["onlineStockLevel"]

    def hold_status(self, hold_id: str) -> str:
        return self.ok("inventory", "/get-hold", {"holdId": hold_id}, caller="operator")["status"]

    def member(self, user: str) -> dict[str, Any]:
        return self.ok("loyalty", "/get-member", {"userId": user, "activityLimit": 100}, caller="operator")

    def points(self, user: str) -> int:
        return self.member(user)["pointsBalance"]

    def category(self, product_id: str) -> str:
        return self.ok("recommendation", "/get-product", {"productId": product_id})["category"]

    def coupon_price(self, user: str, code: str, items: list[dict[str, Any]]) -> float:
        """What loyalty says a coupon takes off these items, by their catalog categories (priced, not used)."""
        amount = round(sum(i["quantity"] * i["unitPrice"] for i in items), 2)
        lines = [
            {
                "productId": i["productId"],
                "category": self.category(i["productId"]),
                "amount": round(i["quantity"] * i["unitPrice"], 2),
            }
            for i in items
        ]
        categories = sorted({line["category"] for line in lines})
        priced = self.ok(
            "loyalty",
            "/apply-coupon",
            {"userId": user, "couponCode": code, "cartAmount": amount, "items": lines, "categories": categories},
        )
        return priced["discountAmount"]

    def coupon_usable(self, user: str, code: str, amount: float, category: str = "jackets") -> bool:
        offers = self.ok(
            "loyalty", "/get-applicable-offers", {"userId": user, "cartAmount": amount, "categories": [category]}
        )
        return any(o["code"] == code and o["isApplicable"] for o in offers["offers"])


JACKET_LINE = {  # an order line: one Alpine Puffer Jacket, M, Black, at the catalog's price
    "productId": "P1001",
    "sku": "P1001-BLACK-M",
    "name": "Alpine Puffer Jacket",
    "size": "M",
    "color": "Black",
    "quantity": 1,
    "unitPrice": 4999,
}


def error_of(reply, status: int, code: str | None = None) -> dict:
    """The error envelope of a refusal with this status (and code)."""
    body = reply.get_json()
    assert reply.status_code == status, body
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def fields(error: dict) -> list[str]:
    return [d["field"] for d in error["details"]]
