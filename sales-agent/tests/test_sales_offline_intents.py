"""The offline model's intent and slot parser: at least five phrasings (typos and casing included) for each
of the ten seed intents, plus the sub-actions (cart edits, coupons, points, orders, returns, exchanges,
store reservations, profile), each with the slots it must read."""

from __future__ import annotations

import pytest

from sales_agent.offline.intents import FAMILIES, Memory, parse

# What earlier tool results established: a search listed three jackets, the last one discussed is P1001,
# the cart holds one line, and the last order has two items.
MEMORY = Memory(
    products={
        "P1001": {
            "productId": "P1001",
            "name": "Alpine Puffer Jacket",
            "price": 4999,
            "category": "jackets",
            "sizes": ["S", "M", "L", "XL", "XXL"],
            "colors": ["Black", "Navy", "Olive"],
        },
        "P1003": {"productId": "P1003", "name": "Himalaya Quilted Jacket", "price": 3999, "category": "jackets"},
        "P1006": {"productId": "P1006", "name": "Manali Hooded Puffer", "price": 5499, "category": "jackets"},
        "P1044": {
            "productId": "P1044",
            "name": "Kashmir Valley Pashmina Stole",
            "price": 2499,
            "category": "accessories",
        },
    },
    last_list=["P1001", "P1003", "P1006"],
    last_product="P1001",
    cart={
        "lines": [
            {
                "productId": "P1044",
                "name": "Kashmir Valley Pashmina Stole",
                "size": "One Size",
                "color": "Maroon",
                "quantity": 1,
                "unitPrice": 2499,
            }
        ]
    },
)

