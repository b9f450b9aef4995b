"""The chat blueprint: the web front end's JSON API over the SalesSession.

    POST /chat              {userId, channel?, message}  -> {reply, toolCalls, cart, pendingConfirmation?}
    POST /chat/stream       the same body                -> text/event-stream: start, tool, token, final | error
    POST /chat/confirm      {userId, approve, channel?}  -> the same shape as /chat, + turnId and order (if placed)
    GET  /chat/state?userId=U1001                         -> {cart, pendingConfirmation, lastOrder, history, lastTurn}

Every route learns its shopper from ``shopper()``, and /chat and /chat/stream check a message with the same
``check_message`` (its length, the shopper's turns per minute) before anything runs. SALES_API_TOKEN (optional)
makes these require ``Authorization: Bearer <token>`` (app.py checks it).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from agentkit.contracts import CompiledSchema, id_max_length, id_pattern
from agentkit.errors import ValidationFailed

from ..session import SalesSession
from ..web.stream import HEADERS
from .http_common import check_length, json_body, session, turns

USER_ID = {
    "type": "string",
    "pattern": id_pattern("userId").pattern,
    "maxLength": id_max_length("userId") or 24,
    "description": "Shopper id, e.g. U1001.",
}
CHANNEL = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,15}$", "description": "terminal, web, whatsapp, ..."}
CHAT_SCHEMA = CompiledSchema(
    {
        "type": "object",
        "properties": {
            "userId": USER_ID,
            "channel": CHANNEL,
            "message": {"type": "string", "minLength": 1},  # the longest is SALES_MAX_MESSAGE_CHARS
        },
        "required": ["userId", "message"],
        "additionalProperties": False,
    }
)
USER_ID_SCHEMA = CompiledSchema(USER_ID)
CONFIRM_SCHEMA = CompiledSchema(
    {
        "type": "object",
        "properties": {"userId": USER_ID, "channel": CHANNEL, "approve": {"type": "boolean"}},
        "required": ["userId", "approve"],
        "additionalProperties": False,
    }
)


chat = Blueprint("chat", __name__)


def shopper(body: dict[str, Any] | None = None) -> str:
    """The shopper a chat request is for: the one place every chat route learns it (today the body's userId, or
    the query's for GET /chat/state, checked like the body's)."""
    if body is not None:
        return body["userId"]
    user_id = (request.args.get("userId") or "").strip()
    problems = USER_ID_SCHEMA.problems(user_id)
    if problems:
        raise ValidationFailed(
            f"userId: {problems[0].message}", details=[{"field": "userId", "message": problems[0].message}]
        )
    return user_id


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
