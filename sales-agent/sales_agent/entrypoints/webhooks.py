"""The messaging webhooks blueprint: WhatsApp Cloud API and Telegram Bot API, over the same SalesSession.

    POST /webhooks/whatsapp  WhatsApp Cloud API notification -> {"replies": [{to, userId, type, text}]}
    GET  /webhooks/whatsapp  the Cloud API's subscription check (hub.challenge, WHATSAPP_VERIFY_TOKEN)
    POST /webhooks/telegram  a Telegram Update -> a sendMessage webhook reply {method, chat_id, text}

A channel is enabled only when its secret is set (WHATSAPP_APP_SECRET: the X-Hub-Signature-256 HMAC of the raw
body; TELEGRAM_SECRET_TOKEN: the X-Telegram-Bot-Api-Secret-Token header, compared in constant time); without
it the route is a 404 and start-up logs one line saying why. Then, in this order, so that a refused call has
processed nothing: the signature (401), the body and every message in it (400 naming the field: the shape,
each text's length, each sender id, at most SALES_WEBHOOK_MAX_MESSAGES messages), and only then the messages,
each claimed once by its message id / update_id (guests.Deliveries: a redelivery is answered with nothing).
Senders map to shoppers durably (guests.Identities); replies use the channel's formatting (formatting.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from agentkit.contracts import CompiledSchema
from agentkit.errors import NotFound, Unauthorized, ValidationFailed

from .. import formatting
from ..guests import sender_id
from .http_common import check_length, json_body, session

log = logging.getLogger("agents.sales.webhooks")
SECRETS = {"whatsapp": "WHATSAPP_APP_SECRET", "telegram": "TELEGRAM_SECRET_TOKEN"}

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
                                                        "id": {"type": "string", "minLength": 1, "maxLength": 128},
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
                                                    "required": ["id", "from"],
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


def whatsapp_messages(body: dict[str, Any], settings: Any) -> list[tuple[dict[str, Any], str]]:
    """Every message of a WhatsApp notification with its sender id, after checking how many there are, how
    long each is and each sender, so that a refused call has processed none of them."""
    found = []
    for e, entry in enumerate(body["entry"]):
        for c, change in enumerate(entry["changes"]):
            for m, message in enumerate(change["value"].get("messages", [])):  # status updates carry no messages
                field = f"entry[{e}].changes[{c}].value.messages[{m}]"
                check_length((message.get("text") or {}).get("body"), field + ".text.body", settings.max_message_chars)
                found.append((message, sender_id("whatsapp", message["from"], field + ".from")))
    if len(found) > settings.webhook_max_messages:
        log.warning(
            "whatsapp webhook refused: %d messages in one call, at most %d (none processed)",
            len(found),
            settings.webhook_max_messages,
        )
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


def contact_names(body: dict[str, Any]) -> dict[str, str]:
    """wa_id -> the profile name WhatsApp sends beside the messages (for a new shopper's profile)."""
    names = {}
    for entry in body["entry"]:
        for change in entry["changes"]:
            for contact in change["value"].get("contacts") or []:
                profile = contact.get("profile") if isinstance(contact, dict) else None
                name = profile.get("name") if isinstance(profile, dict) else None
                if isinstance(name, str) and isinstance(contact.get("wa_id"), str):
                    names[contact["wa_id"]] = name
    return names


def enabled(channel: str) -> str:
    """The channel's secret; a 404 when it is not set (the channel is off)."""
    secret = current_app.config.get(SECRETS[channel])
    if not secret:
        raise NotFound(
            f"The {channel} webhook is disabled: {SECRETS[channel]} is not set.",
            details=[{"field": "path", "message": f"{channel} is not enabled on this server"}],
        )
    return secret


def log_disabled_channels(config: Any) -> None:
    """At start-up: one line for each channel that is off, saying why."""
    for channel, name in SECRETS.items():
        if not config.get(name):
            log.info("%s webhook disabled: %s is not set (its route answers 404)", channel, name)


@contextlib.contextmanager
def once(channel: str, delivery_id: str):
    """Yields True for a delivery seen for the first time (then marked done), False for a redelivery. A failure
    while processing forgets the claim, so the platform's redelivery is processed."""
    deliveries = session().deliveries
    first = deliveries.claim(channel, delivery_id)
    if not first:
        yield False
        return
    try:
        yield True
    except BaseException:
        deliveries.release(channel, delivery_id)
        raise
    deliveries.done(channel, delivery_id)


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
    secret = enabled("whatsapp")
    signature = request.headers.get("X-Hub-Signature-256", "")
    digest = "sha256=" + hmac.new(secret.encode(), request.get_data(cache=True), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.encode(), digest.encode()):
        raise Unauthorized(
            "The X-Hub-Signature-256 header does not match the body.",
            details=[{"field": "X-Hub-Signature-256", "message": "bad signature"}],
        )
    body = json_body(WHATSAPP_SCHEMA)
    s = session()
    messages = whatsapp_messages(body, s.settings)
    replies, duplicates = [], []
    for message, sender in messages:
        with once("whatsapp", message["id"]) as first:
            if not first:
                duplicates.append(message["id"])
                continue
            user_id, new = s.identities.link("whatsapp", sender)
            if new:
                s.first_contact(user_id, contact_names(body).get(sender))
            text = (message.get("text") or {}).get("body") if message.get("type", "text") == "text" else None
            if not text:
                reply = TEXT_ONLY
            else:
                s.turns.hit(user_id)
                reply = s.send(user_id, text, channel="whatsapp").reply
            replies.append({"to": sender, "userId": user_id, "type": "text", "text": formatting.whatsapp(reply)})
    return jsonify({"replies": replies, "duplicates": duplicates})


@webhooks.post("/webhooks/telegram")
def telegram():
    secret = enabled("telegram")
    if not hmac.compare_digest(
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
    field = "message.from.id" if message.get("from") else "message.chat.id"
    sender = sender_id("telegram", (message.get("from") or {}).get("id", chat_id), field)
    s = session()
    text = message.get("text")
    check_length(text, "message.text", s.settings.max_message_chars)
    with once("telegram", str(body["update_id"])) as first:
        if not first:
            return jsonify({})  # a redelivery: answered the first time
        user_id, new = s.identities.link("telegram", sender)
        if new:
            first_name = (message.get("from") or {}).get("first_name")
            s.first_contact(user_id, first_name if isinstance(first_name, str) else None)
        if not text:
            reply = TEXT_ONLY
        elif text.strip() == "/start":
            shopper = s.shopper(user_id)
            name = f", {str(shopper['name']).split()[0]}" if shopper and shopper.get("name") else ""
            reply = f"Hello{name}! I am the store's sales assistant. What are you shopping for today?"
        else:
            s.turns.hit(user_id)
            reply = s.send(user_id, text, channel="telegram").reply
    # Telegram accepts a method call as the webhook's answer: the reply goes out without another request.
    return jsonify(
        {"method": "sendMessage", "chat_id": chat_id, "text": formatting.telegram_html(reply), "parse_mode": "HTML"}
    )
