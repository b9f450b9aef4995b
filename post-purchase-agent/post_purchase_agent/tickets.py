"""Support tickets: the chat's handoff to a person.

A ticket holds what the shopper needs (a subject) and the conversation's summary, with card numbers and
security codes cut out before anything is stored, and optionally the order it is about, which must be the
shopper's (asked of the fulfillment agent; another shopper's order is a 404 naming orderId, like an unknown
one). A shopper has at most ``MAX_OPEN_TICKETS`` open at once; the operator closes them. Listings page with an
opaque cursor, newest first; a cursor only ever moves within the shopper's own tickets.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from agentkit import AgentClient, BusinessRuleViolation, Database, NotFound, ValidationFailed, clock
from agentkit.cards import redact_card_numbers

from . import domain, storage

MAX_OPEN_TICKETS = 5
DEFAULT_PAGE, MAX_PAGE = 10, 50


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "ticketId": row["ticket_id"],
        "userId": row["user_id"],
        "subject": row["subject"],
        "summary": row["summary"],
        "orderId": row["order_id"],
        "status": row["status"],
        "createdAt": row["created_at"],
        "closedAt": row["closed_at"],
    }


def create_support_ticket(
    db: Database, body: dict[str, Any], *, fulfillment: AgentClient
) -> tuple[dict[str, Any], int]:
    user_id, order_id = body["userId"], body.get("orderId")
    subject = redact_card_numbers(body["subject"].strip())
    summary = redact_card_numbers(body["summary"].strip())
    for field, text in (("subject", subject), ("summary", summary)):
        if not text:
            raise ValidationFailed(f"The {field} is blank.", details=[{"field": field, "message": "blank"}])
    if order_id:
        domain.fetch_order(fulfillment, order_id, user_id, "a ticket about this order")
    now = clock.now_iso()
    row = {
        "ticket_id": f"TKT-{secrets.token_hex(5).upper()}",
        "user_id": user_id,
        "subject": subject[:120],
        "summary": summary[:4000],
        "order_id": order_id,
        "status": "open",
        "created_at": now,
        "closed_at": None,
    }
    with db.write() as conn:
        if not storage.take_ticket_slot(conn, user_id, MAX_OPEN_TICKETS):
            raise BusinessRuleViolation(
                f"{user_id} has {MAX_OPEN_TICKETS} support tickets open already; a person will answer those first.",
                code="too_many_open_tickets",
                details=[{"field": "userId", "message": f"at most {MAX_OPEN_TICKETS} open tickets"}],
            )
        storage.insert_ticket(conn, row)
    return _view(row), 201


def _own_ticket(db: Database, ticket_id: str, user_id: str) -> dict[str, Any]:
    with db.read() as conn:
        found = storage.ticket(conn, ticket_id)
    if found is None or found["user_id"] != user_id:  # another shopper's ticket is answered like an unknown one
        raise NotFound.of("support ticket", ticket_id, "ticketId")
    return found


def get_support_ticket(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    return _view(_own_ticket(db, body["ticketId"], body["userId"]))


def close_support_ticket(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    """The operator closes a ticket once a person has dealt with it; closing again changes nothing."""
    _own_ticket(db, body["ticketId"], body["userId"])
    with db.write() as conn:
        storage.close_ticket(conn, body["ticketId"], clock.now_iso())
        found = storage.ticket(conn, body["ticketId"])
    assert found is not None
    return _view(found)


def _cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"t{row_id}".encode()).decode().rstrip("=")


def _position(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text[:1] == "t" and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationFailed(
        "The cursor is not one this listing gave out.", details=[{"field": "cursor", "message": "unknown cursor"}]
    )


def list_support_tickets(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    limit = body.get("limit", DEFAULT_PAGE)
    before = _position(body["cursor"]) if body.get("cursor") else None
    with db.read() as conn:
        rows = storage.tickets_of(conn, body["userId"], before, limit + 1)
    page, more = rows[:limit], len(rows) > limit
    return {
        "userId": body["userId"],
        "tickets": [_view(r) for r in page],
        "nextCursor": _cursor(page[-1]["id"]) if more else None,
    }
