"""The offline model inside a real LangChain agent graph (create_agent + HumanInTheLoopMiddleware +
checkpointer), with stub tools that have the sales tools' names and arguments and answer with the
tools' compact JSON shapes. Checks which tool calls it makes and that replies carry the real names,
prices, stock levels and errors from the tool results."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from sales_agent.offline import OfflineChatModel
from sales_agent.offline.replies import error_text, rupees

CATALOG = {
    "P1001": {
        "productId": "P1001",
        "name": "Alpine Puffer Jacket",
        "brand": "Northline",
        "category": "jackets",
        "price": 4999,
        "colors": ["Black", "Navy", "Olive"],
        "sizes": ["S", "M", "L", "XL", "XXL"],
        "rating": 4.8,
        "season": "winter",
    },
    "P1003": {
        "productId": "P1003",
        "name": "Himalaya Quilted Jacket",
        "brand": "Northline",
        "category": "jackets",
        "price": 3999,
        "colors": ["Navy", "Maroon", "Beige"],
        "sizes": ["XS", "S", "M", "L", "XL"],
        "rating": 4.5,
        "season": "winter",
    },
    "P1006": {
        "productId": "P1006",
        "name": "Manali Hooded Puffer",
        "brand": "Northline",
        "category": "jackets",
        "price": 5499,
        "colors": ["Black", "Mustard", "Pink"],
        "sizes": ["XS", "S", "M", "L", "XL"],
        "rating": 4.4,
        "season": "winter",
    },
    "P1012": {
        "productId": "P1012",
        "name": "Darjeeling Corduroy Shacket",
        "brand": "Trailmark",
        "category": "jackets",
        "price": 2799,
        "colors": ["Brown", "Mustard", "Green"],
        "sizes": ["XS", "S", "M", "L", "XL", "XXL"],
        "rating": 4.2,
        "season": "winter",
    },
    "P1044": {
        "productId": "P1044",
        "name": "Kashmir Valley Pashmina Stole",
        "brand": "Kaarigar",
        "category": "accessories",
        "price": 2499,
        "colors": ["Maroon", "Beige", "Teal"],
        "sizes": ["One Size"],
        "rating": 4.7,
        "season": "winter",
    },
}
STORE = {
    "storeId": "ST-MUM-01",
    "name": "Phoenix Palladium, Lower Parel",
    "city": "Mumbai",
    "stockLevel": 3,
    "stockDescriptor": "few_left",
}
ORDER = {
    "orderId": "ORD-100001",
    "status": "delivered",
    "statusLabel": "Delivered on 16 Nov 2026 by BlueDart",
    "fulfillmentType": "ship_to_home",
    "total": 4718,
    "carrier": "BlueDart",
    "trackingNumber": "74170352981",
    "returnEligible": True,
    "returnWindowEndsAt": "2026-12-16T08:52:00Z",
    "items": [
        {
            "sku": "P1001-BLACK-L",
            "name": "Alpine Puffer Jacket",
            "size": "L",
            "color": "Black",
            "quantity": 1,
            "unitPrice": 4999,
            "returnableQuantity": 1,
        },
        {
            "sku": "P1045-GREY-ONESIZE",
            "name": "Snowfall Ribbed Muffler",
            "size": "One Size",
            "color": "Grey",
            "quantity": 1,
            "unitPrice": 899,
            "returnableQuantity": 1,
        },
    ],
}


def unavailable(agent: str, operation: str) -> dict:
    return {
        "error": {
            "agent": agent,
            "operation": operation,
            "code": "unavailable",
            "status": None,
            "retryable": True,
            "message": f"The {agent} agent is not reachable.",
        }
    }


class Shop:
    """Stub tools (same names and arguments as sales_agent.tools) over a tiny in-memory shop."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.lines: list[dict] = []
        self.override: dict[str, Any] = {}
        self.tools = self._build()

    def cart(self) -> dict:
        lines = [dict(ln, lineTotal=ln["unitPrice"] * ln["quantity"]) for ln in self.lines]
        return {
            "lines": lines,
            "itemCount": sum(ln["quantity"] for ln in lines),
            "subtotal": sum(ln["lineTotal"] for ln in lines),
            "couponCode": None,
            "redeemPoints": 0,
        }

    def answer(self, name: str, args: dict, default) -> str:
        self.calls.append((name, {k: v for k, v in args.items() if v is not None}))
        value = self.override.get(name, default)
        value = value(args) if callable(value) else value
        return json.dumps(value)

    def _build(self):
        shop = self

        @tool
        def search_products(
            query: str = "",
            category: str | None = None,
            max_price: float | None = None,
            min_price: float | None = None,
            size: str | None = None,
            color: str | None = None,
            season: str | None = None,
            limit: int = 5,
        ) -> str:
            """Search the catalog."""
            words = [w for w in query.lower().split() if len(w) > 2]
            found = [
                p
                for p in CATALOG.values()
                if (not category or p["category"] == category)
                and (not max_price or p["price"] <= max_price)
                and (not words or any(w in p["name"].lower() for w in words))
            ]
            return shop.answer(
                "search_products",
                locals_of(
                    query=query,
                    category=category,
                    max_price=max_price,
                    min_price=min_price,
                    size=size,
                    color=color,
                    season=season,
                ),
                {"total": len(found), "products": found[:limit]},
            )

        @tool
        def recommend_products(
            context: str = "general",
            product_id: str | None = None,
            category: str | None = None,
            max_price: float | None = None,
            size: str | None = None,
            color: str | None = None,
            count: int = 5,
        ) -> str:
            """Recommendations."""
            products = [dict(CATALOG["P1044"], reason="Keeps you warm with a puffer", availability="in_stock")]
            return shop.answer(
                "recommend_products",
                locals_of(context=context, product_id=product_id, category=category, max_price=max_price),
                {"products": products, "bundles": [], "note": None},
            )

        @tool
        def get_product_details(product_id: str) -> str:
            """One product."""
            product = CATALOG.get(product_id)
            value = (
                dict(product, description="A lightweight quilted puffer.")
                if product
                else {
                    "error": {
                        "agent": "recommendation",
                        "operation": "getProduct",
                        "code": "not_found",
                        "message": f"No product with id '{product_id}'.",
                    }
                }
            )
            return shop.answer("get_product_details", {"product_id": product_id}, value)

        @tool
        def check_stock(
            product_id: str, size: str | None = None, color: str | None = None, city: str | None = None
        ) -> str:
            """Stock."""
            return shop.answer(
                "check_stock",
                locals_of(product_id=product_id, size=size, color=color, city=city),
                {
                    "productId": product_id,
                    "sku": f"{product_id}-{str(color).upper()}-{size}",
                    "size": size,
                    "color": color,
                    "city": city,
                    "onlineStatus": "in_stock",
                    "onlineStockLevel": 54,
                    "stores": [STORE],
                    "fulfillmentOptions": ["ship_to_home", "click_and_collect", "reserve_in_store"],
                    "variants": [],
                },
            )

        @tool
        def find_alternatives(product_id: str, size: str | None = None, color: str | None = None) -> str:
            """Alternatives."""
            alternative = dict(CATALOG["P1012"], reason="Comes in Mustard, in stock in M", status="in_stock")
            return shop.answer(
                "find_alternatives",
                locals_of(product_id=product_id, size=size, color=color),
                {
                    "productId": product_id,
                    "name": CATALOG[product_id]["name"],
                    "size": size,
                    "color": color,
                    "alternatives": [alternative],
                    "note": None,
                },
            )

        @tool
        def add_to_cart(product_id: str, size: str, color: str, quantity: int = 1) -> str:
            """Add to cart."""
            p = CATALOG[product_id]
            line = {
                "productId": product_id,
                "sku": f"{product_id}-{color.upper()}-{size}",
                "name": p["name"],
                "size": size,
                "color": color,
                "quantity": quantity,
                "unitPrice": p["price"],
                "category": p["category"],
            }
            if "add_to_cart" not in shop.override:
                shop.lines.append(line)
            return shop.answer(
                "add_to_cart",
                locals_of(product_id=product_id, size=size, color=color, quantity=quantity),
                {
                    "added": line,
                    "stock": {"checked": True, "onlineStatus": "in_stock", "onlineStockLevel": 54},
                    "cart": shop.cart(),
                },
            )

        @tool
        def view_cart() -> str:
            """Cart."""
            return shop.answer("view_cart", {}, {"cart": shop.cart()})

        @tool
        def remove_from_cart(product_id: str, size: str | None = None, color: str | None = None) -> str:
            """Remove."""
            shop.lines = [ln for ln in shop.lines if ln["productId"] != product_id]
            return shop.answer(
                "remove_from_cart", locals_of(product_id=product_id, size=size, color=color), {"cart": shop.cart()}
            )

        @tool
        def update_cart_quantity(
            product_id: str, quantity: int, size: str | None = None, color: str | None = None
        ) -> str:
            """Quantity."""
            for line in shop.lines:
                if line["productId"] == product_id:
                    line["quantity"] = quantity
            return shop.answer(
                "update_cart_quantity",
                locals_of(product_id=product_id, quantity=quantity, size=size, color=color),
                {"cart": shop.cart()},
            )

        @tool
        def get_offers_and_points() -> str:
            """Offers and points."""
            return shop.answer(
                "get_offers_and_points",
                {},
                {
                    "tier": "gold",
                    "pointsBalance": 2340,
                    "pointsValue": 585.0,
                    "offers": [
                        {
                            "code": "WELCOME10",
                            "title": "10% off, up to ₹500",
                            "isApplicable": True,
                            "estimatedDiscount": 500,
                        },
                        {
                            "code": "DIWALI25",
                            "title": "25% off",
                            "isApplicable": False,
                            "estimatedDiscount": 0,
                            "reason": "Expired on 2025-11-05",
                        },
                    ],
                },
            )

        @tool
        def apply_coupon(code: str) -> str:
            """Coupon."""
            return shop.answer(
                "apply_coupon",
                {"code": code},
                {
                    "couponCode": code,
                    "description": "10% off, up to ₹500",
                    "cartAmount": 4999,
                    "discountAmount": 499.9,
                    "finalAmount": 4499.1,
                },
            )

        @tool
        def redeem_points(points: int) -> str:
            """Points."""
            return shop.answer(
                "redeem_points",
                {"points": points},
                {"pointsToRedeem": points, "pointsValue": points * 0.25, "pointsBalance": 2340},
            )

        @tool
        def prepare_checkout(
            payment_method: Literal["card", "upi"] = "card",
            card_ref: str | None = None,
            upi_id: str | None = None,
            fulfillment: Literal["ship_to_home", "click_and_collect"] = "ship_to_home",
            store_id: str | None = None,
        ) -> str:
            """Hold and price."""
            cart = shop.cart()
            return shop.answer(
                "prepare_checkout",
                locals_of(
                    payment_method=payment_method,
                    card_ref=card_ref,
                    upi_id=upi_id,
                    fulfillment=fulfillment,
                    store_id=store_id,
                ),
                {
                    "checkoutId": "CHK-7F3A9C21",
                    "items": cart["lines"],
                    "subtotal": cart["subtotal"],
                    "discounts": [],
                    "deliveryFee": 0,
                    "total": cart["subtotal"],
                    "payment": {"method": payment_method, "last4": (card_ref or "")[-4:] or None},
                    "status": "awaiting_confirmation",
                },
            )

        @tool
        def place_order() -> str:
            """Pay and place (asks the shopper first)."""
            return shop.answer(
                "place_order",
                {},
                {
                    "orderId": "ORD-100012",
                    "status": "confirmed",
                    "total": shop.cart()["subtotal"],
                    "paymentMethod": "card",
                    "cardLast4": "4242",
                    "pointsEarned": 150,
                    "estimatedDelivery": "2026-11-25T20:00:00+05:30",
                },
            )

        @tool
        def cancel_checkout() -> str:
            """Cancel."""
            return shop.answer("cancel_checkout", {}, {"checkoutId": "CHK-7F3A9C21", "holdReleased": True})

        @tool
        def reserve_in_store(
            product_id: str, size: str, color: str, store_id: str | None = None, city: str | None = None
        ) -> str:
            """Reserve."""
            return shop.answer(
                "reserve_in_store",
                locals_of(product_id=product_id, size=size, color=color, store_id=store_id, city=city),
                {
                    "reservationId": "RSV-100001",
                    "productId": product_id,
                    "size": size,
                    "color": color,
                    "storeId": "ST-MUM-01",
                    "storeName": STORE["name"],
                    "city": "Mumbai",
                    "expiresAt": "2026-11-22T18:00:00+05:30",
                },
            )

        @tool
        def order_status(order_id: str | None = None) -> str:
            """Order status."""
            return shop.answer("order_status", {"order_id": order_id}, dict(ORDER, orderId=order_id or "ORD-100001"))

        @tool
        def return_item(order_id: str | None = None, reason: str = "other", sku: str | None = None) -> str:
            """Return."""
            return shop.answer(
                "return_item",
                locals_of(order_id=order_id, reason=reason, sku=sku),
                {
                    "returnId": "RET-3C9A1F07",
                    "orderId": order_id or "ORD-100001",
                    "status": "refunded",
                    "refundAmount": 899,
                    "message": "Return accepted. A courier will collect the parcel on 2026-11-22.",
                },
            )

        @tool
        def exchange_item(
            sku: str,
            order_id: str | None = None,
            new_size: str | None = None,
            new_color: str | None = None,
            reason: str = "wrong_size",
        ) -> str:
            """Exchange."""
            return shop.answer(
                "exchange_item",
                locals_of(order_id=order_id, sku=sku, new_size=new_size, new_color=new_color, reason=reason),
                {
                    "exchangeId": "EXC-4B7D2E19",
                    "orderId": order_id,
                    "fromSku": sku,
                    "toSku": "P1001-BLACK-XL",
                    "status": "reserved",
                    "message": "P1001-BLACK-XL is held for you until 2026-11-28.",
                },
            )

        @tool
        def my_profile() -> str:
            """Profile."""
            return shop.answer(
                "my_profile",
                {},
                {
                    "userId": "U1001",
                    "name": "Priya Sharma",
                    "city": "Mumbai",
                    "tier": "gold",
                    "pointsBalance": 2340,
                    "preferences": {"categories": ["ethnicwear", "dresses"], "sizes": {"tops": "M"}},
                },
            )

        return [
            search_products,
            recommend_products,
            get_product_details,
            check_stock,
            find_alternatives,
            add_to_cart,
            view_cart,
            remove_from_cart,
            update_cart_quantity,
            get_offers_and_points,
            apply_coupon,
            redeem_points,
            prepare_checkout,
            place_order,
            cancel_checkout,
            reserve_in_store,
            order_status,
            return_item,
            exchange_item,
            my_profile,
        ]


