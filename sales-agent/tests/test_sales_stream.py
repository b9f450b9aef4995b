"""POST /chat/stream (server-sent events, /work/coord/web-events.md), the turn kept in /chat/state when the client
leaves, the cards of the final event (names and Indian money, never ids), and GET /images/<file> on the sales
service. The offline model and the real agents in process (test_sales_stream_served.py runs real gunicorn)."""

from __future__ import annotations

import json
import re
import time

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shops import chat_app

from sales_agent.cards import CardVault
from sales_agent.entrypoints.app import create_app
from sales_agent.memory import TurnLimiter
from sales_agent.offline.model import OfflineChatModel
from support import WiredSystem, fresh_database_url

CARD = "4242 4242 4242 4242"
INDIAN = re.compile(r"^₹\d{1,2}(,\d{2})*,\d{3}(\.\d{2})?$|^₹\d{1,3}(\.\d{2})?$")  # ₹4,999 · ₹1,24,990 · ₹999


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    with chat_app(tmp_path_factory.mktemp("stream"), "stream", OfflineChatModel()) as built:
        yield built


@pytest.fixture
def client(system):
    return system[0].test_client()


@pytest.fixture
def signed(system, shopper_headers):
    """``signed("U1002")``: the Authorization header of that shopper's session for this app."""
    return lambda user_id: shopper_headers(system[0], user_id)


