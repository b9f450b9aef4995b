"""Fault injection for the checkout soak (tests/test_checkout_faults.py).

- ``FaultProxy``: a thread-based HTTP reverse proxy on a free loopback port in front of one agent. When
  armed it answers 503 (without forwarding), or forwards the request and then holds the answer past the
  client's read timeout (the work is done, the caller never hears about it). Every forwarded exchange is
  recorded, so the test knows e.g. every hold id inventory handed out, even when the caller timed out.
  While the upstream is down (killed) it answers 502, as a real reverse proxy would.
- ``KillableAgents``: agents under gunicorn in their own process group, which can be killed with SIGKILL
  and restarted on the same ports and the same database.
- card helpers (Luhn-valid numbers with a chosen last four) and the secret scan.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from agentkit.cards import luhn_ok
from support import Runner, free_port, runner_env, start_runner, wait_for_line


# ---------------------------------------------------------------------------------------------
# the fault proxy
# ---------------------------------------------------------------------------------------------
@dataclass
class Rule:
    mode: str  # "503" | "delay" | "kill"
    path: str | None = None  # None: any operation of the agent
    skip: int = 0  # let this many matching requests through first
    times: int = 1  # then fault this many
    fired: int = 0
    on_kill: Any = None  # mode "kill": what to kill once the request has been forwarded

    def matches(self, path: str) -> bool:
        return self.path is None or self.path == path


@dataclass
class Exchange:
    path: str
    request: Any
    status: int | None
    response: Any
    fault: str | None = None


class FaultProxy:
    def __init__(self, name: str, upstream: str, delay: float):
        self.name, self.upstream, self.delay = name, upstream.rstrip("/"), delay
        self.rules: list[Rule] = []
        self.exchanges: list[Exchange] = []
        self.fired: list[tuple[str, str]] = []  # (mode, path) per injected fault
        self.seen = 0  # how many of ``fired`` the test has counted
        self._lock = threading.Lock()
        self._local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # the proxy's own access log would only be noise
                return

            def handle(self):
                try:
                    super().handle()
                except (ConnectionResetError, BrokenPipeError):  # the caller died: a killed sales process
                    self.close_connection = True

            def do_GET(self):
                proxy._handle(self)

            def do_POST(self):
                proxy._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name=f"proxy-{name}", daemon=True)
        self.thread.start()

    # -- arming ------------------------------------------------------------------------------
    def arm(self, mode: str, path: str | None = None, skip: int = 0, times: int = 1, on_kill: Any = None) -> Rule:
        """Fault the matching requests. "kill" forwards the request, then calls ``on_kill`` (the answer is lost)
        and answers 502."""
        if mode == "kill" and on_kill is None:
            raise ValueError("a kill rule needs on_kill")
        rule = Rule(mode, path, skip, times, on_kill=on_kill)
        with self._lock:
            self.rules.append(rule)
        return rule

    def disarm(self) -> None:
        """Drop every rule, except a kill that has not fired yet: it waits for the next checkout."""
        with self._lock:
            self.rules = [r for r in self.rules if r.mode == "kill" and r.fired < r.times]

    def drop(self, rule: Rule) -> None:
        with self._lock:
            self.rules = [r for r in self.rules if r is not rule]

    def _pick(self, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if not rule.matches(path):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.fired < rule.times:
                    rule.fired += 1
                    self.fired.append((rule.mode, path))
                    return rule
        return None

    # -- serving -----------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = handler.path
        rule = self._pick(path) if handler.command == "POST" else None
        mode = rule.mode if rule else None
        try:
            request_json = json.loads(raw) if raw else None
        except ValueError:
            request_json = None
        if mode == "503":
            self._record(Exchange(path, request_json, 503, None, "503"))
            self._reply(
                handler,
                503,
                json.dumps(
                    {
                        "error": {
                            "code": "unavailable",
                            "message": f"{self.name} is unavailable (fault injected)",
                            "details": [],
                        }
                    }
                ).encode(),
            )
            return
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() in ("content-type", "idempotency-key", "x-request-id", "authorization")
        }
        try:
            upstream = self._session().request(
                handler.command, self.upstream + path, data=raw, headers=headers, timeout=(2, 30)
            )
            status, body = upstream.status_code, upstream.content
        except requests.RequestException as exc:  # the agent is down: a reverse proxy says 502
            self._session().close()
            self._local.session = None
            status, body = (
                502,
                json.dumps(
                    {
                        "error": {
                            "code": "bad_gateway",
                            "message": f"{self.name} down: {type(exc).__name__}",
                            "details": [],
                        }
                    }
                ).encode(),
            )
        try:
            response_json = json.loads(body) if body else None
        except ValueError:
            response_json = None
        self._record(Exchange(path, request_json, status, response_json, mode))
        if rule is not None and mode == "kill":
            rule.on_kill()
            status, body = (
                502,
                json.dumps({"error": {"code": "bad_gateway", "message": f"{self.name} died", "details": []}}).encode(),
            )
        if mode == "delay":
            time.sleep(self.delay)  # the work is done upstream; the caller has given up by now
        self._reply(handler, status, body)

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client timed out and left: expected for "delay"

    def new_faults(self) -> list[str]:
        with self._lock:
            fresh, self.seen = self.fired[self.seen :], len(self.fired)
        return [mode for mode, _ in fresh]

    def responses(self, path: str) -> list[Any]:
        with self._lock:
            return [
                e.response for e in self.exchanges if e.path == path and e.status is not None and 200 <= e.status < 300
            ]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------------------------
# agents under gunicorn that can be killed and restarted
# ---------------------------------------------------------------------------------------------
class AgentGroup:
    """Some agents under one ``agentkit.run up`` in its own process group; output drained to a log file.

    ``kill()`` sends SIGKILL to the whole group (runner and every gunicorn worker); ``restart()`` starts it
    again with the same environment: the same ports and the same database.
    """

    def __init__(
        self,
        tmp_path: Path,
        names: list[str],
        *,
        workers: int = 2,
        tag: str = "main",
        extra_env: dict[str, str] | None = None,
    ):
        self.names = names
        self.ports = {name: free_port() for name in names}
        self.env = {
            **runner_env(tmp_path, self.ports, workers),
            "VAR_DIR": str(tmp_path / f"var-{tag}"),
            **(extra_env or {}),
        }
        self.log_path = tmp_path / "logs" / f"agents-{tag}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc: Runner | None = None
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        self.starts = 0

    def start(self) -> None:
        self.proc = start_runner(self.env, self.names, log_path=self.log_path)
        wait_for_line(self.proc, "all agents healthy")
        self.starts += 1

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill_group()

    def restart(self) -> None:
        for port in self.ports.values():  # the killed gunicorn's socket must be gone first
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    requests.get(f"http://127.0.0.1:{port}/health", timeout=0.3)
                except requests.RequestException:
                    break
                time.sleep(0.1)
        self.start()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.stop()


# ---------------------------------------------------------------------------------------------
# cards
# ---------------------------------------------------------------------------------------------
def card_ending(rng: random.Random, last4: str) -> str:
    """A random 16-digit Visa-like number that passes Luhn and ends in ``last4``."""
    while True:
        body = "4" + "".join(str(rng.randrange(10)) for _ in range(10))
        for fix in range(10):
            number = body + str(fix) + last4
            if luhn_ok(number):
                return number


# ---------------------------------------------------------------------------------------------
# the secret scan (issue item 8)
# ---------------------------------------------------------------------------------------------
CVC_CONTEXT = re.compile(rb"(?i)(?:cvc|cvv|csc)[\"'\s:=]{0,4}(\d{3,4})")


def scan_for_secrets(files: list[Path], numbers: set[str], cvcs: set[str]) -> list[str]:
    """Every place a full card number (plain or grouped by 4) or a used CVC next to its label appears."""
    needles = {n.encode() for n in numbers}
    needles |= {" ".join(n[i : i + 4] for i in range(0, len(n), 4)).encode() for n in numbers}
    cvc_set = {c.encode() for c in cvcs}
    found = []
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            if needle in data:
                found.append(f"{path}: card number ending {needle[-4:].decode()}")
        for match in CVC_CONTEXT.finditer(data):
            if match.group(1) in cvc_set:
                found.append(f"{path}: CVC {match.group(0)[:40]!r}")
    return found


def files_to_scan(roots: list[Path]) -> list[Path]:
    out = []
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and (
                path.suffix in (".db", ".log", ".sqlite")
                or path.name.endswith(("-wal", "-shm"))
                or "memory" in path.name
            ):
                out.append(path)
    return out