def locals_of(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None and v != ""}


class Conversation:
    def __init__(self, shop: Shop, tools=None):
        self.shop = shop
        self.agent = create_agent(
            OfflineChatModel(),
            tools if tools is not None else shop.tools,
            system_prompt="You are the shop assistant.",
            middleware=[HumanInTheLoopMiddleware(interrupt_on={"place_order": True})],
            checkpointer=InMemorySaver(),
        )
        self.config = {"configurable": {"thread_id": "U1001"}}
        self.state: dict = {}

    def _run(self, payload) -> tuple[str, list[str]]:
        before = len(self.shop.calls)
        self.state = self.agent.invoke(payload, self.config)
        tools = [name for name, _ in self.shop.calls[before:]]
        if self.state.get("__interrupt__"):
            return "<confirm>", tools
        return self.state["messages"][-1].content, tools

    def say(self, text: str) -> tuple[str, list[str]]:
        return self._run({"messages": [HumanMessage(text)]})

    def decide(self, approve: bool) -> tuple[str, list[str]]:
        decision = {"type": "approve"} if approve else {"type": "reject", "message": "The shopper declined."}
        return self._run(Command(resume={"decisions": [decision]}))

    def args(self, tool_name: str) -> dict:
        return next(args for name, args in reversed(self.shop.calls) if name == tool_name)


