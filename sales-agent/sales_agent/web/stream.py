"""``POST /chat/stream``: one shopper turn as server-sent events (``start``, ``tool``, ``token``, then ``final`` or
``error``; the shapes are /work/coord/web-events.md's).

The turn runs in a thread of its own (``Turns``), never in the request's: the request only relays what the turn's
observer (``TurnStream``, events.py) queues. A shopper who closes the page mid-turn loses nothing: the turn runs
to its end, and its result is written to the sales database (``LastTurns``) before ``final`` is sent, so
``GET /chat/state`` on any worker or replica answers it under ``lastTurn``.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from agentkit import Database, clock
from agentkit.contracts import id_max_length
from agentkit.errors import ApiError

from .. import events, names
from ..session import SalesSession, TurnResult
from .view import Pictures, turn_view

log = logging.getLogger("agents.sales.stream")

KEEPALIVE_SECONDS = 15.0  # a comment line while a turn is quiet, so no proxy closes the connection
TURN_THREADS = 16  # turns running at once per process; a stream whose turn waits for a thread shows only `start`
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx would otherwise hold the events back until its buffer fills
}
FAILED = "Sorry, I could not finish that just now. Please try again in a moment; your cart is safe."

metadata = sa.MetaData()
last_turns = sa.Table(
    "sales_last_turns",
    metadata,
    sa.Column("user_id", sa.String(id_max_length("userId") or 64), primary_key=True),  # as wide as the contracts
    sa.Column("turn_id", sa.String(24), nullable=False),
    sa.Column("turn", sa.JSON, nullable=False),
    sa.Column("finished_ns", sa.BigInteger, nullable=False),  # a late writer never replaces a later turn
    sa.Column("updated_at", sa.String(24), nullable=False),
)


# The end of a text that may be an id cut short by the chunking: "P10", "ST-HY", " (ST-BLR-0".
_PARTIAL_ID = re.compile(r"(?:\s?\()?(?:P\d*|ST?|ST-[A-Z]{0,3}|ST-[A-Z]{3}-\d{0,2})?$")


def _safe_end(text: str) -> int:
    """Where ``text`` can be cut without splitting an id: before a tail that may grow into one."""
    tail = _PARTIAL_ID.search(text)
    if tail is None or not tail.group():
        return len(text)
    at = tail.start()
    if at > 0 and text[at] not in " (" and re.match(r"[\w/-]", text[at - 1]):
        return len(text)  # inside a word ("HelP", "/images/P10"): not an id
    return at


def new_turn_id() -> str:
    return "T-" + secrets.token_hex(6).upper()


def sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'), default=str)}\n\n"


class LastTurns:
    """Each shopper's last streamed turn, as ``final`` showed it, in the sales database."""

    def __init__(self, db: Database):
        self.db = db
        # The table is this module's; it is created with the kit's start-up rules (safe when workers race).
        schema = Database(db.agent, metadata, None, url=db.url)
        try:
            schema.initialise()
        finally:
            schema.dispose()

    def save(self, user_id: str, turn: dict[str, Any], finished_ns: int) -> None:
        values = {"turn_id": turn["turnId"], "turn": turn, "finished_ns": finished_ns, "updated_at": clock.now_iso()}
        for _ in range(2):
            try:
                with self.db.write() as conn:
                    changed = conn.execute(
                        last_turns.update()
                        .where(last_turns.c.user_id == user_id, last_turns.c.finished_ns < finished_ns)
                        .values(**values)
                    ).rowcount
                    if changed:
                        return
                    if conn.execute(sa.select(last_turns.c.user_id).where(last_turns.c.user_id == user_id)).first():
                        return  # a later turn is already there
                    conn.execute(last_turns.insert().values(user_id=user_id, **values))
                return
            except IntegrityError:  # another worker inserted this shopper's first turn at the same moment
                continue

    def get(self, user_id: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(last_turns.c.turn).where(last_turns.c.user_id == user_id)).first()
        return row[0] if row else None


