"""Hold every place that names an agent against the others and say exactly what is missing.

The places: contracts/<name>.json, the <name>-agent/ folder, agents.toml, docker-compose.yml (service, port,
healthcheck, database URL, the URL every other service uses to reach it) and the sales agent's tools.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

NOT_AGENTS = {"common", "meta-schema"}


def problems(root: Path) -> list[str]:
    found: list[str] = []
    contracts = {
        p.stem: json.loads(p.read_text())
        for p in sorted((root / "contracts").glob("*.json"))
        if p.stem not in NOT_AGENTS
    }
    run = tomllib.loads((root / "agents.toml").read_text())
    run_agents = run.get("agents", {})
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    services = compose.get("services", {})
    anchor_env = _shared_env(services)
    tool_sources = "\n".join(
        p.read_text()
        for pattern in ("*.py", "agent_tools/*.py")
        for p in sorted((root / "sales-agent" / "sales_agent").glob(pattern))
    )
    folders = {p.name.removesuffix("-agent") for p in root.glob("*-agent") if p.is_dir()} - {"sales"}

    names = sorted(set(contracts) | set(run_agents) | folders | (set(services) - {"postgres", "redis", "sales"}))
    ports: dict[int, str] = {}
    for name in names:
        contract = contracts.get(name)
        entry = run_agents.get(name)
        service = services.get(name)
        if contract is None:
            found.append(f"agent {name} has no contract (contracts/{name}.json)")
        if name not in folders:
            found.append(f"contract {name} has no agent folder ({name}-agent/)")
        if entry is None:
            found.append(f"contract {name} has no run entry in agents.toml")
        if service is None:
            found.append(f"contract {name} has no compose service")
        port = (contract or {}).get("port") or (entry or {}).get("port")
        if port in ports:
            found.append(f"port {port} is used by both {ports[port]} and {name}")
        elif port:
            ports[port] = name
        if contract and entry and entry.get("port") != contract.get("port"):
            found.append(
                f"agent {name}: agents.toml port {entry.get('port')} differs from the contract's {contract.get('port')}"
            )
        if contract and service:
            found.extend(_check_service(name, contract["port"], service))
        if contract:
            env_url = f"{name.upper().replace('-', '_')}_AGENT_URL"
            if anchor_env.get(env_url) != f"http://{name}:{contract['port']}":
                found.append(
                    f"compose: {env_url} should be http://{name}:{contract['port']}, not {anchor_env.get(env_url)}"
                )
            operations = contract.get("operations", {})
            if not any(re.search(rf"[\"']{op_id}[\"']", tool_sources) for op_id in operations):
                found.append(f"contract {name} has no tool in the sales agent (none of its operations is called)")
    return found


def _shared_env(services: dict) -> dict:
    for service in services.values():
        env = service.get("environment") or {}
        if any(key.endswith("_AGENT_URL") for key in env):
            return env
    return {}


def _check_service(name: str, port: int, service: dict) -> list[str]:
    found = []
    command = " ".join(service.get("command") or [])
    if "gunicorn" not in command:
        found.append(f"compose service {name} does not run gunicorn")
    if f"0.0.0.0:{port}" not in command:
        found.append(f"compose service {name} does not bind 0.0.0.0:{port}")
    if f"{name.replace('-', '_')}_agent.app:create_app()" not in command:
        found.append(f"compose service {name} does not run {name.replace('-', '_')}_agent.app:create_app()")
    if not any(str(p).split(":")[-1] == str(port) for p in service.get("ports") or []):
        found.append(f"compose service {name} does not publish port {port}")
    health = " ".join(((service.get("healthcheck") or {}).get("test")) or [])
    if f"127.0.0.1:{port}/ready" not in health and f"127.0.0.1:{port}/health" not in health:
        found.append(f"compose service {name} has no healthcheck on port {port}")
    env = service.get("environment") or {}
    db_var = f"{name.upper().replace('-', '_')}_DATABASE_URL"
    if not str(env.get(db_var, "")).startswith("postgresql://"):
        found.append(f"compose service {name} has no {db_var} pointing at PostgreSQL")
    return found