# (text, intent name, slots that must be present with these values)
CASES = [
    # --- greeting
    ("hi", "greeting", {}),
    ("Hello there!", "greeting", {}),
    ("HEY", "greeting", {}),
    ("good morning", "greeting", {}),
    ("Namaste 🙏", "greeting", {}),
    ("helo", "greeting", {}),
    # --- browse
    ("show me jackets", "browse", {"category": "jackets"}),
    ("Show me JAKCETS", "browse", {"category": "jackets"}),
    ("what dresses do you have", "browse", {"category": "dresses"}),
    ("browse ethnic wear", "browse", {"category": "ethnicwear"}),
    ("what do you sell?", "browse", {}),
    ("can I see your sarees collection", "browse", {"category": "ethnicwear", "term": "saree"}),
    # --- search
    ("show me winter jackets under 6000", "search", {"category": "jackets", "season": "winter", "max_price": 6000}),
    (
        "looking for a linen shirt below ₹2,000",
        "search",
        {"category": "tops", "max_price": 2000, "query": "linen shirt"},
    ),
    ("any black sneakers in uk 9?", "search", {"category": "footwear", "color": "Black", "size": "9"}),
    ("Jeans waist 32 less than 3k", "search", {"category": "bottoms", "size": "32", "max_price": 3000}),
    ("sarees between 5k and 15k", "search", {"category": "ethnicwear", "min_price": 5000, "max_price": 15000}),
    (
        "find me a maroon kurta in size m max 3000",
        "search",
        {"term": "kurta", "color": "Maroon", "size": "M", "max_price": 3000},
    ),
    ("red dress in medium", "search", {"category": "dresses", "color": "Red", "size": "M"}),
    (
        "I need a warm jacket for December under 5000",
        "search",
        {"category": "jackets", "season": "winter", "max_price": 5000},
    ),
    (
        "monsoon jakcets under rs 3000 in XL",
        "search",
        {"category": "jackets", "season": "monsoon", "size": "XL", "max_price": 3000},
    ),
    ("tell me more about the second one", "product_details", {"product_id": "P1003"}),
    # --- recommend
    ("recommend something for a wedding", "recommend", {"occasion": "festive"}),
    ("what goes with the alpine puffer?", "recommend", {"product_id": "P1001"}),
    ("suggest a gift for my wife under 3000", "recommend", {"occasion": "gift", "max_price": 3000}),
    ("Any sugestions for me?", "recommend", {}),
    ("what's trending in activewear", "recommend", {"category": "activewear"}),
    ("help me pick an outfit for office", "recommend", {"occasion": "work"}),
    # --- add to cart (and the cart sub-actions)
    ("add the first one in M black to my cart", "add_to_cart", {"product_id": "P1001", "size": "M", "color": "Black"}),
    ("add alpine puffer jacket size L navy", "add_to_cart", {"product_id": "P1001", "size": "L", "color": "Navy"}),
    (
        "ADD 2 of the quilted jacket in size m maroon",
        "add_to_cart",
        {"product_id": "P1003", "quantity": 2, "size": "M", "color": "Maroon"},
    ),
    ("I'll take it in medium, olive", "add_to_cart", {"product_id": "P1001", "size": "M", "color": "Olive"}),
    (
        "put the manali puffer in my bag, large black",
        "add_to_cart",
        {"product_id": "P1006", "size": "L", "color": "Black"},
    ),
    ("add to crat the velvet noir slip dress in S", "add_to_cart", {"product_name": "velvet noir slip", "size": "S"}),
    ("show my cart", "view_cart", {}),
    ("what's in my basket?", "view_cart", {}),
    ("remove the stole from my cart", "remove_from_cart", {"product_id": "P1044"}),
    ("make it 3", "update_quantity", {"quantity": 3}),
    ("change the quantity of the stole to 2", "update_quantity", {"quantity": 2, "product_id": "P1044"}),
    # --- checkout
    ("checkout", "checkout", {}),
    ("chekout please", "checkout", {}),
    ("Check out with card ending 4242", "checkout", {"card_ref": "card_ending_4242", "payment_method": "card"}),
    ("pay with upi priya.sharma@okhdfc", "checkout", {"upi_id": "priya.sharma@okhdfc", "payment_method": "upi"}),
    (
        "place my order, click and collect from ST-MUM-01",
        "checkout",
        {"fulfillment": "click_and_collect", "store_id": "ST-MUM-01"},
    ),
    ("I'm ready to buy, I'll pick it up in store", "checkout", {"fulfillment": "click_and_collect"}),
    ("cancel the checkout", "cancel_checkout", {}),
    ("can you gift wrap the stole?", "gift_wrap", {"product_id": "P1044"}),
    (
        'add the premium gift box with the message "Happy Diwali!"',
        "gift_wrap",
        {"wrap_option": "premium", "card_message": "Happy Diwali!"},
    ),
    # --- inventory check (and store reservation)
    (
        "is the manali puffer available in M in Mumbai?",
        "inventory_check",
        {"product_id": "P1006", "size": "M", "city": "Mumbai"},
    ),
    ("is it in stock in bangalore", "inventory_check", {"product_id": "P1001", "city": "Bengaluru"}),
    ("do you have it in XL near me", "inventory_check", {"product_id": "P1001", "size": "XL", "near_me": True}),
    ("Is the first one availble in navy?", "inventory_check", {"product_id": "P1001", "color": "Navy"}),
    ("any stok left of the quilted jacket in small?", "inventory_check", {"product_id": "P1003", "size": "S"}),
    ("which stores in Pune have the Kasauli fleece", "inventory_check", {"city": "Pune", "product_name": "kasauli"}),
    (
        "reserve it at the Bombay store in size M black",
        "reserve_in_store",
        {"product_id": "P1001", "size": "M", "color": "Black", "city": "Mumbai"},
    ),
    ("can you hold one for me in Delhi", "reserve_in_store", {"product_id": "P1001", "city": "Delhi"}),
    ("reserve it at Select Citywalk in M black", "reserve_in_store", {"product_id": "P1001", "store_id": "ST-DEL-01"}),
    # --- loyalty (coupons, points, profile)
    ("how many points do I have", "loyalty", {}),
    ("any offers for me?", "loyalty", {}),
    ("what's my tier", "loyalty", {}),
    ("show me my loyalty rewards", "loyalty", {}),
    ("are there any discounts today", "loyalty", {}),
    ("apply coupon WELCOME10", "apply_coupon", {"coupon": "WELCOME10"}),
    ("use code gold15", "apply_coupon", {"coupon": "GOLD15"}),
    ("redeem 500 points", "redeem_points", {"points": 500}),
    ("use 1,000 pts on this order", "redeem_points", {"points": 1000}),
    ("show my profile", "my_profile", {}),
    # --- support (orders, returns, exchanges)
    ("where is my order", "order_status", {}),
    ("Where's my order ORD-100007?", "order_status", {"order_id": "ORD-100007"}),
    ("track order 100004", "order_status", {"order_id": "ORD-100004"}),
    ("can I get the reciept for my last order", "order_status", {}),
    ("I want to return it, it's too big", "return_item", {"reason": "wrong_size"}),
    (
        "return my order ORD-100001 because it was damaged",
        "return_item",
        {"order_id": "ORD-100001", "reason": "damaged"},
    ),
    ("I'd like a refund, I changed my mind", "return_item", {"reason": "changed_mind"}),
    ("exchange it for a size L", "exchange_item", {"new_size": "L", "reason": "wrong_size"}),
    ("swap the black one for navy", "exchange_item", {"color": "Black", "new_color": "Navy"}),
    ("what is your return policy?", "policy", {"topic": "returns"}),
    ("which payment methods do you take", "policy", {"topic": "payment"}),
    ("I have a complaint", "support", {}),
    ("can I talk to a human", "human_handoff", {}),
    ("how do I contact customer care?", "human_handoff", {}),
    ("my parcel arrived damaged and I'm not happy", "order_status", {}),
    ("what are the shipping charges", "delivery_info", {}),
    ("how much is delivery to Pune and how long", "delivery_info", {"city": "Pune"}),
    ("which stores do you have in Bengaluru?", "store_finder", {"city": "Bengaluru"}),
    ("which stores in Mumbai have it", "inventory_check", {"city": "Mumbai"}),
    # --- after the order (issue 9)
    ("list all my orders", "order_history", {}),
    ("cancel my order ORD-100012", "cancel_order", {"order_id": "ORD-100012"}),
    ("cancel my reservation", "cancel_reservation", {}),
    ("cancel RSV-100001 please", "cancel_reservation", {"reservation_id": "RSV-100001"}),
    (
        "change the delivery address of ORD-100012 to Flat 3, 14 Park Street, Kolkata 700016",
        "change_address",
        {"order_id": "ORD-100012", "address": "Flat 3, 14 Park Street, Kolkata 700016"},
    ),
    ("gift wrap my order ORD-100012", "wrap_order", {"order_id": "ORD-100012"}),
    (
        "ship it to Flat 3, 14 Park Street, Kolkata 700016",
        "checkout",
        {"address": "Flat 3, 14 Park Street, Kolkata 700016", "fulfillment": "ship_to_home"},
    ),
    ("what's the status of order 100002", "order_status", {"order_id": "ORD-100002"}),
    # --- general chat
    ("thanks!", "thanks", {}),
    ("bye", "goodbye", {}),
    ("what's the weather like", "decline", {}),
    ("tell me a joke", "decline", {}),
    ("help", "help", {}),
    ("who are you?", "small_talk", {}),
    ("asdf qwerty", "general_chat", {}),
]