class TurnStream:
    """The observer of one turn (events.TurnObserver) and the queue its events wait in for the request."""

    def __init__(self, turn_id: str, pictures: Pictures):
        self.turn_id = turn_id
        self.pictures = pictures
        self.calls: list[dict[str, Any]] = []  # every agent call that ended, in order: the final's `calls`
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._text: list[str] = []  # the reply's text as sent
        self._held = ""  # model text not sent yet: it may end in the start of an id
        self._names: tuple[dict[str, str], dict[str, str]] = ({}, {})  # products, stores the turn's answers named
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # -- events.TurnObserver -------------------------------------------------------------------
    def call_started(self, agent: str, operation: str) -> tuple[str, str, str]:
        call_id = f"C{next(self._ids)}"
        self.put("tool", {"phase": "start", "callId": call_id, "agent": agent, "operation": operation})
        return call_id, agent, operation

    def call_ended(self, handle: tuple[str, str, str], ms: float, ok: bool, result: dict[str, Any] | None) -> None:
        call_id, agent, operation = handle
        if ok and agent == "recommendation":
            self.pictures.learn(result)  # the cards' pictures, from the catalog's own answer
        if ok and result:
            products, stores = names.names_in([result])
            with self._lock:
                self._names[0].update(products)
                self._names[1].update(stores)
        ended = {"callId": call_id, "agent": agent, "operation": operation, "ms": ms, "ok": ok}
        with self._lock:
            self.calls.append(ended)
        self.put("tool", {"phase": "end", **ended})

    def token(self, text: str) -> None:
        """Model text goes out with names for ids, as the final reply will have them (names.py); the end of a
        chunk that may be the start of an id (``P10``, ``ST-HY``) waits for the next one."""
        held = self._held + text
        cut = _safe_end(held)
        self._held = held[cut:]
        self._send_text(held[:cut])

    def _send_text(self, text: str) -> None:
        if text:
            text = names.without_ids(text, *self._names)
            self._text.append(text)
            self.put("token", {"text": text})

    # -- the turn's end ------------------------------------------------------------------------
    def settle_reply(self, reply: str) -> None:
        """Make the tokens add up to the reply the shopper gets: what the session added after the model (the
        confirmation to answer, an order's outcome) follows in chunks; a reply that is not what the model
        streamed (text it wrote before a tool call, ids replaced by names, a failed turn's plain words) is
        sent whole with ``"replace": true``."""
        self._send_text(self._held)
        self._held = ""
        streamed = "".join(self._text)
        if reply.startswith(streamed):
            for piece in events.word_chunks(reply[len(streamed) :]):
                self._send_text(piece)
        else:
            self._text = [reply]
            self.put("token", {"text": reply, "replace": True})

    def put(self, kind: str, data: Any) -> None:
        self._queue.put((kind, data))

    def events(self, keepalive: float = KEEPALIVE_SECONDS) -> Iterator[str]:
        """The response body: ``start`` at once, then each event as the turn queues it, up to ``final``/``error``.
        If the client goes away, the server closes this generator and the turn carries on without it."""
        yield sse("start", {"turnId": self.turn_id})
        while True:
            try:
                kind, data = self._queue.get(timeout=keepalive)
            except queue.Empty:
                yield ": keep-alive\n\n"
                continue
            yield sse(kind, data)
            if kind in ("final", "error"):
                return


class Turns:
    """Runs streamed turns in this process's turn threads and keeps their results (one per app)."""

    def __init__(self, session_of: Any, threads: int = TURN_THREADS):
        self._session_of = session_of  # the app's session getter: built on first use, in the worker
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._last: LastTurns | None = None
        self._pictures: Pictures | None = None
        self._lock = threading.Lock()

    def _parts(self) -> tuple[SalesSession, LastTurns, Pictures, ThreadPoolExecutor]:
        session = self._session_of()
        with self._lock:  # made on first use, after gunicorn forked: threads do not survive a fork
            if self._pool is None:
                self._last = LastTurns(session.store.db)
                self._pictures = Pictures(session.clients)
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="chat-turn")
        assert self._last is not None and self._pictures is not None
        return session, self._last, self._pictures, self._pool

    def last(self, user_id: str) -> dict[str, Any] | None:
        return self._parts()[1].get(user_id)

    def start(self, user_id: str, message: str, channel: str) -> TurnStream:
        session, last, pictures, pool = self._parts()
        stream = TurnStream(new_turn_id(), pictures)
        pool.submit(self._run, session, last, stream, user_id, message, channel)
        return stream

    def confirm(self, user_id: str, approve: bool, channel: str) -> tuple[TurnResult, dict[str, Any]]:
        """POST /chat/confirm's turn (the page's Confirm and Cancel buttons), in the request's thread: its view
        is stored as the last turn too, so the order it placed is in /chat/state with its expected date."""
        session, last, pictures, _ = self._parts()
        watched = TurnStream(new_turn_id(), pictures)  # for the calls and the pictures; nobody reads its events
        with events.observing(watched):
            result = session.confirm(user_id, approve, channel=channel)
        finished = time.time_ns()
        view = turn_view(watched.turn_id, result, watched.calls, pictures)
        last.save(user_id, view, finished)
        return result, view

    @staticmethod
    def _run(
        session: SalesSession, last: LastTurns, stream: TurnStream, user_id: str, message: str, channel: str
    ) -> None:
        try:
            with events.observing(stream):
                result = session.send(user_id, message, channel=channel)
            finished = time.time_ns()
            stream.settle_reply(result.reply)
            view = turn_view(stream.turn_id, result, stream.calls, stream.pictures)
            last.save(user_id, view, finished)  # stored before `final` is sent: /chat/state has it when it arrives
            stream.put("final", view)
        except ApiError as exc:  # e.g. turn_in_progress: the shopper's previous turn still holds the lock
            stream.put("error", {"code": exc.code, "message": exc.message})
        except Exception:
            log.exception("streamed turn %s of %s failed", stream.turn_id, user_id)
            stream.put("error", {"code": "internal_error", "message": FAILED})
