"""The Flask application factory every agent uses.

An agent supplies its contract name, its database and one plain function per operation. The kit
does everything around them: body limits, content type, JSON parsing, request validation before the
handler, response validation after it, the error envelope, auth, rate limits, request ids, JSON logs
and the health, readiness, OpenAPI and agent-card routes.

Every operation needs a caller's token (``agentkit.auth``), and only the callers its contract lists may call
it; the health, readiness, OpenAPI and agent-card routes stay open, and so do an agent's public files
(``AgentApp.serve_files``: the catalog's pictures).
"""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, cast

from flask import Flask, g, jsonify, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from . import idempotency, openapi
from .auth import ServiceAuth, check_caller, service_secret
from .contracts import Contract, ContractError, Operation, load_contract
from .db import Database
from .errors import ApiError, ValidationFailed, http_error_code
from .guards import RateLimiter, limiter_from_settings
from .logs import get_logger, log
from .settings import KitSettings

Handler = Callable[[Database, dict[str, Any]], Any]
OPEN_PATHS = {"/health", "/ready", "/openapi.json", "/.well-known/agent-card.json"}


class AgentApp(Flask):
    """A Flask app bound to one contract and one database."""

    contract: Contract
    db: Database
    settings: KitSettings
    auth: ServiceAuth
    rate_limiter: RateLimiter | None
    idempotency: idempotency.IdempotencyStore
    # Routes anyone may call, like OPEN_PATHS: the public files of serve_files, by endpoint (not by path prefix).
    open_endpoints: set[str]

    def serve(self, handlers: dict[str, Handler]) -> None:
        """Route every contract operation to ``handler(db, body) -> dict | (dict, status)``."""
        missing = sorted(set(self.contract.operations) - set(handlers))
        extra = sorted(set(handlers) - set(self.contract.operations))
        if missing or extra:
            raise ContractError(
                f"{self.contract.name}: operations without a handler {missing}, handlers without an operation {extra}"
            )
        for op_id, handler in handlers.items():
            op = self.contract.operation(op_id)
            self.add_url_rule(
                op.path,
                endpoint=op_id,
                methods=[op.method],
                view_func=functools.partial(self._run_operation, op, handler),
            )

    def serve_files(self, url_prefix: str, directory: Path, max_age: int) -> None:
        """``GET <url_prefix>/<name>``: the files in ``directory`` (the catalog's pictures), open without a token
        like /health, cached ``max_age`` seconds with an ETag. A name that leaves the directory is a 404."""
        endpoint = f"files{url_prefix.replace('/', '.')}"

        def send(name: str):
            response = send_from_directory(directory, name, max_age=max_age)
            response.headers["X-Content-Type-Options"] = "nosniff"
            # An SVG opened on its own is a document; these are pictures, so nothing in one may run or load.
            response.headers["Content-Security-Policy"] = "default-src 'none'"
            return response

        self.add_url_rule(f"{url_prefix}/<path:name>", endpoint=endpoint, methods=["GET"], view_func=send)
        self.open_endpoints.add(endpoint)

    def _run_operation(self, op: Operation, handler: Handler):
        g.operation = op.op_id
        body = read_json_body()
        if not self.config["CONTRACT_VALIDATION"]:
            payload, status = _split(handler(self.db, body), op)
            return jsonify(payload), status
        problems = op.request_validator.problems(body) if not op.request_validator.is_valid(body) else []
        if problems:
            raise ValidationFailed(
                f"The request does not match the {op.op_id} contract: "
                f"{problems[0].field or 'body'}: {problems[0].message}",
                details=problems,
            )
        if op.idempotency_key is None:
            payload, status = self._call_handler(op, handler, body)
            return jsonify(payload), status
        key = idempotency.checked_key(request.headers.get("Idempotency-Key"), op.idempotency_key == "required")
        if key is None:
            payload, status = self._call_handler(op, handler, body)
            return jsonify(payload), status
        # Scoped by who the token says is calling, never by anything else the caller sends.
        answer, replayed = self.idempotency.run_once(
            g.caller, key, op.op_id, body, lambda: self._call_handler(op, handler, body)
        )
        response = jsonify(answer.body)
        response.status_code = answer.status
        response.headers["Idempotent-Replayed"] = "true" if replayed else "false"
        return response

    def _call_handler(self, op: Operation, handler: Handler, body: Any) -> tuple[Any, int]:
        payload, status = _split(handler(self.db, body), op)
        self._check_response(op, status, payload)
        return payload, status

    def _check_response(self, op: Operation, status: int, payload: Any) -> None:
        problems = op.response_problems(status, payload)
        if not problems:
            return
        log(
            get_logger(self.contract.name),
            logging.ERROR,
            "response breaks contract",
            operation=op.op_id,
            status=status,
            problems=[p.as_dict() for p in problems[:5]],
        )
        if self.config["CONTRACT_ENFORCEMENT"] == "error":
            raise ApiError(f"The {op.op_id} response broke its contract.", code="contract_violation", details=problems)


