"""The tools (sales_agent/tools/) against agents faked from their contracts with ``responses``.

Every tool: the requests it sends are contract-valid, and it turns a 2xx, a 4xx error envelope, a timeout
and a refused connection into JSON the model can use, never an exception.
"""

from __future__ import annotations

import pytest
from shops import JACKET, USER, FakeShop

from sales_agent import idempotency
from sales_agent.testing import FakeAgents, invoke_tool
from sales_agent.tools import TOOL_NAMES, build_tools


class Rig(FakeShop):
    def __init__(self, tmp_path):
        super().__init__(tmp_path, "tools")
        hold = FakeAgents.example(self.fake.contracts["inventory"].operation("createHold"))[1]
        self.fake.answer("inventory", "commitHold", 200, {**hold, "status": "committed", "orderId": "ORD-100012"})
        self.fake.answer("inventory", "releaseHold", 200, {**hold, "status": "released"})
        # createOrder's contract examples are refusals (a success needs a real payment to check); the fake
        # answers with the order getOrder's example shows, which is the same schema.
        order = FakeAgents.example(self.fake.contracts["fulfillment"].operation("getOrder"))[1]
        assert not self.fake.contracts["fulfillment"].operation("createOrder").response_problems(201, order)
        self.fake.answer("fulfillment", "createOrder", 201, order)


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    r.close()


def with_cart(rig):
    rig.store.add_line(USER, dict(JACKET))


def with_card(rig):
    rig.vault.redact(USER, "card 4242 4242 4242 4242 exp 12/28 cvc 123")


def with_quote(rig):
    with_cart(rig)
    with_card(rig)
    quote = rig.workflow.prepare(USER, card_ref="card_ending_4242")
    assert "error" not in quote, quote


# tool, arguments, setup, the operations to break (agent, operation)
CASES = [
    (
        "search_products",
        {
            "query": "winter jacket",
            "max_price": 6000,
            "category": "jackets",
            "size": "M",
            "color": "Black",
            "season": "winter",
        },
        None,
        [("recommendation", "searchProducts")],
    ),
    (
        "recommend_products",
        {"context": "product_view", "product_id": "P1001", "max_price": 8000},
        None,
        [("recommendation", "getRecommendations")],
    ),
    ("get_product_details", {"product_id": "P1001"}, None, [("recommendation", "getProduct")]),
    (
        "check_stock",
        {"product_id": "P1001", "size": "M", "color": "Black", "city": "Mumbai"},
        None,
        [("inventory", "checkInventory")],
    ),
    (
        "find_alternatives",
        {"product_id": "P1006", "size": "M", "color": "Mustard"},
        None,
        [("recommendation", "getAlternatives")],
    ),
    (
        "add_to_cart",
        {"product_id": "P1001", "size": "M", "color": "black", "quantity": 1},
        None,
        [("recommendation", "getProduct")],
    ),
    ("get_offers_and_points", {}, with_cart, [("loyalty", "getApplicableOffers")]),
    ("apply_coupon", {"code": "welcome10"}, with_cart, [("loyalty", "applyCoupon")]),
    ("redeem_points", {"points": 200}, with_cart, [("loyalty", "getMember")]),
    (
        "prepare_checkout",
        {"payment_method": "card", "card_ref": "card_ending_4242"},
        lambda r: (with_cart(r), with_card(r)),
        [("inventory", "createHold")],
    ),
    ("place_order", {}, with_quote, [("payment", "processPayment")]),
    (
        "reserve_in_store",
        {"product_id": "P1001", "size": "M", "color": "Black", "store_id": "ST-MUM-01"},
        None,
        [("fulfillment", "reserveInStore")],
    ),
    ("order_status", {"order_id": "ORD-100001"}, None, [("post-purchase", "getOrderStatus")]),
    (
        "return_item",
        {"order_id": "ORD-100001", "reason": "wrong_size", "sku": "P1001-BLACK-L"},
        None,
        [("post-purchase", "initiateReturn")],
    ),
    (
        "exchange_item",
        {"order_id": "ORD-100003", "sku": "P1017-WHITE-S", "new_size": "M", "reason": "wrong_size"},
        None,
        [("post-purchase", "initiateExchange")],
    ),
    ("my_profile", {}, None, [("recommendation", "getShopperProfile"), ("loyalty", "getMember")]),
    # what a shopper asks after buying (issue 9)
    ("list_orders", {"status": "delivered"}, None, [("fulfillment", "listOrders")]),
    (
        "cancel_order",
        {"order_id": "ORD-100001"},
        lambda rig: with_order(rig, "confirmed"),
        [("fulfillment", "getOrder")],
    ),
    ("cancel_reservation", {"reservation_id": "RSV-100001"}, None, [("fulfillment", "cancelReservation")]),
    (
        "change_order_address",
        {"order_id": "ORD-100005", "address_id": "ADR-7K3M9Q2X4B"},
        None,
        [("fulfillment", "updateOrderAddress")],
    ),
    (
        "wrap_placed_order",
        {"order_id": "ORD-100001", "product_id": "P1001", "option": "premium"},
        None,
        [("gift-wrapping", "addGiftWrap")],
    ),
    ("delivery_options", {"city": "Mumbai"}, None, [("fulfillment", "getDeliveryOptions")]),
    ("find_stores", {"city": "Bangalore"}, None, [("fulfillment", "listStores")]),
    ("get_policy", {"topic": "returns"}, None, [("post-purchase", "getPolicy")]),
    ("contact_human", {"subject": "Parcel arrived torn"}, None, [("post-purchase", "createSupportTicket")]),
    (
        "save_address",
        {"address": "Flat 3, 14 Park Street, Kolkata 700016", "label": "Home"},
        None,
        [("fulfillment", "saveAddress")],
    ),
    ("list_addresses", {}, None, [("fulfillment", "listAddresses")]),
]


