"""A shared bearer token check (the chat API's) and per-client rate limits, applied to every operation route.

The agents' own per-caller tokens are ``agentkit.auth``.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from typing import Any

from .errors import RateLimited, Unauthorized
from .settings import KitSettings

_PERIODS = {"second": 1, "minute": 60, "hour": 3600}


def check_bearer_token(expected: str | None, authorization: str | None) -> None:
    """Raise 401 unless the header carries the expected token; compared in constant time."""
    if not expected:
        return
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise Unauthorized(
            "A valid 'Authorization: Bearer <token>' header is required.",
            details=[{"field": "Authorization", "message": "missing or wrong service token"}],
        )


def parse_rate(spec: str | None) -> tuple[int, int] | None:
    """``"600/minute"`` -> (600, 60); ``"off"`` or empty -> no limit."""
    if not spec or spec.strip().lower() in {"off", "none", "0"}:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(second|minute|hour)\s*", spec)
    if not match:
        raise ValueError(f"RATE_LIMIT must look like '600/minute' or 'off', not {spec!r}")
    return int(match.group(1)), _PERIODS[match.group(2)]


class RateLimiter:
    """A fixed-window counter per client, in process memory or in Redis."""

    def __init__(self, limit: int, window: int, storage_url: str | None = None, namespace: str = "agents"):
        self.limit, self.window, self.namespace = limit, window, namespace
        self._redis: Any = None
        if storage_url and storage_url.startswith("redis"):
            import redis

            self._redis = redis.Redis.from_url(storage_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, client: str) -> None:
        now = time.time()
        window_start = int(now // self.window) * self.window
        retry_after = max(1, int(window_start + self.window - now))
        count = self._count(client, window_start)
        if count > self.limit:
            raise RateLimited(
                f"Too many requests: at most {self.limit} per {self.window} s. Try again in {retry_after} s.",
                retryAfter=retry_after,
            )

    def _count(self, client: str, window_start: int) -> int:
        if self._redis is not None:
            key = f"{self.namespace}:rl:{client}:{window_start}"
            pipe = self._redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, self.window + 1)
            return int(pipe.execute()[0])
        with self._lock:
            started, count = self._counts.get(client, (window_start, 0))
            if started != window_start:
                started, count = window_start, 0
            self._counts[client] = (started, count + 1)
            if len(self._counts) > 10000:  # forget idle clients so memory stays bounded
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window_start}
            return count + 1


def limiter_from_settings(settings: KitSettings, agent: str) -> RateLimiter | None:
    rate = parse_rate(settings.rate_limit)
    if rate is None:
        return None
    return RateLimiter(*rate, storage_url=settings.rate_limit_storage_url, namespace=agent)


def limiter_from_env(agent: str) -> RateLimiter | None:
    return limiter_from_settings(KitSettings(), agent)
