"""Who is writing: messaging senders mapped durably to shoppers, guest ids, and webhook deliveries seen once.

- ``(channel, sender id) -> user id`` is kept in the sales database (``sales_identities``). The seed
  shoppers' WhatsApp numbers and demo Telegram ids (``seed/identities.json``) map to their seed ids; any
  other sender gets a fresh guest id on first contact, kept for good, so the same sender keeps the same cart
  and conversation after a restart and on every worker.
- A guest id is ``wa-``, ``tg-`` or ``guest-`` (web) and 16 random hex digits, recorded in ``sales_guests``:
  no pool to run out of, and no collision with the shop's account ids (``U1001``), another channel's guests
  or the web's. Ids follow the contracts' ``userId`` rule (``common.json``); while that rule still takes only
  U-numbers, a guest is ``U`` and 19 random digits instead.
- A sender id that is not the channel's shape (WhatsApp: the phone number's digits; Telegram: a positive
  integer) is a 400 naming the field, never a 500.
- ``Deliveries`` records each webhook delivery (WhatsApp message id, Telegram ``update_id``) so a platform's
  redelivery is processed once; rows older than the retention (7 days) are deleted as new ones arrive.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from agentkit import Database, clock
from agentkit.contracts import id_max_length, is_valid_id
from agentkit.errors import ValidationFailed

SEED_FILE = Path(__file__).resolve().parent / "seed" / "identities.json"
USER_ID_WIDTH = id_max_length("userId") or 64  # the contracts' rule (common.json)
GUEST_PREFIX = {"whatsapp": "wa", "telegram": "tg", "web": "guest"}
SENDER_SHAPE = {
    "whatsapp": (re.compile(r"^\+?([1-9][0-9]{5,14})$"), "the sender's phone number in digits (E.164, no +)"),
    "telegram": (re.compile(r"^([1-9][0-9]{0,19})$"), "a positive integer user id"),
}
DELIVERY_RETENTION = timedelta(days=7)
STALE_PROCESSING = timedelta(minutes=10)  # a delivery claimed this long ago by a process that died is retried

metadata = sa.MetaData()

identities = sa.Table(
    "sales_identities",
    metadata,
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("external_id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(USER_ID_WIDTH), nullable=False, index=True),
    sa.Column("created_at", sa.String(24), nullable=False),
)

guests = sa.Table(
    "sales_guests",
    metadata,
    sa.Column("user_id", sa.String(USER_ID_WIDTH), primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("created_at", sa.String(24), nullable=False),
)

deliveries = sa.Table(
    "sales_webhook_deliveries",
    metadata,
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("delivery_id", sa.String(128), primary_key=True),
    sa.Column("status", sa.String(12), nullable=False),  # processing | done
    sa.Column("received_at", sa.String(24), nullable=False, index=True),
)


@functools.lru_cache(maxsize=1)
def seed_identities() -> dict[str, dict[str, str]]:
    data = json.loads(SEED_FILE.read_text())
    return {channel: dict(ids) for channel, ids in data.items() if isinstance(ids, dict)}


def sender_id(channel: str, raw: object, field: str) -> str:
    """The sender id in its channel's shape, or a 400 naming ``field``."""
    shape, described = SENDER_SHAPE[channel]
    found = shape.match(str(raw).strip())
    if not found:
        raise ValidationFailed(
            f"{field}: {str(raw)[:40]!r} is not a {channel} sender id ({described}).",
            details=[{"field": field, "message": f"must be {described}"}],
        )
    return found.group(1)


def new_guest_id(channel: str) -> str:
    candidate = f"{GUEST_PREFIX.get(channel, 'guest')}-{secrets.token_hex(8)}"
    if is_valid_id("userId", candidate):
        return candidate
    # Contracts that still take only U-numbers: a random 19-digit one, far above any the shop issues in order.
    return f"U{10**18 + secrets.randbelow(9 * 10**18)}"


