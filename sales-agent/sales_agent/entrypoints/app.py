"""The sales HTTP service: ``create_app`` builds the Flask app and registers the chat and webhook blueprints
(gunicorn serves ``sales_agent.entrypoints.app:create_app()`` on 8000).

    /chat, /chat/stream, /chat/confirm, /chat/state   http_chat.py (a shopper session token: auth.py;
                                                      streamed turns: web/stream.py)
    /sessions/guest, /sessions/claim    http_sessions.py
    /webhooks/whatsapp, /webhooks/telegram   webhooks.py (each only with its secret set)
    GET /images/<file> (open: the catalog's pictures, from the recommendation agent)   pictures.py
    GET /health, GET /ready (its database, and which agents it needs are down)

RATE_LIMIT (e.g. 600/minute) limits requests per client address, as for the agents. Every error is the
agents' JSON envelope ``{"error": {"code", "message", "details"}}``; bad input is a 400 naming the field,
never a 500. This is not a contract agent (it has no contract file), but it reuses the kit's error
classes, envelope and JSON logging.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, g, jsonify, request
from flask.json.provider import DefaultJSONProvider

from agentkit.app import install_http_basics
from agentkit.errors import Forbidden
from agentkit.guards import limiter_from_env
from agentkit.logs import get_logger

from .. import bootstrap
from ..auth import ISSUER, SessionAuth
from ..reconciler import Reconciler, stale_after
from ..session import SalesSession
from ..settings import Settings, secret
from ..web.pages import pages
from ..web.stream import Turns
from .http_chat import chat
from .http_sessions import sessions
from .pictures import pictures
from .webhooks import log_disabled_channels, webhooks

SHOPPER_PATHS = ("/chat", "/sessions/claim")


def create_app(
    session: SalesSession | None = None, config: dict[str, Any] | None = None, settings: Settings | None = None
) -> Flask:
    settings = settings or (session.settings if session is not None else Settings())
    app = Flask("sales")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        WHATSAPP_VERIFY_TOKEN=secret(settings.whatsapp_verify_token),
        WHATSAPP_APP_SECRET=secret(settings.whatsapp_app_secret),
        TELEGRAM_SECRET_TOKEN=secret(settings.telegram_secret_token),
    )
    app.config.update(config or {})
    limiter = app.config.get("RATE_LIMITER", limiter_from_env("sales"))
    if isinstance(app.json, DefaultJSONProvider):
        app.json.sort_keys = False
    holder: dict[str, SalesSession] = {}
    lock = threading.Lock()
    if session is not None:
        holder["session"] = session

    def current() -> SalesSession:
        # Built on first use, inside the worker process (never in a preloading gunicorn master).
        if "session" not in holder:
            with lock:
                if "session" not in holder:
                    holder["session"] = bootstrap.build_session(settings)
        return holder["session"]

    app.extensions["sales_session"] = current
    app.extensions["sales_turns"] = Turns(current)
    # Under gunicorn the kit's post_worker_init starts it in the worker (threads do not survive the fork).
    every = settings.reconcile_seconds
    reconciler = Reconciler(lambda: current().workflow, every, stale_after(every, settings.reconcile_stale_seconds))
    app.extensions["sales_reconciler"] = reconciler
    app.extensions["worker_started"] = reconciler.start

    auth = SessionAuth(settings)
    app.extensions["sales_auth"] = auth
    log_disabled_channels(app.config)

    def guard() -> None:
        if request.path in ("/health", "/ready"):
            return
        if limiter is not None:
            limiter.hit(request.remote_addr or "unknown")
        if request.path.startswith(SHOPPER_PATHS):
            # The chat acts for the shopper the session token names, nobody else (http_chat.shopper_for);
            # the webhooks check their platform's own signature, and anyone may start a guest session.
            g.shopper = auth.shopper_of(request.headers.get("Authorization"))
            if not g.shopper.guest and g.shopper.issuer != ISSUER and current().identities.is_guest(g.shopper.user_id):
                raise Forbidden(
                    "An identity provider's session cannot name one of this shop's guests.",
                    details=[{"field": "Authorization", "message": "the token's sub is a guest id"}],
                )

    install_http_basics(app, get_logger("sales"), guard)
    app.register_blueprint(pages)
    app.register_blueprint(chat)
    app.register_blueprint(sessions)
    app.register_blueprint(webhooks)
    app.register_blueprint(pictures)

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

    return app
