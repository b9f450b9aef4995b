"""`make contracts-check`: every contract is compatible with its released version; breaks are caught."""

from __future__ import annotations

import copy
import json

import pytest

from agentkit import compat
from agentkit.contracts import contracts_dir


@pytest.fixture
def common():
    return json.loads((contracts_dir() / "common.json").read_text())


@pytest.fixture
def inventory():
    return json.loads((contracts_dir() / "inventory.json").read_text())


def test_every_contract_is_compatible_with_its_release():
    assert compat.check() == []


def test_additions_are_allowed(inventory, common):
    new = copy.deepcopy(inventory)
    new["operations"]["checkInventory"]["request"]["properties"]["channel"] = {"type": "string"}
    new["$defs"]["inventoryReport"]["properties"]["note"] = {"type": "string"}
    new["operations"]["ping"] = copy.deepcopy(new["operations"]["getHold"]) | {"path": "/ping"}
    new["operations"]["restock"]["callers"].append("recommendation")
    assert compat.breaking_changes(inventory, new, common) == []


def test_callers_named_for_the_first_time_are_an_addition(inventory, common):
    released = copy.deepcopy(inventory)
    for op in released["operations"].values():
        del op["callers"]
    assert compat.breaking_changes(released, inventory, common) == []


def test_a_caller_dropped_from_an_operation_is_a_break(inventory, common):
    new = copy.deepcopy(inventory)
    new["operations"]["restock"]["callers"].remove("fulfillment")
    assert compat.breaking_changes(inventory, new, common) == ["operation restock: fulfillment may no longer call it"]


@pytest.mark.parametrize(
    "break_it,expected",
    [
        (lambda c: c["operations"].pop("restock"), "operation restock removed"),
        (lambda c: c["operations"]["getHold"].update(path="/hold"), "moved from POST /get-hold to POST /hold"),
        (
            lambda c: c["operations"]["checkInventory"]["request"]["required"].append("locationContext"),
            "locationContext: request field is newly required",
        ),
        (
            lambda c: c["operations"]["checkInventory"]["request"]["properties"].pop("locationContext"),
            "locationContext: request field removed",
        ),
        (lambda c: c["$defs"]["inventoryReport"]["properties"].pop("warehouses"), "warehouses: response field removed"),
        (
            lambda c: c["$defs"]["onlineStatus"].update(enum=["in_stock", "low_stock", "out_of_stock", "discontinued"]),
            "onlineStatus: may now return discontinued",
        ),
        (
            lambda c: c["operations"]["restock"]["request"]["properties"]["quantity"].update(maximum=100),
            "quantity: maximum lowered to 100",
        ),
        (
            lambda c: c["operations"]["listLowStock"]["request"]["properties"]["threshold"].update(type="string"),
            "threshold: no longer accepts type integer",
        ),
    ],
)
def test_breaking_changes_are_named(inventory, common, break_it, expected):
    new = copy.deepcopy(inventory)
    break_it(new)
    changes = compat.breaking_changes(inventory, new, common)
    assert any(expected in change for change in changes), changes


def test_a_major_bump_acknowledges_a_break(tmp_path, monkeypatch, inventory):
    contracts = tmp_path / "contracts"
    (contracts / "released").mkdir(parents=True)
    for name in ("common.json", "meta-schema.json"):
        (contracts / name).write_text((contracts_dir() / name).read_text())
    (contracts / "released" / "inventory.json").write_text(json.dumps(inventory))
    broken = copy.deepcopy(inventory)
    broken["operations"].pop("restock")
    (contracts / "inventory.json").write_text(json.dumps(broken))
    monkeypatch.setenv("CONTRACTS_DIR", str(contracts))
    version = inventory["version"]
    assert compat.check(["inventory"]) == [f"inventory {version} -> {version}: operation restock removed"]
    assert compat.main([]) == 1
    broken["version"] = f"{int(version.split('.')[0]) + 1}.0.0"
    (contracts / "inventory.json").write_text(json.dumps(broken))
    assert compat.check(["inventory"]) == []
