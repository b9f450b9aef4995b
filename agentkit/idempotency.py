"""``Idempotency-Key`` with Stripe's semantics, for every operation whose contract declares it.

The first request with a key runs the handler once and its answer is stored; the same key with the same
body replays that answer (concurrent duplicates wait for it); the same key with another body is a 409.
Keys are scoped to the authenticated caller (the name its token proves, never a header it picks) and kept
``IDEMPOTENCY_TTL_HOURS``. Requests are stored as keyed hashes, never as they were sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import clock
from .db import Database
from .errors import ApiError, Conflict, ValidationFailed

KEY_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{8,255}")
TABLE_NAME = "agentkit_idempotency"
WAIT_SECONDS = 15.0
PURGE_EVERY_SECONDS = 600


def table_for(metadata: sa.MetaData) -> sa.Table:
    if TABLE_NAME in metadata.tables:
        return metadata.tables[TABLE_NAME]
    return sa.Table(
        TABLE_NAME,
        metadata,
        sa.Column("caller", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),  # in_progress | done
        sa.Column("status", sa.Integer),
        sa.Column("body", sa.Text),
        sa.Column("created_at", sa.String(24), nullable=False, index=True),
    )


@dataclass
class StoredAnswer:
    status: int
    body: Any


def request_fingerprint(hash_key: bytes, op_id: str, body: Any) -> str:
    """A keyed hash of the request, so a database dump cannot be used to guess what was sent (card numbers)."""
    message = json.dumps([op_id, body], sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(hash_key, message, hashlib.sha256).hexdigest()


def checked_key(raw: str | None, required: bool) -> str | None:
    if raw is None:
        if required:
            raise ValidationFailed(
                "This operation needs an 'Idempotency-Key' header so a retry never repeats it.",
                details=[{"field": "Idempotency-Key", "message": "required header is missing"}],
            )
        return None
    if not KEY_PATTERN.fullmatch(raw):
        raise ValidationFailed(
            "The Idempotency-Key must be 8-255 characters of letters, digits and _ . : -",
            details=[{"field": "Idempotency-Key", "message": "malformed key"}],
        )
    return raw


class IdempotencyStore:
    def __init__(self, db: Database, *, hash_key: bytes, ttl_hours: float = 48.0):
        self.db = db
        self.table = table_for(db.metadata)
        self._last_purge = 0.0
        self.hash_key = hash_key
        self.ttl_hours = ttl_hours

    def run_once(
        self, caller: str, key: str, op_id: str, body: Any, handler: Callable[[], tuple[Any, int]]
    ) -> tuple[StoredAnswer, bool]:
        """The answer for this key, and whether it is a replay; runs ``handler`` at most once per key."""
        fingerprint = request_fingerprint(self.hash_key, op_id, body)
        self._purge_old()
        for _ in range(3):
            if not self._claim(caller, key, op_id, fingerprint):
                answer = self._await_answer(caller, key, fingerprint)
                if answer is not None:
                    return answer, True
                continue  # the first attempt failed and let the key go: this one may run it

            try:
                payload, status = handler()
            except ApiError as error:
                if error.status >= 500:
                    self._forget(caller, key)
                    raise
                self._finish(caller, key, error.status, error.envelope())
                raise
            except BaseException:
                self._forget(caller, key)  # nothing was decided: a retry may run it again
                raise
            self._finish(caller, key, status, payload)
            return StoredAnswer(status, payload), False
        raise Conflict(
            "Requests with this Idempotency-Key keep failing; retry shortly.",
            code="idempotency_in_progress",
            retryable=True,
            details=[{"field": "Idempotency-Key", "message": "in progress"}],
        )

    def _claim(self, caller: str, key: str, op_id: str, fingerprint: str) -> bool:
        try:
            with self.db.write() as conn:
                conn.execute(
                    self.table.insert().values(
                        caller=caller,
                        key=key,
                        operation=op_id,
                        request_hash=fingerprint,
                        state="in_progress",
                        created_at=clock.now_iso(),
                    )
                )
            return True
        except IntegrityError:
            return False

    def _finish(self, caller: str, key: str, status: int, payload: Any) -> None:
        with self.db.write() as conn:
            conn.execute(
                self.table.update()
                .where(self.table.c.caller == caller, self.table.c.key == key)
                .values(state="done", status=status, body=json.dumps(payload))
            )

    def _forget(self, caller: str, key: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                self.table.delete().where(
                    self.table.c.caller == caller, self.table.c.key == key, self.table.c.state == "in_progress"
                )
            )

    def _await_answer(self, caller: str, key: str, fingerprint: str) -> StoredAnswer | None:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            with self.db.read() as conn:
                row = conn.execute(
                    sa.select(self.table).where(self.table.c.caller == caller, self.table.c.key == key)
                ).first()
            if row is not None and row.request_hash != fingerprint:
                raise Conflict(
                    "This Idempotency-Key was already used with a different request body.",
                    code="idempotency_key_reused",
                    details=[{"field": "Idempotency-Key", "message": "reused with another body"}],
                )
            if row is None:
                return None
            if row.state == "done":
                return StoredAnswer(row.status, json.loads(row.body))
            if time.monotonic() > deadline:
                # The first attempt is stuck (its process may have died mid-way): never run it twice.
                raise Conflict(
                    "An earlier request with this Idempotency-Key has not finished; retry shortly.",
                    code="idempotency_in_progress",
                    retryable=True,
                    details=[{"field": "Idempotency-Key", "message": "in progress"}],
                )
            time.sleep(0.05)

    def _purge_old(self) -> None:
        if time.monotonic() - self._last_purge < PURGE_EVERY_SECONDS:
            return
        self._last_purge = time.monotonic()
        cutoff = clock.later_iso(-self.ttl_hours * 3600)
        with self.db.write() as conn:
            conn.execute(self.table.delete().where(self.table.c.created_at < cutoff, self.table.c.state == "done"))
