"""What every turn's model calls go through (for any model, the offline one included):

* one deadline for the whole turn: ``SALES_MODEL_TIMEOUT`` bounds the sum of the turn's model time,
  retries included (each call gets what is left as its own timeout; one retry of a failed call, if time
  is left);
* malformed tool-call arguments (``invalid_tool_calls``, e.g. JSON the model cut short) are answered to the
  model as tool errors within the same turn, so it can correct itself, instead of ending the turn;
* the turn's numbers for the one JSON log line the session writes: model, prompt and completion tokens,
  model time, model calls.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse, hook_config
from langchain_core.messages import AIMessage, ToolMessage

MALFORMED = (
    "The arguments of this tool call were not valid JSON ({error}); nothing was run. Call the tool again with "
    "valid JSON arguments."
)


class ModelTimeUp(TimeoutError):
    """The turn's model time (SALES_MODEL_TIMEOUT) is used up."""


@dataclass
class TurnStats:
    deadline: float
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    malformed_tool_calls: int = 0
    started: float = field(default_factory=time.monotonic)


_turn: contextvars.ContextVar[TurnStats | None] = contextvars.ContextVar("sales_turn", default=None)


def start_turn(timeout: float) -> tuple[TurnStats, contextvars.Token]:
    stats = TurnStats(deadline=time.monotonic() + timeout)
    return stats, _turn.set(stats)


def end_turn(token: contextvars.Token) -> None:
    _turn.reset(token)


class TurnGuard(AgentMiddleware):
    def __init__(self, retries: int = 1):
        super().__init__()
        self.retries = retries

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> ModelResponse:
        stats = _turn.get()
        attempt = 0
        while True:
            left = (stats.deadline - time.monotonic()) if stats else None
            if left is not None and left <= 0.05:
                raise ModelTimeUp("the turn's model time is used up")
            call = request
            if left is not None:
                call = request.override(model_settings={**request.model_settings, "timeout": left})
            started = time.monotonic()
            try:
                response = handler(call)
            except Exception:
                if stats:
                    stats.model_seconds += time.monotonic() - started
                attempt += 1
                if attempt > self.retries:
                    raise
                continue
            if stats:
                stats.model_seconds += time.monotonic() - started
                stats.model_calls += 1
                for message in response.result:
                    usage = getattr(message, "usage_metadata", None) or {}
                    stats.prompt_tokens += int(usage.get("input_tokens", 0))
                    stats.completion_tokens += int(usage.get("output_tokens", 0))
            return response

    @hook_config(can_jump_to=["model"])
    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        messages = state["messages"]
        last = messages[-1] if messages else None
        if not isinstance(last, AIMessage) or not last.invalid_tool_calls:
            return None
        stats = _turn.get()
        if stats:
            stats.malformed_tool_calls += len(last.invalid_tool_calls)
        if last.tool_calls:  # good calls beside malformed ones: run the good ones, drop the rest
            return {"messages": [last.model_copy(update={"invalid_tool_calls": []})]}
        # Only malformed calls: each becomes a call answered with an error, and the model is asked again.
        repaired = last.model_copy(
            update={
                "tool_calls": [
                    {"name": c.get("name") or "unknown", "args": {}, "id": c.get("id"), "type": "tool_call"}
                    for c in last.invalid_tool_calls
                ],
                "invalid_tool_calls": [],
            }
        )
        errors = [
            ToolMessage(
                MALFORMED.format(error=(c.get("error") or "could not be parsed")[:200]),
                tool_call_id=c.get("id") or "",
                name=c.get("name") or "unknown",
                status="error",
            )
            for c in last.invalid_tool_calls
        ]
        return {"messages": [repaired, *errors], "jump_to": "model"}