def _close(actual, expected) -> bool:
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return isinstance(actual, (int, float)) and float(actual) == float(expected)
    return actual == expected


@pytest.mark.parametrize("text, name, slots", CASES, ids=[c[0][:40] for c in CASES])
def test_intent_and_slots(text, name, slots):
    intent = parse(text, MEMORY)
    assert intent.name == name, f"{text!r}: {intent.name} {intent.slots}"
    for key, value in slots.items():
        assert _close(intent.slots.get(key), value), f"{text!r}: {key}={intent.slots.get(key)!r} ({intent.slots})"


def test_every_seed_intent_has_at_least_five_phrasings():
    counts = {family: 0 for family in FAMILIES}
    for text, name, _ in CASES:
        counts[parse(text, MEMORY).family] += 1
    assert all(count >= 5 for count in counts.values()), counts


@pytest.mark.parametrize(
    "text, expected",
    [
        ("under 6000", {"max_price": 6000}),
        ("below ₹5,000", {"max_price": 5000}),
        ("less than 5k", {"max_price": 5000}),
        ("max 3000", {"max_price": 3000}),
        ("upto rs. 2500", {"max_price": 2500}),
        ("over 10k", {"min_price": 10000}),
        ("between 2000 and 4000", {"min_price": 2000, "max_price": 4000}),
        ("₹1,500 - ₹3,000", {"min_price": 1500, "max_price": 3000}),
    ],
)
def test_price_caps(text, expected):
    slots = parse(f"jackets {text}").slots
    for key, value in expected.items():
        assert slots.get(key) == value, (text, slots)


