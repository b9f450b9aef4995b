"""Documents generated from a contract: OpenAPI 3.1, the A2A agent card, health and readiness.

Both documents declare the bearer scheme every operation needs, and say for each operation which callers may
call it (``x-callers`` in OpenAPI, ``caller:<name>`` tags on the card's skills).
"""

from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING, Any

from flask import jsonify, request

from .contracts import Contract

if TYPE_CHECKING:
    from .app import AgentApp

_STATUS_TEXT = {
    "200": "OK",
    "201": "Created",
    "400": "The request broke the contract",
    "401": "Missing or wrong service token",
    "403": "This caller may not call the operation",
    "402": "Payment declined",
    "404": "Unknown id",
    "409": "Conflict",
    "413": "Body too large",
    "415": "Body is not JSON",
    "422": "A business rule refused the request",
    "429": "Rate limit reached",
    "500": "Unexpected server fault",
    "503": "A dependency is unavailable",
}


def _components_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                "#/components/schemas/" + value[len("#/$defs/") :]
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                else _components_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_components_refs(item) for item in node]
    return node


BEARER_SCHEME = "bearerAuth"
BEARER_DESCRIPTION = (
    "A caller's service token, <caller>.<signature> (make token ROLE=<caller> prints one). "
    "No token or a wrong one is 401; a caller the operation does not list is 403."
)


@functools.lru_cache(maxsize=None)
def _openapi_cached(contract_name: str, contract_version: str) -> dict[str, Any]:
    from .contracts import load_contract

    return build_openapi(load_contract(contract_name))


def build_openapi(contract: Contract) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for op in contract.operations.values():
        parameters: list[dict[str, Any]] = []
        if op.idempotency_key:
            parameters.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": op.idempotency_key == "required",
                    "description": "Replays the first result for the same key and body; another body is a 409.",
                    "schema": {"type": "string", "minLength": 8, "maxLength": 255, "pattern": "^[A-Za-z0-9_.:-]+$"},
                }
            )
        responses = {
            status: {
                "description": _STATUS_TEXT.get(status, "Response"),
                "content": {"application/json": {"schema": _components_refs(copy.deepcopy(schema))}},
            }
            for status, schema in sorted(op.response_schemas.items())
        }
        operation: dict[str, Any] = {
            "operationId": op.op_id,
            "summary": op.summary,
            "description": f"{op.description}\n\nCallers: {', '.join(op.callers)}.",
            "security": [{BEARER_SCHEME: []}],
            "x-callers": list(op.callers),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _components_refs(copy.deepcopy(op.request_schema)),
                        "examples": {ex["name"]: {"value": ex["request"]} for ex in op.examples},
                    }
                },
            },
            "responses": responses,
        }
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    for path, description in (("/health", "The process is alive."), ("/ready", "The database answers.")):
        paths[path] = {
            "get": {
                "operationId": path.strip("/") + "Check",
                "summary": description,
                "description": description,
                "security": [],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/probe"}}},
                    },
                    "503": {
                        "description": "Not ready",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/probe"}}},
                    },
                },
            }
        }
    schemas = _components_refs(copy.deepcopy(contract.defs))
    schemas["probe"] = {
        "type": "object",
        "properties": {
            "status": {"enum": ["ok", "ready", "unavailable"]},
            "agent": {"type": "string"},
            "version": {"type": "string"},
        },
        "required": ["status", "agent", "version"],
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": contract.title, "version": contract.version, "description": contract.description},
        "security": [{BEARER_SCHEME: []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {BEARER_SCHEME: {"type": "http", "scheme": "bearer", "description": BEARER_DESCRIPTION}},
        },
    }


def build_agent_card(contract: Contract, base_url: str) -> dict[str, Any]:
    """An A2A (1.0) AgentCard: who the agent is, how to reach it, the token it needs, one skill per operation.

    The interface is the agent's own HTTP API, described by its OpenAPI document, not A2A's message binding,
    so its binding is named for what it is ("OPENAPI+JSON", A2A's bindings being open-ended) and an A2A
    client that speaks only JSONRPC, GRPC or HTTP+JSON sees there is nothing for it here.
    """
    root = base_url.rstrip("/")
    return {
        "name": f"{contract.name}-agent",
        "description": contract.description,
        "version": contract.version,
        "supportedInterfaces": [{"url": root, "protocolBinding": "OPENAPI+JSON", "protocolVersion": "1.0"}],
        "documentationUrl": root + "/openapi.json",
        "capabilities": {"streaming": False, "pushNotifications": False},
        "securitySchemes": {
            BEARER_SCHEME: {"httpAuthSecurityScheme": {"scheme": "Bearer", "description": BEARER_DESCRIPTION}}
        },
        "securityRequirements": [{"schemes": {BEARER_SCHEME: {"list": []}}}],
        "defaultInputModes": ["application/json"],
        "defaultOutputModes": ["application/json"],
        "skills": [
            {
                "id": op.op_id,
                "name": op.summary,
                "description": f"{op.description} ({op.method} {op.path}; callers: {', '.join(op.callers)})",
                "tags": [contract.name, "read-only" if op.safe else "writes", *(f"caller:{c}" for c in op.callers)],
                "examples": [ex["name"] for ex in op.examples],
            }
            for op in contract.operations.values()
        ],
    }


def register_meta_routes(app: "AgentApp") -> None:
    contract = app.contract

    def probe(status: str):
        return {"status": status, "agent": contract.name, "version": contract.version}

    @app.get("/health")
    def health():
        return jsonify(probe("ok"))

    @app.get("/ready")
    def ready():
        if app.db.ping():
            return jsonify(probe("ready"))
        return jsonify(probe("unavailable")), 503

    @app.get("/openapi.json")
    def openapi_document():
        return jsonify(_openapi_cached(contract.name, contract.version))

    @app.get("/.well-known/agent-card.json")
    def agent_card():
        return jsonify(build_agent_card(contract, request.host_url))
