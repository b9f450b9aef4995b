"""Cursor paging for the shopper's listings (orders, reservations, addresses): ``limit`` and an opaque
``cursor`` in, ``nextCursor`` out (null on the last page). Nothing is cut off silently: a page that is not the
last says so with its cursor."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Callable

from agentkit import ValidationFailed

DEFAULT_LIMIT = 10


def _encode(listing: str, key: str, ident: str) -> str:
    raw = json.dumps([listing, key, ident], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(listing: str, cursor: str) -> tuple[str, str]:
    """The (sort key, id) a cursor of this listing points after; any other string is a 400 naming cursor."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raw = None
    if not (isinstance(raw, list) and len(raw) == 3 and all(isinstance(part, str) for part in raw)):
        raw = None
    if raw is None or raw[0] != listing:
        raise ValidationFailed(
            f"That cursor is not one this {listing} listing gave out; start again without it.",
            code="invalid_cursor",
            details=[{"field": "cursor", "message": "not a cursor this listing gave out"}],
        )
    return raw[1], raw[2]


def page(
    listing: str,
    body: dict[str, Any],
    fetch: Callable[[int, tuple[str, str] | None], list[dict[str, Any]]],
    key: Callable[[dict[str, Any]], tuple[str, str]],
) -> tuple[list[dict[str, Any]], str | None]:
    """One page: ``fetch(n, after)`` returns up to n rows after the cursor's position, newest first; one more
    than the limit is asked for to know whether another page follows."""
    limit = body.get("limit", DEFAULT_LIMIT)
    after = _decode(listing, body["cursor"]) if "cursor" in body else None
    rows = fetch(limit + 1, after)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, _encode(listing, *key(rows[-1]))