class Identities:
    """Channel senders and guests in the sales database; every method is one short transaction."""

    def __init__(self, db: Database):
        self.db = db
        db.add_tables(metadata)

    def identity(self, channel: str, external_id: str) -> str | None:
        with self.db.read() as conn:
            return conn.execute(
                sa.select(identities.c.user_id).where(
                    identities.c.channel == channel, identities.c.external_id == external_id
                )
            ).scalar()

    def resolve(self, channel: str, external_id: str) -> str:
        """The shopper behind a sender (already checked by ``sender_id``): linked, seeded, or a new guest."""
        return self.link(channel, external_id)[0]

    def link(self, channel: str, external_id: str) -> tuple[str, bool]:
        """``resolve``, and whether this was the sender's first contact (a link made now)."""
        found = self.identity(channel, external_id)
        if found:
            return found, False
        seeded = seed_identities().get(channel, {}).get(external_id)
        try:
            with self.db.write() as conn:
                user_id = seeded or self._issue(conn, channel)
                conn.execute(
                    identities.insert().values(
                        channel=channel, external_id=external_id, user_id=user_id, created_at=clock.now_iso()
                    )
                )
            return user_id, True
        except IntegrityError:
            # Another worker linked the same sender first (its guest row went with our rolled-back insert).
            winner = self.identity(channel, external_id)
            if winner is None:
                raise
            return winner, False

    def new_guest(self, channel: str = "web") -> str:
        """A fresh guest id, recorded (the web's ``POST /sessions/guest``)."""
        with self.db.write() as conn:
            return self._issue(conn, channel)

    def _issue(self, conn, channel: str) -> str:
        for _ in range(5):
            candidate = new_guest_id(channel)
            try:
                with conn.begin_nested():
                    conn.execute(guests.insert().values(user_id=candidate, channel=channel, created_at=clock.now_iso()))
                return candidate
            except IntegrityError:
                continue  # 64 random bits met an existing guest: draw again
        raise RuntimeError("could not draw an unused guest id")

    def is_guest(self, user_id: str) -> bool:
        with self.db.read() as conn:
            return conn.execute(sa.select(guests.c.user_id).where(guests.c.user_id == user_id)).first() is not None

    def known(self, user_id: str) -> bool:
        """Whether the sales agent has seen this shopper id: a guest, or a channel sender linked to it."""
        if self.is_guest(user_id):
            return True
        with self.db.read() as conn:
            linked = conn.execute(sa.select(identities.c.user_id).where(identities.c.user_id == user_id)).first()
        return linked is not None


class Deliveries:
    """Webhook deliveries seen: ``claim`` before processing one, then ``done`` or ``release``."""

    def __init__(self, db: Database, retention: timedelta = DELIVERY_RETENTION):
        self.db = db
        self.retention = retention
        db.add_tables(metadata)

    def claim(self, channel: str, delivery_id: str) -> bool:
        """True when this delivery is new (process it); False for a redelivery of one processed or in progress."""
        now = clock.now()
        key = (deliveries.c.channel == channel) & (deliveries.c.delivery_id == delivery_id)
        try:
            with self.db.write() as conn:
                conn.execute(deliveries.delete().where(deliveries.c.received_at < clock.iso(now - self.retention)))
                conn.execute(
                    deliveries.insert().values(
                        channel=channel, delivery_id=delivery_id, status="processing", received_at=clock.iso(now)
                    )
                )
            return True
        except IntegrityError:
            pass
        with self.db.write() as conn:
            # Claimed by a process that died before finishing: take it over, once.
            taken = conn.execute(
                deliveries.update()
                .where(
                    key,
                    deliveries.c.status == "processing",
                    deliveries.c.received_at < clock.iso(now - STALE_PROCESSING),
                )
                .values(received_at=clock.iso(now))
            ).rowcount
        return bool(taken)

    def done(self, channel: str, delivery_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.channel == channel, deliveries.c.delivery_id == delivery_id)
                .values(status="done")
            )

    def release(self, channel: str, delivery_id: str) -> None:
        """Processing failed: forget the claim, so the platform's redelivery is processed."""
        with self.db.write() as conn:
            conn.execute(
                deliveries.delete().where(
                    deliveries.c.channel == channel,
                    deliveries.c.delivery_id == delivery_id,
                    deliveries.c.status == "processing",
                )
            )

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar() or 0)