def with_order(rig, status: str) -> None:
    order = FakeAgents.example(rig.fake.contracts["fulfillment"].operation("getOrder"))[1]
    rig.fake.answer("fulfillment", "getOrder", 200, {**order, "status": status})


def test_every_tool_is_covered():
    from sales_agent.tools import gift_wrapping, registry  # the gift-wrapping tools are tested in their own file

    gift = {d.name for d in registry.declared_in(gift_wrapping)} - {"wrap_placed_order"}
    assert gift == {"check_gift_wrapping", "add_gift_wrap", "remove_gift_wrap"}
    assert sorted(
        [c[0] for c in CASES] + ["cancel_checkout", "remove_from_cart", "update_cart_quantity", "view_cart"]
    ) == sorted(set(TOOL_NAMES) - gift)
    assert sorted(TOOL_NAMES) == sorted(t.name for t in build_tools())
    assert len(TOOL_NAMES) == len(set(TOOL_NAMES)) == 34


@pytest.mark.parametrize("mode", ["ok", "error", "timeout", "refused"])
@pytest.mark.parametrize("name,args,setup,broken", CASES, ids=[c[0] for c in CASES])
def test_tool_answers_every_outcome(rig, name, args, setup, broken, mode):
    if setup:
        setup(rig)
    for agent, op in broken:
        rig.fake.fail(agent, op, mode)
    result, calls = rig.run(name, **args)

    assert rig.fake.problems == [], "requests that break the contract"
    assert calls and all({"tool", "agent", "operation", "ms", "ok"} <= set(c) for c in calls)
    assert any((c["agent"], c["operation"]) in broken for c in calls)
    assert rig.fake.calls(*broken[0]), f"{broken[0]} was never called"
    if mode == "ok":
        assert "error" not in result, result
        return
    if name == "my_profile" and mode == "error":
        assert result == {"userId": USER, "guest": True}  # 404s: a shopper nobody knows is a guest
        return
    error = result["error"]
    assert error["agent"] == broken[0][0] and error["operation"] == broken[0][1]
    assert error["message"]
    declared = rig.fake.contracts[broken[0][0]].operation(broken[0][1]).response_schemas
    if mode == "error" and not {"402", "404", "409", "422"} & set(declared):
        # a read-only listing declares no business error: a 4xx from it breaks the contract, still no exception
        assert error["code"] == "contract_violation"
    elif mode == "error":
        assert error["code"].startswith("fake_") and 400 <= error["status"] < 500
        if error["status"] == 402:
            assert error["declineCode"] == "insufficient_funds" and error["suggestions"]
    else:
        assert error["code"] == ("timeout" if mode == "timeout" else "unavailable")
        assert error["retryable"] is True and "temporarily unavailable" in error["message"]


def test_safe_calls_are_retried_and_unsafe_ones_are_not(rig):
    rig.fake.fail("inventory", "checkInventory", "refused")
    rig.run("check_stock", product_id="P1001")
    assert len(rig.fake.calls("inventory", "checkInventory")) == 2  # one retry (SALES_CLIENT_RETRIES=1)
    with_cart(rig)
    rig.fake.fail("loyalty", "applyCoupon", "refused")
    rig.run("apply_coupon", code="WELCOME10")
    assert len(rig.fake.calls("loyalty", "applyCoupon")) == 1  # not safe and no Idempotency-Key support
    rig.fake.fail("fulfillment", "reserveInStore", "refused")
    rig.run("reserve_in_store", product_id="P1001", size="M", color="Black", store_id="ST-MUM-01")
    sent = [h["Idempotency-Key"] for _, o, _, h in rig.fake.requests if o == "reserveInStore"]
    assert len(sent) == 2 and sent[0] == sent[1]  # not safe, but retried under its Idempotency-Key


def test_payment_and_order_carry_keys_made_from_the_shopper_and_the_checkout(rig):
    with_quote(rig)
    result, _ = rig.run("place_order")
    assert "error" not in result, result
    for op in ("processPayment", "createOrder", "earnPoints"):
        headers = [h for a, o, _, h in rig.fake.requests if o == op][0]
        assert headers["Idempotency-Key"] == idempotency.checkout_key(USER, result["checkoutId"], op), op


