"""One contract client per agent, built once per process and shared by the tools and the checkout.

Each ``agentkit.AgentClient`` keeps a pooled ``requests.Session`` (connection reuse), connect and read
timeouts, retries only for safe or Idempotency-Key calls, and a circuit breaker. ``Clients.call`` adds
the timing record the terminal shows ("inventory · checkInventory · 12 ms") to the current recording, and tells the
turn's observer (events.py) as each call starts and ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from typing import Any, Iterator

from agentkit import AgentCallError, AgentClient
from agentkit.contracts import ContractError, contracts_dir

from . import events

_recording: contextvars.ContextVar[list | None] = contextvars.ContextVar("sales_tool_calls", default=None)
_tool_name: contextvars.ContextVar[str | None] = contextvars.ContextVar("sales_tool_name", default=None)


@contextlib.contextmanager
def recording(tool: str) -> Iterator[list[dict[str, Any]]]:
    """Collect every agent call made inside the block, attributed to ``tool``."""
    calls: list[dict[str, Any]] = []
    token, name_token = _recording.set(calls), _tool_name.set(tool)
    try:
        yield calls
    finally:
        _recording.reset(token)
        _tool_name.reset(name_token)


class Clients:
    """``clients.call("inventory", "checkInventory", {...})`` -> the response body, or AgentCallError."""

    def __init__(
        self,
        *,
        retries: int | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        base_urls: dict[str, str] | None = None,
        overrides: dict[str, AgentClient] | None = None,
    ):
        self.retries = 1 if retries is None else retries  # bootstrap passes SALES_CLIENT_RETRIES
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.base_urls = base_urls or {}
        self._clients: dict[str, AgentClient] = dict(overrides or {})
        self._lock = threading.Lock()

    def client(self, agent: str) -> AgentClient:
        found = self._clients.get(agent)
        if found is not None:
            return found
        with self._lock:
            if agent not in self._clients:
                self._clients[agent] = AgentClient(
                    agent,
                    self.base_urls.get(agent),
                    retries=self.retries,
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.read_timeout,
                )
            return self._clients[agent]

    def available(self, agent: str) -> bool:
        """Whether the agent has a contract (an agent that is not built yet has none)."""
        return (contracts_dir() / f"{agent}.json").is_file()

    def call(
        self, agent: str, operation: str, body: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        observer = events.current()
        handle = observer.call_started(agent, operation) if observer is not None else None
        started = time.perf_counter()
        ok = False
        result: dict[str, Any] | None = None
        try:
            try:
                client = self.client(agent)
                client.contract.operation(operation)
            except (ContractError, OSError) as exc:
                raise AgentCallError(
                    agent,
                    operation,
                    None,
                    "not_available",
                    f"The {agent} agent is not part of this system yet ({exc}).",
                ) from None
            result = client.call(operation, body, idempotency_key=idempotency_key)
            ok = True
            return result
        finally:
            ms = round((time.perf_counter() - started) * 1000, 1)
            calls = _recording.get()
            if calls is not None:
                calls.append({"tool": _tool_name.get(), "agent": agent, "operation": operation, "ms": ms, "ok": ok})
            if observer is not None:
                observer.call_ended(handle, ms, ok, result)

    def shopper_profile(self, user_id: str) -> dict[str, Any] | None:
        """The shopper's profile from the recommendation agent, or None for a shopper it does not know."""
        try:
            return self.call("recommendation", "getShopperProfile", {"userId": user_id})
        except AgentCallError as exc:
            if exc.status == 404:
                return None
            raise

    def close(self) -> None:
        for client in self._clients.values():
            client.session.close()
