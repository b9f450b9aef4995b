"""The agent graph: LangChain ``create_agent`` with the tools, the system prompt, a human-in-the-loop gate on
``place_order``, an id of our own on every model answer (what idempotency keys of its tool calls are made from,
see idempotency.py) and a LangGraph checkpointer (conversation memory keyed by the shopper's user id)."""

from __future__ import annotations

import sqlite3
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentMiddleware,
    ExtendedModelResponse,
    HumanInTheLoopMiddleware,
    InterruptOnConfig,
    ModelCallLimitMiddleware,
    ModelResponse,
    ToolCallLimitMiddleware,
)
from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from pydantic import SecretStr

from agentkit.money import format_inr

from . import idempotency, llm, memory, prompts
from .checkout.instrument import payment_text
from .context import SalesContext
from .settings import Settings
from .store import SalesStore

MODEL_CALLS_PER_TURN = 12  # a model that loops is stopped (ModelCallLimitMiddleware) and the shopper told
TOOL_CALLS_PER_TURN = 24


def build_model(settings: Settings) -> BaseChatModel:
    """``offline`` -> the built-in OfflineChatModel; ``<provider>:<model>`` -> LangChain's ``init_chat_model``.

    Retries and the timeout are the turn's (llm.TurnGuard): the whole turn's model time is bounded by
    SALES_MODEL_TIMEOUT, so the client itself does not retry."""
    settings.validate_model()
    if settings.is_offline:
        from .offline.model import OfflineChatModel  # imported lazily: the offline package is optional here

        return OfflineChatModel()
    from langchain.chat_models import init_chat_model

    kwargs: dict[str, Any] = {"temperature": 0}
    if settings.provider == "openai":
        kwargs.update(
            base_url=settings.openai_base_url,
            api_key=SecretStr(settings.openai_api_key or "not-needed"),
            timeout=settings.model_timeout,
            max_retries=0,
        )
    try:
        return init_chat_model(settings.model, **kwargs)
    except ImportError as exc:
        raise ValueError(
            f"SALES_AGENT_MODEL={settings.model!r} needs its LangChain provider package "
            f"(pip install langchain-{settings.provider}): {exc}"
        ) from None


class Checkpointer:
    """Owns the checkpointer and whatever connection it needs, so the session can close it."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._closers: list[Any] = []
        if settings.memory_is_postgres:
            from langgraph.checkpoint.postgres import PostgresSaver
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool

            url = settings.memory_url.replace("postgresql+psycopg://", "postgresql://")
            pool = ConnectionPool(
                url,
                min_size=1,
                max_size=8,
                open=True,
                kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            )
            self._closers.append(pool.close)
            self.saver: BaseCheckpointSaver = PostgresSaver(pool)  # type: ignore[arg-type]  # dict_row pool
            self.saver.setup()
        else:
            from langgraph.checkpoint.sqlite import SqliteSaver

            path = settings.memory_path
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            self._closers.append(conn.close)
            self.saver = SqliteSaver(conn)
            self.saver.setup()

    def close(self) -> None:
        for close in self._closers:
            close()
        self._closers.clear()


def confirmation_description(store: SalesStore):
    """The text the shopper confirms: total, items, payment method (from the stored quote, not the model)."""

    def describe(tool_call: dict, state: Any, runtime: Any) -> str:
        context = runtime.context
        user_id = context.user_id if isinstance(context, SalesContext) else (context or {}).get("user_id")
        pending = store.pending_checkout(user_id) if user_id else None
        if pending is None:
            return "Place the order? (There is no prepared checkout: it will be refused.)"
        return describe_quote(pending["quote"])

    return describe


def describe_quote(quote: dict[str, Any]) -> str:
    """What the shopper confirms, in their words: the items, the total and what it is made of (agentkit.money's
    ₹1,24,990), how it is paid and where it goes (the store's name, or the address), never an internal id."""
    items = "; ".join(f"{i['quantity']} x {i['name']} ({i['color']}, {i['size']})" for i in quote["items"])
    how = payment_text(quote.get("payment") or {})
    extra = []
    if quote.get("discount"):
        extra.append(f"you save {format_inr(quote['discount'])}")
    if quote.get("deliveryFee"):
        extra.append(f"delivery {format_inr(quote['deliveryFee'])}")
    for wrap in quote.get("giftWraps") or []:
        card = f', card: "{wrap["message"]}"' if wrap.get("message") else ""
        extra.append(f"{wrap['optionName'].lower()} gift wrap for the {wrap['name']} {format_inr(wrap['price'])}{card}")
    tail = f" ({', '.join(extra)})" if extra else ""
    return (
        f"Place order: {items}. Total {format_inr(quote['total'])}{tail}, paid by {how}, {destination(quote)}. Confirm?"
    )


def destination(quote: dict[str, Any]) -> str:
    """ "collect at Phoenix Palladium, Lower Parel" / "deliver to 12 MG Road, Bengaluru 560001"."""
    where = quote.get("fulfillment") or {}
    city = where.get("city")
    if where.get("type") == "click_and_collect":
        if where.get("storeName"):
            return f"collect at {where['storeName']}" + (f", {city}" if city and city not in where["storeName"] else "")
        return f"collect at our store in {city}" if city else "collect at the store you chose"
    if where.get("address"):
        return f"deliver to {where['address']}"
    return f"deliver to {city}" if city else "deliver to your address"


class AnswerIds(AgentMiddleware):
    """Every model answer gets an id minted here before it is stored (never the model's or the provider's), so
    the tool calls in it can be told apart from the same tool-call ids in any other answer."""

    @staticmethod
    def _stamp(response: Any) -> Any:
        inner = response.model_response if isinstance(response, ExtendedModelResponse) else response
        for message in inner.result if isinstance(inner, ModelResponse) else [inner]:
            idempotency.stamp_answer(message)
        return response

    def wrap_model_call(self, request, handler):
        return self._stamp(handler(request))

    async def awrap_model_call(self, request, handler):
        return self._stamp(await handler(request))


def build_graph(model: BaseChatModel, tools: list, store: SalesStore, checkpointer: Any, context_tokens: int = 8000):
    """``context_tokens`` bounds every model call (memory.py): the history is summarised, then trimmed."""
    fixed = memory.fixed_tokens(prompts.SYSTEM_PROMPT, tools)
    budget = memory.ContextBudget(context_tokens, fixed)
    gate = HumanInTheLoopMiddleware(
        interrupt_on={
            "place_order": InterruptOnConfig(
                allowed_decisions=["approve", "reject"], description=confirmation_description(store)
            ),
        },
        description_prefix="Order confirmation",
    )
    middleware: list[AgentMiddleware[Any, Any]] = [
        AnswerIds(),
        memory.summarization(model, memory.history_budget(context_tokens, fixed)),
        budget,
        ModelCallLimitMiddleware(run_limit=MODEL_CALLS_PER_TURN, exit_behavior="end"),
        ToolCallLimitMiddleware(run_limit=TOOL_CALLS_PER_TURN, exit_behavior="continue"),
        llm.TurnGuard(),
        gate,  # after the guard: its after_model runs first (hooks after the model run in reverse order)
    ]
    graph = create_agent(
        model,
        tools,
        system_prompt=prompts.SYSTEM_PROMPT,
        middleware=middleware,
        checkpointer=checkpointer,
        context_schema=SalesContext,
        name="sales_agent",
    )
    graph.context_budget = budget  # type: ignore[attr-defined]  # read by the session's turn log and the bench
    return graph
