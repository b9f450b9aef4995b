"""Hold every place that names an agent against the others and say exactly what is missing.

The places: contracts/<name>.json, the <name>-agent/ folder, agents.toml, docker-compose.yml (service, port,
healthcheck, database URL, the URL every other service uses to reach it, its caller name) and the sales agent's
tools. Each operation's callers must be known callers. docker-compose.yml must not start without the service
secret, must write no secret into the file, and may publish only the chat API beyond the host's loopback.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

NOT_AGENTS = {"common", "meta-schema"}
NOT_AGENT_CALLERS = ("sales", "operator")  # agentkit.auth's callers that are not agents
PUBLIC_SERVICES = {"sales"}  # what a user must reach from elsewhere: the chat API
SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|API_KEY|HASH_KEY)$")
REQUIRED_SECRET = re.compile(r"^\$\{AGENT_API_TOKEN:\?[^}]+\}$")
# A secret may only come from the environment: required (:?), or optional and empty when unset (:- with nothing).
FROM_ENVIRONMENT = re.compile(r"^\$\{[A-Z0-9_]+(:\?[^}]*|:-|-)?\}$")


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
        for pattern in ("*.py", "tools/*.py", "checkout/*.py")
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
    callers = {*NOT_AGENT_CALLERS, *run_agents}
    for name, contract in contracts.items():
        for op_id, op in (contract.get("operations") or {}).items():
            for caller in op.get("callers") or []:
                if caller not in callers:
                    found.append(f"contract {name}: {op_id} lists caller {caller}, which is no known caller")
    found.extend(_check_compose_security(services, set(run_agents)))
    return found


def _check_compose_security(services: dict, agent_names: set[str]) -> list[str]:
    """The service secret is required, no secret is written into the file, and only the chat API is public."""
    found = []
    for name, service in services.items():
        service = service or {}
        env = service.get("environment") or {}
        kit_service = name in agent_names or name in PUBLIC_SERVICES
        if kit_service and not REQUIRED_SECRET.match(str(env.get("AGENT_API_TOKEN", ""))):
            found.append(
                f"compose service {name}: AGENT_API_TOKEN must be required, as ${{AGENT_API_TOKEN:?<message>}}, "
                "so that nothing starts without the service secret"
            )
        if kit_service:
            for key, value in env.items():
                if SECRET_NAME.search(key) and key != "AGENT_API_TOKEN" and not FROM_ENVIRONMENT.match(str(value)):
                    found.append(
                        f"compose service {name}: {key} is a secret written into the file; take it from the environment"
                    )
        if name in PUBLIC_SERVICES:
            continue
        for published in service.get("ports") or []:
            if not str(published).startswith("127.0.0.1:"):
                found.append(
                    f"compose service {name} publishes {published} on every interface; "
                    "leave it on the compose network or bind it to 127.0.0.1"
                )
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
    for published in service.get("ports") or []:
        if str(published).split(":")[-1] != str(port):
            found.append(f"compose service {name} publishes {published}, not its port {port}")
    health = " ".join(((service.get("healthcheck") or {}).get("test")) or [])
    if f"127.0.0.1:{port}/ready" not in health and f"127.0.0.1:{port}/health" not in health:
        found.append(f"compose service {name} has no healthcheck on port {port}")
    env = service.get("environment") or {}
    if env.get("AGENT_CALLER") != name:
        found.append(f"compose service {name} does not call the other agents as itself (AGENT_CALLER: {name})")
    db_var = f"{name.upper().replace('-', '_')}_DATABASE_URL"
    if not str(env.get(db_var, "")).startswith("postgresql://"):
        found.append(f"compose service {name} has no {db_var} pointing at PostgreSQL")
    return found
