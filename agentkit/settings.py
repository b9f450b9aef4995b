"""Every environment variable the kit reads, in one place, read once per object that needs it.

An app, a client, the runner and the database helpers each build ``KitSettings()`` when they are made and
keep it, so nothing reads ``os.environ`` per request, and a test that sets a variable before building an app
or a client gets what it set. Per-agent variables (``<AGENT>_DATABASE_URL``, ``<AGENT>_AGENT_URL``,
``<AGENT>_PORT``) have names that depend on the agents in ``agents.toml``; they are captured with the rest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
PER_AGENT_SUFFIXES = ("_DATABASE_URL", "_AGENT_URL", "_PORT")


def env_prefix(agent: str) -> str:
    """``post-purchase`` -> ``POST_PURCHASE``: how an agent's name starts its variables."""
    return agent.upper().replace("-", "_")


class KitSettings(BaseSettings):
    """The kit's configuration; docs/configuration.md documents each variable."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True)

    # Service identity (agentkit.auth): the one secret every caller's token is derived from. Unset, a random
    # one is created under VAR_DIR on first use; docker-compose refuses to start without it.
    agent_api_token: SecretStr | None = None
    # Who this process is when it calls another agent. An agent's own outgoing calls made while it serves a
    # request are always made as that agent; this names everything else (the runner sets it per service).
    agent_caller: str = "sales"
    var_dir: Path = REPO_ROOT / "var"
    contracts_dir: Path = REPO_ROOT / "contracts"
    bind_host: str = "127.0.0.1"
    log_level: str = "INFO"

    max_body_bytes: int = Field(default=256 * 1024, ge=1)
    contract_enforcement: Literal["error", "log"] = "error"
    contract_validation: bool = True  # only `make bench` turns it off, to measure what validation costs
    rate_limit: str = "off"
    rate_limit_storage_url: str | None = None

    # Keyed hashes of idempotent requests; unset, a key derived from the service secret is used.
    idempotency_hash_key: SecretStr | None = None
    idempotency_ttl_hours: float = Field(default=48.0, gt=0)

    agent_connect_timeout: float = Field(default=1.0, gt=0)
    agent_read_timeout: float = Field(default=5.0, gt=0)

    web_concurrency: int = Field(default=2, ge=1)
    gunicorn_threads: int = Field(default=4, ge=1)
    gunicorn_timeout: int = Field(default=30, ge=1)
    gunicorn_log_level: str = "warning"

    _per_agent: dict[str, str] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object) -> None:
        self._per_agent = {
            name: value for name, value in os.environ.items() if value and name.endswith(PER_AGENT_SUFFIXES)
        }

    def database_url(self, agent: str) -> str | None:
        return self._per_agent.get(f"{env_prefix(agent)}_DATABASE_URL")

    def agent_url(self, agent: str) -> str | None:
        return self._per_agent.get(f"{env_prefix(agent)}_AGENT_URL")

    def port(self, agent: str, default: int) -> int:
        return int(self._per_agent.get(f"{env_prefix(agent)}_PORT", default))


def settings() -> KitSettings:
    """The environment as it is now (callers keep the result; building one is cheap but not free)."""
    return KitSettings()
