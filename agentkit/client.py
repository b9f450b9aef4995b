"""Call another agent through its contract.

One pooled ``requests.Session`` per client, connect and read timeouts on every call, retries with
backoff only for calls that are safe to repeat (read-only, or carrying an Idempotency-Key), a
circuit breaker so a dead agent fails fast, and the current request id passed along.
Requests are validated before they leave and responses after they arrive.

Each call carries the token of the process's own identity (``agentkit.auth``): an agent calling another while
it serves a request calls as itself; anything else calls as ``AGENT_CALLER`` (the sales service by default).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .auth import ServiceAuth, service_secret
from .contracts import Contract, Operation, load_contract
from .settings import KitSettings

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
        out: dict[str, Any] = {
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


def agent_base_url(contract: Contract, settings: KitSettings | None = None) -> str:
    url = (settings or KitSettings()).agent_url(contract.name)
    return (url or f"http://127.0.0.1:{contract.port}").rstrip("/")


def _current_request_id() -> str | None:
    from flask import g, has_request_context

    return g.get("request_id") if has_request_context() else None


def _serving_agent() -> str | None:
    """The agent whose request this thread is serving, if any: its outgoing calls are made as that agent."""
    from flask import current_app, has_app_context

    return current_app.config.get("AGENT_CALLER") if has_app_context() else None


class AgentClient:
    def __init__(
        self,
        agent: str,
        base_url: str | None = None,
        *,
        caller: str | None = None,
        token: str | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retries: int = 2,
        backoff: float = 0.2,
        breaker: CircuitBreaker | None = None,
        session: requests.Session | None = None,
        settings: KitSettings | None = None,
    ):
        """``caller`` fixes the identity this client calls as; ``token`` sends exactly that bearer token
        instead (``""``: none), for tests of what the agents refuse."""
        settings = settings or KitSettings()
        self.contract = load_contract(agent)
        self.base_url = (base_url or agent_base_url(self.contract, settings)).rstrip("/")
        self.caller = caller
        self.default_caller = settings.agent_caller
        self._fixed_token = token
        self._auth = ServiceAuth(service_secret(settings)) if token is None else None
        self._tokens: dict[str, str] = {}
        self.timeout = (
            connect_timeout if connect_timeout is not None else settings.agent_connect_timeout,
            read_timeout if read_timeout is not None else settings.agent_read_timeout,
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
        token = self.bearer_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
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

    def calling_as(self) -> str:
        return self.caller or _serving_agent() or self.default_caller

    def bearer_token(self) -> str:
        if self._auth is None:
            return self._fixed_token or ""
        caller = self.calling_as()
        token = self._tokens.get(caller)
        if token is None:
            token = self._tokens[caller] = self._auth.token_for(caller)
        return token

    def _result(self, op: Operation, response: requests.Response) -> dict[str, Any]:
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
        if not isinstance(error, dict):
            error = {}
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