@pytest.fixture
def shop():
    return Shop()


@pytest.fixture
def chat(shop):
    return Conversation(shop)


# --- the model object ---------------------------------------------------------------------------------


def test_bind_tools_returns_a_copy_that_knows_the_tool_names(shop):
    model = OfflineChatModel()
    bound = model.bind_tools(shop.tools)
    assert model._llm_type == "offline-sales" and model.tool_names == ()
    assert bound is not model and set(bound.tool_names) == {t.name for t in shop.tools}
    assert bound.tool_args["check_stock"] == ["product_id", "size", "color", "city"]


def test_it_only_calls_tools_it_was_given(shop):
    model = OfflineChatModel().bind_tools([t for t in shop.tools if t.name == "search_products"])
    reply = model.invoke([HumanMessage("where is my order ORD-100001?")])
    assert not reply.tool_calls and reply.content
    reply = model.invoke([HumanMessage("show me jackets under 5000")])
    assert [c["name"] for c in reply.tool_calls] == ["search_products"]


def test_tool_call_ids_are_unique_and_replies_are_deterministic(shop):
    texts = [
        "hi",
        "show me winter jackets under 6000",
        "is the first one in stock in M black?",
        "add it",
        "what's in my cart",
    ]
    first = Conversation(shop)
    replies = [first.say(t)[0] for t in texts]
    ids = [c["id"] for m in first.state["messages"] if isinstance(m, AIMessage) for c in m.tool_calls]
    assert len(ids) == len(set(ids)) >= 5
    second = Conversation(Shop())
    assert [second.say(t)[0] for t in texts] == replies