@pytest.mark.parametrize(
    "text, size",
    [
        ("kurta size m", "M"),
        ("kurta in medium", "M"),
        ("jacket large", "L"),
        ("tee in extra large", "XL"),
        ("tee in XXL", "XXL"),
        ("tops in xs", "XS"),
        ("jeans waist 30", "30"),
        ("jeans 34 waist", "34"),
        ("sneakers uk 8", "8"),
        ("boots size 10", "10"),
        ("stole one size", "One Size"),
        ("dress in an S", "S"),
    ],
)
def test_sizes(text, size):
    assert parse(text).slots.get("size") == size


@pytest.mark.parametrize(
    "text, colour",
    [
        ("grey jacket", "Grey"),
        ("gray jacket", "Grey"),
        ("NAVY BLUE shirt", "Navy"),
        ("olive green cargo", "Olive"),
        ("a mustard kurti", "Mustard"),
        ("off white kurta", "Ivory"),
        ("beige chinos", "Beige"),
    ],
)
def test_colours(text, colour):
    assert parse(text).slots.get("color") == colour


@pytest.mark.parametrize(
    "text, city",
    [
        ("in stock in bangalore?", "Bengaluru"),
        ("Bombay store", "Mumbai"),
        ("new delhi", "Delhi"),
        ("gurgaon", "Gurugram"),
        ("Calcutta", "Kolkata"),
        ("chennai", "Chennai"),
        ("Hyderabad", "Hyderabad"),
    ],
)
def test_cities(text, city):
    assert parse(text).slots.get("city") == city


@pytest.mark.parametrize(
    "text, quantity",
    [
        ("add two of them", 2),
        ("add 3x", 3),
        ("qty 4", 4),
        ("make it 5", 5),
        ("add a couple", 2),
    ],
)
def test_quantities(text, quantity):
    assert parse(text, MEMORY).slots.get("quantity") == quantity


def test_gold_tier_is_not_a_colour_and_a_coupon_is_not_a_product():
    assert "color" not in parse("what do gold members get?").slots
    slots = parse("apply coupon FESTIVE1000").slots
    assert slots["coupon"] == "FESTIVE1000" and "product_name" not in slots


def test_follow_up_refines_the_previous_request():
    memory = Memory(
        products=MEMORY.products,
        last_list=MEMORY.last_list,
        last_product="P1001",
        previous={"intent": "search", "slots": {"category": "jackets", "max_price": 6000.0}},
    )
    intent = parse("what about under 4000?", memory)
    assert intent.name == "search" and intent.slots["category"] == "jackets" and intent.slots["max_price"] == 4000
    memory.previous = {"intent": "add_to_cart", "slots": {"product_id": "P1001"}, "awaiting": ["size", "color"]}
    intent = parse("M in black", memory)
    assert intent.name == "add_to_cart" and intent.slots == {
        **intent.slots,
        "product_id": "P1001",
        "size": "M",
        "color": "Black",
    }
    memory.previous = {"intent": "inventory_check", "slots": {"product_id": "P1001", "size": "M", "city": "Mumbai"}}
    intent = parse("and in Pune?", memory)
    assert intent.name == "inventory_check" and intent.slots["city"] == "Pune" and intent.slots["size"] == "M"
    memory.previous = {"intent": "add_to_cart", "slots": {}, "offer": {"intent": "checkout", "slots": {}}}
    assert parse("yes please", memory).name == "checkout"


def test_the_same_text_always_gives_the_same_intent():
    first = [parse(text, MEMORY).to_dict() for text, _, _ in CASES]
    again = [parse(text, MEMORY).to_dict() for text, _, _ in CASES]
    assert first == again
