"""The sessions blueprint: a new guest's session, and a guest who signs in keeping their cart.

    POST /sessions/guest                      -> 201 {userId, token, expiresAt}   (no token needed)
    POST /sessions/claim {guestToken}         -> {userId, merged, cart}           (the account's session)

A guest session is an HS256 token (auth.py) for a fresh guest id (guests.py). Claiming moves the guest's cart
lines into the account's cart in one transaction (the same variant's quantities add up) and empties the
guest's, so claiming twice merges nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, g, jsonify

from agentkit import clock
from agentkit.contracts import CompiledSchema
from agentkit.errors import Forbidden, Unauthorized, ValidationFailed

from ..auth import SessionAuth
from ..tools import cart_view
from .http_common import json_body, session

CLAIM_SCHEMA = CompiledSchema(
    {
        "type": "object",
        "properties": {"guestToken": {"type": "string", "minLength": 1, "maxLength": 4096}},
        "required": ["guestToken"],
        "additionalProperties": False,
    }
)

sessions = Blueprint("sessions", __name__)


def session_auth() -> SessionAuth:
    return current_app.extensions["sales_auth"]


@sessions.post("/sessions/guest")
def guest():
    s = session()
    user_id = s.identities.new_guest("web")
    s.first_contact(user_id)
    token = session_auth().mint(user_id, guest=True)
    expires = datetime.fromtimestamp(session_auth().verify(token).expires_at, timezone.utc)
    return jsonify({"userId": user_id, "token": token, "expiresAt": clock.iso(expires)}), 201


@sessions.post("/sessions/claim")
def claim():
    body = json_body(CLAIM_SCHEMA)
    account = g.shopper
    try:
        guest = session_auth().verify(body["guestToken"])
    except Unauthorized as exc:
        raise Unauthorized(exc.message, details=[{**exc.details[0], "field": "guestToken"}]) from None
    if not guest.guest:
        raise ValidationFailed(
            "guestToken: that is not a guest session.",
            details=[{"field": "guestToken", "message": "not a guest session"}],
        )
    if account.guest:
        raise Forbidden(
            "Sign in to an account first: a guest's cart moves into an account, not into another guest.",
            details=[{"field": "Authorization", "message": "a guest session cannot claim a guest"}],
        )
    s = session()
    cart, merged = s.store.merge_cart(guest.user_id, account.user_id)
    return jsonify({"userId": account.user_id, "merged": merged, "cart": cart_view(cart)})
