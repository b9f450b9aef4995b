"""Call another agent through its contract.

One pooled ``requests.Session`` per client, connect and read timeouts on every call, retries with
backoff only for calls that are safe to repeat (read-only, or carrying an Idempotency-Key), a
circuit breaker so a dead agent fails fast, and the current request id passed along.
Requests are validated before they leave and responses after they arrive.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .contracts import Contract, load_contract

RETRYABLE_STATUSES = {502, 503, 504}
UNREACHABLE_CODES = {"timeout", "unavailable", "circuit_open"}


class AgentCallError(Exception):
    """A call that did not succeed, described well enough for a person or a model to act on."""

    def __init__(
        self,
        agent: str,
        operation: str,
        status: int | None,
        code: str,
        message: str,
        details: list | None = None,
        extra: dict | None = None,
    ):
        super().__init__(f"{agent}.{operation}: {code}: {message}")
        self.agent, self.operation, self.status = agent, operation, status
        self.code, self.message = code, message
        self.details = details or []
        self.extra = extra or {}

    @property
    def unavailable(self) -> bool:
        """The agent could not be reached or said it cannot serve now (not: a request we refused to send)."""
        return self.code in UNREACHABLE_CODES or self.status in RETRYABLE_STATUSES

    def as_dict(self) -> dict[str, Any]:
        out = {
            "agent": self.agent,
            "operation": self.operation,
            "status": self.status,
            "code": self.code,
            "message": self.message,
        }
        if self.details:
            out["details"] = self.details
        out.update(self.extra)
        return out


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; lets one trial call through after ``cooldown``."""

    def __init__(self, threshold: int = 5, cooldown: float = 10.0):
        self.threshold, self.cooldown = threshold, cooldown
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if time.monotonic() - self._opened_at >= self.cooldown:
                self._opened_at = time.monotonic()  # half-open: one trial per cooldown
                return True
            return False

    def record(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self._failures, self._opened_at = 0, None
            else:
                self._failures += 1
                if self._failures >= self.threshold:
                    self._opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None


def agent_base_url(contract: Contract) -> str:
    env_name = f"{contract.env_prefix()}_AGENT_URL"
    return os.environ.get(env_name, f"http://127.0.0.1:{contract.port}").rstrip("/")


def _current_request_id() -> str | None:
    try:
        from flask import g, has_request_context

        return g.get("request_id") if has_request_context() else None
    except ImportError:  # pragma: no cover - flask is always installed with the kit
        return None


class AgentClient:
    def __init__(
        self,
        agent: str,
        base_url: str | None = None,
        *,
        token: str | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retries: int = 2,
        backoff: float = 0.2,
        breaker: CircuitBreaker | None = None,
        session: requests.Session | None = None,
    ):
        self.contract = load_contract(agent)
        self.base_url = (base_url or agent_base_url(self.contract)).rstrip("/")
        self.token = token if token is not None else os.environ.get("AGENT_API_TOKEN")
        self.timeout = (
            connect_timeout if connect_timeout is not None else float(os.environ.get("AGENT_CONNECT_TIMEOUT", 1.0)),
            read_timeout if read_timeout is not None else float(os.environ.get("AGENT_READ_TIMEOUT", 5.0)),
        )
        self.retries, self.backoff = retries, backoff
        self.breaker = breaker or CircuitBreaker()
        self.session = session or requests.Session()
        self.session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=16))

    def call(
        self, op_id: str, body: dict[str, Any], *, idempotency_key: str | None = None, request_id: str | None = None
    ) -> dict[str, Any]:
        op = self.contract.operation(op_id)
        name = self.contract.name
        problems = op.request_validator.problems(body)
        if problems:
            raise AgentCallError(
                name,
                op_id,
                None,
                "invalid_request",
                f"{problems[0].field or 'body'}: {problems[0].message}",
                [p.as_dict() for p in problems],
            )
        if op.idempotency_key is None:
            idempotency_key = None  # the agent would not deduplicate on it, so it must not make a retry "safe"
        elif op.idempotency_key == "required" and not idempotency_key:
            idempotency_key = uuid.uuid4().hex
        headers = {"X-Request-ID": request_id or _current_request_id() or uuid.uuid4().hex}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        may_retry = op.safe or bool(idempotency_key)
        attempts = 1 + (self.retries if may_retry else 0)

        last_error: AgentCallError | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.backoff * (2 ** (attempt - 1)))
            if not self.breaker.allow():
                if last_error is not None:
                    raise last_error  # an earlier attempt may have reached the agent: say what happened to it
                # Nothing was sent: callers may rely on that (a write that never left cannot have happened).
                raise AgentCallError(
                    name,
                    op_id,
                    None,
                    "circuit_open",
                    f"The {name} agent is unavailable (failing repeatedly); not calling it for a few seconds.",
                )
            try:
                response = self.session.post(self.base_url + op.path, json=body, headers=headers, timeout=self.timeout)
            except requests.Timeout:
                self.breaker.record(False)
                last_error = AgentCallError(name, op_id, None, "timeout", f"The {name} agent did not answer in time.")
                continue
            except requests.ConnectionError:
                self.breaker.record(False)
                last_error = AgentCallError(name, op_id, None, "unavailable", f"The {name} agent is not reachable.")
                continue
            if response.status_code in RETRYABLE_STATUSES:
                self.breaker.record(False)
                last_error = self._error_from(op_id, response)
                continue
            self.breaker.record(True)
            return self._result(op, response)
        assert last_error is not None
        raise last_error

    def _result(self, op, response: requests.Response) -> dict[str, Any]:
        name = self.contract.name
        try:
            payload = response.json()
        except ValueError:
            raise AgentCallError(
                name,
                op.op_id,
                response.status_code,
                "bad_response",
                f"The {name} agent answered with something that is not JSON.",
            ) from None
        problems = op.response_problems(response.status_code, payload)
        if problems:
            raise AgentCallError(
                name,
                op.op_id,
                response.status_code,
                "contract_violation",
                f"The {name} agent's answer broke its contract: {problems[0].field}: {problems[0].message}",
                [p.as_dict() for p in problems],
            )
        if response.status_code >= 400:
            raise self._error_from(op.op_id, response, payload)
        return payload

    def _error_from(self, op_id: str, response: requests.Response, payload: Any = None) -> AgentCallError:
        if payload is None:
            try:
                payload = response.json()
            except ValueError:
                payload = {}
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        extra = {k: error[k] for k in ("declineCode", "suggestions", "retryAfter", "retryable") if k in error}
        return AgentCallError(
            self.contract.name,
            op_id,
            response.status_code,
            error.get("code", "http_error"),
            error.get("message", f"HTTP {response.status_code}"),
            error.get("details"),
            extra,
        )
