"""The chat page: ``GET /`` and its files, open (no token) and under a strict Content-Security-Policy.

    GET /                 static/index.html (the page; app.js draws the chat, format.js its pure logic)
    GET /web/<file>       static/<file>: app.js, format.js, app.css
    GET /favicon.ico      static/favicon.svg (Chromium asks every origin for it)
    GET /page/config      {"devLogin": bool}: whether the page offers "continue as" a seeded shopper

Development only, with SALES_WEB_DEV_LOGIN=1 (settings.web_dev_login; off, both are a 404):

    GET  /dev/shoppers    {"shoppers": [{userId, name, city, tier}]}: the seeded shoppers the agents know
    POST /dev/sessions    {userId} -> {userId, name, token, expiresAt}: a session token for that shopper

Everything the page talks to otherwise is the chat API (/sessions/guest, /chat/stream, /chat/confirm,
/chat/state), which checks the shopper's token as it does for any client.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, send_from_directory

from agentkit.contracts import CompiledSchema, id_max_length, id_pattern
from agentkit.errors import NotFound

from ..entrypoints.http_common import json_body, session

STATIC = Path(__file__).resolve().parent / "static"
# Scripts, styles, pictures and fetches from this origin only; no inline script or style, no frames, no
# plugins, and forms post nowhere else.
CSP = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
SEEDED_FIRST, SEEDED_GAP = 1001, 3  # seeded shoppers are U1001, U1002, ...; three unknown ids in a row end the list

pages = Blueprint("pages", __name__, static_folder=str(STATIC), static_url_path="/web")
_shoppers_lock = threading.Lock()


@pages.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    # The page and its scripts change with a deploy: always revalidate (a 304 when unchanged).
    response.headers["Cache-Control"] = "no-cache"
    return response


@pages.get("/")
def index():
    return send_from_directory(STATIC, "index.html", mimetype="text/html")


@pages.get("/favicon.ico")
def favicon():
    return send_from_directory(STATIC, "favicon.svg", mimetype="image/svg+xml")


@pages.get("/page/config")
def config():
    return jsonify({"devLogin": _dev_login()})


def _dev_login() -> bool:
    return bool(session().settings.web_dev_login)


def _dev_only() -> None:
    if not _dev_login():
        raise NotFound("Not found.")


@pages.get("/dev/shoppers")
def dev_shoppers():
    _dev_only()
    with _shoppers_lock:  # asked once per app: a dozen profile look-ups at the recommendation agent
        if "sales_dev_shoppers" not in current_app.extensions:
            current_app.extensions["sales_dev_shoppers"] = _seeded_shoppers()
    return jsonify({"shoppers": current_app.extensions["sales_dev_shoppers"]})


def _seeded_shoppers() -> list[dict[str, Any]]:
    found, misses, number = [], 0, SEEDED_FIRST
    while misses < SEEDED_GAP:
        shopper = session().shopper(f"U{number}")
        number += 1
        if shopper is None:
            misses += 1
            continue
        misses = 0
        found.append(shopper)
    return found


DEV_SESSION_SCHEMA = CompiledSchema(
    {
        "type": "object",
        "properties": {
            "userId": {
                "type": "string",
                "pattern": id_pattern("userId").pattern,
                "maxLength": id_max_length("userId") or 24,
            }
        },
        "required": ["userId"],
        "additionalProperties": False,
    }
)


@pages.post("/dev/sessions")
def dev_session():
    _dev_only()
    user_id = json_body(DEV_SESSION_SCHEMA)["userId"]
    shopper = session().shopper(user_id)
    if shopper is None:
        raise NotFound(f"No seeded shopper {user_id}.", details=[{"field": "userId", "message": "not a shopper"}])
    auth = current_app.extensions["sales_auth"]
    lifetime = 24 * 3600
    token = auth.mint(user_id, lifetime=lifetime)
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + lifetime))
    return jsonify({"userId": user_id, "name": shopper["name"], "token": token, "expiresAt": expires}), 201
