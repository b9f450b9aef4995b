"""What the chat and webhook routes share: the session behind them, the streamed turns, and bodies and messages
checked with a 400 that names the field (never a 500)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from agentkit.app import read_json_body
from agentkit.contracts import CompiledSchema
from agentkit.errors import ValidationFailed

from ..session import SalesSession
from ..web.stream import Turns


def session() -> SalesSession:
    """The app's one SalesSession (built by bootstrap on first use, inside the worker process)."""
    return current_app.extensions["sales_session"]()


def turns() -> Turns:
    """The app's streamed turns (web/stream.py): their threads and their stored results."""
    return current_app.extensions["sales_turns"]


def json_body(schema: CompiledSchema) -> dict[str, Any]:
    """The request's JSON body, checked against ``schema``; 415/400 with the failing field otherwise."""
    body = read_json_body()
    problems = schema.problems(body)
    if problems:
        first = problems[0]
        raise ValidationFailed(f"{first.field or 'body'}: {first.message}", details=problems)
    return body


def check_length(text: str | None, field: str, limit: int) -> None:
    if text is not None and len(text) > limit:
        raise ValidationFailed(
            f"{field}: a message can be at most {limit} characters; this one has {len(text)}.",
            details=[{"field": field, "message": f"at most {limit} characters"}],
        )
