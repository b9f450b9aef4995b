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
