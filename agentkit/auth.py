"""Service identity: one secret, one bearer token per caller derived from it, and the checks every operation runs.

A caller's token is ``<caller>.<hex HMAC-SHA256(secret, caller)>``. Every agent holds the secret, so it can
check any token without a table of issued tokens, and a token names its caller, so an operation can say who
may call it (each operation's ``callers`` in its contract): no token or a wrong one is 401, a good token of a
caller the operation does not list is 403. People get a token with ``make token ROLE=<caller>``.

The secret is ``AGENT_API_TOKEN``; unset, it is a random one kept in ``VAR_DIR/agent-api.secret`` (mode 0600),
created on first use by whichever process comes first (the runner makes sure before it starts anything).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from .errors import Forbidden, Unauthorized
from .settings import KitSettings

SECRET_FILE = "agent-api.secret"
MIN_SECRET_LENGTH = 16
# Callers that are not agents; every agent in agents.toml is a caller too, by its name.
PEOPLE_AND_CHANNELS = ("sales", "operator")


def known_callers() -> tuple[str, ...]:
    from .registry import agents

    return (*PEOPLE_AND_CHANNELS, *agents())


def secret_path(settings: KitSettings) -> Path:
    return settings.var_dir / SECRET_FILE


def service_secret(settings: KitSettings | None = None) -> str:
    """The secret every token is derived from: AGENT_API_TOKEN, or the one under VAR_DIR (made if missing)."""
    settings = settings or KitSettings()
    if settings.agent_api_token is not None:
        value = settings.agent_api_token.get_secret_value().strip()
        if len(value) < MIN_SECRET_LENGTH:
            raise ValueError(f"AGENT_API_TOKEN must be at least {MIN_SECRET_LENGTH} characters of random text")
        return value
    return ensure_secret_file(secret_path(settings))


def ensure_secret_file(path: Path) -> str:
    """The secret in ``path``, made first if there is none.

    Several gunicorn workers and the runner may get here at once: each writes a complete candidate to a file
    of its own (mode 0600 from the start), then hard-links it to ``path``. A link either appears whole or fails
    because one exists, so the first one wins and nobody can read a half-written secret.
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass  # another process won; its secret is the one
    finally:
        candidate.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    with open(path, encoding="utf-8") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PermissionError(f"{path} is readable by other users (mode {stat.filemode(mode)}); chmod 600 it")
        value = handle.read().strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"{path} holds no usable secret; delete it and a new one is made")
    return value


class ServiceAuth:
    """Makes and checks caller tokens for one secret."""

    def __init__(self, secret: str):
        self._key = secret.encode()

    def _signature(self, caller: str) -> str:
        return hmac.new(self._key, f"agent-caller:v1:{caller}".encode(), hashlib.sha256).hexdigest()

    def token_for(self, caller: str) -> str:
        return f"{caller}.{self._signature(caller)}"

    def derived_key(self, purpose: str) -> bytes:
        """A key for another use (idempotency fingerprints) that no caller token can reveal."""
        return hmac.new(self._key, f"agent-key:v1:{purpose}".encode(), hashlib.sha256).digest()

    def caller_of(self, authorization: str | None) -> str:
        """The caller named by ``Authorization: Bearer <caller>.<signature>``, or 401."""
        scheme, _, token = (authorization or "").partition(" ")
        caller, _, signature = token.strip().partition(".")
        if not authorization:
            problem = "missing; send 'Authorization: Bearer <token>' (make token ROLE=<caller> prints one)"
        elif scheme.lower() != "bearer":
            problem = "not a bearer token"
        elif caller and signature and hmac.compare_digest(signature.encode(), self._signature(caller).encode()):
            return caller
        else:
            problem = "wrong service token (not made from this deployment's secret)"
        raise Unauthorized(
            "A valid 'Authorization: Bearer <token>' header is required.",
            details=[{"field": "Authorization", "message": problem}],
        )


def check_caller(op_id: str, allowed: tuple[str, ...], caller: str) -> None:
    """403 unless ``caller`` is one of the operation's callers."""
    if caller not in allowed:
        raise Forbidden(
            f"The caller '{caller}' may not call {op_id}; it is for {', '.join(allowed)}.",
            details=[{"field": "Authorization", "message": f"caller {caller} is not allowed to call {op_id}"}],
        )
