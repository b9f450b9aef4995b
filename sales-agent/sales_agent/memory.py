"""Bounded conversation memory: every model call under a token budget, one checkpoint per shopper, turn limits.

* ``summarization(...)`` is LangChain's ``SummarizationMiddleware``: once the history passes what the budget
  leaves for it, the older part becomes one summary message and the recent half is kept verbatim. The
  summary is written here, from the messages, without a model call (no extra latency, nothing to fail), and
  it says where the facts are: the cart, the pending checkout and the last order live in the sales store,
  and the tools read them, so a summary never loses them.
* ``ContextBudget`` is the hard bound: before each model call it counts the system prompt, the tool
  definitions and the messages, and trims the oldest messages if a single turn still went over.
* ``prune(saver, thread_id)`` keeps only the latest checkpoint of a thread (and its pending writes, which
  hold a pending confirmation), so storage per shopper stays flat however long the conversation runs.
* ``TurnLimiter`` counts a shopper's turns in the sales database (so every worker shares the count).
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa
from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse, SummarizationMiddleware
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately, trim_messages
from langchain_core.utils.function_calling import convert_to_openai_tool

from agentkit import clock
from agentkit.errors import RateLimited

from .cards import mask_numbers
from .guests import USER_ID_WIDTH

log = logging.getLogger("agents.sales.memory")

REPLY_RESERVE = 1000  # tokens left for the model's answer within the budget
SUMMARY_CHARS = 2400  # about 600 tokens of summary, however long the conversation was
SUMMARY_LINE_CHARS = 160
FACTS_NOTE = (
    "The cart, the pending checkout and the last order are kept in the store, not in this summary: "
    "call view_cart, or check the order, to read them."
)


def count_tokens(messages: Sequence[Any]) -> int:
    return count_tokens_approximately(messages)


def fixed_tokens(system_prompt: str, tools: list) -> int:
    """Tokens every model call carries whatever the history: the system prompt and the tool definitions."""
    tool_chars = sum(len(json.dumps(convert_to_openai_tool(t))) for t in tools)
    return count_tokens([SystemMessage(system_prompt)]) + tool_chars // 4 + 1


def history_budget(context_tokens: int, fixed: int) -> int:
    """What is left for the conversation itself (at least 500 tokens, so a turn always fits)."""
    return max(500, context_tokens - fixed - REPLY_RESERVE)


def _line(message: BaseMessage) -> str | None:
    text = " ".join(str(message.text).split())
    if isinstance(message, HumanMessage):
        if message.additional_kwargs.get("lc_source") == "summarization":
            return text.split("\n", 1)[-1].removeprefix("Here is a summary of the conversation to date: ")
        return f"shopper: {text[:SUMMARY_LINE_CHARS]}"
    if isinstance(message, AIMessage):
        calls = ", ".join(c["name"] for c in message.tool_calls)
        if text:
            return f"assistant: {text[:SUMMARY_LINE_CHARS]}" + (f" (called {calls})" if calls else "")
        return f"assistant called {calls}" if calls else None
    if isinstance(message, ToolMessage) and message.status == "error":
        return f"{message.name} failed"
    return None


def summarize(messages: Sequence[Any]) -> str:
    """The older part of a conversation in a few lines, newest kept when it must be cut. No model call."""
    lines = [line for line in (_line(m) for m in messages) if line]
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        if size + len(line) > SUMMARY_CHARS:
            kept.append("(earlier turns left out)")
            break
        kept.append(line)
        size += len(line) + 1
    return mask_numbers("\n".join(reversed(kept))) + "\n" + FACTS_NOTE


def summarization(model: Any, budget: int) -> SummarizationMiddleware:
    return SummarizationMiddleware(
        model,
        trigger=("tokens", budget),
        keep=("tokens", budget // 2),
        token_counter=count_tokens_approximately,
        summarizer=summarize,
    )


class ContextBudget(AgentMiddleware):
    """Every model call stays under ``context_tokens``: system prompt + tools + messages + the reply reserve."""

    def __init__(self, context_tokens: int, fixed: int):
        super().__init__()
        self.context_tokens = context_tokens
        self.fixed = fixed
        # the estimate for each recent call of this process (read by the tests and the bench); bounded
        self.calls: deque[int] = deque(maxlen=10_000)

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> ModelResponse:
        limit = history_budget(self.context_tokens, self.fixed)
        messages: list[Any] = list(request.messages)
        if count_tokens(messages) > limit:
            trimmed = trim_messages(
                messages,
                max_tokens=limit,
                token_counter=count_tokens,
                strategy="last",
                start_on="human",
                allow_partial=False,
            )
            messages = trimmed or messages[-1:]
            request = request.override(messages=cast(Any, messages))
        self.calls.append(self.fixed + count_tokens(messages))
        return handler(request)


# --- checkpoints -----------------------------------------------------------------------------------


def prune(saver: Any, thread_id: str) -> None:
    """Keep only the thread's latest checkpoint (and its pending writes); older ones are never read again."""
    if hasattr(saver, "conn") and saver.__class__.__name__ == "SqliteSaver":
        with saver.lock, saver.conn:
            rows = saver.conn.execute(
                "SELECT checkpoint_ns, MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? GROUP BY checkpoint_ns",
                (thread_id,),
            ).fetchall()
            for ns, latest in rows:
                for table in ("checkpoints", "writes"):
                    saver.conn.execute(
                        f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id <> ?",
                        (thread_id, ns, latest),
                    )
        return
    try:
        saver.prune([thread_id], strategy="keep_latest")
    except NotImplementedError:  # a saver that cannot prune (the in-memory one in some tests) keeps everything
        return


