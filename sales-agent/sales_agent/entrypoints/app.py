"""The HTTP chat API and the messaging webhooks (Flask; gunicorn serves ``sales_agent.http_api:create_app()`` on 8000).

    POST /chat              {userId, channel?, message}  -> {reply, toolCalls, cart, pendingConfirmation?}
    POST /chat/confirm      {userId, approve, channel?}  -> the same shape
    GET  /chat/state?userId=U1001                         -> {cart, pendingConfirmation, lastOrder, history}
    POST /webhooks/whatsapp  WhatsApp Cloud API notification -> {"replies": [{to, userId, type, text}]}
    GET  /webhooks/whatsapp  the Cloud API's subscription check (hub.challenge, WHATSAPP_VERIFY_TOKEN)
    POST /webhooks/telegram  a Telegram Update -> a sendMessage webhook reply {method, chat_id, text}
    GET  /health, GET /ready (its database, and which agents it needs are down)

SALES_API_TOKEN (optional) makes /chat* require ``Authorization: Bearer <token>``; WHATSAPP_APP_SECRET and
TELEGRAM_SECRET_TOKEN (optional) make the webhooks check the platform's signature / secret header;
RATE_LIMIT (e.g. 600/minute) limits requests per client address, as for the agents.

Every error is the agents' JSON envelope ``{"error": {"code", "message", "details"}}``; bad input is a 400
naming the field, never a 500. This is not a contract agent (it has no contract file), but it reuses the
kit's error classes, envelope and JSON logging. Messaging senders are mapped to shoppers by identities.py.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from typing import Any

from flask import Flask, jsonify, request
from flask.json.provider import DefaultJSONProvider

from agentkit.app import install_http_basics, read_json_body
from agentkit.contracts import CompiledSchema, id_max_length, id_pattern
from agentkit.errors import Unauthorized, ValidationFailed
from agentkit.guards import check_bearer_token, limiter_from_env
from agentkit.logs import get_logger

from .identities import resolve_user
from .reconciler import Reconciler, every_from_env
from .session import SalesSession

DEFAULT_MAX_BODY = 64 * 1024
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


def create_app(session: SalesSession | None = None, config: dict[str, Any] | None = None) -> Flask:
    app = Flask("sales")
    app.config.update(
        MAX_CONTENT_LENGTH=int(os.environ.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY)),
        WHATSAPP_VERIFY_TOKEN=os.environ.get("WHATSAPP_VERIFY_TOKEN") or None,
        WHATSAPP_APP_SECRET=os.environ.get("WHATSAPP_APP_SECRET") or None,
        TELEGRAM_SECRET_TOKEN=os.environ.get("TELEGRAM_SECRET_TOKEN") or None,
        SALES_API_TOKEN=os.environ.get("SALES_API_TOKEN") or None,
    )
    app.config.update(config or {})
    limiter = app.config.get("RATE_LIMITER", limiter_from_env("sales"))
    if isinstance(app.json, DefaultJSONProvider):
        app.json.sort_keys = False
    logger = get_logger("sales")
    holder: dict[str, SalesSession] = {}
    lock = threading.Lock()
    if session is not None:
        holder["session"] = session

    def current() -> SalesSession:
        # Built on first use, inside the worker process (never in a preloading gunicorn master).
        if "session" not in holder:
            with lock:
                if "session" not in holder:
                    holder["session"] = SalesSession()
        return holder["session"]

    app.extensions["sales_session"] = current
    # Under gunicorn the kit's post_worker_init starts it in the worker (threads do not survive the fork).
    reconciler = Reconciler(lambda: current().workflow, every_from_env())
    app.extensions["sales_reconciler"] = reconciler
    app.extensions["worker_started"] = reconciler.start

    def guard() -> None:
        if request.path in ("/health", "/ready"):
            return
        if request.path.startswith("/chat"):
            # The web front end's token (SALES_API_TOKEN); the webhooks check their platform's own signature.
            check_bearer_token(app.config["SALES_API_TOKEN"], request.headers.get("Authorization"))
        if limiter is not None:
            limiter.hit(request.remote_addr or "unknown")

    install_http_basics(app, logger, guard)

    # -- routes --------------------------------------------------------------------------------
    @app.get("/health")
    def health():
        return jsonify({"status": "ok", "agent": "sales"})

    @app.get("/ready")
    def ready():
        # Ready while its own database answers: the chat still answers what the agents that are down are
        # not needed for, and says which ones they are ("degraded").
        s = current()
        ok = s.store.db.ping()
        down = s.agents_down()
        status = "not_ready" if not ok else ("degraded" if down else "ready")
        return jsonify({"status": status, "database": ok, "agentsDown": down}), (200 if ok else 503)

    @app.post("/chat")
    def chat():
        body = json_body(CHAT_SCHEMA)
        s = current()
        check_length(body["message"], "message", s.settings.max_message_chars)
        s.turns.hit(body["userId"])
        result = s.send(body["userId"], body["message"], channel=body.get("channel", "web"))
        return jsonify(result.as_dict())

    @app.post("/chat/confirm")
    def chat_confirm():
        body = json_body(CONFIRM_SCHEMA)
        s = current()
        s.turns.hit(body["userId"])
        result = s.confirm(body["userId"], body["approve"], channel=body.get("channel", "web"))
        return jsonify(result.as_dict())

    @app.get("/chat/state")
    def chat_state():
        user_id = (request.args.get("userId") or "").strip()
        problems = USER_ID_SCHEMA.problems(user_id)
        if problems:
            raise ValidationFailed(
                f"userId: {problems[0].message}", details=[{"field": "userId", "message": problems[0].message}]
            )
        s = current()
        return jsonify(
            {
                "userId": user_id,
                "cart": s.cart(user_id),
                "pendingConfirmation": s.pending_confirmation(user_id),
                "lastOrder": s.last_order(user_id),
                "history": s.history(user_id)[-20:],
            }
        )

    # -- WhatsApp Cloud API ----------------------------------------------------------------------
    @app.get("/webhooks/whatsapp")
    def whatsapp_verify():
        expected = app.config["WHATSAPP_VERIFY_TOKEN"]
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

    @app.post("/webhooks/whatsapp")
    def whatsapp():
        secret = app.config["WHATSAPP_APP_SECRET"]
        if secret:
            signature = request.headers.get("X-Hub-Signature-256", "")
            digest = "sha256=" + hmac.new(secret.encode(), request.get_data(cache=True), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature.encode(), digest.encode()):
                raise Unauthorized(
                    "The X-Hub-Signature-256 header does not match the body.",
                    details=[{"field": "X-Hub-Signature-256", "message": "bad signature"}],
                )
        body = json_body(WHATSAPP_SCHEMA)
        s = current()
        replies = []
        for message in whatsapp_messages(body, s.settings):
            user_id = resolve_user(s.store, "whatsapp", message["from"])
            text = (message.get("text") or {}).get("body") if message.get("type", "text") == "text" else None
            if not text:
                reply = "I can read text messages only. Tell me what you are looking for."
            else:
                s.turns.hit(user_id)
                reply = s.send(user_id, text, channel="whatsapp").reply
            replies.append({"to": message["from"], "userId": user_id, "type": "text", "text": reply})
        return jsonify({"replies": replies})

    # -- Telegram Bot API ------------------------------------------------------------------------
    @app.post("/webhooks/telegram")
    def telegram():
        secret = app.config["TELEGRAM_SECRET_TOKEN"]
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
        s = current()
        user_id = resolve_user(s.store, "telegram", str(sender))
        text = message.get("text")
        check_length(text, "message.text", s.settings.max_message_chars)
        if not text:
            reply = "I can read text messages only. Tell me what you are looking for."
        elif text.strip() == "/start":
            shopper = s.shopper(user_id)
            name = f", {shopper['name'].split()[0]}" if shopper else ""
            reply = f"Hello{name}! I am the store's sales assistant. What are you shopping for today?"
        else:
            s.turns.hit(user_id)
            reply = s.send(user_id, text, channel="telegram").reply
        # Telegram accepts a method call as the webhook's answer: the reply goes out without another request.
        return jsonify({"method": "sendMessage", "chat_id": chat_id, "text": reply})

    return app
