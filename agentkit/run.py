"""Start, supervise and stop every agent under gunicorn: ``python -m agentkit.run up|down|status``.

``up`` runs in the foreground with each line prefixed by its agent. A service that dies is started
again with backoff while the others keep running. Ctrl-C (or SIGTERM) stops them all within
``STOP_SECONDS``: every service is signalled at once, they are waited for together, and whatever is
left is killed. ``up --detach`` runs the same supervisor in the background with logs in ``var/log/``
(the terminal chat uses it); ``down`` stops it.

Before anything starts, the service secret exists (``AGENT_API_TOKEN``, or a random one made under ``var/``):
every service reads the same one, and each calls the others as itself (``AGENT_CALLER``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from .auth import secret_path, service_secret
from .db import var_dir
from .registry import AgentEntry, services
from .settings import REPO_ROOT, KitSettings

COLOURS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m", "\033[96m", "\033[95m"]
RESET = "\033[0m"
STOP_SECONDS = 8.0  # gunicorn's graceful_timeout is 5 s; past this the rest is killed
HEALTH_TIMEOUT = 180.0  # first start seeds every database; generous for a slow, shared machine
BACKOFF_START, BACKOFF_MAX = 1.0, 30.0
STABLE_SECONDS = 60.0  # up this long after a restart: the next failure starts the backoff afresh


def bind_host() -> str:
    return KitSettings().bind_host


def agent_port(entry: AgentEntry, settings: KitSettings | None = None) -> int:
    return (settings or KitSettings()).port(entry.name, entry.port)


def health_url(entry: AgentEntry) -> str:
    return f"http://127.0.0.1:{agent_port(entry)}/health"


def is_healthy(entry: AgentEntry, timeout: float = 0.5) -> bool:
    try:
        return requests.get(health_url(entry), timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def gunicorn_command(entry: AgentEntry) -> list[str]:
    workers = ["--workers", str(entry.workers)] if entry.workers else []
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:agentkit.gunicorn_conf",
        "--chdir",
        str(REPO_ROOT),
        "--bind",
        f"{bind_host()}:{agent_port(entry)}",
        "--name",
        f"{entry.name}-agent",
        *workers,
        entry.app,
    ]


def _pidfile() -> Path:
    return var_dir() / "run" / "supervisors.pids"


def _write(text: str) -> None:
    """Straight to fd 1: no lock a blocked writer could hold while the main thread shuts down."""
    try:
        os.write(1, text.encode(errors="replace"))
    except OSError:  # stdout closed or gone: the agents keep running, the lines are lost
        pass


def say(text: str) -> None:
    _write(text + "\n")


def _pump(name: str, colour: str, stream) -> None:
    for line in iter(stream.readline, b""):
        _write(f"{colour}{name:>14} |{RESET} {line.decode(errors='replace')}")


def _children_of(pid: int) -> list[int]:
    """The gunicorn workers of a master (Linux /proc), so a hard stop leaves none behind."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@dataclass
class Service:
    """One supervised gunicorn and what the supervisor knows of its restarts."""

    entry: AgentEntry
    colour: str
    log_dir: Path | None  # None: the foreground, output prefixed on our stdout
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_START
    restart_at: float | None = None
    workers: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.entry.name

    def start(self) -> None:
        command, env = gunicorn_command(self.entry), {**os.environ, "AGENT_CALLER": self.name}
        if self.log_dir is not None:
            with open(self.log_dir / f"{self.name}.log", "ab") as log_file:
                self.proc = subprocess.Popen(
                    command, env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
                )
        else:
            self.proc = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            threading.Thread(target=_pump, args=(self.name, self.colour, self.proc.stdout), daemon=True).start()
        self.started_at = time.monotonic()
        self.restart_at = None
        say(f"started {self.name} (pid {self.proc.pid}) on :{agent_port(self.entry)}")

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    """Keeps the selected services up until told to stop."""

    def __init__(self, selected: list[AgentEntry], log_dir: Path | None):
        self.services = [Service(entry, COLOURS[index % len(COLOURS)], log_dir) for index, entry in enumerate(selected)]
        self.stopping = threading.Event()

    def start_all(self) -> None:
        for service in self.services:
            if is_healthy(service.entry):
                say(f"{service.name}: already running on port {agent_port(service.entry)}")
                continue
            service.start()

    def owned(self) -> list[Service]:
        return [s for s in self.services if s.proc is not None]

    def wait_healthy(self, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        pending = [s for s in self.services]
        while pending and not self.stopping.is_set() and time.monotonic() < deadline:
            self.check()
            pending = [s for s in pending if not is_healthy(s.entry)]
            if pending:
                self.stopping.wait(0.3)
        return [s.name for s in pending]

    def check(self) -> None:
        """Start again, with backoff, whatever died; called from the main thread only."""
        now = time.monotonic()
        for service in self.owned():
            if service.restart_at is not None:
                if now >= service.restart_at and not self.stopping.is_set():
                    service.restarts += 1
                    service.start()
                continue
            code = service.exited()
            if code is None:
                if now - service.started_at > STABLE_SECONDS:
                    service.backoff = BACKOFF_START
                continue
            say(f"{service.name} exited with code {code}; starting it again in {service.backoff:.0f} s")
            service.restart_at = now + service.backoff
            service.backoff = min(service.backoff * 2, BACKOFF_MAX)

    def watch(self) -> None:
        while not self.stopping.is_set():
            self.check()
            self.stopping.wait(0.5)

    def stop(self, deadline_seconds: float = STOP_SECONDS) -> None:
        """SIGTERM to every service at once, one shared deadline, then SIGKILL for masters and workers left."""
        live = [(s, s.proc) for s in self.owned() if s.proc is not None and s.running()]
        for service, proc in live:
            service.workers = _children_of(proc.pid)
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + deadline_seconds
        while any(s.running() for s, _ in live) and time.monotonic() < deadline:
            time.sleep(0.05)
        for service, proc in live:
            leftovers = service.workers + _children_of(proc.pid)
            if service.running():
                say(f"{service.name} did not stop within {deadline_seconds:.0f} s; killing it")
                proc.kill()
            for pid in leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def _install_stop_signals(supervisor: Supervisor) -> None:
    def request_stop(signum, _frame):
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)


