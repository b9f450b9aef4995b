"""The HTTP chat API and the WhatsApp / Telegram webhooks: the same SalesSession behind every channel,
bad input a 400 naming the field, never a 500."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit.contracts import is_valid_id
from sales_agent.cards import CardVault
from sales_agent.entrypoints.app import create_app
from sales_agent.testing import (
    ScriptedChatModel,
    app_session_headers,
    call,
    session_for_tests,
    telegram_headers,
    whatsapp_headers,
)
from support import WiredSystem, fresh_database_url

CARD = "4242 4242 4242 4242 exp 12/28 cvv 123"
WHATSAPP_SECRET, TELEGRAM_SECRET = "wa-secret-for-http-tests", "tg-secret-for-http-tests"
DELIVERY = itertools.count(1)  # each test message its own delivery id (a repeated one is a redelivery)


def model():
    return ScriptedChatModel(
        rules=[
            (
                r"jacket",
                [[call("add_to_cart", product_id="P1001", size="M", color="Black")], "Added the Alpine Puffer."],
            ),
            (r"buy|pay", [[call("prepare_checkout", card_ref="card_ending_4242")], [call("place_order")], "Placed."]),
        ],
        default_reply="(scripted) hello",
    )


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("http")
    wired = WiredSystem(tmp, tag="http")
    session = session_for_tests(tmp, model(), database_url=fresh_database_url("sales", tmp, "http"), vault=CardVault())
    app = create_app(
        session,
        config={
            "WHATSAPP_VERIFY_TOKEN": "verify-me",
            "MAX_CONTENT_LENGTH": 8192,
            "WHATSAPP_APP_SECRET": WHATSAPP_SECRET,
            "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        },
    )
    app.testing = True
    yield app, session, wired
    session.close()
    wired.close()


@pytest.fixture
def client(system):
    return system[0].test_client()


def signed(client, path, body) -> dict[str, str]:
    """What the caller of ``path`` proves: the session of the body's shopper (U1001 when the body names none
    that could be one), WhatsApp's signature of the body, Telegram's secret header."""
    if path.startswith("/chat"):
        named = body.get("userId") if isinstance(body, dict) else None
        valid = isinstance(named, str) and is_valid_id("userId", named)
        return app_session_headers(client.application, named if valid else "U1001")
    if path == "/webhooks/whatsapp":
        return whatsapp_headers(json.dumps(body).encode(), WHATSAPP_SECRET)
    if path == "/webhooks/telegram":
        return telegram_headers(TELEGRAM_SECRET)
    return {}


def post(client, path, body, **kwargs):
    headers = kwargs.pop("headers", None) or signed(client, path, body)
    response = client.post(path, data=json.dumps(body), content_type="application/json", headers=headers, **kwargs)
    return response.status_code, response.get_json()


def test_health_and_ready(client):
    assert client.get("/health").get_json()["status"] == "ok"
    assert client.get("/ready").get_json() == {"status": "ready", "database": True, "agentsDown": []}


def test_chat_returns_reply_tool_calls_and_cart(client):
    status, body = post(client, "/chat", {"userId": "U1003", "channel": "web", "message": "the black jacket in M"})
    assert status == 200, body
    assert body["reply"] == "Added the Alpine Puffer."
    assert body["toolCalls"][0] | {"ms": 0} == {
        "tool": "add_to_cart",
        "agent": "recommendation",
        "operation": "getProduct",
        "ms": 0,
        "ok": True,
    }
    assert body["cart"]["itemCount"] == 1 and "pendingConfirmation" not in body
    state = client.get("/chat/state?userId=U1003", headers=app_session_headers(client.application, "U1003")).get_json()
    assert state["cart"]["itemCount"] == 1 and state["history"][0] == {"role": "user", "text": "the black jacket in M"}


def test_checkout_over_http_needs_a_confirm(client):
    post(client, "/chat", {"userId": "U1004", "message": "jacket please"})
    status, body = post(client, "/chat", {"userId": "U1004", "message": f"buy it, card {CARD}"})
    assert status == 200 and body["pendingConfirmation"]["total"] > 0
    assert "4242 4242" not in json.dumps(body)
    status, body = post(client, "/chat/confirm", {"userId": "U1004", "approve": True})
    assert status == 200 and body["reply"] == "Placed." and "pendingConfirmation" not in body
    status, body = post(client, "/chat/confirm", {"userId": "U1004", "approve": False})
    assert status == 200 and "no order waiting" in body["reply"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"userId": "U 1001", "message": "hi"}, "userId"),
        ({"userId": "U" + "1" * 70, "message": "hi"}, "userId"),  # longer than any id the contracts allow
        ({"userId": "U1001"}, "message"),
        ({"userId": "U1001", "message": ""}, "message"),
        ({"userId": "U1001", "message": "x" * 2001}, "message"),
        ({"userId": "U1001", "message": 5}, "message"),
        ({"userId": "U1001", "message": "hi", "channel": "Web Chat!"}, "channel"),
        ({"userId": "U1001", "message": "hi", "user_id": "U1001"}, "user_id"),
    ],
)
def test_bad_chat_input_is_a_400_naming_the_field(client, body, field):
    status, answer = post(client, "/chat", body)
    assert status == 400
    assert answer["error"]["code"] == "validation_error"
    assert field in [d["field"] for d in answer["error"]["details"]]


@pytest.mark.parametrize(
    "body,field", [({"userId": "U1001"}, "approve"), ({"userId": "U1001", "approve": "yes"}, "approve")]
)
def test_bad_confirm_input(client, body, field):
    status, answer = post(client, "/chat/confirm", body)
    assert status == 400 and answer["error"]["details"][0]["field"] == field


def test_http_level_errors_are_json(client):
    auth = app_session_headers(client.application, "U1001")
    cases = [
        client.post("/chat", data="hello", content_type="text/plain", headers=auth),
        client.post("/chat", data="", content_type="application/json", headers=auth),
        client.post("/chat", data="{not json", content_type="application/json", headers=auth),
        client.post("/chat", data="[1, 2]", content_type="application/json", headers=auth),
        client.post(
            "/chat",
            data=json.dumps({"userId": "U1001", "message": "x" * 9000}),
            content_type="application/json",
            headers=auth,
        ),
        client.get("/chat", headers=auth),
        client.post("/nowhere", json={}),
        client.get("/chat/state?userId=no%20body", headers=auth),
    ]
    assert [r.status_code for r in cases] == [415, 400, 400, 400, 413, 405, 404, 400]
    for response in cases:
        error = response.get_json()["error"]
        assert error["code"] and error["message"] and isinstance(error["details"], list)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"userId": st.one_of(st.just("U1007"), st.text(max_size=6)), "message": json_values},
            optional={"channel": json_values, "approve": json_values},
        ),
    )
)
def test_fuzzed_bodies_never_cause_a_500(client, body):
    for path in ("/chat", "/chat/confirm", "/webhooks/whatsapp", "/webhooks/telegram"):
        status, answer = post(client, path, body)  # signed: the body itself is what is fuzzed
        assert status < 500, (path, body, answer)
        assert status not in (401, 403, 404), (path, body, answer)
        assert "error" in answer or status == 200


# -- WhatsApp ----------------------------------------------------------------------------------
def whatsapp(sender, text=None, kind="text"):
    message = {"from": sender, "id": f"wamid.TEST{next(DELIVERY)}", "timestamp": "1763700000", "type": kind}
    if text is not None:
        message["text"] = {"body": text}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1"},
                            "contacts": [{"profile": {"name": "Priya"}, "wa_id": sender}],
                            "messages": [message],
                        },
                    }
                ],
            }
        ],
    }


def test_whatsapp_message_from_a_known_number_answers_as_that_shopper(client, system):
    session = system[1]
    before = len(session.history("U1005"))
    status, body = post(client, "/webhooks/whatsapp", whatsapp("919822015005", "that jacket please"))
    assert status == 200
    assert body["replies"] == [
        {"to": "919822015005", "userId": "U1005", "type": "text", "text": "Added the Alpine Puffer."}
    ]
    # the same shopper on the web sees the same cart and conversation
    assert session.cart("U1005")["itemCount"] == 1
    status, body = post(client, "/chat", {"userId": "U1005", "channel": "web", "message": "hi"})
    assert status == 200
    assert body["cart"]["itemCount"] == 1
    assert len(session.history("U1005")) == before + 4


def test_whatsapp_unknown_number_becomes_a_guest_and_keeps_it(client, system):
    _, first = post(client, "/webhooks/whatsapp", whatsapp("447700900123", "hello"))
    _, second = post(client, "/webhooks/whatsapp", whatsapp("447700900123", "hello again"))
    guest = first["replies"][0]["userId"]
    assert system[1].identities.is_guest(guest) and second["replies"][0]["userId"] == guest


def test_whatsapp_status_updates_and_media(client):
    status_only = {
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"value": {"statuses": [{"id": "x"}]}}]}],
    }
    assert post(client, "/webhooks/whatsapp", status_only) == (200, {"replies": [], "duplicates": []})
    status, body = post(client, "/webhooks/whatsapp", whatsapp("919820011001", kind="image"))
    assert status == 200 and "text messages only" in body["replies"][0]["text"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"object": "whatsapp_business_account"}, "entry"),
        ({"entry": [{"changes": [{}]}]}, "entry.0.changes.0.value"),
        (
            {"entry": [{"changes": [{"value": {"messages": [{"id": "wamid.X", "text": {"body": "hi"}}]}}]}]},
            "entry.0.changes.0.value.messages.0.from",
        ),
    ],
)
def test_whatsapp_malformed_is_a_400_naming_the_field(client, body, field):
    status, answer = post(client, "/webhooks/whatsapp", body)
    assert status == 400 and answer["error"]["details"][0]["field"] == field


def test_whatsapp_verification_and_signature(system):
    app = system[0]
    client = app.test_client()
    ok = client.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=12345")
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "12345"
    assert client.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1").status_code == 401
    raw = json.dumps(whatsapp("919820011001", "hi")).encode()
    bad = client.post(
        "/webhooks/whatsapp",
        data=raw,
        content_type="application/json",
        headers={"X-Hub-Signature-256": "sha256=00"},
    )
    assert bad.status_code == 401
    signature = "sha256=" + hmac.new(WHATSAPP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    good = client.post(
        "/webhooks/whatsapp", data=raw, content_type="application/json", headers={"X-Hub-Signature-256": signature}
    )
    assert good.status_code == 200


# -- Telegram ----------------------------------------------------------------------------------
def telegram(sender, text, chat=None):
    return {
        "update_id": next(DELIVERY),
        "message": {
            "message_id": 7,
            "date": 1763700000,
            "text": text,
            "from": {"id": sender, "is_bot": False, "first_name": "Rohan"},
            "chat": {"id": chat or sender, "type": "private"},
        },
    }


def test_telegram_update_answers_with_send_message(client):
    status, body = post(client, "/webhooks/telegram", telegram(700000006, "a jacket"))
    assert status == 200
    assert body == {
        "method": "sendMessage",
        "chat_id": 700000006,
        "text": "Added the Alpine Puffer.",
        "parse_mode": "HTML",
    }
    status, body = post(client, "/webhooks/telegram", telegram(700000006, "/start"))
    assert body["text"].startswith("Hello")


def test_telegram_ignores_updates_without_a_message_and_rejects_bad_ones(client):
    assert post(client, "/webhooks/telegram", {"update_id": 5, "edited_message": {}}) == (200, {})
    status, body = post(client, "/webhooks/telegram", {"message": {"chat": {"id": 1}, "text": "hi"}})
    assert status == 400 and body["error"]["details"][0]["field"] == "update_id"
    status, body = post(client, "/webhooks/telegram", {"update_id": 5, "message": {"text": "hi"}})
    assert status == 400 and body["error"]["details"][0]["field"] == "message.chat"


def test_sessions_and_rate_limit(system):
    from agentkit.guards import RateLimiter

    _, session, _ = system
    app = create_app(session, config={"RATE_LIMITER": RateLimiter(2, 60)})
    client = app.test_client()
    assert client.get("/health").status_code == 200  # open
    status, body = post(client, "/chat", {"userId": "U1006", "message": "hi"}, headers={"X-No": "token"})
    assert status == 401 and body["error"]["details"][0]["field"] == "Authorization"
    status, _ = post(client, "/chat", {"userId": "U1006", "message": "hi"})
    assert status == 200
    status, body = post(client, "/chat", {"userId": "U1006", "message": "hi"})
    assert status == 429 and body["error"]["code"] == "rate_limited"
