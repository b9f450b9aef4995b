"""The run configuration (``agents.toml``): which agents exist, where they live, which port they use."""

from __future__ import annotations

import functools
import importlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .contracts import REPO_ROOT

RUN_CONFIG = REPO_ROOT / "agents.toml"


@dataclass(frozen=True)
class AgentEntry:
    name: str
    folder: str
    port: int
    app: str
    workers: int | None = None  # None: WEB_CONCURRENCY (default 2)

    @property
    def path(self) -> Path:
        return REPO_ROOT / self.folder

    @property
    def module(self) -> str:
        return self.app.split(":")[0]

    @property
    def factory(self) -> str:
        return self.app.split(":")[1].removesuffix("()")

    def env_prefix(self) -> str:
        return self.name.upper().replace("-", "_")


def load_run_config(path: Path = RUN_CONFIG, section: str = "agents") -> dict[str, AgentEntry]:
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    return {name: AgentEntry(name=name, **spec) for name, spec in data.get(section, {}).items()}


@functools.lru_cache(maxsize=None)
def agents() -> dict[str, AgentEntry]:
    """The agents with a contract, by name."""
    return load_run_config()


@functools.lru_cache(maxsize=None)
def services() -> dict[str, AgentEntry]:
    """Everything ``make run`` starts: the agents, then the sales agent's HTTP API."""
    return {**agents(), **load_run_config(section="services")}


def import_app_factory(name: str):
    """The agent's ``create_app`` (its package is installed: ``pip install -e .``)."""
    entry = agents()[name]
    return getattr(importlib.import_module(entry.module), entry.factory)