def test_without_a_human_message_it_greets():
    reply = OfflineChatModel().invoke([SystemMessage("You are the shop assistant.")])
    assert "(offline mode)" in reply.content


# --- turns: the right tool calls and replies from the results -------------------------------------------


def test_greeting_names_the_shopper_and_offline_mode(chat):
    reply, tools = chat.say("Hello!")
    assert tools == ["my_profile"]
    assert reply.startswith("Hi Priya! I'm the shop assistant (offline mode)")
    reply, tools = chat.say("hey")
    assert tools == [] and reply.startswith("Hi Priya!")


def test_search_with_filters_lists_real_names_and_prices(chat):
    reply, tools = chat.say("Show me winter jakcets under 6000")
    assert tools == ["search_products"]
    assert chat.args("search_products") == {"category": "jackets", "season": "winter", "max_price": 6000}
    assert "**Alpine Puffer Jacket** — ₹4,999" in reply and "**Himalaya Quilted Jacket** — ₹3,999" in reply
    assert "under ₹6,000" in reply


def test_browse_without_a_category_offers_the_categories(chat):
    reply, tools = chat.say("what do you sell?")
    assert tools == [] and "jackets" in reply and "sarees" in reply


def test_stock_check_states_online_and_store_levels(chat):
    chat.say("show me jackets")
    reply, tools = chat.say("is the first one in stock in M black in Mumbai?")
    assert tools == ["check_stock"]
    assert chat.args("check_stock") == {"product_id": "P1001", "size": "M", "color": "Black", "city": "Mumbai"}
    assert (
        "**Alpine Puffer Jacket** (M, Black): in stock online (54) · Phoenix Palladium, Lower Parel has 3 (few left)"
    ) in reply


