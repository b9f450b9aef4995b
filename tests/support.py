"""Test helpers shared by every suite: fresh databases (SQLite or PostgreSQL) and in-process wiring.

``TEST_DATABASE=postgres`` runs the whole suite with every agent on PostgreSQL
(``TEST_POSTGRES_URL``, default ``postgresql://root@127.0.0.1:5432/test``); the default is SQLite files.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import responses
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers

from agentkit.auth import ServiceAuth
from agentkit.registry import agents, import_app_factory

ROOT = Path(__file__).resolve().parent.parent

USE_POSTGRES = os.environ.get("TEST_DATABASE", "sqlite") == "postgres"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")


def _admin_connect(dbname: str | None = None):
    import psycopg

    parts = urlsplit(POSTGRES_URL)
    return psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        dbname=dbname or parts.path.lstrip("/"),
        autocommit=True,
    )


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


AUTO = "auto"


class CallerClient(FlaskClient):
    """An agent's test client that authenticates, so a test that is not about tokens need not know about them.

    By default each request carries the token of the first caller its operation's contract lists (an unknown
    path: the operator's); ``app.test_client(caller="fulfillment")`` or ``client.as_caller("fulfillment")``
    calls as that caller instead, and ``caller=None`` sends no token. A request that brings its own
    ``Authorization`` header is sent as it is.
    """

    def __init__(self, *args: Any, caller: str | None = AUTO, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.caller = caller

    def as_caller(self, caller: str | None) -> "CallerClient":
        return self.application.test_client(caller=caller)  # type: ignore[return-value]

    def _caller_for(self, path: str) -> str:
        if self.caller != AUTO:
            return str(self.caller)
        path = path.split("?", 1)[0]
        for op in self.application.contract.operations.values():  # type: ignore[attr-defined]
            if op.path == path:
                return op.callers[0]
        return "operator"

    def open(self, *args: Any, **kwargs: Any):
        if self.caller is not None and args and isinstance(args[0], str):
            headers = Headers(kwargs.pop("headers", None) or {})
            if "Authorization" not in headers:
                token = self.application.auth.token_for(self._caller_for(args[0]))  # type: ignore[attr-defined]
                headers["Authorization"] = f"Bearer {token}"
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


def session_secret() -> str:
    """The secret the whole test session shares (conftest.py sets it): every app, client and runner uses it."""
    return os.environ["AGENT_API_TOKEN"]


def auth_headers(caller: str = "operator") -> dict[str, str]:
    """``Authorization`` for a real HTTP call to agents started from this test's environment."""
    return {"Authorization": f"Bearer {ServiceAuth(session_secret()).token_for(caller)}"}


def route_to_app(rsps, base_url: str, app) -> None:
    """Send every POST to ``base_url`` (through ``responses``) into ``app``'s test client: real wiring, in process.
    Requests go in with the headers they were sent with, so the agents see the real callers' tokens."""
    client = app.test_client(caller=None)

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
            if not (entry.path / (entry.module.replace(".", "/") + ".py")).is_file():
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def runner_env(tmp_path: Path, ports: dict[str, int], workers: int = 2) -> dict[str, str]:
    """Environment for `python -m agentkit.run`: these ports, fresh databases, logs under tmp_path."""
    env = {
        **os.environ,
        "AGENT_API_TOKEN": session_secret(),
        "VAR_DIR": str(tmp_path / "var"),
        "WEB_CONCURRENCY": str(workers),
    }
    for name, port in ports.items():
        prefix = name.upper().replace("-", "_")
        env[f"{prefix}_PORT"] = str(port)
        env[f"{prefix}_AGENT_URL"] = f"http://127.0.0.1:{port}"
        if name in agents():
            env[f"{prefix}_DATABASE_URL"] = fresh_database_url(name, tmp_path, "smoke")
    return env


class Runner:
    """`python -m agentkit.run up` in its own process group, its output read as it comes.

    A reader thread keeps the pipe drained (a full pipe would block the agents' logging) and wakes
    whoever waits for a line; nothing here waits on a fixed sleep.
    """

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path = ROOT, log_path: Path | None = None):
        # Its own process group, so a test can kill -9 the runner and every gunicorn under it at once.
        self.proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self.lines: list[str] = []
        self.log_path = log_path
        self._changed = threading.Condition()
        self._ended = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        log = open(self.log_path, "a", encoding="utf-8") if self.log_path else None
        try:
            for line in iter(self.proc.stdout.readline, ""):
                if log:
                    log.write(line)
                    log.flush()
                with self._changed:
                    self.lines.append(line)
                    self._changed.notify_all()
        finally:
            if log:
                log.close()
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    def wait_for(self, marker: str, timeout: float = 240, start: int = 0) -> list[str]:
        """The lines up to the first one (from line ``start`` on) holding ``marker``; fails if the runner ends."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(start, len(self.lines)):
                    if marker in self.lines[index]:
                        return self.lines[: index + 1]
                left = deadline - time.monotonic()
                if self._ended or left <= 0:
                    break
                self._changed.wait(left)
        raise AssertionError(f"runner never printed {marker!r}:\n" + "".join(self.lines[-40:]))

    def output(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout=timeout)

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)

    def stop(self, timeout: float = 30, group: bool = True) -> int:
        """Ctrl-C as a terminal sends it (to the whole process group; ``group=False``: to the runner alone),
        then SIGKILL for anything left in the group."""
        try:
            if self.proc.poll() is None:
                if group:
                    os.killpg(self.pid, signal.SIGINT)
                else:
                    self.proc.send_signal(signal.SIGINT)
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return -signal.SIGKILL
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)  # no gunicorn outlives its test, whatever happened above


def start_runner(env: dict[str, str], only: list[str] | None = None, log_path: Path | None = None) -> Runner:
    command = [sys.executable, "-m", "agentkit.run", "up"] + (["--only", ",".join(only)] if only else [])
    return Runner(command, env, log_path=log_path)


def wait_for_line(runner: Runner, marker: str, timeout: float = 240) -> list[str]:
    return runner.wait_for(marker, timeout)


def stop(runner: Runner) -> int:
    return runner.stop()


@contextlib.contextmanager
def served(
    tmp_path: Path,
    names: list[str],
    workers: int = 2,
    extra_env: dict[str, str] | None = None,
    ports: dict[str, int] | None = None,
):
    """The named agents under gunicorn on free loopback ports; yields {name: base_url}."""
    ports = ports or {name: free_port() for name in names}
    env = {**runner_env(tmp_path, ports, workers), **(extra_env or {})}
    proc = start_runner(env, names)
    try:
        wait_for_line(proc, "all agents healthy")
        yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        stop(proc)