def _split(result: Any, op: Operation) -> tuple[Any, int]:
    return result if isinstance(result, tuple) else (result, op.success_statuses[0])


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float | int:
    """JSON Schema counts 1.0 as an integer, so the handlers get it as one."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is too large a number")
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def read_json_body() -> Any:
    """The request body as JSON: 415 unless it says it is JSON, 400 for empty, malformed, too deep,
    NaN/Infinity, numbers too large, lone surrogates and NUL characters. Not yet checked against a schema."""
    if request.mimetype != "application/json":
        raise ApiError(
            "Send the body as JSON with 'Content-Type: application/json'.",
            code="unsupported_media_type",
            details=[{"field": "Content-Type", "message": f"got {request.mimetype or 'nothing'!r}"}],
        ).with_status(415)
    raw = request.get_data(cache=False)
    if not raw:
        raise ValidationFailed(
            "The request body is empty; send a JSON object.", details=[{"field": "", "message": "empty body"}]
        )
    try:
        body = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValidationFailed(
            "The JSON body is nested too deeply.", details=[{"field": "", "message": "nesting too deep"}]
        ) from None
    except ValueError as exc:
        raise ValidationFailed(
            f"The body is not valid JSON: {exc}", details=[{"field": "", "message": "malformed JSON"}]
        ) from None
    if b"\\ud" in raw.lower() and _has_lone_surrogate(body):
        raise ValidationFailed(
            "Text must be valid Unicode; the body has a lone surrogate escape.",
            details=[{"field": "", "message": "invalid unicode escape"}],
        )
    if b"\\u0000" in raw.lower():
        nul_field = _field_with_nul(body, "")
        if nul_field is not None:  # no database can store it, and no real value contains it
            raise ValidationFailed(
                "Text may not contain NUL characters.",
                details=[{"field": nul_field, "message": "contains a NUL character"}],
            )
    return body


def _has_lone_surrogate(body: Any) -> bool:
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _field_with_nul(node: Any, path: str) -> str | None:
    if isinstance(node, str):
        return path if "\x00" in node else None
    items: Iterable[tuple[Any, Any]]
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return None
    for key, value in items:
        key_path = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return key_path
        found = _field_with_nul(value, key_path)
        if found is not None:
            return found
    return None


def install_http_basics(app: Flask, logger: logging.Logger, guard: Callable[[], None]) -> None:
    """What every JSON service here needs around its routes: a request id (taken from ``X-Request-ID`` or
    made up, and echoed), ``guard()`` before each request (auth, rate limits), one JSON log line per request
    (metadata only, never a body) and the error envelope for every failure, including Werkzeug's 404, 405,
    413 and anything unexpected (logged with its traceback, answered without one)."""

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        g.request_id = (request.headers.get("X-Request-ID") or uuid.uuid4().hex)[:64]
        guard()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log(
            logger,
            logging.INFO,
            "request",
            requestId=g.get("request_id"),
            method=request.method,
            path=request.path,
            operation=g.get("operation"),
            status=response.status_code,
            ms=round(elapsed, 2),
        )
        return response

    def error_response(error: ApiError):
        response = jsonify(error.envelope(g.get("request_id")))
        response.status_code = error.status
        retry_after = error.extra.get("retryAfter")
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        message = error.description or error.name
        if status == 413:
            message = f"The body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes."
        detail = {"field": "", "message": error.name}
        if status == 405:
            detail = {"field": "method", "message": f"{request.method} is not allowed on {request.path}"}
        elif status == 404:
            detail = {"field": "path", "message": f"no route {request.path}"}
        return error_response(ApiError(message, code=http_error_code(status), details=[detail]).with_status(status))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        logger.exception("unhandled error", extra={"fields": {"requestId": g.get("request_id")}})
        return error_response(
            ApiError(
                "Something went wrong on our side; it has been logged.",
                details=[{"field": "", "message": type(error).__name__}],
            )
        )


def create_agent_app(
    contract_name: str, database: Database, handlers: dict[str, Handler], config: dict[str, Any] | None = None
) -> AgentApp:
    """The agent's app. ``config`` overrides the settings read from the environment (tests use it)."""
    contract = load_contract(contract_name)
    settings = KitSettings()
    config = config or {}
    app = AgentApp(contract.name)
    app.contract = contract
    app.db = database
    app.open_endpoints = set()
    app.settings = settings
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        CONTRACT_ENFORCEMENT=settings.contract_enforcement,
        CONTRACT_VALIDATION=settings.contract_validation,
        # Outgoing calls made while serving a request are made as this agent (agentkit.client).
        AGENT_CALLER=contract.name,
        JSON_SORT_KEYS=False,
    )
    app.config.update(config)
    app.auth = ServiceAuth(config.get("AGENT_API_TOKEN") or service_secret(settings))
    provider = cast(DefaultJSONProvider, app.json)
    provider.sort_keys = False
    provider.compact = True
    app.rate_limiter = app.config.get("RATE_LIMITER", limiter_from_settings(settings, contract.name))
    logger = get_logger(contract.name)

    if any(op.idempotency_key for op in contract.operations.values()):
        # Adds its table before the schema is created.
        app.idempotency = idempotency.IdempotencyStore(
            database,
            hash_key=(
                settings.idempotency_hash_key.get_secret_value().encode()
                if settings.idempotency_hash_key
                else app.auth.derived_key("idempotency-fingerprint")
            ),
            ttl_hours=settings.idempotency_ttl_hours,
        )
    database.initialise()
    # Workers forked from a preloading master must open their own connections.
    database.dispose()

    def guard() -> None:
        """Every route but the open ones: who is calling (401), how often (429), may it call this (403)."""
        if request.path in OPEN_PATHS or (
            request.url_rule is not None and request.url_rule.endpoint in app.open_endpoints
        ):
            return
        g.caller = app.auth.caller_of(request.headers.get("Authorization"))
        if app.rate_limiter is not None:
            app.rate_limiter.hit(request.remote_addr or "unknown")
        op = contract.operations.get(request.url_rule.endpoint) if request.url_rule is not None else None
        if op is not None:
            check_caller(op.op_id, op.callers, g.caller)

    install_http_basics(app, logger, guard)
    app.serve(handlers)
    openapi.register_meta_routes(app)
    return app
