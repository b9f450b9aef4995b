"""Load an agent's JSON contract and compile its validators once per process.

A contract file refers to shared definitions as ``common.json#/$defs/<name>``. Loading bundles the
common definitions and the contract's own into one ``$defs`` block, so every operation schema is
self-contained: the validators, the OpenAPI document and the client all read the same bundle.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs

from .settings import REPO_ROOT as REPO_ROOT  # where the repository is; imported from here by the kit
from .settings import KitSettings

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ERROR_REF = {"$ref": "#/$defs/errorResponse"}

# Every operation can answer these without the contract saying so: the kit itself produces them
# (validation, no or a wrong token, a caller the operation does not allow, body limits, rate limits,
# an unavailable dependency, an unexpected fault).
STANDARD_ERROR_STATUSES = ("400", "401", "403", "413", "415", "429", "500", "503")


class ContractError(Exception):
    """A contract file is malformed: the process must not start with it."""


def contracts_dir() -> Path:
    return KitSettings().contracts_dir


@dataclass(frozen=True)
class Problem:
    """One reason a JSON document broke a schema, named by its dotted field path."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def _without_value(error: Any) -> str:
    """The validator's message with the offending value taken out: errors must never echo what a client
    sent (it may be a card number), only say what rule it broke."""
    message = error.message
    if type(error.kind).__name__ in ("Required", "AdditionalProperties"):
        return message  # these name properties, not values
    rendered = json.dumps(error.instance, ensure_ascii=False, separators=(",", ":"))
    if message.startswith(rendered):
        return "value" + message[len(rendered) :]
    spaced = json.dumps(error.instance, ensure_ascii=False)
    if message.startswith(spaced):
        return "value" + message[len(spaced) :]
    keyword = str(list(error.schema_path)[-1]) if list(error.schema_path) else "schema"
    return f"value breaks the '{keyword}' rule"


def _field_name(error: Any) -> str:
    path = [str(part) for part in error.instance_path]
    kind = type(error.kind).__name__
    if kind == "Required":
        path.append(str(error.kind.property))
    elif kind == "AdditionalProperties" and error.kind.unexpected:
        path.append(str(error.kind.unexpected[0]))
    return ".".join(path)


class CompiledSchema:
    """A schema compiled once; ``problems`` lists every violation, ``is_valid`` is the fast path."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self._validator = jsonschema_rs.validator_for(schema, validate_formats=True)

    def is_valid(self, instance: Any) -> bool:
        return self._validator.is_valid(instance)

    def problems(self, instance: Any, limit: int = 20) -> list[Problem]:
        found = []
        for error in self._validator.iter_errors(instance):
            found.append(Problem(_field_name(error), _without_value(error)))
            if len(found) >= limit:
                break
        return found


@dataclass
class Operation:
    contract_name: str
    op_id: str
    method: str
    path: str
    summary: str
    description: str
    safe: bool
    idempotency_key: str | None
    callers: tuple[str, ...]  # who may call it (agentkit.auth); the first is the usual one
    request_schema: dict[str, Any]
    response_schemas: dict[str, dict[str, Any]]
    examples: list[dict[str, Any]]
    request_validator: CompiledSchema = field(init=False, repr=False)
    response_validators: dict[int, CompiledSchema] = field(init=False, repr=False)

    def compile(self, defs: dict[str, Any]) -> None:
        def bundled(schema: dict[str, Any]) -> dict[str, Any]:
            return {"$schema": JSON_SCHEMA_DIALECT, "$defs": defs, **schema}

        self.request_validator = CompiledSchema(bundled(self.request_schema))
        self.response_validators = {
            int(status): CompiledSchema(bundled(schema)) for status, schema in self.response_schemas.items()
        }

    @property
    def success_statuses(self) -> list[int]:
        return sorted(int(s) for s in self.response_schemas if s.startswith("2"))

    def response_problems(self, status: int, body: Any) -> list[Problem]:
        validator = self.response_validators.get(status)
        if validator is None:
            return [Problem("", f"status {status} is not declared for {self.op_id}")]
        if validator.is_valid(body):
            return []
        return validator.problems(body)


@dataclass
class Contract:
    name: str
    title: str
    version: str
    port: int
    description: str
    operations: dict[str, Operation]
    defs: dict[str, Any]
    raw: dict[str, Any]

    def operation(self, op_id: str) -> Operation:
        try:
            return self.operations[op_id]
        except KeyError:
            raise ContractError(f"contract {self.name} has no operation {op_id!r}") from None

    def env_prefix(self) -> str:
        return self.name.upper().replace("-", "_")


def _rewrite_refs(node: Any) -> Any:
    """Point ``common.json#/$defs/x`` references at the bundled ``#/$defs/x``."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("common.json#"):
                value = value[len("common.json") :]
            out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


