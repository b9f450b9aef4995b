"""Contract compatibility: compare each contract with its last released version and name every breaking change.

Breaking: a removed operation, a changed method or path, a caller no longer allowed to call an operation, a
request field removed or newly required, a request type, enum or limit narrowed, a response field removed or
no longer guaranteed, a response type or enum widened. Additions are allowed (a released contract that named no
callers yet gains them compatibly). A higher major version acknowledges a break.

    python -m agentkit.compat                 check every contract against contracts/released/ (make contracts-check)
    python -m agentkit.compat --release NAME  record the current contract as the released one
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from .contracts import contract_names, contracts_dir

LIMITS_THAT_NARROW_WHEN_RAISED = ("minimum", "exclusiveMinimum", "minLength", "minItems")
LIMITS_THAT_NARROW_WHEN_LOWERED = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")


def released_dir() -> Path:
    return contracts_dir() / "released"


class _Resolver:
    def __init__(self, contract: dict[str, Any], common: dict[str, Any]):
        self.defs = {**common.get("$defs", {}), **contract.get("$defs", {})}

    def __call__(self, schema: Any, depth: int = 0) -> Any:
        while isinstance(schema, dict) and "$ref" in schema and depth < 20:
            schema = self.defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
            depth += 1
        return schema


def _types(schema: dict[str, Any]) -> set[str] | None:
    kind = schema.get("type")
    if kind is None:
        return None
    return {kind} if isinstance(kind, str) else set(kind)


def _compare(
    old: Any,
    new: Any,
    where: str,
    is_request: bool,
    old_ref: _Resolver,
    new_ref: _Resolver,
    found: list[str],
    depth: int = 0,
) -> None:
    old, new = old_ref(old), new_ref(new)
    if not isinstance(old, dict) or not isinstance(new, dict) or depth > 12:
        return
    old_types, new_types = _types(old), _types(new)
    if old_types and new_types and old_types != new_types:
        lost, gained = old_types - new_types, new_types - old_types
        if is_request and lost:
            found.append(f"{where}: no longer accepts type {', '.join(sorted(lost))}")
        if not is_request and gained:
            found.append(f"{where}: may now return type {', '.join(sorted(gained))}")
    if "enum" in old and "enum" in new:
        lost_values = [v for v in old["enum"] if v not in new["enum"]]
        gained_values = [v for v in new["enum"] if v not in old["enum"]]
        if is_request and lost_values:
            found.append(f"{where}: no longer accepts {', '.join(map(str, lost_values))}")
        if not is_request and gained_values:
            found.append(f"{where}: may now return {', '.join(map(str, gained_values))}")
    if "const" in old and new.get("const", old["const"]) != old["const"]:
        found.append(f"{where}: constant changed from {old['const']!r} to {new['const']!r}")
    if is_request:
        for limit in LIMITS_THAT_NARROW_WHEN_RAISED:
            if limit in new and new[limit] > old.get(limit, float("-inf")):
                found.append(f"{where}: {limit} raised to {new[limit]}")
        for limit in LIMITS_THAT_NARROW_WHEN_LOWERED:
            if limit in new and new[limit] < old.get(limit, float("inf")):
                found.append(f"{where}: {limit} lowered to {new[limit]}")
        if "pattern" in new and new.get("pattern") != old.get("pattern"):
            found.append(f"{where}: pattern changed to {new['pattern']!r}")

    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name, old_schema in old_props.items():
        path = f"{where}.{name}" if where else name
        if name not in new_props:
            found.append(f"{path}: {'request' if is_request else 'response'} field removed")
            continue
        _compare(old_schema, new_props[name], path, is_request, old_ref, new_ref, found, depth + 1)
    if is_request:
        for name in sorted(new_required - old_required):
            found.append(f"{where + '.' if where else ''}{name}: request field is newly required")
    else:
        for name in sorted(old_required - new_required):
            if name in new_props:
                found.append(f"{where + '.' if where else ''}{name}: response field is no longer always present")
    if "items" in old and "items" in new:
        _compare(old["items"], new["items"], f"{where}[]", is_request, old_ref, new_ref, found, depth + 1)


def breaking_changes(old: dict[str, Any], new: dict[str, Any], common: dict[str, Any]) -> list[str]:
    found: list[str] = []
    old_ref, new_ref = _Resolver(old, common), _Resolver(new, common)
    for op_id, old_op in old.get("operations", {}).items():
        new_op = new.get("operations", {}).get(op_id)
        if new_op is None:
            found.append(f"operation {op_id} removed")
            continue
        if (old_op["method"], old_op["path"]) != (new_op["method"], new_op["path"]):
            found.append(
                f"operation {op_id}: moved from {old_op['method']} {old_op['path']} "
                f"to {new_op['method']} {new_op['path']}"
            )
        dropped = [c for c in old_op.get("callers", []) if c not in new_op.get("callers", [])]
        if dropped:
            found.append(f"operation {op_id}: {', '.join(dropped)} may no longer call it")
        request_changes: list[str] = []
        _compare(old_op["request"], new_op["request"], "", True, old_ref, new_ref, request_changes)
        found += [f"operation {op_id} request {item}" for item in request_changes]
        for status, old_schema in old_op["responses"].items():
            if status not in new_op["responses"]:
                continue  # a status no longer returned is not a break for a client
            response_changes: list[str] = []
            _compare(old_schema, new_op["responses"][status], "", False, old_ref, new_ref, response_changes)
            found += [f"operation {op_id} response {status} {item}" for item in response_changes]
    return found


def _major(version: str) -> int:
    return int(version.split(".")[0])


def check(names: list[str] | None = None) -> list[str]:
    """Every unacknowledged breaking change, as sentences; an empty list means compatible."""
    common = json.loads((contracts_dir() / "common.json").read_text())
    problems = []
    for name in names or contract_names():
        current = json.loads((contracts_dir() / f"{name}.json").read_text())
        released_path = released_dir() / f"{name}.json"
        if not released_path.exists():
            problems.append(
                f"contract {name} has no released version in contracts/released/ "
                f"(record one: python -m agentkit.compat --release {name})"
            )
            continue
        released = json.loads(released_path.read_text())
        if _major(current["version"]) > _major(released["version"]):
            continue  # a major bump acknowledges the break
        problems += [
            f"{name} {released['version']} -> {current['version']}: {change}"
            for change in breaking_changes(released, current, common)
        ]
    return problems


def release(name: str) -> Path:
    released_dir().mkdir(parents=True, exist_ok=True)
    target = released_dir() / f"{name}.json"
    shutil.copyfile(contracts_dir() / f"{name}.json", target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentkit.compat", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--release", metavar="NAME", help="record contracts/NAME.json as released")
    args = parser.parse_args(argv)
    if args.release:
        print(f"released {release(args.release)}")
        return 0
    problems = check()
    for problem in problems:
        print(f"BREAKING: {problem}", file=sys.stderr)
    if problems:
        print("Fix the contract, or bump its major version to acknowledge the break.", file=sys.stderr)
        return 1
    print(f"contracts compatible with their released versions: {', '.join(contract_names())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