def test_low_stock_is_stated_truthfully(chat, shop):
    shop.override["check_stock"] = lambda a: {
        "productId": "P1003",
        "sku": "P1003-NAVY-M",
        "size": "M",
        "color": "Navy",
        "onlineStatus": "low_stock",
        "onlineStockLevel": 2,
        "stores": [dict(STORE, stockLevel=1)],
        "fulfillmentOptions": ["ship_to_home"],
    }
    chat.say("show me jackets")
    reply, _ = chat.say("is the himalaya quilted jacket available in M navy?")
    assert "only 2 left online" in reply and "Phoenix Palladium, Lower Parel has only 1 left" in reply


def test_out_of_stock_chains_find_alternatives(chat, shop):
    shop.override["check_stock"] = lambda a: {
        "productId": "P1006",
        "sku": "P1006-MUSTARD-M",
        "size": "M",
        "color": "Mustard",
        "onlineStatus": "out_of_stock",
        "onlineStockLevel": 0,
        "stores": [],
        "fulfillmentOptions": [],
    }
    chat.say("show me winter jackets")
    reply, tools = chat.say("is the manali puffer available in mustard size M?")
    assert tools == ["check_stock", "find_alternatives"]
    assert chat.args("find_alternatives") == {"product_id": "P1006", "size": "M", "color": "Mustard"}
    assert "**Manali Hooded Puffer** (M, Mustard): sold out online" in reply
    assert "**Darjeeling Corduroy Shacket** — ₹2,799" in reply


