"""The chat blueprint: the web front end's JSON API over the SalesSession.

    POST /chat              {userId, channel?, message}  -> {reply, toolCalls, cart, pendingConfirmation?}
    POST /chat/confirm      {userId, approve, channel?}  -> the same shape
    GET  /chat/state?userId=U1001                         -> {cart, pendingConfirmation, lastOrder, history}

SALES_API_TOKEN (optional) makes these require ``Authorization: Bearer <token>`` (app.py checks it).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from agentkit.contracts import CompiledSchema, id_max_length, id_pattern
from agentkit.errors import ValidationFailed

from ..session import CHANNEL_RE
from .http_common import check_length, json_body, session

USER_ID = {
    "type": "string",
    "pattern": id_pattern("userId").pattern,
    "maxLength": id_max_length("userId") or 24,
    "description": "Shopper id, e.g. U1001.",
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


@chat.post("/chat")
def send():
    body = json_body(CHAT_SCHEMA)
    s = session()
    check_length(body["message"], "message", s.settings.max_message_chars)
    s.turns.hit(body["userId"])
    result = s.send(body["userId"], body["message"], channel=body.get("channel", "web"))
    return jsonify(result.as_dict())


@chat.post("/chat/confirm")
def confirm():
    body = json_body(CONFIRM_SCHEMA)
    s = session()
    s.turns.hit(body["userId"])
    result = s.confirm(body["userId"], body["approve"], channel=body.get("channel", "web"))
    return jsonify(result.as_dict())


@chat.get("/chat/state")
def state():
    user_id = (request.args.get("userId") or "").strip()
    problems = USER_ID_SCHEMA.problems(user_id)
    if problems:
        raise ValidationFailed(
            f"userId: {problems[0].message}", details=[{"field": "userId", "message": problems[0].message}]
        )
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