def stored_bytes(saver: Any, thread_id: str) -> int:
    """The bytes a thread's checkpoints take in the store (for the benchmark and the tests)."""
    if saver.__class__.__name__ == "SqliteSaver":
        with saver.lock:
            one = saver.conn.execute(
                "SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints WHERE thread_id = ?",
                (thread_id,),
            ).fetchone()[0]
            two = saver.conn.execute(
                "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?", (thread_id,)
            ).fetchone()[0]
        return int(one) + int(two)
    with saver._cursor() as cur:
        total = 0
        for sql in (
            "SELECT COALESCE(SUM(pg_column_size(checkpoint) + pg_column_size(metadata)), 0) AS n "
            "FROM checkpoints WHERE thread_id = %s",
            "SELECT COALESCE(SUM(pg_column_size(blob)), 0) AS n FROM checkpoint_blobs WHERE thread_id = %s",
            "SELECT COALESCE(SUM(pg_column_size(blob)), 0) AS n FROM checkpoint_writes WHERE thread_id = %s",
        ):
            cur.execute(sql, (thread_id,))
            row = cur.fetchone()
            total += int(row["n"] if isinstance(row, dict) else row[0])
        return total


# --- turns per minute ------------------------------------------------------------------------------

metadata = sa.MetaData()
turn_stamps = sa.Table(
    "sales_turn_stamps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(USER_ID_WIDTH), nullable=False, index=True),
    sa.Column("at", sa.String(32), nullable=False),
)


awaiting = sa.Table(
    "sales_awaiting_confirmation",
    metadata,
    sa.Column("user_id", sa.String(USER_ID_WIDTH), primary_key=True),
    sa.Column("checkout_id", sa.String(24), nullable=False),
)


class Awaiting:
    """Which checkout a shopper was shown for confirmation, in the sales database: the "yes" may reach
    another worker than the one that asked."""

    def __init__(self, db: Any):
        self.db = db
        metadata.create_all(db.engine, checkfirst=True)

    def __setitem__(self, user_id: str, checkout_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(awaiting.delete().where(awaiting.c.user_id == user_id))
            conn.execute(awaiting.insert().values(user_id=user_id, checkout_id=checkout_id))

    def pop(self, user_id: str, default: str | None = None) -> str | None:
        with self.db.write() as conn:
            found = conn.execute(sa.select(awaiting.c.checkout_id).where(awaiting.c.user_id == user_id)).scalar()
            conn.execute(awaiting.delete().where(awaiting.c.user_id == user_id))
        return found if found is not None else default


class TurnLimiter:
    """At most ``per_minute`` turns per shopper in any 60 seconds, counted in the sales database."""

    def __init__(self, db: Any, per_minute: int):
        self.db, self.per_minute = db, per_minute
        if per_minute > 0:
            metadata.create_all(db.engine, checkfirst=True)

    def hit(self, user_id: str) -> None:
        if self.per_minute <= 0:
            return
        now = clock.now()
        since = (now - timedelta(seconds=60)).isoformat()
        with self.db.write() as conn:
            conn.execute(turn_stamps.delete().where(turn_stamps.c.user_id == user_id, turn_stamps.c.at <= since))
            used = conn.execute(
                sa.select(sa.func.count()).select_from(turn_stamps).where(turn_stamps.c.user_id == user_id)
            ).scalar_one()
            if used >= self.per_minute:
                raise RateLimited(
                    f"Too many messages: at most {self.per_minute} a minute per shopper. Wait a moment and try again.",
                    details=[{"field": "userId", "message": f"more than {self.per_minute} turns a minute"}],
                )
            conn.execute(turn_stamps.insert().values(user_id=user_id, at=now.isoformat()))
