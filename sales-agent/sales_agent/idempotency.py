"""Every ``Idempotency-Key`` the sales service sends is built here, and nowhere else.

The agents scope keys by the authenticated caller, and every chat request reaches them as the same caller
(the sales service). So a key must name one intended action of one shopper: the same key for every retry of
that action (the answer is replayed, nothing happens twice), another key for anything else (a key shared by
two actions refuses the second, or replays the first shopper's answer to another).

A key is a hash of the shopper's id, the action and the step (the operation, and what it acts on):

- **A tool call in the chat** (returns, exchanges, reservations): the conversation thread, the model answer
  that asked for it, the tool-call id, the tool's name and its arguments. The model answer is named by the
  id the sales graph gives every model answer when it arrives (``stamp_answer``, a random UUID stored with the
  answer in the checkpoint), never by anything the model wrote: models number tool calls as they like
  (``call_0`` in every answer, or by position in the conversation), so a tool-call id alone repeats across
  turns, shoppers and conversations. A tool call delivered again (LangGraph re-running the tools of an answer
  it already has, after a crash or an interrupted turn) is the same answer and the same call, so the same key;
  the same tool-call id in a later answer, another conversation (after a reset) or for another shopper is
  another key. Two calls with the same id in one answer differ by their arguments; two identical calls in one
  answer are one action.
- **A checkout** (payment, order, gift wraps, points, refund): the checkout id, minted when the checkout is
  prepared and stored with it, so placing it again (or recovering it) repeats each step under the same key.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

ANSWER_ID_PREFIX = "sales-ai-"


def key(user_id: str, action: str, step: str) -> str:
    """The ``Idempotency-Key`` for one step of one action of one shopper (fits the agents' 8-255 characters)."""
    text = json.dumps(["sales-idempotency-v1", user_id, action, step], separators=(",", ":"), ensure_ascii=False)
    return "sales-" + hashlib.sha256(text.encode()).hexdigest()


def checkout_key(user_id: str, checkout_id: str, step: str) -> str:
    """A checkout step's key: ``step`` is the operation and what it acts on, e.g. ``addGiftWrap:P1001``."""
    return key(user_id, f"checkout:{checkout_id}", step)


def new_answer_id() -> str:
    return ANSWER_ID_PREFIX + uuid.uuid4().hex


def stamp_answer(message: Any) -> Any:
    """Give a model answer the id that names it in tool-call keys (``message.id``, kept in the checkpoint)."""
    if getattr(message, "type", None) == "ai":
        message.id = new_answer_id()
    return message


def tool_call_key(runtime: Any, user_id: str, tool: str, args: dict[str, Any]) -> str:
    """The key for a tool call that changes something (``runtime`` is the tool's ``ToolRuntime``)."""
    call_id = str(getattr(runtime, "tool_call_id", None) or "")
    config = getattr(runtime, "config", None) or {}
    thread = str((config.get("configurable") or {}).get("thread_id") or "")
    answer = _answer_id(getattr(runtime, "state", None), call_id, tool)
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return key(user_id, f"chat:{thread}:{answer}:{call_id}", f"{tool}:{canonical}")


def _answer_id(state: Any, call_id: str, tool: str) -> str:
    """The id of the model answer holding this tool call (the latest one, as the tools run on the latest
    answer). Outside the sales graph there is no such answer to tell a repeat from a new action: every call is
    then a new action (a retry by the contract client still reuses its key)."""
    messages = (state or {}).get("messages", []) if isinstance(state, dict) else getattr(state, "messages", [])
    for message in reversed(messages or []):
        if getattr(message, "type", None) != "ai" or not str(getattr(message, "id", "")).startswith(ANSWER_ID_PREFIX):
            continue  # only an id the sales graph gave is trusted to name one answer
        if any(c.get("id") == call_id and c.get("name") == tool for c in getattr(message, "tool_calls", None) or []):
            return str(message.id)
    return "unplanned-" + uuid.uuid4().hex
