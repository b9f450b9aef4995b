"""The chat page in Chromium against the real thing: every agent and the sales service under gunicorn on
loopback, the offline model, no API key. A guest searches, sees product cards with pictures, fills the cart,
checks out with a card and a delivery address, confirms and gets an order, and a reload keeps it all; the
same by keyboard alone and on a 375-px phone screen. No console errors, and the card number typed into the
page is nowhere afterwards: not in the page, its localStorage, the stream, /chat/state or the server's files.
Screenshots of each step (what the shopper sees: the page scrolls itself to the newest message; a full-page
picture would draw the sticky message box over the conversation) go to var/screenshots/<test>/."""

from __future__ import annotations

import json
import re

import pytest
import requests

from agentkit.registry import agents
from faults import files_to_scan, scan_for_secrets
from support import served

CARD = "4242424242424242"
TYPED_CARD = "4242 4242 4242 4242"
CHECKOUT = f"checkout with card {TYPED_CARD} exp 12/30 cvc 123, deliver to Flat 3, 14 Park Street, Kolkata 700016"
MONEY = re.compile(r"₹(\d{1,2},)*\d{1,3}(\.\d{2})?")  # ₹4,999 · ₹1,24,990
ORDER_ID = re.compile(r"ORD-\d{6,}")
INTERNAL_ID = re.compile(r"\b(P\d{4,}|ST-[A-Z]{3}-\d+|guest-[0-9a-f]+|U\d{4,})\b")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    env = {"SALES_AGENT_MODEL": "offline", "SALES_TURNS_PER_MINUTE": "200", "SALES_WEB_DEV_LOGIN": "1"}
    with served(root, [*agents(), "sales"], workers=1, extra_env=env) as urls:
        yield {"url": urls["sales"], "root": root}