def parse(text: str) -> list[tuple[str, dict]]:
    """The events of a text/event-stream body, in order (comment lines left out)."""
    out = []
    for block in text.split("\n\n"):
        if not block.strip() or block.startswith(":"):
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def stream(client, headers: dict[str, str], message: str) -> list[tuple[str, dict]]:
    """One turn as the page sends it (the shopper is the session's), parsed."""
    response = client.post("/chat/stream", json={"channel": "web", "message": message}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Accel-Buffering"] == "no"
    return parse(response.get_data(as_text=True))


def final_of(events: list[tuple[str, dict]]) -> dict:
    assert events[-1][0] == "final", events[-1]
    return events[-1][1]


def reply_of(events: list[tuple[str, dict]]) -> str:
    text = ""
    for kind, data in events:
        if kind == "token":
            text = data["text"] if data.get("replace") else text + data["text"]
    return text


def test_events_arrive_in_order_with_tools_tokens_and_product_cards(client, signed):
    events = stream(client, signed("U1001"), "show me winter jackets under 6000")
    kinds = [k for k, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "final" and kinds.count("start") == kinds.count("final") == 1
    turn_id = events[0][1]["turnId"]
    assert re.fullmatch(r"T-[0-9A-F]{12}", turn_id)
    # every agent call starts, then ends with its time; all of them before the reply is written
    tools = [d for k, d in events if k == "tool"]
    assert [(t["phase"], t["agent"], t["operation"]) for t in tools] == [
        ("start", "recommendation", "searchProducts"),
        ("end", "recommendation", "searchProducts"),
    ]
    assert tools[0]["callId"] == tools[1]["callId"] and tools[1]["ok"] is True and tools[1]["ms"] > 0
    assert kinds.index("token") > kinds.index("tool") and kinds[-2] == "token"
    assert kinds.count("token") > 3  # the offline reply streams in chunks of a few words

    final = final_of(events)
    assert final["turnId"] == turn_id and reply_of(events) == final["reply"]
    assert "Alpine Puffer Jacket" in final["reply"] and not re.search(r"\bP\d{4,}\b", final["reply"])
    assert final["calls"] == [
        {"agent": "recommendation", "operation": "searchProducts", "ms": tools[1]["ms"], "ok": True}
    ]
    cards = {c["name"]: c for c in final["products"]}
    puffer = cards["Alpine Puffer Jacket"]
    assert puffer | {"stock": None} == {
        "productId": "P1001",
        "name": "Alpine Puffer Jacket",
        "price": 4999.0,
        "priceText": "₹4,999",
        "colors": ["Black", "Navy", "Olive"],
        "sizes": puffer["sizes"],
        "rating": 4.8,
        "stock": None,
        "image": "/images/P1001-black.svg",
    }
    assert "M" in puffer["sizes"] and all(INDIAN.match(c["priceText"]) for c in final["products"])
    assert final["cart"] == {"items": [], "itemCount": 0, "total": 0.0, "totalText": "₹0"}
    assert final["pendingConfirmation"] is None and final["order"] is None


def test_cart_stock_badge_confirmation_and_order_card_show_names_and_indian_money(client, signed):
    stream(client, signed("U1002"), "show me banarasi sarees")
    added = final_of(stream(client, signed("U1002"), "add 10 of the first one in maroon"))
    (line,) = added["cart"]["items"]
    assert line["name"] == "Varanasi Zari Banarasi Saree" and line["quantity"] == 10
    assert line["priceText"] == "₹12,499" and line["lineTotalText"] == "₹1,24,990"
    assert added["cart"]["totalText"] == "₹1,24,990"
    assert line["image"] == "/images/P1059-maroon.svg"

    checked = final_of(stream(client, signed("U1002"), "is the varanasi saree in stock in maroon?"))
    (card,) = checked["products"] or [None]
    badge = card["stock"] if card else None
    assert badge is None or re.fullmatch(r"only \d+ left|in stock|out of stock online", badge["label"])

    events = stream(
        client, signed("U1002"), f"checkout with card {CARD} exp 12/30 cvc 123, I'll collect it from the store"
    )
    pending = final_of(events)["pendingConfirmation"]
    summary = pending["summary"]
    assert "Varanasi Zari Banarasi Saree" in summary and "collect at " in summary
    assert not re.search(r"ST-[A-Z]{3}-\d{2}|\bP\d{4,}\b", summary + final_of(events)["reply"])
    assert INDIAN.match(pending["totalText"]) and pending["totalText"] in summary
    assert re.search(r"Total ₹1,\d{2},\d{3}", summary)  # lakh grouping, not ₹123,790.00

    placed = final_of(stream(client, signed("U1002"), "yes"))  # a big order waits for an approval
    order = placed["order"]
    assert re.fullmatch(r"ORD-\d{6,}", order["orderId"]) and order["orderId"] in placed["reply"]
    assert order["status"] == "pending_approval" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", order["expectedDelivery"])
    assert INDIAN.match(order["totalText"]) and placed["pendingConfirmation"] is None
    assert placed["cart"]["items"] == []
    assert [c["operation"] for c in placed["calls"]][:2] == ["processPayment", "createOrder"]


def test_a_dropped_connection_does_not_lose_the_turn(client, signed):
    stream(client, signed("U1004"), "show me winter jackets under 6000")
    response = client.post(
        "/chat/stream", json={"message": "add the first one in M black"}, headers=signed("U1004"), buffered=False
    )
    first = next(iter(response.response))
    kind, start = parse(first.decode() if isinstance(first, bytes) else first)[0]
    response.close()  # the client is gone after `start`
    assert kind == "start"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = client.get("/chat/state", headers=signed("U1004")).get_json()
        if (state["lastTurn"] or {}).get("turnId") == start["turnId"]:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the turn the client left never reached /chat/state")
    last = state["lastTurn"]
    assert [i["name"] for i in last["cart"]["items"]] == ["Alpine Puffer Jacket"]
    assert state["cart"]["itemCount"] == 1 and "Added" in last["reply"]
    assert "getProduct" in {c["operation"] for c in last["calls"]}


def test_a_typed_card_number_never_reaches_the_stream_the_state_or_the_database(client, signed, system):
    stream(client, signed("U1005"), "show me winter jackets under 6000")
    stream(client, signed("U1005"), "add the first one in M black")
    events = stream(client, signed("U1005"), f"checkout with card {CARD} exp 12/30 cvc 123")
    assert final_of(events)["pendingConfirmation"]["paymentMethod"] == "card ending 4242"
    seen = json.dumps(events, ensure_ascii=False) + client.get("/chat/state", headers=signed("U1005")).get_data(
        as_text=True
    )
    digits = re.sub(r"\D", "", seen)
    assert "4242424242424242" not in digits and CARD not in seen and "cvc 123" not in seen
    with system[1].store.db.read() as conn:
        stored = conn.execute(sa.text("SELECT turn FROM sales_last_turns WHERE user_id = 'U1005'")).scalar_one()
    assert "4242424242424242" not in re.sub(r"\D", "", str(stored)) and "card ending 4242" in str(stored)


def test_confirming_with_the_button_shows_the_order_and_keeps_it_as_the_last_turn(client, signed):
    stream(client, signed("U1003"), "show me winter jackets under 6000")
    stream(client, signed("U1003"), "add the first one in M black")
    pending = final_of(stream(client, signed("U1003"), f"checkout with card {CARD} exp 12/30 cvc 123"))[
        "pendingConfirmation"
    ]
    assert pending["checkoutId"] and INDIAN.match(pending["totalText"])
    answer = client.post("/chat/confirm", json={"approve": True}, headers=signed("U1003")).get_json()
    order = answer["order"]
    assert re.fullmatch(r"ORD-\d{6,}", order["orderId"]) and order["orderId"] in answer["reply"]
    assert order["status"] == "confirmed" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", order["expectedDelivery"])
    state = client.get("/chat/state", headers=signed("U1003")).get_json()
    assert state["lastTurn"]["turnId"] == answer["turnId"] and state["lastTurn"]["order"] == order
    assert state["lastOrder"]["orderId"] == order["orderId"] and state["cart"]["itemCount"] == 0


@pytest.mark.parametrize(
    "body,status,field",
    [
        ({"userId": "U 1001", "message": "hi"}, 400, "userId"),
        ({"userId": "U" + "1" * 64, "message": "hi"}, 400, "userId"),
        ({"message": ""}, 400, "message"),
        ({"message": "x" * 2001}, 400, "message"),
        ({"message": "hi", "extra": 1}, 400, "extra"),
        ({"userId": "U1002", "message": "hi"}, 403, "userId"),  # another shopper than the session's
    ],
)
def test_bad_input_is_a_json_error_before_the_stream_starts(client, signed, body, status, field):
    response = client.post("/chat/stream", json=body, headers=signed("U1001"))
    assert response.status_code == status and response.mimetype == "application/json"
    assert field in [d["field"] for d in response.get_json()["error"]["details"]]


def test_no_session_or_an_expired_one_is_a_401_before_the_stream_starts(client, system, shopper_headers):
    for headers in ({}, shopper_headers(system[0], "U1001", lifetime=-60)):
        response = client.post("/chat/stream", json={"message": "hi"}, headers=headers)
        assert response.status_code == 401 and response.mimetype == "application/json"
        assert response.get_json()["error"]["details"][0]["field"] == "Authorization"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"userId": st.one_of(st.just("U1008"), st.text(max_size=6)), "message": json_values},
            optional={"channel": json_values},
        ),
    )
)
def test_fuzzed_bodies_are_a_json_4xx_or_a_whole_stream_never_a_500(client, signed, body):
    response = client.post(
        "/chat/stream", data=json.dumps(body), content_type="application/json", headers=signed("U1008")
    )
    assert response.status_code < 500
    if response.status_code == 200:
        kinds = [k for k, _ in parse(response.get_data(as_text=True))]
        assert kinds[0] == "start" and kinds[-1] in ("final", "error")
    else:
        assert response.get_json()["error"]["details"]


