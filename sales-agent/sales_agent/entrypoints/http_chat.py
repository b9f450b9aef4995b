"""The chat blueprint: the web front end's JSON API over the SalesSession, for the shopper the session names.

    POST /chat              {userId?, channel?, message}  -> {reply, toolCalls, cart, pendingConfirmation?}
    POST /chat/confirm      {userId?, approve, channel?}  -> the same shape
    GET  /chat/state[?userId=]                             -> {userId, cart, pendingConfirmation, lastOrder, history}

Every route needs ``Authorization: Bearer <session token>`` (auth.py; app.py checks it and keeps the shopper
in ``g.shopper``). ``userId`` is optional; one that is not the token's shopper is a 403 naming it.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from agentkit.contracts import CompiledSchema, id_max_length, id_pattern
from agentkit.errors import Forbidden, ValidationFailed

from ..session import CHANNEL_RE
from .http_common import check_length, json_body, session

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


@chat.post("/chat")
def send():
    body = json_body(CHAT_SCHEMA)
    user_id = shopper_for(body.get("userId"))
    s = session()
    check_length(body["message"], "message", s.settings.max_message_chars)
    s.turns.hit(user_id)
    result = s.send(user_id, body["message"], channel=body.get("channel", "web"))
    return jsonify(result.as_dict())


@chat.post("/chat/confirm")
def confirm():
    body = json_body(CONFIRM_SCHEMA)
    user_id = shopper_for(body.get("userId"))
    s = session()
    s.turns.hit(user_id)
    result = s.confirm(user_id, body["approve"], channel=body.get("channel", "web"))
    return jsonify(result.as_dict())


@chat.get("/chat/state")
def state():
    named = request.args.get("userId")
    if named is not None:
        problems = USER_ID_SCHEMA.problems(named)
        if problems:
            raise ValidationFailed(
                f"userId: {problems[0].message}", details=[{"field": "userId", "message": problems[0].message}]
            )
    user_id = shopper_for(named)
    s = session()
    return jsonify(
        {
            "userId": user_id,
            "cart": s.cart(user_id),
            "pendingConfirmation": s.pending_confirmation(user_id),
            "lastOrder": s.last_order(user_id),
            "history": s.history(user_id)[-20:],
        }
    )
