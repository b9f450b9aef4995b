"""One turn at a time per shopper, across every worker and replica: the lock lives outside the process.

* ``SALES_TURN_LOCK_URL=redis://...``: a Redis key per shopper (``SET NX PX``, released only by its owner,
  expiring after ``SALES_TURN_LOCK_SECONDS`` if its holder died).
* else, a PostgreSQL sales database: a session advisory lock per shopper (``pg_advisory_lock``), held on a
  connection of its own for the turn; PostgreSQL drops it if the holder's connection dies.
* else (SQLite): ``BEGIN IMMEDIATE`` on a small lock file per shopper next to the sales database, so other
  shoppers and the sales database itself are never blocked; SQLite drops it if the holder dies.

Waiting is bounded by ``SALES_TURN_LOCK_SECONDS`` (default 120, more than a whole turn's model time); a
shopper still waiting then is told the previous message is still being answered (409 over HTTP).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from agentkit.errors import Conflict

DEFAULT_WAIT = 120.0


def _busy(user_id: str, waited: float) -> Conflict:
    return Conflict(
        f"The previous message of {user_id} is still being answered (waited {waited:.0f} s); send this one again "
        "in a moment.",
        code="turn_in_progress",
        details=[{"field": "userId", "message": "a turn of this shopper is still running"}],
    )


class TurnLock:
    """``with lock(user_id): ...`` runs the block while no other process runs one for the same shopper."""

    def __init__(self, database: Any, redis_url: str | None = None, wait: float = DEFAULT_WAIT):
        self.db, self.wait = database, wait
        self._local: dict[str, threading.Lock] = {}  # threads of one process queue here first
        self._guard = threading.Lock()
        self._client: Any = None
        if redis_url:
            import redis

            self._client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
            self.kind = "redis"
        elif database.engine.dialect.name == "postgresql":
            self.kind = "postgres"
        else:
            self.kind = "sqlite"
            url = database.engine.url.database
            self._dir = Path(url).resolve().parent / "sales-turn-locks" if url else None

    @contextlib.contextmanager
    def __call__(self, user_id: str) -> Iterator[None]:
        with self._guard:
            local = self._local.setdefault(user_id, threading.Lock())
        if not local.acquire(timeout=self.wait):
            raise _busy(user_id, self.wait)
        try:
            with getattr(self, f"_{self.kind}")(user_id):
                yield
        finally:
            local.release()

    # -- kinds ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _postgres(self, user_id: str) -> Iterator[None]:
        key = int.from_bytes(hashlib.sha256(f"sales-turn:{user_id}".encode()).digest()[:8], "big", signed=True)
        with self.db.engine.connect() as conn:
            # The wait is bounded by lock_timeout, set for this pooled connection only while it waits.
            conn.execute(sa.text("SELECT set_config('lock_timeout', :ms, false)"), {"ms": str(int(self.wait * 1000))})
            try:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            except sa.exc.OperationalError:
                conn.rollback()
                conn.execute(sa.text("RESET lock_timeout"))
                conn.commit()
                raise _busy(user_id, self.wait) from None
            conn.execute(sa.text("RESET lock_timeout"))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    @contextlib.contextmanager
    def _sqlite(self, user_id: str) -> Iterator[None]:
        if self._dir is None:  # an in-memory sales database: one process, the thread lock is enough
            yield
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._dir / (re.sub(r"[^A-Za-z0-9_-]", "_", user_id) + ".lock.db")
        conn = sqlite3.connect(str(path), timeout=self.wait, isolation_level=None)
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                raise _busy(user_id, self.wait) from None
            try:
                yield
            finally:
                conn.execute("ROLLBACK")
        finally:
            conn.close()

    @contextlib.contextmanager
    def _redis(self, user_id: str) -> Iterator[None]:
        key, token = f"sales:turn-lock:{user_id}", secrets.token_hex(8)
        ttl_ms = int(self.wait * 1000) * 2
        deadline = time.monotonic() + self.wait
        while not self._client.set(key, token, nx=True, px=ttl_ms):
            if time.monotonic() > deadline:
                raise _busy(user_id, self.wait)
            time.sleep(0.05)
        try:
            yield
        finally:
            self._client.eval(
                "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
                1,
                key,
                token,
            )