@functools.lru_cache(maxsize=None)
def _json_file(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise ContractError(f"cannot read {path}: {exc}") from exc


def meta_schema_problems(raw: dict[str, Any]) -> list[str]:
    """Everything wrong with a contract file's shape, by the meta-schema."""
    meta = _json_file(contracts_dir() / "meta-schema.json")
    validator = jsonschema.Draft202012Validator(meta)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(raw)
    ]


def contract_names() -> list[str]:
    skip = {"common.json", "meta-schema.json"}
    return sorted(p.stem for p in contracts_dir().glob("*.json") if p.name not in skip)


def build_contract(raw: dict[str, Any]) -> Contract:
    """Check a contract's shape, bundle its definitions and compile every validator."""
    problems = meta_schema_problems(raw)
    if problems:
        raise ContractError(f"contract {raw.get('name')!r} breaks the meta-schema: " + "; ".join(problems))
    common_defs = _json_file(contracts_dir() / "common.json")["$defs"]
    own_defs = raw.get("$defs", {})
    clash = sorted(set(common_defs) & set(own_defs))
    if clash:
        raise ContractError(f"contract {raw['name']} redefines common definitions: {', '.join(clash)}")
    defs = _rewrite_refs({**copy.deepcopy(common_defs), **copy.deepcopy(own_defs)})

    operations: dict[str, Operation] = {}
    routes: set[tuple[str, str]] = set()
    for op_id, spec in raw["operations"].items():
        spec = _rewrite_refs(spec)
        route = (spec["method"], spec["path"])
        if route in routes:
            raise ContractError(f"contract {raw['name']}: two operations on {route}")
        routes.add(route)
        responses = dict(spec["responses"])
        for status in STANDARD_ERROR_STATUSES:
            responses.setdefault(status, ERROR_REF)
        operation = Operation(
            contract_name=raw["name"],
            op_id=op_id,
            method=spec["method"],
            path=spec["path"],
            summary=spec["summary"],
            description=spec["description"],
            safe=spec["safe"],
            idempotency_key=spec.get("idempotencyKey"),
            callers=tuple(spec["callers"]),
            request_schema=spec["request"],
            response_schemas=responses,
            examples=spec["examples"],
        )
        operation.compile(defs)
        operations[op_id] = operation
    return Contract(
        name=raw["name"],
        title=raw["title"],
        version=raw["version"],
        port=raw["port"],
        description=raw["description"],
        operations=operations,
        defs=defs,
        raw=raw,
    )


@functools.lru_cache(maxsize=None)
def load_contract(name: str) -> Contract:
    """The named contract, loaded and compiled once per process."""
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise ContractError(f"not a contract name: {name!r}")
    return build_contract(_json_file(contracts_dir() / f"{name}.json"))


@functools.lru_cache(maxsize=None)
def id_pattern(name: str) -> re.Pattern[str]:
    """The pattern ``common.json`` gives a shared id (``userId``, ``productId``, ``orderId``, ``sku``...), compiled:
    code that checks or issues an id reads the one rule the contracts validate with, never a copy of it."""
    spec = _json_file(contracts_dir() / "common.json")["$defs"].get(name)
    if not isinstance(spec, dict) or "pattern" not in spec:
        raise ContractError(f"common.json defines no id pattern {name!r}")
    return re.compile(spec["pattern"])


def id_max_length(name: str) -> int | None:
    """The longest id of this kind the contracts accept (``maxLength`` in ``common.json``), if they set one."""
    spec = _json_file(contracts_dir() / "common.json")["$defs"].get(name) or {}
    return spec.get("maxLength")


def is_valid_id(name: str, value: str) -> bool:
    """Whether ``value`` is an id the contracts accept as ``name`` (pattern and length)."""
    limit = id_max_length(name)
    return bool(id_pattern(name).fullmatch(value)) and (limit is None or len(value) <= limit)