@pytest.fixture
def problems(page):
    """Console errors and uncaught page errors, collected while the test runs; each test ends asserting there
    were none (in the test, not at teardown, so a failure is the test's own)."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(f"console: {m.text} at {m.location}") if m.type == "error" else None)
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    return seen


class Chat:
    """The page as a shopper uses it; each ``say`` returns the raw text of that turn's event stream."""

    def __init__(self, page, url: str):
        self.page = page
        self.url = url
        self.streams: list[str] = []

    def open(self) -> None:
        self.page.goto(self.url + "/")
        self.page.wait_for_selector("body[data-ready=true]")

    def say(self, text: str, by_keyboard: bool = False) -> str:
        box = self.page.get_by_label("Message")
        with self.page.expect_response(lambda r: r.url.endswith("/chat/stream")) as answer:
            if by_keyboard:
                self.page.keyboard.type(text)
                self.page.keyboard.press("Enter")
            else:
                box.fill(text)
                box.press("Enter")
        self.wait_idle()
        body = answer.value.text()
        self.streams.append(body)
        return body

    def wait_idle(self) -> None:
        self.page.wait_for_function("() => !document.querySelector('#send').disabled")

    def last_turn(self):
        return self.page.locator(".msg.assistant").last

    def storage(self) -> dict:
        return self.page.evaluate("() => Object.fromEntries(Object.entries(localStorage))")

    def token(self) -> str:
        return json.loads(self.storage()["shop.session"])["token"]

    def state(self) -> dict:
        answer = requests.get(self.url + "/chat/state", headers={"Authorization": f"Bearer {self.token()}"}, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def conversation(self) -> list[str]:
        return self.page.locator("#messages > li > .bubble").all_inner_texts()

    def said(self) -> list[str]:
        return self.page.locator("#messages > li.user > .bubble").all_inner_texts()

    def cart(self) -> list[str]:
        return self.page.locator("#cart").inner_text().split("\n")


def events(stream: str) -> list[tuple[str, dict]]:
    out = []
    for block in stream.replace("\r\n", "\n").split("\n\n"):
        kind = re.search(r"^event: (.+)$", block, re.M)
        data = re.search(r"^data: (.+)$", block, re.M)
        if kind and data:
            out.append((kind.group(1), json.loads(data.group(1))))
    return out


def final_of(stream: str) -> dict:
    finals = [data for kind, data in events(stream) if kind == "final"]
    assert len(finals) == 1, stream[-2000:]
    return finals[0]


def in_order(part: list[str], whole: list[str]) -> bool:
    """Every item of ``part`` appears in ``whole``, in the same order."""
    rest = iter(whole)
    return all(any(item == other for other in rest) for item in part)


def shows_no_internal_ids(page) -> None:
    shown = page.locator("body").inner_text()
    assert INTERNAL_ID.findall(shown) == [], shown


def test_a_guest_shops_from_search_to_order_and_a_reload_keeps_it(page, screenshot, shop, problems):
    chat = Chat(page, shop["url"])
    # 1. The page loads as a new guest: a session token in localStorage and nothing else.
    chat.open()
    saved = chat.storage()
    assert list(saved) == ["shop.session"]
    session = json.loads(saved["shop.session"])
    assert session["guest"] is True and session["token"] and session["userId"].startswith("guest-")
    assert page.locator("#who").inner_text() == "Shopping as a guest"
    assert page.locator("#cart-empty").is_visible()
    screenshot("1-loaded")

    # 2. A search: the reply comes in more than one token event, and they add up to the final reply.
    stream = chat.say("winter jackets under 6000")
    kinds = [kind for kind, _ in events(stream)]
    assert kinds[0] == "start" and kinds[-1] == "final", kinds
    tokens = [data["text"] for kind, data in events(stream) if kind == "token"]
    assert len(tokens) > 1, kinds
    final = final_of(stream)
    assert "".join(tokens) == final["reply"]
    assert int(chat.last_turn().get_attribute("data-events")) == len(kinds)
    calls = chat.last_turn().locator(".calls-list li").all_text_contents()  # folded away: not rendered
    assert calls and all(re.fullmatch(r"[a-z-]+ · [A-Za-z]+ · \d+ ms", line) for line in calls), calls
    screenshot("2-reply")

    # 3. Product cards with pictures Chromium drew, names and money text, and no ids on show.
    cards = chat.last_turn().locator(".card.product")
    assert cards.count() == len(final["products"]) > 0
    page.wait_for_function(
        "() => [...document.querySelectorAll('.card.product img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    first = final["products"][0]
    assert cards.first.locator("h3").inner_text() == first["name"]
    assert cards.first.get_attribute("data-product-id") == first["productId"]
    assert MONEY.fullmatch(cards.first.locator(".price").inner_text()), cards.first.inner_text()
    assert cards.first.locator("img").get_attribute("alt").startswith(first["name"])
    for card, product in zip(cards.all(), final["products"]):
        assert int(product["price"]) < 6000
        assert card.locator(".price").inner_text() == product["priceText"]
    shows_no_internal_ids(page)
    screenshot("3-cards")

    # 4. "add the first one in M black": the cart panel shows it, with the line total and the total.
    stream = chat.say("add the first one in M black")
    cart = final_of(stream)["cart"]
    assert [(i["name"], i["size"], i["color"], i["quantity"]) for i in cart["items"]] == [
        (first["name"], "M", "Black", 1)
    ]
    line = page.locator("#cart-items .cart-line")
    assert line.count() == 1
    assert line.locator(".cart-name").inner_text() == first["name"]
    assert line.locator(".cart-variant").inner_text() == "M · Black"
    assert line.locator(".cart-qty").inner_text() == "× 1"
    assert line.locator(".cart-line-total").inner_text() == first["priceText"]
    assert page.locator("#cart-total").inner_text() == f"Total {cart['totalText']}" == f"Total {first['priceText']}"
    assert page.locator("#cart-count").inner_text() == "1"
    screenshot("4-cart")
    # A reload here keeps the conversation word for word and the cart as it was.
    conversation, cart_panel = chat.conversation(), chat.cart()
    assert len(conversation) == 4
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert chat.conversation() == conversation and chat.cart() == cart_panel
    screenshot("4b-cart-after-reload")

    # 5. Checkout with a card and an address: a pending payment with Confirm and Cancel.
    stream = chat.say(CHECKOUT)
    pending = final_of(stream)["pendingConfirmation"]
    assert pending, final_of(stream)["reply"]
    panel = chat.last_turn().locator(".card.pending")
    assert page.get_by_role("button", name="Confirm").is_visible()
    assert page.get_by_role("button", name="Cancel").is_visible()
    summary = panel.locator(".summary").inner_text()
    assert summary == pending["summary"] and "14 Park Street" in summary and "4242" in summary, summary
    assert panel.locator(".pending-total").inner_text() == f"Total {pending['totalText']}"
    assert page.get_by_label("Message").input_value() == ""
    shows_no_internal_ids(page)
    screenshot("5-confirm")

    # 6. Confirm: the order card with its id, status and expected date; the cart is empty.
    page.get_by_role("button", name="Confirm").click()
    order_card = page.locator(".msg .card.order")
    order_card.wait_for()
    chat.wait_idle()
    order_id = order_card.locator(".order-id").inner_text()
    assert ORDER_ID.fullmatch(order_id.removeprefix("Order ")), order_id
    assert order_card.locator(".order-status").inner_text().startswith("Status: ")
    assert re.fullmatch(r"Expected by \d{1,2} [A-Z][a-z]{2} \d{4}", order_card.locator(".order-date").inner_text())
    assert page.locator("#cart-empty").is_visible() and page.locator("#cart-count").inner_text() == "0"
    state = chat.state()
    assert state["lastOrder"]["orderId"] == order_id.removeprefix("Order ")
    screenshot("6-order")

    # 7. A reload keeps the conversation (as the server remembers it: every message and reply, in order), the
    # cart and the order.
    conversation, said, cart_panel = chat.conversation(), chat.said(), chat.cart()
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    restored = chat.conversation()
    remembered = [entry for entry in chat.state()["history"] if entry["role"] in ("user", "assistant")]
    assert len(restored) == len(remembered) >= 6
    assert in_order(restored, conversation), (restored, conversation)
    assert chat.said() == said and len(said) == 3  # every message the shopper sent
    assert restored[-1] == conversation[-1] and ORDER_ID.search(restored[-1])
    assert chat.cart() == cart_panel
    assert page.locator("#last-order .order-id").inner_text() == order_id
    screenshot("7-reloaded")

    # The card number typed into the page is nowhere: page, localStorage, streams, /chat/state, storage files.
    secrets_in = {
        "page": page.content(),
        "localStorage": json.dumps(chat.storage()),
        "streams": "".join(chat.streams),
        "state": json.dumps(chat.state()),
    }
    for where, text in secrets_in.items():
        digits = re.sub(r"[\s-]", "", text)
        assert CARD not in digits and TYPED_CARD not in text, where
        assert not re.search(r"(?i)cvc\W{0,4}123", text), where
    assert scan_for_secrets(files_to_scan([shop["root"]]), {CARD}, {"123"}) == []
    assert problems == []


def stream_turn(url: str, token: str, message: str) -> dict:
    """One turn through POST /chat/stream as any client would send it; its final event."""
    with requests.post(
        url + "/chat/stream",
        json={"message": message, "channel": "web"},
        headers={"Authorization": f"Bearer {token}"},
        stream=True,
        timeout=60,
    ) as answer:
        assert answer.status_code == 200, answer.text
        return final_of(answer.text)


def test_a_payment_left_waiting_is_shown_again_and_confirmed(page, screenshot, shop, problems):
    """A guest who checked out from another client (or whose page was closed) opens the page: the payment
    waiting for an answer is drawn from /chat/state, and Confirm places the order."""
    guest = requests.post(shop["url"] + "/sessions/guest", json={}, timeout=30).json()
    for message in ("winter jackets under 6000", "add the first one in M black", CHECKOUT):
        final = stream_turn(shop["url"], guest["token"], message)
    assert final["pendingConfirmation"], final["reply"]
    # The page opens on this guest's session: the payment waiting for an answer is drawn from /chat/state.
    session = json.dumps({"userId": guest["userId"], "token": guest["token"], "name": "", "guest": True})
    page.add_init_script(f"localStorage.setItem('shop.session', {json.dumps(session)})")
    chat = Chat(page, shop["url"])
    chat.open()
    summary = page.locator(".card.pending .summary").inner_text()
    assert "14 Park Street" in summary and "4242" in summary, summary
    page.get_by_role("button", name="Confirm").click()
    order_card = page.locator(".msg .card.order")
    order_card.wait_for()
    chat.wait_idle()
    screenshot("order-card")
    assert ORDER_ID.search(order_card.locator(".order-id").inner_text())
    assert re.fullmatch(r"Expected by \d{1,2} [A-Z][a-z]{2} \d{4}", order_card.locator(".order-date").inner_text())
    assert problems == []


def test_keyboard_alone_as_a_seeded_shopper(page, screenshot, shop, problems):
    """Development login (SALES_WEB_DEV_LOGIN=1 here): "continue as" a seeded shopper, who has a home address,
    then search, add, check out and confirm without the mouse."""
    chat = Chat(page, shop["url"])
    chat.open()
    page.wait_for_selector("#dev-login:not([hidden])")
    # From the top of the page Tab goes: the skip link, "Continue as", Switch, the cart link, the message box.
    focused = []
    for _ in range(5):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert focused == ["Skip to the message box", "dev-shopper", "Switch", "Cart 0", "message"]
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    # Back to "Continue as", pick Priya by typing her name, Switch with Enter.
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "dev-shopper"
    page.keyboard.type("Priya")
    assert page.locator("#dev-shopper option:checked").inner_text() == "Priya Sharma (Mumbai)"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#who').textContent === 'Shopping as Priya Sharma'")
    assert json.loads(chat.storage()["shop.session"])["guest"] is False

    page.get_by_label("Message").focus()
    chat.say("winter jackets under 6000", by_keyboard=True)
    assert chat.last_turn().locator(".card.product").count() > 0
    assert page.evaluate("document.activeElement.id") == "message"
    chat.say("add the first one in M black", by_keyboard=True)
    assert page.locator("#cart-items .cart-line").count() == 1
    chat.say(f"checkout with card {TYPED_CARD} exp 12/30 cvc 123", by_keyboard=True)
    page.get_by_role("button", name="Confirm").wait_for()
    # Tab onwards from the message box until Confirm has the focus (it wraps round to the top of the page).
    for _ in range(40):
        if page.evaluate("document.activeElement.textContent") == "Confirm":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Confirm"
    screenshot("focus-on-confirm")
    page.keyboard.press("Enter")
    page.locator(".msg .card.order").wait_for()
    chat.wait_idle()
    assert ORDER_ID.search(page.locator(".msg .card.order .order-id").inner_text())
    assert page.evaluate("document.activeElement.id") == "message"
    screenshot("ordered")
    assert problems == []


def test_a_phone_screen_375_px_wide_has_no_horizontal_scroll(page, screenshot, shop, problems):
    page.set_viewport_size({"width": 375, "height": 740})
    chat = Chat(page, shop["url"])
    chat.open()

    def fits() -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375

    fits()
    chat.say("winter jackets under 6000")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.card.product img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    fits()
    screenshot("phone-cards")
    chat.say("add the first one in M black")
    assert page.locator("#cart-items .cart-line").count() == 1
    fits()
    box = page.get_by_label("Message").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    screenshot("phone-cart-reply")
    page.locator("#cart").scroll_into_view_if_needed()
    screenshot("phone-cart")
    assert problems == []