def test_add_by_name_searches_then_adds_the_found_product(chat):
    reply, tools = chat.say("add the alpine puffer jacket in size L, navy")
    assert tools == ["search_products", "add_to_cart"]
    assert chat.args("add_to_cart") == {"product_id": "P1001", "size": "L", "color": "Navy", "quantity": 1}
    assert "Added **Alpine Puffer Jacket** (L, Navy) × 1 to your cart — ₹4,999 each." in reply


def test_add_without_a_size_asks_and_the_answer_completes_it(chat):
    chat.say("show me jackets")
    reply, tools = chat.say("add the second one to my cart")
    assert tools == [] and "Which size and colour" in reply and "XS, S, M, L, XL" in reply
    reply, tools = chat.say("M in maroon")
    assert tools == ["add_to_cart"]
    assert chat.args("add_to_cart") == {"product_id": "P1003", "size": "M", "color": "Maroon", "quantity": 1}
    reply, tools = chat.say("add the stole")  # one size, but three colours: asks for the colour only
    assert tools == ["search_products"] and "Which colour" in reply and "Maroon, Beige, Teal" in reply


def test_cart_edits(chat, shop):
    chat.say("add the alpine puffer jacket in M black")
    chat.say("add the kashmir stole in teal")
    reply, tools = chat.say("make the stole 2")
    assert tools == ["update_cart_quantity"] and chat.args("update_cart_quantity")["quantity"] == 2
    assert "Updated **Kashmir Valley Pashmina Stole** to 2" in reply and "₹4,998" in reply
    reply, tools = chat.say("remove the puffer from my cart")
    assert tools == ["remove_from_cart"] and chat.args("remove_from_cart")["product_id"] == "P1001"
    reply, tools = chat.say("what's in my crat?")
    assert tools == ["view_cart"] and "Kashmir Valley Pashmina Stole" in reply and "Alpine" not in reply


def test_checkout_asks_for_payment_then_prepares_and_places_after_confirmation(chat, shop):
    chat.say("add the alpine puffer jacket in M black")
    reply, tools = chat.say("chekout")
    assert tools == ["view_cart"] and "How would you like to pay?" in reply and "₹4,999" in reply
    reply, tools = chat.say("card ending 4242")
    assert tools == ["prepare_checkout"] and reply == "<confirm>"
    assert chat.args("prepare_checkout") == {
        "payment_method": "card",
        "card_ref": "card_ending_4242",
        "fulfillment": "ship_to_home",
    }
    pending = chat.state["__interrupt__"][0].value["action_requests"][0]
    assert pending["name"] == "place_order"
    reply, tools = chat.decide(True)
    assert tools == ["place_order"]
    assert "Order **ORD-100012** is placed — paid ₹4,999 by card ending 4242" in reply
    assert "150 loyalty points" in reply


