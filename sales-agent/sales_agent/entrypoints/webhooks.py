"""The messaging webhooks blueprint: WhatsApp Cloud API and Telegram Bot API, over the same SalesSession.

    POST /webhooks/whatsapp  WhatsApp Cloud API notification -> {"replies": [{to, userId, type, text}]}
    GET  /webhooks/whatsapp  the Cloud API's subscription check (hub.challenge, WHATSAPP_VERIFY_TOKEN)
    POST /webhooks/telegram  a Telegram Update -> a sendMessage webhook reply {method, chat_id, text}

WHATSAPP_APP_SECRET and TELEGRAM_SECRET_TOKEN (optional) make them check the platform's signature / secret
header. Messaging senders are mapped to shoppers by identities.py.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from agentkit.contracts import CompiledSchema
from agentkit.errors import Unauthorized, ValidationFailed

from ..identities import resolve_user
from .http_common import check_length, json_body, session

TEXT_ONLY = "I can read text messages only. Tell me what you are looking for."

WHATSAPP_SCHEMA = CompiledSchema(
    {
        "type": "object",
        "properties": {
            "object": {"type": "string"},
            "entry": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "changes": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "value": {
                                        "type": "object",
                                        "properties": {
                                            "messages": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "properties": {
                                                        "from": {"type": "string", "minLength": 1, "maxLength": 32},
                                                        "type": {"type": "string"},
                                                        "text": {
                                                            "type": "object",
                                                            "properties": {
                                                                "body": {"type": "string", "maxLength": 4096}
                                                            },
                                                            "required": ["body"],
                                                        },
                                                    },
                                                    "required": ["from"],
                                                },
                                            }
                                        },
                                    }
                                },
                                "required": ["value"],
                            },
                        }
                    },
                    "required": ["changes"],
                },
            },
        },
        "required": ["entry"],
    }
)
TELEGRAM_SCHEMA = CompiledSchema(
    {
        "type": "object",
        "properties": {
            "update_id": {"type": "integer"},
            "message": {
                "type": "object",
                "properties": {
                    "chat": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
                    "from": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
                    "text": {"type": "string", "maxLength": 4096},
                },
                "required": ["chat"],
            },
        },
        "required": ["update_id"],
    }
)


def whatsapp_messages(body: dict[str, Any], settings: Any) -> list[dict[str, Any]]:
    """Every message of a WhatsApp notification, after checking how many there are and how long each is."""
    found = []
    for e, entry in enumerate(body["entry"]):
        for c, change in enumerate(entry["changes"]):
            for m, message in enumerate(change["value"].get("messages", [])):  # status updates carry no messages
                field = f"entry[{e}].changes[{c}].value.messages[{m}]"
                check_length((message.get("text") or {}).get("body"), field + ".text.body", settings.max_message_chars)
                found.append(message)
    if len(found) > settings.webhook_max_messages:
        raise ValidationFailed(
            f"One webhook call can carry at most {settings.webhook_max_messages} messages; this one has {len(found)}.",
            details=[
                {
                    "field": "entry[].changes[].value.messages",
                    "message": f"at most {settings.webhook_max_messages} messages per call",
                }
            ],
        )
    return found


webhooks = Blueprint("webhooks", __name__)


@webhooks.get("/webhooks/whatsapp")
def whatsapp_verify():
    expected = current_app.config["WHATSAPP_VERIFY_TOKEN"]
    if (
        request.args.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest((request.args.get("hub.verify_token") or "").encode(), expected.encode())
    ):
        raise Unauthorized(
            "The verify token does not match.",
            details=[{"field": "hub.verify_token", "message": "wrong or missing"}],
        )
    return request.args.get("hub.challenge", ""), 200, {"Content-Type": "text/plain"}


@webhooks.post("/webhooks/whatsapp")
def whatsapp():
    secret = current_app.config["WHATSAPP_APP_SECRET"]
    if secret:
        signature = request.headers.get("X-Hub-Signature-256", "")
        digest = "sha256=" + hmac.new(secret.encode(), request.get_data(cache=True), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.encode(), digest.encode()):
            raise Unauthorized(
                "The X-Hub-Signature-256 header does not match the body.",
                details=[{"field": "X-Hub-Signature-256", "message": "bad signature"}],
            )
    body = json_body(WHATSAPP_SCHEMA)
    s = session()
    replies = []
    for message in whatsapp_messages(body, s.settings):
        user_id = resolve_user(s.store, "whatsapp", message["from"])
        text = (message.get("text") or {}).get("body") if message.get("type", "text") == "text" else None
        if not text:
            reply = TEXT_ONLY
        else:
            s.turns.hit(user_id)
            reply = s.send(user_id, text, channel="whatsapp").reply
        replies.append({"to": message["from"], "userId": user_id, "type": "text", "text": reply})
    return jsonify({"replies": replies})


@webhooks.post("/webhooks/telegram")
def telegram():
    secret = current_app.config["TELEGRAM_SECRET_TOKEN"]
    if secret and not hmac.compare_digest(
        (request.headers.get("X-Telegram-Bot-Api-Secret-Token") or "").encode(), secret.encode()
    ):
        raise Unauthorized(
            "The Telegram secret token does not match.",
            details=[{"field": "X-Telegram-Bot-Api-Secret-Token", "message": "wrong or missing"}],
        )
    body = json_body(TELEGRAM_SCHEMA)
    message = body.get("message")
    if not message:
        return jsonify({})  # edited messages, callbacks, channel posts: nothing to answer
    chat_id = message["chat"]["id"]
    sender = (message.get("from") or {}).get("id", chat_id)
    s = session()
    user_id = resolve_user(s.store, "telegram", str(sender))
    text = message.get("text")
    check_length(text, "message.text", s.settings.max_message_chars)
    if not text:
        reply = TEXT_ONLY
    elif text.strip() == "/start":
        shopper = s.shopper(user_id)
        name = f", {shopper['name'].split()[0]}" if shopper else ""
        reply = f"Hello{name}! I am the store's sales assistant. What are you shopping for today?"
    else:
        s.turns.hit(user_id)
        reply = s.send(user_id, text, channel="telegram").reply
    # Telegram accepts a method call as the webhook's answer: the reply goes out without another request.
    return jsonify({"method": "sendMessage", "chat_id": chat_id, "text": reply})