def serve(selected: list[AgentEntry], log_dir: Path | None, health_timeout: float) -> int:
    """The supervisor in this process: start, report healthy, keep up, stop on a signal."""
    supervisor = Supervisor(selected, log_dir)
    _install_stop_signals(supervisor)
    try:
        supervisor.start_all()
        missing = supervisor.wait_healthy(health_timeout)
        if supervisor.stopping.is_set():
            return 0
        if missing:
            print(
                f"not healthy after {health_timeout:.0f} s: {', '.join(missing)} (see the log lines above or var/log/)",
                file=sys.stderr,
                flush=True,
            )
            return 1
        say("all agents healthy: " + ", ".join(f"{e.name}:{agent_port(e)}" for e in selected))
        supervisor.watch()
        return 0
    finally:
        supervisor.stop()
        say("stopped")


def detach(selected: list[AgentEntry], health_timeout: float) -> int:
    """The supervisor as a background process of its own session; returns once everything answers."""
    log_dir = var_dir() / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    names = ",".join(e.name for e in selected)
    command = [sys.executable, "-m", "agentkit.run", "supervise", "--only", names, "--timeout", str(health_timeout)]
    with open(log_dir / "supervisor.log", "ab") as log_file:
        proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pidfile = _pidfile()
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with open(pidfile, "a") as handle:
        handle.write(f"{proc.pid}\n")
    deadline = time.monotonic() + health_timeout
    while time.monotonic() < deadline:
        if all(is_healthy(e) for e in selected):
            say("all agents healthy: " + ", ".join(f"{e.name}:{agent_port(e)}" for e in selected))
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    down = [e.name for e in selected if not is_healthy(e)]
    print(f"not healthy: {', '.join(down)} (see var/log/)", file=sys.stderr, flush=True)
    return 1


def down() -> int:
    pidfile = _pidfile()
    if not pidfile.exists():
        print("no detached agents recorded")
        return 0
    pids = [int(line) for line in pidfile.read_text().split()]
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)  # the supervisor and every gunicorn of its session at once
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + STOP_SECONDS + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    pidfile.unlink()
    print("stopped")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _ensure_secret() -> None:
    """Every service reads the same secret, so it is made once here, before any of them starts."""
    settings = KitSettings()
    service_secret(settings)
    where = "AGENT_API_TOKEN" if settings.agent_api_token else str(secret_path(settings))
    say(f"service tokens derive from {where}; make token ROLE=operator prints one")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentkit.run", description=__doc__)
    parser.add_argument("action", choices=["up", "down", "status", "supervise"])
    parser.add_argument("--only", help="comma-separated names from agents.toml (default: all)")
    parser.add_argument("--detach", action="store_true", help="leave them running in the background")
    parser.add_argument(
        "--timeout", type=float, default=HEALTH_TIMEOUT, help="seconds to wait for every service to answer /health"
    )
    args = parser.parse_args(argv)

    registry = services()
    names = args.only.split(",") if args.only else list(registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        parser.error(f"unknown agent(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    selected = [registry[n] for n in names]

    if args.action == "status":
        for entry in selected:
            print(f"{entry.name:>14}  :{agent_port(entry)}  {'up' if is_healthy(entry) else 'down'}")
        return 0 if all(is_healthy(e) for e in selected) else 1
    if args.action == "down":
        return down()
    _ensure_secret()
    if args.action == "supervise":  # what `up --detach` runs in the background
        return serve(selected, var_dir() / "log", args.timeout)
    if args.detach:
        return detach(selected, args.timeout)
    return serve(selected, None, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
