"""What happens during a turn, as it happens: every agent call as it starts and ends, and the reply's text as the
model writes it. Whoever runs a turn and wants to see it (the chat stream, web/stream.py) installs an observer
with ``observing(observer)``; ``Clients.call`` and the session report to it. Nothing is reported when no observer
is installed, so the terminal, the batch orders and ``POST /chat`` pay nothing for it.

The observer travels in a context variable: LangGraph runs tools in threads that copy the context, so a tool's
agent calls reach the observer of the turn that made them, and two shoppers' turns never see each other's.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from typing import Any, Iterator, Protocol


class TurnObserver(Protocol):
    def call_started(self, agent: str, operation: str) -> Any:
        """An agent call is about to be sent; the value returned is handed back to ``call_ended``."""

    def call_ended(self, handle: Any, ms: float, ok: bool, result: dict[str, Any] | None) -> None:
        """It answered (``result`` is the validated answer) or failed (``ok`` false, ``result`` None)."""

    def token(self, text: str) -> None:
        """More of the reply, as the model streams it."""


_observer: contextvars.ContextVar[TurnObserver | None] = contextvars.ContextVar("sales_turn_observer", default=None)


@contextlib.contextmanager
def observing(observer: TurnObserver) -> Iterator[TurnObserver]:
    token = _observer.set(observer)
    try:
        yield observer
    finally:
        _observer.reset(token)


def current() -> TurnObserver | None:
    return _observer.get()


def word_chunks(text: str, words: int = 4) -> list[str]:
    """``text`` in pieces of a few words each (spacing kept), which concatenate back to it exactly."""
    found = re.findall(r"\s*\S+\s*$|\s*\S+", text)
    return ["".join(found[i : i + words]) for i in range(0, len(found), words)] if found else []
