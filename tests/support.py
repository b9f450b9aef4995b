"""Test helpers shared by every suite: fresh databases (SQLite or PostgreSQL) and in-process wiring.

``TEST_DATABASE=postgres`` runs the whole suite with every agent on PostgreSQL
(``TEST_POSTGRES_URL``, default ``postgresql://root@127.0.0.1:5432/test``); the default is SQLite files.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import responses

from agentkit.registry import agents, import_app_factory

USE_POSTGRES = os.environ.get("TEST_DATABASE", "sqlite") == "postgres"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")


def _admin_connect(dbname: str | None = None):
    import psycopg

    parts = urlsplit(POSTGRES_URL)
    return psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                           dbname=dbname or parts.path.lstrip("/"), autocommit=True)


_created_pg: set[str] = set()


def fresh_database_url(agent: str, tmp_path: Path, tag: str = "") -> str:
    """An empty database for one agent: a new SQLite file, or a wiped PostgreSQL database."""
    if not USE_POSTGRES:
        return f"sqlite:///{tmp_path / f'{agent}{tag}.db'}"
    dbname = f"retail_test_{agent.replace('-', '_')}{tag}_{os.getpid()}"
    if dbname not in _created_pg:
        with _admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{dbname}"')
        _created_pg.add(dbname)
    else:
        with _admin_connect(dbname) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    parts = urlsplit(POSTGRES_URL)
    return f"postgresql://{parts.username}@{parts.hostname}:{parts.port or 5432}/{dbname}"


def drop_test_databases() -> None:
    if not _created_pg:
        return
    with _admin_connect() as conn:
        for dbname in _created_pg:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def route_to_app(rsps, base_url: str, app) -> None:
    """Send every POST to ``base_url`` (through ``responses``) into ``app``'s test client: real wiring, in process."""
    client = app.test_client()

    def forward(request):
        path = urlsplit(request.url).path
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "host")}
        result = client.open(path, method=request.method, data=request.body, headers=headers)
        return result.status_code, dict(result.headers), result.get_data()

    for method in ("POST", "GET"):
        rsps.add_callback(method, re.compile(re.escape(base_url.rstrip("/")) + r"/.*"), callback=forward)


def fake_base_url(name: str) -> str:
    return f"http://{name}.agent.test"


class WiredSystem:
    def __init__(self, tmp_path: Path, tag: str = "wired"):
        self.rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
        self._saved_env = dict(os.environ)
        os.environ["VAR_DIR"] = str(tmp_path / "var")
        for entry in agents().values():
            os.environ[f"{entry.env_prefix()}_AGENT_URL"] = fake_base_url(entry.name)
        self.apps = {}
        for name, entry in agents().items():
            if not (entry.path / entry.module.split(".")[0]).is_dir():
                continue  # not built yet; test_consistency names what is missing
            app = import_app_factory(name)(database_url=fresh_database_url(name, tmp_path, tag))
            app.testing = True
            self.apps[name] = app
            route_to_app(self.rsps, fake_base_url(name), app)
        self.rsps.start()

    def client(self, name: str):
        return self.apps[name].test_client()

    def close(self) -> None:
        self.rsps.stop()
        self.rsps.reset()
        for app in self.apps.values():
            app.db.dispose()
        os.environ.clear()
        os.environ.update(self._saved_env)
