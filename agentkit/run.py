"""Start, stop and watch every agent under gunicorn: ``python -m agentkit.run up|down|status``.

``up`` runs in the foreground with each line prefixed by its agent, and Ctrl-C stops them all;
``up --detach`` leaves them running with logs in ``var/log/`` (the terminal chat uses it).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

import requests

from .contracts import REPO_ROOT
from .db import var_dir
from .registry import AgentEntry, services

COLOURS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m", "\033[96m", "\033[95m"]
RESET = "\033[0m"


def bind_host() -> str:
    return os.environ.get("BIND_HOST", "127.0.0.1")


def agent_port(entry: AgentEntry) -> int:
    return int(os.environ.get(f"{entry.env_prefix()}_PORT", entry.port))


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
        sys.executable, "-m", "gunicorn", "-c", "python:agentkit.gunicorn_conf",
        "--chdir", str(REPO_ROOT), "--pythonpath", f"{REPO_ROOT},{entry.path}",
        "--bind", f"{bind_host()}:{agent_port(entry)}", "--name", f"{entry.name}-agent", *workers, entry.app,
    ]


def _pidfile():
    return var_dir() / "run" / "agents.pids"


def _pump(name: str, colour: str, stream) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"{colour}{name:>14} |{RESET} {line.decode(errors='replace')}")
        sys.stdout.flush()


def start(selected: list[AgentEntry], detach: bool) -> list[subprocess.Popen]:
    procs = []
    log_dir = var_dir() / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    for index, entry in enumerate(selected):
        if is_healthy(entry):
            print(f"{entry.name}: already running on port {agent_port(entry)}")
            continue
        if detach:
            log_file = open(log_dir / f"{entry.name}.log", "ab")
            proc = subprocess.Popen(gunicorn_command(entry), stdout=log_file, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        else:
            proc = subprocess.Popen(gunicorn_command(entry), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            threading.Thread(target=_pump, args=(entry.name, COLOURS[index % len(COLOURS)], proc.stdout),
                             daemon=True).start()
        procs.append(proc)
    return procs


def wait_healthy(selected: list[AgentEntry], timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    pending = list(selected)
    while pending and time.monotonic() < deadline:
        pending = [entry for entry in pending if not is_healthy(entry)]
        if pending:
            time.sleep(0.3)
    return [entry.name for entry in pending]


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentkit.run", description=__doc__)
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--only", help="comma-separated names from agents.toml (default: all)")
    parser.add_argument("--detach", action="store_true", help="leave them running in the background")
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
        return _down()

    procs = start(selected, args.detach)
    missing = wait_healthy(selected)
    if missing:
        print(f"not healthy after 60 s: {', '.join(missing)} (see the log lines above or var/log/)", file=sys.stderr)
        stop(procs)
        return 1
    print("all agents healthy: " + ", ".join(f"{e.name}:{agent_port(e)}" for e in selected), flush=True)
    if args.detach:
        pidfile = _pidfile()
        pidfile.parent.mkdir(parents=True, exist_ok=True)
        with open(pidfile, "a") as handle:
            handle.writelines(f"{p.pid}\n" for p in procs)
        return 0
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("an agent exited; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(procs)


def _down() -> int:
    pidfile = _pidfile()
    if not pidfile.exists():
        print("no detached agents recorded")
        return 0
    for line in pidfile.read_text().split():
        try:
            os.killpg(int(line), signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    pidfile.unlink()
    print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