def test_card_number_goes_only_to_the_payment_agent(rig):
    with_quote(rig)
    rig.run("place_order")
    for agent, op, body, _ in rig.fake.requests:
        text = str(body)
        if (agent, op) == ("payment", "tokenizePaymentMethod"):
            assert body["card"]["number"] == "4242424242424242"
        elif (agent, op) == ("payment", "processPayment"):
            assert "card" not in body and body["paymentMethodToken"].startswith("pm_")
        else:
            assert "4242424242424242" not in text, (agent, op)


def test_add_to_cart_refuses_sold_out_and_unknown_variants(rig):
    report = FakeAgents.example(rig.fake.contracts["inventory"].operation("checkInventory"))[1]
    rig.fake.answer(
        "inventory", "checkInventory", 200, {**report, "onlineStatus": "out_of_stock", "onlineStockLevel": 0}
    )
    result, _ = rig.run("add_to_cart", product_id="P1001", size="M", color="Black")
    assert result["error"]["code"] == "out_of_stock" and result["error"]["suggestions"]
    assert rig.store.cart(USER)["lines"] == []
    result, _ = rig.run("add_to_cart", product_id="P1001", size="XXXL", color="Black")
    assert result["error"]["code"] == "no_such_variant"
    result, _ = rig.run("add_to_cart", product_id="jacket", size="M", color="Black")
    assert result["error"]["code"] == "invalid_argument"


def test_add_to_cart_still_works_when_inventory_is_down(rig):
    rig.fake.fail("inventory", "checkInventory", "refused")
    result, _ = rig.run("add_to_cart", product_id="P1001", size="M", color="Black", quantity=2)
    assert result["stock"]["checked"] is False
    assert result["cart"]["lines"][0]["quantity"] == 2 and result["cart"]["subtotal"] == 9998.0


def test_cart_tools(rig):
    rig.run("add_to_cart", product_id="P1001", size="M", color="Black")
    rig.run("add_to_cart", product_id="P1001", size="M", color="Black")
    view, calls = rig.run("view_cart")
    assert view["cart"]["lines"][0]["quantity"] == 2 and calls[0]["agent"] == "sales"
    updated, _ = rig.run("update_cart_quantity", product_id="P1001", quantity=3)
    assert updated["cart"]["itemCount"] == 3 and updated["cart"]["subtotal"] == 14997.0
    missing, _ = rig.run("remove_from_cart", product_id="P1002")
    assert missing["error"]["code"] == "not_in_cart"
    removed, _ = rig.run("remove_from_cart", product_id="P1001", size="M", color="BLACK")
    assert removed["cart"]["lines"] == []
    empty, _ = rig.run("prepare_checkout")
    assert empty["error"]["code"] == "empty_cart"


def test_cancel_checkout_releases_the_hold(rig):
    with_quote(rig)
    result, calls = rig.run("cancel_checkout")
    assert result["status"] == "cancelled" and result["holdReleased"] is True
    assert [c["operation"] for c in calls] == ["releaseHold"]
    again, _ = rig.run("cancel_checkout")
    assert again["cancelled"] == []


def test_prepare_checkout_without_a_card_asks_for_one(rig):
    with_cart(rig)
    result, _ = rig.run("prepare_checkout", payment_method="card")
    assert result["error"]["code"] == "card_not_on_file"
    assert rig.fake.calls("inventory", "createHold") == []  # nothing held
    rig.vault.redact(USER, "4242 4242 4242 4242")  # no expiry or CVC: nothing is kept, so still none on file
    result, _ = rig.run("prepare_checkout", payment_method="card")
    assert result["error"]["code"] == "card_not_on_file"
    assert rig.fake.calls("payment", "tokenizePaymentMethod") == []


def test_idempotency_keys_for_returns_are_never_the_tool_call_id(rig):
    invoke_tool(rig.service, "return_item", USER, tool_call_id="call_0", order_id="ORD-100001")
    invoke_tool(rig.service, "return_item", "U1002", tool_call_id="call_0", order_id="ORD-100001")
    keys = [h["Idempotency-Key"] for a, o, _, h in rig.fake.requests if o == "initiateReturn"]
    assert len(set(keys)) == 2 and all(k.startswith("sales-") and "call_0" not in k for k in keys)


def test_tool_operations_exist_in_the_contracts():
    from agentkit.contracts import load_contract
    from sales_agent.tools import TOOL_OPERATIONS

    assert sorted(TOOL_OPERATIONS) == sorted(TOOL_NAMES)
    for tool_name, operations in TOOL_OPERATIONS.items():
        for agent, op in operations:
            load_contract(agent).operation(op)  # raises ContractError if the contract has no such operation


def test_every_call_a_tool_makes_is_declared(rig):
    from sales_agent.tools import TOOL_OPERATIONS

    for name, args, setup, _ in CASES:
        rig.store.clear_cart(USER)
        if setup:
            setup(rig)
        _, calls = rig.run(name, **args)
        for c in calls:
            if c["agent"] != "sales" and c["tool"] == name:
                assert (c["agent"], c["operation"]) in TOOL_OPERATIONS[name], (name, c)
