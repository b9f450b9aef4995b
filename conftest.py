"""Fixtures every test in the repository can use; the helpers behind them are in tests/support.py."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest

os.environ.setdefault("RATE_LIMIT", "off")
os.environ.setdefault("CONTRACT_ENFORCEMENT", "error")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# One service secret for the session: the in-process apps, the clients and every runner a test starts share it.
# The default without one (a secret made under var/) has tests of its own (tests/test_auth.py).
os.environ.setdefault("AGENT_API_TOKEN", secrets.token_urlsafe(32))

from agentkit.app import AgentApp  # noqa: E402
from agentkit.registry import agents, import_app_factory  # noqa: E402
from support import CallerClient, drop_test_databases, fresh_database_url  # noqa: E402

# Every agent app a test builds, however it builds it, authenticates as a caller its operations allow.
AgentApp.test_client_class = CallerClient


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases():
    yield
    drop_test_databases()


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """``make_app("inventory", **kwargs)``: that agent's app on a fresh, seeded database."""
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    built = []

    def make(name: str, tag: str = "", **kwargs):
        app = import_app_factory(name)(database_url=fresh_database_url(name, tmp_path, tag), **kwargs)
        app.testing = True
        built.append(app)
        return app

    yield make
    for app in built:
        app.db.dispose()


@pytest.fixture
def agent_names():
    return list(agents())


def load_json(path: Path):
    return json.loads(Path(path).read_text())