def test_the_stream_shares_the_chat_turn_limit(system, signed):
    app, session = system
    saved = session.turns
    session.turns = TurnLimiter(session.store.db, 1)
    try:
        client = app.test_client()
        assert client.post("/chat", json={"message": "hi"}, headers=signed("U1006")).status_code == 200
        response = client.post("/chat/stream", json={"message": "hi"}, headers=signed("U1006"))
        assert response.status_code == 429 and response.get_json()["error"]["code"] == "rate_limited"
    finally:
        session.turns = saved


def test_a_turn_that_cannot_run_ends_the_stream_with_an_error_event(system, signed, monkeypatch):
    app, session = system

    def busy(*args, **kwargs):
        from agentkit.errors import Conflict

        raise Conflict("The previous message is still being answered.", code="turn_in_progress")

    monkeypatch.setattr(session, "send", busy)
    response = app.test_client().post("/chat/stream", json={"message": "hi"}, headers=signed("U1007"))
    events = parse(response.get_data(as_text=True))
    assert [k for k, _ in events] == ["start", "error"]
    assert events[1][1] == {"code": "turn_in_progress", "message": "The previous message is still being answered."}


# -- pictures -----------------------------------------------------------------------------------
def test_pictures_are_served_on_the_sales_origin_openly_with_the_agents_cache_headers(client):
    assert client.post("/chat", json={"message": "hi"}).status_code == 401  # the chat needs a session
    picture = client.get("/images/P1001-black.svg")  # pictures are not
    assert picture.status_code == 200 and picture.mimetype == "image/svg+xml"
    assert picture.get_data().startswith(b"<svg") and b"Alpine Puffer Jacket" in picture.get_data()
    assert "max-age=604800" in picture.headers["Cache-Control"] and picture.headers["ETag"]
    assert picture.headers["X-Content-Type-Options"] == "nosniff"
    again = client.get("/images/P1001-black.svg", headers={"If-None-Match": picture.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    for bad in ("/images/../agents.toml", "/images/%2e%2e/agents.toml", "/images/x/../../etc/passwd", "/images/a.txt"):
        response = client.get(bad)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found", bad
    assert client.get("/images/P9999-black.svg").status_code == 404  # a name the catalog has no picture for


# -- the LLM path: LangChain streaming from an OpenAI-compatible server ------------------------------
@pytest.fixture
def llm_app(tmp_path, monkeypatch):
    from sales_agent.bootstrap import build_session
    from sales_agent.settings import Settings
    from sales_agent.testing import FakeOpenAIServer

    def make(replies):
        server = FakeOpenAIServer(replies).__enter__()
        monkeypatch.setenv("SALES_AGENT_MODEL", "openai:test-model")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        settings = Settings(
            database_url=fresh_database_url("sales", tmp_path, "llm"), memory_url=str(tmp_path / "memory.db")
        )
        session = build_session(settings, vault=CardVault())
        opened.append((server, session))
        return create_app(session).test_client(), server

    opened: list = []
    wired = WiredSystem(tmp_path, tag="llm")
    yield make
    for server, session in opened:
        session.close()
        server.__exit__(None, None, None)
    wired.close()


def test_llm_tokens_stream_through_langchain_as_the_model_writes_them(llm_app, shopper_headers):
    client, server = llm_app(
        [
            {"tool_calls": [("search_products", {"query": "winter jacket", "max_price": 6000, "limit": 3})]},
            {"chunks": ["The ", "Alpine Puffer ", "Jacket ", "is ", "₹4,999."]},
        ]
    )
    events = stream(client, shopper_headers(client.application, "U1001"), "winter jackets under 6000 please")
    assert all(r.get("stream") for r in server.requests)  # LangChain asked the model server to stream
    tokens = [d["text"] for k, d in events if k == "token"]
    assert tokens == ["The ", "Alpine Puffer ", "Jacket ", "is ", "₹4,999."]  # the server's chunks, as sent
    kinds = [k for k, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "final" and kinds.index("tool") < kinds.index("token")
    final = final_of(events)
    assert final["reply"] == "The Alpine Puffer Jacket is ₹4,999." == reply_of(events)
    assert [(c["agent"], c["operation"]) for c in final["calls"]] == [("recommendation", "searchProducts")]
    assert final["products"][0]["image"].startswith("/images/") and final["products"][0]["priceText"]


def test_an_id_the_model_writes_goes_out_as_the_name_even_split_across_chunks(llm_app, shopper_headers):
    client, _ = llm_app(
        [
            {"tool_calls": [("search_products", {"query": "alpine puffer", "limit": 1})]},
            {"chunks": ["The P10", "01 is ", "₹4,999 (sku P1001-BLACK-M)."]},
        ]
    )
    events = stream(client, shopper_headers(client.application, "U1001"), "the alpine puffer please")
    final = final_of(events)
    assert final["reply"] == "The Alpine Puffer Jacket is ₹4,999 (sku P1001-BLACK-M)."
    tokens = [d for k, d in events if k == "token"]
    assert "".join(t["text"] for t in tokens) == final["reply"] and not any(t.get("replace") for t in tokens)
    assert not any(re.search(r"P10(?!01-)", t["text"]) for t in tokens), tokens


def test_text_the_model_wrote_before_a_tool_call_is_replaced_by_the_reply(llm_app, shopper_headers):
    client, _ = llm_app(
        [
            {"content": "Let me look. ", "tool_calls": [("search_products", {"query": "alpine puffer", "limit": 1})]},
            {"chunks": ["Found ", "it: ₹4,999."]},
        ]
    )
    events = stream(client, shopper_headers(client.application, "U1001"), "the alpine puffer please")
    final = final_of(events)
    assert final["reply"] == "Found it: ₹4,999."
    assert [d for k, d in events if k == "token"][-1] == {"text": final["reply"], "replace": True}
    assert reply_of(events) == final["reply"]


# -- names and money at their source ------------------------------------------------------------------
def test_ids_of_any_width_become_names_and_skus_and_picture_paths_stay():
    from sales_agent.names import names_in, without_ids

    products, stores = names_in(
        ['{"products": [{"productId": "P10001", "name": "Nilgiri Shawl"}]}', {"storeId": "ST-BLR-02", "name": "Orion"}]
    )
    text = "P10001 and P1001 at ST-BLR-02; Orion Mall (ST-BLR-02); sku P10001-RED-M; /images/P10001-red.svg; ORD-100012"
    assert without_ids(text, products, stores) == (
        "Nilgiri Shawl and this product at Orion; Orion Mall; sku P10001-RED-M; /images/P10001-red.svg; ORD-100012"
    )


def test_the_confirmation_names_the_store_or_the_address_in_indian_money():
    from sales_agent.graph import describe_quote

    quote = {
        "items": [{"quantity": 10, "name": "Varanasi Zari Banarasi Saree", "color": "Maroon", "size": "One Size"}],
        "payment": {"method": "card", "last4": "4242"},
        "discount": 1200.0,
        "deliveryFee": 0,
        "total": 124990.0,
        "fulfillment": {
            "type": "click_and_collect",
            "storeId": "ST-HYD-01",
            "storeName": "Inorbit Mall, Madhapur",
            "city": "Hyderabad",
        },
    }
    assert describe_quote(quote) == (
        "Place order: 10 x Varanasi Zari Banarasi Saree (Maroon, One Size). Total ₹1,24,990 (you save ₹1,200), "
        "paid by card ending 4242, collect at Inorbit Mall, Madhapur, Hyderabad. Confirm?"
    )
    quote["fulfillment"] = {"type": "ship_to_home", "city": "Pune", "address": "12 FC Road, Pune 411004"}
    assert describe_quote(quote).endswith("paid by card ending 4242, deliver to 12 FC Road, Pune 411004. Confirm?")
    quote["fulfillment"] = {"type": "click_and_collect", "storeId": "ST-HYD-01"}  # no name known: still no id
    assert "ST-HYD-01" not in describe_quote(quote)


def test_stock_badges():
    from sales_agent.web.view import stock_badge

    assert stock_badge(3, "low_stock") == {"level": 3, "label": "only 3 left"}
    assert stock_badge(54, "in_stock") == {"level": 54, "label": "in stock"}
    assert stock_badge(0, "out_of_stock") == {"level": 0, "label": "out of stock online"}
    assert stock_badge(status="in_stores_only") == {"level": None, "label": "in stores only"}
    assert stock_badge(status="unknown") is None and stock_badge() is None
