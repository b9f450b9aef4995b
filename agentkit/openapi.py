"""Documents generated from a contract: OpenAPI 3.1, the A2A-style agent card, health and readiness."""

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


@functools.lru_cache(maxsize=None)
def _openapi_cached(contract_name: str, contract_version: str, token_required: bool) -> dict[str, Any]:
    from .contracts import load_contract

    return build_openapi(load_contract(contract_name), token_required)


def build_openapi(contract: Contract, token_required: bool = False) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for op in contract.operations.values():
        parameters = []
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
        operation = {
            "operationId": op.op_id,
            "summary": op.summary,
            "description": op.description,
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
        if token_required:
            operation["security"] = [{"bearerAuth": []}]
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    for path, description in (("/health", "The process is alive."), ("/ready", "The database answers.")):
        paths[path] = {
            "get": {
                "operationId": path.strip("/") + "Check",
                "summary": description,
                "description": description,
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
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


def build_agent_card(contract: Contract, base_url: str, token_required: bool = False) -> dict[str, Any]:
    """An A2A-style card: who the agent is and what it can do, one skill per operation."""
    return {
        "name": f"{contract.name}-agent",
        "description": contract.description,
        "version": contract.version,
        "url": base_url,
        "protocol": "http+json",
        "documentationUrl": base_url.rstrip("/") + "/openapi.json",
        "defaultInputModes": ["application/json"],
        "defaultOutputModes": ["application/json"],
        "authentication": {"schemes": ["bearer"] if token_required else []},
        "skills": [
            {
                "id": op.op_id,
                "name": op.summary,
                "description": op.description,
                "method": op.method,
                "path": op.path,
                "tags": [contract.name, "read-only" if op.safe else "writes"],
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
        return jsonify(_openapi_cached(contract.name, contract.version, bool(app.config["AGENT_API_TOKEN"])))

    @app.get("/.well-known/agent-card.json")
    def agent_card():
        return jsonify(build_agent_card(contract, request.host_url, bool(app.config["AGENT_API_TOKEN"])))
