"""Bounded memory: every model call stays under SALES_CONTEXT_TOKENS, storage per shopper stays flat, and the
HTTP API limits message length, turns per minute and messages per webhook call with a 4xx naming the field."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import HumanMessage

from sales_agent import memory
from sales_agent.cards import CardVault
from sales_agent.entrypoints.app import create_app
from sales_agent.testing import ScriptedChatModel, call, session_for_tests, whatsapp_headers
from support import USE_POSTGRES, fresh_database_url

# about 1,200 tokens left for the conversation once the system prompt and the 34 tools' definitions (4,300) and
# the reply reserve are counted
BUDGET = 6500
WHATSAPP_SECRET = "wa-secret-for-the-limit-tests"
FILLER = "tell me more about warm jackets for a trip to Manali in December, with a hood, waterproof " * 3


def chatty_model():
    """Every turn: a tool call (view_cart reads only the sales store) and a long-ish reply."""
    return ScriptedChatModel(
        rules=[(r".", [[call("view_cart")], "Here is what I found for you: " + "a warm jacket, " * 40])]
    )


def turns(session, user, n, start=0):
    for i in range(start, start + n):
        result = session.send(user, f"turn {i}: {FILLER}")
        assert result.reply.startswith(("Here is", "(scripted)")), result.reply


@pytest.fixture
def session(tmp_path):
    urls = {}
    if USE_POSTGRES:  # the PostgreSQL checkpointer and sales database, pruned by PostgresSaver.prune
        urls = {
            "memory_url": fresh_database_url("salesmem", tmp_path, "mem"),
            "database_url": fresh_database_url("sales", tmp_path, "mem"),
        }
    s = session_for_tests(
        tmp_path, chatty_model(), vault=CardVault(), settings_overrides={"context_tokens": BUDGET}, **urls
    )
    yield s
    s.close()


def test_every_model_call_stays_under_the_budget_and_old_turns_are_summarised(session):
    turns(session, "U1001", 60)
    calls = session.graph.context_budget.calls
    assert len(calls) == 120  # two model calls a turn
    assert max(calls) <= BUDGET - memory.REPLY_RESERVE, max(calls)
    history = session.history("U1001")
    assert history[0]["role"] == "summary" and "view_cart" in history[0]["text"]
    assert history[-1]["text"].startswith("Here is") and history[-2]["text"].startswith("turn 59:")
    messages = session._messages("U1001")
    assert memory.count_tokens(messages) < BUDGET
    assert not any("turn 0:" in m.text for m in messages if isinstance(m, HumanMessage)), "old turns left verbatim"


def test_storage_per_shopper_stays_flat(session):
    turns(session, "U1002", 50)
    after_50 = memory.stored_bytes(session.checkpointer, "U1002")
    turns(session, "U1002", 150, start=50)
    after_200 = memory.stored_bytes(session.checkpointer, "U1002")
    assert after_50 > 0
    assert after_200 < after_50 * 1.25, (after_50, after_200)


def test_a_pending_confirmation_survives_pruning(tmp_path):
    from support import WiredSystem

    wired = WiredSystem(tmp_path, tag="prune")
    model = ScriptedChatModel(
        rules=[
            (r"jacket", [[call("add_to_cart", product_id="P1001", size="M", color="Black")], "Added."]),
            (r"buy", [[call("prepare_checkout", payment_method="upi", upi_id="priya@okaxis")], [call("place_order")]]),
        ]
    )
    s = session_for_tests(tmp_path, model, vault=CardVault())
    try:
        s.send("U1001", "the jacket")
        asked = s.send("U1001", "buy it")
        assert asked.pending_confirmation
        assert s.pending_confirmation("U1001"), "the interrupt is still there after pruning"
        placed = s.confirm("U1001", True)
        assert s.last_order("U1001") and placed.pending_confirmation is None
    finally:
        s.close()
        wired.close()


# --- limits over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path):
    s = session_for_tests(
        tmp_path,
        ScriptedChatModel(rules=[], default_reply="(scripted) hello"),
        vault=CardVault(),
        settings_overrides={"max_message_chars": 100, "turns_per_minute": 3, "webhook_max_messages": 2},
    )
    app = create_app(s, config={"RATE_LIMITER": None, "WHATSAPP_APP_SECRET": WHATSAPP_SECRET})
    app.testing = True
    yield app.test_client()
    s.close()


def fields(response):
    return [d["field"] for d in response.get_json()["error"]["details"]]


def test_a_message_too_long_is_a_400_naming_message(client, shopper_headers):
    as_u1001 = shopper_headers(client.application, "U1001")
    response = client.post("/chat", json={"userId": "U1001", "message": "x" * 101}, headers=as_u1001)
    assert response.status_code == 400 and fields(response) == ["message"]
    assert "at most 100 characters" in response.get_json()["error"]["message"]
    assert client.post("/chat", json={"userId": "U1001", "message": "x" * 100}, headers=as_u1001).status_code == 200


def test_too_many_turns_a_minute_is_a_429_naming_the_shopper(client, shopper_headers):
    as_u1002 = shopper_headers(client.application, "U1002")
    for _ in range(3):
        assert client.post("/chat", json={"message": "hi"}, headers=as_u1002).status_code == 200
    response = client.post("/chat", json={"message": "hi"}, headers=as_u1002)
    assert response.status_code == 429 and fields(response) == ["userId"]
    as_u1003 = shopper_headers(client.application, "U1003")
    assert client.post("/chat", json={"message": "hi"}, headers=as_u1003).status_code == 200, "per shopper"


def whatsapp(*texts):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "value": {
                            "messages": [
                                {"id": f"wamid.{n}", "from": "919800000001", "type": "text", "text": {"body": text}}
                                for n, text in enumerate(texts)
                            ]
                        }
                    }
                ]
            }
        ],
    }


def signed(client, body):
    raw = json.dumps(body).encode()
    headers = whatsapp_headers(raw, WHATSAPP_SECRET)
    return client.post("/webhooks/whatsapp", data=raw, content_type="application/json", headers=headers)


def test_a_webhook_call_with_too_many_messages_is_a_400_and_runs_no_turn(client):
    response = signed(client, whatsapp("hi", "hello", "hey"))
    assert response.status_code == 400
    assert fields(response) == ["entry[].changes[].value.messages"]
    response = signed(client, whatsapp("hi", "y" * 101))
    assert response.status_code == 400 and fields(response) == ["entry[0].changes[0].value.messages[1].text.body"]
    ok = signed(client, whatsapp("hi", "hello"))
    assert ok.status_code == 200 and len(ok.get_json()["replies"]) == 2
