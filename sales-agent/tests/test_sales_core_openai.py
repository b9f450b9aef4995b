"""SALES_AGENT_MODEL=openai:<model>: a turn runs through langchain-openai over real HTTP to a local fake
OpenAI-compatible server, the tool it asks for runs against the real agents, and the confirmation gate works."""

from __future__ import annotations

import json

import pytest

from sales_agent.bootstrap import build_session
from sales_agent.cards import CardVault
from sales_agent.settings import Settings
from sales_agent.testing import FakeOpenAIServer
from sales_agent.tools import TOOL_NAMES
from support import WiredSystem, fresh_database_url


@pytest.fixture
def wired(tmp_path):
    w = WiredSystem(tmp_path, tag="oa")
    yield w
    w.close()


def openai_session(tmp_path, server, monkeypatch):
    monkeypatch.setenv("SALES_AGENT_MODEL", "openai:test-model")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = Settings(
        database_url=fresh_database_url("sales", tmp_path, "oa"), memory_url=str(tmp_path / "memory.db")
    )
    assert settings.model == "openai:test-model" and settings.openai_model == "test-model"
    return build_session(settings, vault=CardVault())


def test_a_turn_goes_through_langchain_openai_and_runs_the_tool(tmp_path, wired, monkeypatch):
    replies = [
        {"tool_calls": [("search_products", {"query": "winter jacket", "max_price": 6000, "limit": 3})]},
        {"content": "The Alpine Puffer Jacket is ₹4,999."},
    ]
    with FakeOpenAIServer(replies) as server:
        session = openai_session(tmp_path, server, monkeypatch)
        try:
            turn = session.send("U1001", "winter jackets under 6000 please")
        finally:
            session.close()
    assert turn.reply == "The Alpine Puffer Jacket is ₹4,999."
    assert [(c["tool"], c["agent"], c["operation"], c["ok"]) for c in turn.tool_calls] == [
        ("search_products", "recommendation", "searchProducts", True)
    ]

    first, second = server.requests
    assert first["model"] == "test-model"
    assert first["messages"][0]["role"] == "system" and "sales assistant" in first["messages"][0]["content"]
    assert first["messages"][-1] == {"role": "user", "content": "winter jackets under 6000 please"}
    assert sorted(t["function"]["name"] for t in first["tools"]) == sorted(TOOL_NAMES)
    search = next(t for t in first["tools"] if t["function"]["name"] == "search_products")["function"]
    assert "runtime" not in search["parameters"]["properties"]  # the shopper id is not the model's to choose
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    result = json.loads(tool_message["content"])
    assert result["products"] and all(p["price"] <= 6000 for p in result["products"])


def test_place_order_from_the_llm_waits_for_the_shopper(tmp_path, wired, monkeypatch):
    replies = [
        {"tool_calls": [("add_to_cart", {"product_id": "P1001", "size": "M", "color": "Black"})]},
        {"content": "Added."},
        {"tool_calls": [("prepare_checkout", {"payment_method": "card", "card_ref": "card_ending_4242"})]},
        {"tool_calls": [("place_order", {})]},
        {"content": "Your order is placed."},
    ]
    with FakeOpenAIServer(replies) as server:
        session = openai_session(tmp_path, server, monkeypatch)
        try:
            session.send("U1001", "add the black Alpine Puffer in M")
            turn = session.send("U1001", "buy it with 4242 4242 4242 4242 exp 12/28 cvc 123")
            assert turn.pending_confirmation and turn.pending_confirmation["total"] == 3999.2
            assert len(server.requests) == 4  # the model is not asked again until the shopper answers
            done = session.confirm("U1001", approve=True)
        finally:
            session.close()
    assert done.reply == "Your order is placed." and [c["operation"] for c in done.tool_calls][0] == "processPayment"
    sent = json.dumps(server.requests)
    assert "card ending 4242" in sent and "4242424242424242" not in sent and "4242 4242 4242 4242" not in sent


def test_an_unreachable_model_server_is_a_polite_reply(tmp_path, wired, monkeypatch):
    server = FakeOpenAIServer()  # never started: connection refused
    session = openai_session(tmp_path, server, monkeypatch)
    server.httpd.server_close()
    try:
        turn = session.send("U1001", "hello")
        assert "try again" in turn.reply and turn.tool_calls == []
    finally:
        session.close()


def test_model_setting_defaults(monkeypatch):
    assert Settings(model="offline").is_offline
    Settings(model="anthropic:claude-sonnet-4-5").validate_model()  # any init_chat_model provider string
    with pytest.raises(ValueError):
        Settings(model="claude").validate_model()
    monkeypatch.delenv("SALES_AGENT_MODEL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert Settings().model == "offline"
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    assert Settings().model == "openai:gpt-4o-mini"
