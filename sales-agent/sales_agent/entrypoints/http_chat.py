"""The chat blueprint: the web front end's JSON API over the SalesSession, for the shopper the session names.

    POST /chat              {userId?, channel?, message}  -> {reply, toolCalls, cart, pendingConfirmation?}
    POST /chat/stream       the same body                 -> text/event-stream: start, tool, token, final | error
    POST /chat/confirm      {userId?, approve, channel?}  -> the same shape as /chat, + turnId and order (if placed)
    GET  /chat/state[?userId=]                             -> {userId, cart, pendingConfirmation, lastOrder, history,
                                                               lastTurn}

Every route needs ``Authorization: Bearer <session token>`` (auth.py; app.py checks it and keeps the shopper
in ``g.shopper``) and learns its shopper from ``shopper()``: ``userId`` is optional, and one that is not the
token's shopper is a 403 naming it. /chat and /chat/stream check a message with the same ``check_message`` (its
length, the shopper's turns per minute) before anything runs.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from agentkit.contracts import CompiledSchema, id_max_length, id_pattern
from agentkit.errors import Forbidden, ValidationFailed

from ..session import CHANNEL_RE, SalesSession
from ..web.stream import HEADERS
from .http_common import check_length, json_body, session, turns

USER_ID = {
    "type": "string",
    "pattern": id_pattern("userId").pattern,
    "maxLength": id_max_length("userId") or 64,
    "description": "The session's shopper, if given (another is a 403).",
}
CHANNEL = {"type": "string", "pattern": CHANNEL_RE.pattern, "description": "terminal, web, whatsapp, ..."}
CHAT_SCHEMA = CompiledSchema(
    {
        "type": "object",
        "properties": {
            "userId": USER_ID,
            "channel": CHANNEL,
            "message": {"type": "string", "minLength": 1},  # the longest is SALES_MAX_MESSAGE_CHARS
        },
        "required": ["message"],
        "additionalProperties": False,
    }
)
USER_ID_SCHEMA = CompiledSchema(USER_ID)
CONFIRM_SCHEMA = CompiledSchema(
    {
        "type": "object",
        "properties": {"userId": USER_ID, "channel": CHANNEL, "approve": {"type": "boolean"}},
        "required": ["approve"],
        "additionalProperties": False,
    }
)


def shopper_for(named: str | None) -> str:
    """The session's shopper; a ``userId`` naming anybody else is a 403."""
    user_id = g.shopper.user_id
    if named is not None and named != user_id:
        raise Forbidden(
            "This session is for another shopper; a session acts only for its own shopper.",
            details=[{"field": "userId", "message": "not the shopper of the session token"}],
        )
    return user_id


chat = Blueprint("chat", __name__)


def shopper(body: dict[str, Any] | None = None) -> str:
    """The shopper a chat request is for, the one place every chat route learns it: the session token's, with the
    body's ``userId`` (or the query's, for GET /chat/state, checked like the body's) allowed only if it is them."""
    if body is not None:
        return shopper_for(body.get("userId"))
    named = request.args.get("userId")
    if named is not None:
        problems = USER_ID_SCHEMA.problems(named)
        if problems:
            raise ValidationFailed(
                f"userId: {problems[0].message}", details=[{"field": "userId", "message": problems[0].message}]
            )
    return shopper_for(named)


def check_message(s: SalesSession, user_id: str, message: str) -> None:
    """What a message must pass before its turn runs: 400 when it is too long, 429 past the turns per minute."""
    check_length(message, "message", s.settings.max_message_chars)
    s.turns.hit(user_id)


@chat.post("/chat")
def send():
    body = json_body(CHAT_SCHEMA)
    s, user_id = session(), shopper(body)
    check_message(s, user_id, body["message"])
    result = s.send(user_id, body["message"], channel=body.get("channel", "web"))
    return jsonify(result.as_dict())


@chat.post("/chat/stream")
def stream():
    """The same turn as POST /chat, as server-sent events (web/stream.py); bad input is a 4xx JSON error before
    the stream starts. The turn runs in its own thread, so a client that leaves does not stop it."""
    body = json_body(CHAT_SCHEMA)
    s, user_id = session(), shopper(body)
    check_message(s, user_id, body["message"])
    run = turns().start(user_id, body["message"], body.get("channel", "web"))
    return Response(run.events(), mimetype="text/event-stream", headers=HEADERS)


@chat.post("/chat/confirm")
def confirm():
    body = json_body(CONFIRM_SCHEMA)
    s, user_id = session(), shopper(body)
    s.turns.hit(user_id)
    result, view = turns().confirm(user_id, body["approve"], body.get("channel", "web"))
    answer = {**result.as_dict(), "turnId": view["turnId"]}
    if view["order"] is not None:  # the order it placed, as the page's order card shows it
        answer["order"] = view["order"]
    return jsonify(answer)


@chat.get("/chat/state")
def state():
    user_id = shopper()
    s = session()
    return jsonify(
        {
            "userId": user_id,
            "cart": s.cart(user_id),
            "pendingConfirmation": s.pending_confirmation(user_id),
            "lastOrder": s.last_order(user_id),
            "history": s.history(user_id)[-20:],
            "lastTurn": turns().last(user_id),
        }
    )
