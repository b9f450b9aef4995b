"""The LLM path tells the truth (SALES_AGENT_MODEL=openai:... against the fake OpenAI-compatible server):
the order's outcome survives a failing model, a pending confirmation is always reported, malformed tool
arguments are answered within the turn, shoppers see plain words, the turn's model time is bounded, a
looping model is stopped, model choice goes through init_chat_model, and each turn logs one JSON line."""

from __future__ import annotations

import json
import logging

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from agentkit.logs import JsonFormatter
from sales_agent.bootstrap import build_session
from sales_agent.cards import CardVault
from sales_agent.graph import MODEL_CALLS_PER_TURN, build_model
from sales_agent.session import LOOPING_REPLY
from sales_agent.settings import Settings
from sales_agent.testing import FakeOpenAIServer
from support import WiredSystem, fresh_database_url

CARD = "4242 4242 4242 4242 exp 12/28 cvc 123"
ADD = [{"tool_calls": [("add_to_cart", {"product_id": "P1001", "size": "M", "color": "Black"})]}, {"content": "Added."}]
EXCEPTION_NAMES = ("Error", "Exception", "Timeout", "openai", "Recursion")


@pytest.fixture
def wired(tmp_path):
    w = WiredSystem(tmp_path, tag="llm")
    yield w
    w.close()


def openai_session(tmp_path, server, monkeypatch, **env):
    monkeypatch.setenv("SALES_AGENT_MODEL", "openai:test-model")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(
        database_url=fresh_database_url("sales", tmp_path, "llm"), memory_url=str(tmp_path / "memory.db")
    )
    return build_session(settings, vault=CardVault())


def consistent(session, user) -> None:
    """Memory ends with an answer: no shopper message or tool result is left without a reply after it."""
    last = session._messages(user)[-1]
    assert isinstance(last, AIMessage) and not last.tool_calls, last


def test_after_place_order_the_shopper_learns_the_outcome_even_if_the_model_then_fails(tmp_path, wired, monkeypatch):
    replies = [
        *ADD,
        {"tool_calls": [("prepare_checkout", {"payment_method": "card", "card_ref": "card_ending_4242"})]},
        {"tool_calls": [("place_order", {})]},
        {"status": 500},
        {"status": 500},
    ]
    with FakeOpenAIServer(replies) as server:
        session = openai_session(tmp_path, server, monkeypatch)
        try:
            session.send("U1001", "add the black Alpine Puffer in M")
            asked = session.send("U1001", f"buy it with {CARD}")
            assert asked.pending_confirmation
            done = session.confirm("U1001", approve=True)
            order = session.last_order("U1001")
            consistent(session, "U1001")
        finally:
            session.close()
    assert order is not None, "the order was placed"
    assert order["orderId"] in done.reply and "placed" in done.reply and "Sorry" not in done.reply
    assert not any(name in done.reply for name in EXCEPTION_NAMES)


def test_prepare_and_place_in_one_message_still_reports_the_pending_confirmation(tmp_path, wired, monkeypatch):
    replies = [
        *ADD,
        {
            "tool_calls": [
                ("prepare_checkout", {"payment_method": "card", "card_ref": "card_ending_4242"}),
                ("place_order", {}),
            ]
        },
        {"tool_calls": [("place_order", {})]},
    ]
    with FakeOpenAIServer(replies) as server:
        session = openai_session(tmp_path, server, monkeypatch)
        try:
            session.send("U1001", "add the black Alpine Puffer in M")
            turn = session.send("U1001", f"buy it with {CARD}")
            pending = session.pending_confirmation("U1001")
        finally:
            session.close()
    assert pending is not None, "an interrupt is pending"
    assert turn.pending_confirmation == pending and pending["checkoutId"] and pending["total"] > 0
    assert pending["description"] in turn.reply


def test_malformed_tool_arguments_are_a_tool_error_within_the_same_turn(tmp_path, wired, monkeypatch):
    replies = [
        {"tool_calls": [("search_products", '{"query": "winter jack')]},  # cut short: not JSON
        {"tool_calls": [("search_products", {"query": "winter jacket", "limit": 2})]},
        {"content": "Here are two jackets."},
    ]
    with FakeOpenAIServer(replies) as server:
        session = openai_session(tmp_path, server, monkeypatch)
        try:
            turn = session.send("U1001", "winter jackets")
            consistent(session, "U1001")
        finally:
            session.close()
    assert turn.reply == "Here are two jackets."
    second = server.requests[1]["messages"]
    assert second[-1]["role"] == "tool" and "not valid JSON" in second[-1]["content"]
    assert second[-2]["role"] == "assistant" and second[-2]["tool_calls"][0]["id"] == second[-1]["tool_call_id"]