def test_checkout_rejected_by_the_shopper(chat):
    chat.say("add the alpine puffer jacket in M black")
    assert chat.say("checkout with upi priya.sharma@okhdfc")[0] == "<confirm>"
    assert chat.args("prepare_checkout")["upi_id"] == "priya.sharma@okhdfc"
    reply, tools = chat.decide(False)
    assert tools == [] and "haven't placed the order" in reply and "nothing was charged" in reply


def test_declined_payment_explains_and_passes_on_suggestions(chat, shop):
    shop.override["place_order"] = {
        "error": {
            "agent": "payment",
            "operation": "processPayment",
            "code": "card_declined",
            "declineCode": "insufficient_funds",
            "message": "Your card has insufficient funds. Nothing was charged.",
            "suggestions": ["Try another card", "Pay by UPI instead"],
        },
        "charged": False,
        "holdReleased": True,
    }
    chat.say("add the alpine puffer jacket in M black")
    chat.say("checkout with card ending 1111")
    reply, _ = chat.decide(True)
    assert reply.startswith("Your payment was declined (insufficient funds).")
    assert "Nothing was charged" in reply and "Try another card · Pay by UPI instead" in reply


def test_an_unavailable_service_is_explained_not_hidden(chat, shop):
    shop.override["place_order"] = unavailable("payment", "processPayment")
    chat.say("add the alpine puffer jacket in M black")
    chat.say("checkout with card ending 4242")
    reply, _ = chat.decide(True)
    assert "The payment service is unavailable right now; your cart is safe — try again in a minute" in reply
    shop.override["search_products"] = unavailable("recommendation", "searchProducts")
    reply, _ = chat.say("show me dresses")
    assert reply.startswith("The catalogue service is unavailable right now")


def test_offers_coupon_and_points(chat):
    reply, tools = chat.say("any offers for me?")
    assert tools == ["get_offers_and_points"]
    assert "**2,340 points** (worth ₹585) · Gold tier" in reply and "WELCOME10" in reply
    assert "Not for this cart: DIWALI25 (Expired on 2025-11-05)" in reply
    reply, tools = chat.say("apply coupon welcome10")
    assert chat.args("apply_coupon") == {"code": "WELCOME10"}
    assert "Coupon **WELCOME10** applied — you save ₹499.90; your new total is ₹4,499.10" in reply
    reply, tools = chat.say("redeem 500 points")
    assert chat.args("redeem_points") == {"points": 500} and "500 points (₹125 off)" in reply
    reply, tools = chat.say("use my points")
    assert tools == ["get_offers_and_points"] and "How many points" in reply


def test_order_status_return_and_exchange(chat):
    reply, tools = chat.say("I want to exchange the jacket for XL")
    assert tools == ["order_status", "exchange_item"]  # looks the order up to find the item's sku
    assert chat.args("exchange_item") == {
        "order_id": "ORD-100001",
        "sku": "P1001-BLACK-L",
        "new_size": "XL",
        "reason": "wrong_size",
    }
    assert "Exchange **EXC-4B7D2E19** is set up." in reply
    reply, tools = chat.say("where is my order?")
    assert tools == ["order_status"]
    assert "Order **ORD-100001**: Delivered on 16 Nov 2026 by BlueDart." in reply and "16 Dec" in reply
    reply, tools = chat.say("return the muffler, it arrived damaged")
    assert tools == ["return_item"]
    assert chat.args("return_item") == {"order_id": "ORD-100001", "reason": "damaged", "sku": "P1045-GREY-ONESIZE"}
    assert "Return **RET-3C9A1F07** is started." in reply


def test_reserve_in_store_uses_the_last_variant_and_city(chat):
    chat.say("show me jackets")
    chat.say("is the first one in stock in M black in Mumbai?")
    reply, tools = chat.say("reserve it for me")
    assert tools == ["reserve_in_store"]
    assert chat.args("reserve_in_store") == {"product_id": "P1001", "size": "M", "color": "Black", "city": "Mumbai"}
    assert "Reserved **Alpine Puffer Jacket** (M, Black) at Phoenix Palladium, Lower Parel until 22 Nov, 18:00" in reply


