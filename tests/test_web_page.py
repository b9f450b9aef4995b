"""The chat page's own logic in Chromium, with no server behind it: the pure functions of format.js (the
event-stream reader, Markdown-lite as DOM nodes, money, masking), and the page drawing each event of the
stream exactly as POST /chat/stream documents them. Playwright answers the page's requests from the
committed static files and a recorded stream, so a reply holding markup, an error event and a stream that
drops before its final event can be shown on purpose. tests/test_web_chat.py drives the same page against
the real sales service and agents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recommendation_agent.images import IMAGES_DIR
from sales_agent.web.pages import STATIC

ORIGIN = "http://shop.test"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
PRODUCT = {
    "productId": "P1001",
    "name": "Alpine Puffer Jacket",
    "price": 4999.0,
    "priceText": "₹4,999",
    "colors": ["Black", "Navy"],
    "sizes": ["S", "M", "L"],
    "rating": 4.5,
    "stock": {"level": 3, "label": "only 3 left"},
    "image": "/images/P1001-black.svg",
}
CART = {
    "items": [
        {
            "productId": "P1001",
            "name": "Alpine Puffer Jacket",
            "size": "M",
            "color": "Black",
            "quantity": 2,
            "unitPrice": 4999.0,
            "lineTotal": 9998.0,
            "priceText": "₹4,999",
            "image": "/images/P1001-black.svg",
        }
    ],
    "total": 9998.0,
    "totalText": "₹9,998",
}
FINAL = {
    "turnId": "T-1",
    "reply": "Here are **2** jackets:\n- Alpine Puffer Jacket\n- <img src=x onerror=alert(1)>",
    "products": [PRODUCT],
    "cart": CART,
    "pendingConfirmation": {
        "checkoutId": "CO-1",
        "summary": "2 × Alpine Puffer Jacket to Flat 3, 14 Park Street, Kolkata; card ending 4242",
        "totalText": "₹9,998",
    },
    "order": None,
    "calls": [{"agent": "recommendation", "operation": "searchProducts", "ms": 12, "ok": True}],
}


def sse(*events: tuple[str, dict]) -> str:
    # A keep-alive comment first, as the server sends while a turn is quiet.
    return ": keep-alive\n\n" + "".join(f"event: {kind}\ndata: {json.dumps(data)}\n\n" for kind, data in events)


class Shop:
    """Answers the page's requests: files from static/ and the catalog's pictures, the rest from ``answers``
    (path -> (status, content type, body)); records every request the page makes."""

    def __init__(self, page):
        self.requests: list[tuple[str, str, str | None]] = []
        self.answers: dict[str, tuple[int, str, str]] = {
            "/page/config": (200, "application/json", json.dumps({"devLogin": False})),
            "/sessions/guest": (201, "application/json", json.dumps({"userId": "guest-1", "token": "tok-1"})),
            "/chat/state": (200, "application/json", json.dumps({"cart": {"items": []}, "history": []})),
        }
        page.route(f"{ORIGIN}/**", self.answer)

    def answer(self, route):
        request = route.request
        path = request.url[len(ORIGIN) :].split("?")[0]
        self.requests.append((request.method, path, request.headers.get("authorization")))
        file = {"/": STATIC / "index.html", "/favicon.ico": STATIC / "favicon.svg"}.get(path)
        if path.startswith("/web/"):
            file = STATIC / path[len("/web/") :]
        elif path.startswith("/images/"):
            file = IMAGES_DIR / path[len("/images/") :]
        if file is not None:
            route.fulfill(status=200, content_type=TYPES[Path(file).suffix], body=Path(file).read_bytes())
        elif path in self.answers:
            status, kind, body = self.answers[path]
            route.fulfill(status=status, content_type=kind, body=body)
        else:
            route.fulfill(status=404, content_type="application/json", body='{"error": {"message": "nope"}}')


@pytest.fixture
def shop(page):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    shop = Shop(page)
    yield shop
    assert errors == []


def test_format_functions(page, shop):
    page.goto(f"{ORIGIN}/")
    got = page.evaluate(
        """async () => {
      const f = await import("/web/format.js");
      const rich = (text) => {
        const box = document.createElement("div");
        box.append(f.renderRich(text));
        return box.innerHTML;
      };
      const parsed = f.parseEvents('event: token\\ndata: {"text": "Hi"}\\n\\n: ping\\n\\nevent: tool\\r\\ndata: {"a"');
      return {
        money: [f.money(4999), f.money(124990), f.money(4718.5), f.money(-300), f.money(10000000)],
        date: f.formatDate("2026-12-05"),
        rich: [
          rich("**Bold** and <b>not</b>\\nnext line\\n\\n- one\\n- **two**\\n1. first"),
          rich("a ** lone star"),
          rich("<img src=x onerror=alert(1)>"),
        ],
        parsed,
        masked: [
          f.maskCards("checkout with card 4242 4242 4242 4242 exp 12/30 cvc 123, deliver to Flat 3"),
          f.maskCards("pay with 4000-0000-0000-0002 cvv: 987"),
          f.maskCards("call 9820011001 about order 100012"),
        ],
        cart: f.readCart({lines: [{name: "Jacket", quantity: 2, unitPrice: 4999, lineTotal: 9998}], subtotal: 9998,
                          itemCount: 2}),
      };
    }"""
    )
    assert got["money"] == ["₹4,999", "₹1,24,990", "₹4,718.50", "-₹300", "₹1,00,00,000"]
    assert got["date"] == "5 Dec 2026"
    assert got["rich"][0] == (
        "<p><strong>Bold</strong> and &lt;b&gt;not&lt;/b&gt;<br>next line</p>"
        "<ul><li>one</li><li><strong>two</strong></li></ul><ol><li>first</li></ol>"
    )
    assert got["rich"][1] == "<p>a ** lone star</p>"
    assert got["rich"][2] == "<p>&lt;img src=x onerror=alert(1)&gt;</p>"
    assert got["parsed"] == {"events": [{"event": "token", "data": {"text": "Hi"}}], "rest": 'event: tool\ndata: {"a"'}
    assert got["masked"] == [
        "checkout with card card ending 4242 exp 12/30 cvc •••, deliver to Flat 3",
        "pay with card ending 0002 cvv: •••",
        "call 9820011001 about order 100012",
    ]
    assert got["cart"] == {
        "items": [
            {
                "productId": "",
                "name": "Jacket",
                "size": "",
                "color": "",
                "quantity": 2,
                "unitText": "₹4,999",
                "lineText": "₹9,998",
                "image": "",
            }
        ],
        "count": 2,
        "totalText": "₹9,998",
    }


def test_the_page_draws_each_event_of_the_stream(page, shop, screenshot):
    stream = sse(
        ("start", {"turnId": "T-1"}),
        ("tool", {"phase": "start", "callId": "c1", "agent": "recommendation", "operation": "searchProducts"}),
        (
            "tool",
            {
                "phase": "end",
                "callId": "c1",
                "agent": "recommendation",
                "operation": "searchProducts",
                "ms": 12,
                "ok": True,
            },
        ),
        ("token", {"text": "Let me look for jackets. "}),
        ("token", {"text": "Here are **2** jackets:\n- Alpine Puffer Jacket\n", "replace": True}),
        ("token", {"text": "- <img src=x onerror=alert(1)>"}),
        ("final", FINAL),
    )
    shop.answers["/chat/stream"] = (200, "text/event-stream", stream)
    page.goto(f"{ORIGIN}/")
    page.wait_for_selector("body[data-ready=true]")
    calls = [r for r in shop.requests if r[1] in ("/sessions/guest", "/chat/state")]
    assert calls == [("POST", "/sessions/guest", None), ("GET", "/chat/state", "Bearer tok-1")]
    assert json.loads(page.evaluate("localStorage.getItem('shop.session')")) == {
        "userId": "guest-1",
        "token": "tok-1",
        "name": "",
        "guest": True,
    }
    # What the server keeps of the turn: the card taken out of the message, the cart as it now is.
    said = "checkout with card ending 4242 exp 12/30"
    shop.answers["/chat/state"] = (
        200,
        "application/json",
        json.dumps({"cart": CART, "history": [{"role": "user", "text": said}, {"role": "assistant", "text": "ok"}]}),
    )
    page.get_by_label("Message").fill("checkout with card 4242 4242 4242 4242 exp 12/30 cvc 123")
    page.get_by_label("Message").press("Enter")
    page.get_by_role("button", name="Confirm").wait_for()
    page.wait_for_function("() => document.querySelector('#send').disabled === false")
    assert page.get_by_label("Message").input_value() == ""
    reply = page.locator(".msg.assistant .reply").last
    assert reply.inner_html() == (
        "<p>Here are <strong>2</strong> jackets:</p>"
        "<ul><li>Alpine Puffer Jacket</li><li>&lt;img src=x onerror=alert(1)&gt;</li></ul>"
    )
    assert page.locator(".msg.assistant").last.get_attribute("data-events") == "7"
    assert page.locator(".msg.user .bubble").last.inner_text() == said
    assert page.locator(".calls summary").last.inner_text() == "Agent calls (1)"
    assert page.locator(".calls-list li").last.text_content() == "recommendation · searchProducts · 12 ms"
    card = page.locator(".card.product").first
    assert card.get_attribute("data-product-id") == "P1001"
    assert card.locator("h3").inner_text() == "Alpine Puffer Jacket"
    assert card.locator(".price").inner_text() == "₹4,999"
    assert card.locator(".stock").inner_text() == "only 3 left"
    assert card.locator("img").get_attribute("alt") == "Alpine Puffer Jacket in Black"
    page.wait_for_function("() => document.querySelector('.card.product img').naturalWidth > 0")
    assert page.locator("#cart-items .cart-line").inner_text().split("\n") == [
        "Alpine Puffer Jacket",
        "M · Black",
        "× 2",
        "₹9,998",
    ]
    assert page.locator("#cart-total").inner_text() == "Total ₹9,998"
    assert page.locator("#cart-count").inner_text() == "2"
    assert "P1001" not in page.locator("body").inner_text()
    screenshot("drawn", full_page=True)

    order = {
        "orderId": "ORD-100012",
        "status": "pending_approval",
        "expectedDelivery": "2026-12-05",
        "totalText": "₹9,998",
    }
    shop.answers["/chat/state"] = (200, "application/json", json.dumps({"cart": {"items": []}, "history": []}))
    shop.answers["/chat/confirm"] = (
        200,
        "application/json",
        json.dumps({"reply": "Order **ORD-100012** placed.", "cart": {"items": [], "total": 0}, "order": order}),
    )
    page.get_by_role("button", name="Confirm").click()
    page.locator(".msg .card.order").wait_for()
    assert ("POST", "/chat/confirm", "Bearer tok-1") in shop.requests
    assert page.locator(".msg .card.order").locator("h3, p").all_inner_texts() == [
        "Order placed",
        "Order ORD-100012",
        "Status: pending approval",
        "Expected by 5 Dec 2026",
        "Total ₹9,998",
    ]
    assert page.locator("#cart-empty").is_visible()
    assert page.locator(".pending .answered").inner_text() == "You confirmed this payment."
    assert page.evaluate("document.activeElement.id") == "message"


def test_an_error_event_and_a_dropped_stream(page, shop):
    page.goto(f"{ORIGIN}/")
    page.wait_for_selector("body[data-ready=true]")
    shop.answers["/chat/stream"] = (
        200,
        "text/event-stream",
        sse(
            ("start", {"turnId": "T-2"}), ("error", {"code": "dependency_unavailable", "message": "Payments are down."})
        ),
    )
    page.get_by_label("Message").fill("hello")
    page.get_by_label("Message").press("Enter")
    assert page.get_by_role("alert").inner_text() == "Payments are down."
    page.wait_for_function("() => !document.querySelector('#send').disabled")  # the turn is over: Send again

    # The connection drops after one token: the turn is read back from /chat/state.
    shop.answers["/chat/stream"] = (
        200,
        "text/event-stream",
        sse(("start", {"turnId": "T-3"}), ("token", {"text": "Here"})),
    )
    shop.answers["/chat/state"] = (
        200,
        "application/json",
        json.dumps({"cart": CART, "history": [{"role": "user", "text": "jackets"}], "lastTurn": FINAL}),
    )
    page.get_by_label("Message").fill("jackets")
    page.get_by_label("Message").press("Enter")
    page.get_by_role("button", name="Confirm").wait_for()
    assert page.locator(".card.product h3").inner_text() == "Alpine Puffer Jacket"
    assert page.locator("#cart-count").inner_text() == "2"