def test_a_failing_model_gets_plain_words_and_memory_stays_consistent(tmp_path, wired, monkeypatch):
    server = FakeOpenAIServer()  # never started: connection refused
    session = openai_session(tmp_path, server, monkeypatch)
    server.httpd.server_close()
    try:
        turn = session.send("U1001", "hello")
        consistent(session, "U1001")
        history = session.history("U1001")
    finally:
        session.close()
    assert "try again" in turn.reply and not any(name in turn.reply for name in EXCEPTION_NAMES)
    assert history[-2:] == [{"role": "user", "text": "hello"}, {"role": "assistant", "text": turn.reply}]


def test_the_model_timeout_bounds_the_whole_turn_retries_included(tmp_path, wired, monkeypatch):
    replies = [{"delay": 3, "content": "late"}, {"content": "a retry that must not be sent"}]
    with FakeOpenAIServer(replies) as server:
        session = openai_session(tmp_path, server, monkeypatch, SALES_MODEL_TIMEOUT="1")
        try:
            turn = session.send("U1001", "hello")
        finally:
            session.close()
    assert turn.failed and "try again" in turn.reply
    assert len(server.requests) == 1, "the retry would have needed more time than the turn had left"


def test_a_looping_model_is_stopped_with_a_clear_message(tmp_path, wired, monkeypatch):
    loop = [{"tool_calls": [("view_cart", {})]} for _ in range(MODEL_CALLS_PER_TURN + 5)]
    with FakeOpenAIServer(loop) as server:
        session = openai_session(tmp_path, server, monkeypatch)
        try:
            turn = session.send("U1001", "show my cart")
            consistent(session, "U1001")
        finally:
            session.close()
    assert turn.reply == LOOPING_REPLY
    assert len(server.requests) == MODEL_CALLS_PER_TURN


def test_model_choice_goes_through_init_chat_model(monkeypatch):
    model = build_model(Settings(model="openai:gpt-4o-mini", openai_api_key="sk-test"))
    assert type(model).__name__ == "ChatOpenAI" and model.model_name == "gpt-4o-mini"
    assert model.max_retries == 0, "retries are the turn's, within SALES_MODEL_TIMEOUT"
    with pytest.raises(ValueError, match="pip install langchain-anthropic"):
        build_model(Settings(model="anthropic:claude-sonnet-4-5"))


def test_each_turn_logs_one_json_line(tmp_path, wired, monkeypatch):
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            if record.getMessage() == "chat turn":
                lines.append(JsonFormatter().format(record))

    logger = logging.getLogger("agents.sales.session")
    handler = Collect(level=logging.INFO)
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    replies = [{"tool_calls": [("search_products", {"query": "winter jacket", "limit": 2})]}, {"content": "Two."}]
    try:
        with FakeOpenAIServer(replies) as server:
            session = openai_session(tmp_path, server, monkeypatch)
            try:
                session.send("U1001", "winter jackets")
            finally:
                session.close()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["model"] == "openai:test-model" and line["modelCalls"] == 2
    assert (line["promptTokens"], line["completionTokens"]) == (20, 10)  # the fake server's usage, twice
    assert line["toolCalls"] == 1 and line["tools"] == ["search_products"]
    assert line["modelMs"] >= 0 and line["totalMs"] >= line["modelMs"] and line["ok"] is True


def test_a_summary_message_is_not_a_shopper_message():
    from sales_agent import memory

    text = memory.summarize([HumanMessage("show me jackets"), AIMessage("Here are three.")])
    assert "shopper: show me jackets" in text and "assistant: Here are three." in text and "view_cart" in text


def test_ready_names_the_agents_that_are_down(tmp_path):
    from sales_agent.entrypoints.app import create_app
    from sales_agent.testing import ScriptedChatModel, session_for_tests
    from support import free_port

    wired = WiredSystem(tmp_path, tag="ready")
    s = session_for_tests(tmp_path, ScriptedChatModel(rules=[]), vault=CardVault())
    try:
        client = create_app(s).test_client()
        assert client.get("/ready").get_json()["agentsDown"] == []
        s.clients.client("inventory").base_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        wired.rsps.add_passthru("http://127.0.0.1")
        reply = client.get("/ready")
        assert reply.status_code == 200, "the chat still answers what does not need inventory"
        assert reply.get_json() == {"status": "degraded", "database": True, "agentsDown": ["inventory"]}
    finally:
        s.close()
        wired.close()