def test_recommendations_with_a_product_use_product_view(chat):
    chat.say("show me jackets")
    reply, tools = chat.say("what goes with the alpine puffer?")
    assert chat.args("recommend_products") == {"context": "product_view", "product_id": "P1001"}
    assert "These go well with the Alpine Puffer Jacket:" in reply and "Kashmir Valley Pashmina Stole" in reply


def test_gift_wrapping_when_the_tool_exists_and_when_it_does_not(shop):
    @tool
    def check_gift_wrapping(product_id: str) -> str:
        """Gift-wrap options for a product."""
        return shop.answer(
            "check_gift_wrapping",
            {"product_id": product_id},
            {
                "productId": product_id,
                "productName": CATALOG[product_id]["name"],
                "wrappable": True,
                "options": [
                    {"optionId": "standard", "name": "Standard wrap", "price": 49, "currency": "INR"},
                    {"optionId": "premium", "name": "Premium gift box", "price": 149, "currency": "INR"},
                ],
            },
        )

    chat = Conversation(shop, shop.tools + [check_gift_wrapping])
    reply, tools = chat.say("can you gift wrap the kashmir stole?")
    assert tools == ["search_products", "check_gift_wrapping"]
    assert chat.args("check_gift_wrapping") == {"product_id": "P1044"}
    assert "The **Kashmir Valley Pashmina Stole** can be gift-wrapped:" in reply
    assert "**Standard wrap** — ₹49" in reply and "**Premium gift box** — ₹149" in reply
    reply, tools = Conversation(Shop()).say("gift wrap it please")
    assert tools == [] and "Gift wrapping isn't available" in reply


def test_unknown_text_says_offline_mode(chat):
    reply, tools = chat.say("qwertyuiop")
    assert tools == [] and "offline mode" in reply


# --- the reply writer on its own ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, text",
    [(4999, "₹4,999"), (124990, "₹1,24,990"), (4718.5, "₹4,718.50"), (599, "₹599"), (0, "₹0"), (1000000, "₹10,00,000")],
)
def test_rupees(amount, text):
    assert rupees(amount) == text


def test_error_text_for_a_plain_refusal_keeps_the_message_and_suggestions():
    text = error_text(
        {
            "error": {
                "agent": "loyalty",
                "operation": "applyCoupon",
                "code": "coupon_expired",
                "message": "Coupon DIWALI25 expired on 5 Nov 2025",
                "suggestions": ["Try WELCOME10"],
            }
        },
        "apply_coupon",
    )
    assert text == "Coupon DIWALI25 expired on 5 Nov 2025.\nYou could: Try WELCOME10."


def test_a_reply_after_a_tool_message_built_by_hand():
    """The model reads any contract-shaped ToolMessage, not only ones from this file's stubs."""
    model = OfflineChatModel().bind_tools(Shop().tools)
    call = {
        "name": "check_stock",
        "args": {"product_id": "P1044", "size": "One Size", "color": "Maroon"},
        "id": "call_1",
        "type": "tool_call",
    }
    messages = [
        HumanMessage("is the kashmir stole in stock in maroon?"),
        AIMessage("", tool_calls=[call], additional_kwargs={"offline": {"intent": "inventory_check", "slots": {}}}),
        ToolMessage(
            json.dumps(
                {
                    "productId": "P1044",
                    "name": "Kashmir Valley Pashmina Stole",
                    "size": "One Size",
                    "color": "Maroon",
                    "onlineStatus": "low_stock",
                    "onlineStockLevel": 3,
                    "stores": [],
                }
            ),
            tool_call_id="call_1",
            name="check_stock",
        ),
    ]
    reply = model.invoke(messages)
    assert not reply.tool_calls
    assert reply.content.startswith("**Kashmir Valley Pashmina Stole** (One Size, Maroon): only 3 left online")
