"""Contracts, agent folders, agents.toml, docker-compose.yml, ports and tools agree with one another."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from agentkit.consistency import problems

ROOT = Path(__file__).resolve().parent.parent


def test_the_repository_is_consistent():
    assert problems(ROOT) == []


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("contracts", "agents.toml", "docker-compose.yml"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / name)
    for folder in ROOT.glob("*-agent"):
        (copy / folder.name).mkdir()
    shutil.copytree(
        ROOT / "sales-agent" / "sales_agent",
        copy / "sales-agent" / "sales_agent",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return copy


def test_a_missing_compose_service_is_named(tmp_path):
    copy = _copy(tmp_path)
    compose = yaml.safe_load((copy / "docker-compose.yml").read_text())
    del compose["services"]["loyalty"]
    (copy / "docker-compose.yml").write_text(yaml.safe_dump(compose))
    assert problems(copy) == ["contract loyalty has no compose service"]


def test_a_wrong_port_a_missing_folder_and_a_duplicate_port_are_named(tmp_path):
    copy = _copy(tmp_path)
    toml = (copy / "agents.toml").read_text().replace("port = 5006", "port = 5005")
    (copy / "agents.toml").write_text(toml)
    shutil.rmtree(copy / "payment-agent")
    found = problems(copy)
    assert "contract payment has no agent folder (payment-agent/)" in found
    assert "agent loyalty: agents.toml port 5005 differs from the contract's 5006" in found


def test_an_agent_without_a_contract_and_tool_is_named(tmp_path):
    copy = _copy(tmp_path)
    (copy / "contracts" / "loyalty.json").unlink()
    assert "agent loyalty has no contract (contracts/loyalty.json)" in problems(copy)


def test_compose_that_starts_without_the_secret_or_publishes_an_agent_is_named(tmp_path):
    copy = _copy(tmp_path)
    compose = yaml.safe_load((copy / "docker-compose.yml").read_text())
    compose["services"]["payment"]["environment"]["AGENT_API_TOKEN"] = "${AGENT_API_TOKEN:-}"
    compose["services"]["loyalty"]["ports"] = ["5006:5006"]
    compose["services"]["inventory"]["environment"]["IDEMPOTENCY_HASH_KEY"] = "not-secret-at-all"
    compose["services"]["sales"]["environment"]["SALES_API_TOKEN"] = "${SALES_API_TOKEN:-letmein}"
    compose["services"]["redis"]["ports"] = ["6379:6379"]
    del compose["services"]["gift-wrapping"]["environment"]["AGENT_CALLER"]
    (copy / "docker-compose.yml").write_text(yaml.safe_dump(compose))
    found = problems(copy)
    assert len(found) == 6, found
    assert any(p.startswith("compose service payment: AGENT_API_TOKEN must be required") for p in found)
    assert any(p.startswith("compose service loyalty publishes 5006:5006 on every interface") for p in found)
    assert any(p.startswith("compose service redis publishes 6379:6379 on every interface") for p in found)
    assert any(p.startswith("compose service inventory: IDEMPOTENCY_HASH_KEY is a secret written") for p in found)
    assert any("sales: SALES_API_TOKEN is a secret written into the file" in p for p in found)
    assert (
        "compose service gift-wrapping does not call the other agents as itself (AGENT_CALLER: gift-wrapping)" in found
    )


def test_an_operation_listing_an_unknown_caller_is_named(tmp_path):
    copy = _copy(tmp_path)
    path = copy / "contracts" / "inventory.json"
    path.write_text(path.read_text().replace('"callers": ["operator"]', '"callers": ["operator", "intern"]', 1))
    assert problems(copy) == ["contract inventory: getStockHistory lists caller intern, which is no known caller"]
