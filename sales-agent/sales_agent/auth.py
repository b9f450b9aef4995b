"""Shopper sessions: a signed JWT names the shopper the chat API acts for.

A session token carries ``sub`` (the shopper's user id), ``iat``, ``exp``, ``iss``, ``aud`` and ``guest``
(true for a guest session). Two kinds of signer are accepted, each with its own key and algorithm, so a
token signed one way is never checked with the other's key:

- HS256 with the sales agent's session secret: ``SALES_SESSION_SECRET``, or a random one kept in
  ``VAR_DIR/sales-session.secret`` (mode 0600, made race-free by the kit, as for the agents' secret). The
  sales agent mints these itself: guest sessions (``POST /sessions/guest``) and the operator's
  ``python -m sales_agent token USER_ID``.
- RS256 from a shop's identity provider, when ``SALES_SESSION_JWKS_URL`` is set: its public keys are read
  from the JWKS URL (cached, at most 16 keys, refetched at most every 30 s for an unknown ``kid``), and the
  token must carry ``SALES_SESSION_ISSUER`` and ``SALES_SESSION_AUDIENCE``.

No token, an expired one, a tampered one or one from another signer is a 401 in the kit's error envelope
naming ``Authorization``; an identity provider that cannot be reached is a 503.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from jwt.types import Options

from agentkit.auth import ensure_secret_file
from agentkit.contracts import is_valid_id
from agentkit.errors import DependencyUnavailable, Unauthorized
from agentkit.settings import KitSettings

from .settings import Settings

SECRET_FILE = "sales-session.secret"
ISSUER = "retail-sales"  # the iss and aud of the tokens the sales agent mints itself
AUDIENCE = "retail-sales-chat"
DAY = 24 * 3600


@dataclass(frozen=True)
class Shopper:
    """Who a valid session token names."""

    user_id: str
    guest: bool
    expires_at: int
    issuer: str


def session_secret(settings: Settings, kit: KitSettings | None = None) -> str:
    """SALES_SESSION_SECRET, or the one under VAR_DIR (made if missing)."""
    if settings.session_secret is not None:
        value = settings.session_secret.get_secret_value().strip()
        if len(value) < 32:
            raise ValueError("SALES_SESSION_SECRET must be at least 32 characters of random text")
        return value
    path = Path((kit or KitSettings()).var_dir) / SECRET_FILE
    return ensure_secret_file(path)


def _refused(problem: str) -> Unauthorized:
    return Unauthorized(
        "A valid shopper session is required: 'Authorization: Bearer <session token>'.",
        details=[{"field": "Authorization", "message": problem}],
    )


class SessionAuth:
    """Mints the sales agent's own session tokens and checks any session token."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self._key = session_secret(self.settings)
        self._jwks: jwt.PyJWKClient | None = None
        if self.settings.session_jwks_url:
            if not (self.settings.session_issuer and self.settings.session_audience):
                raise ValueError("SALES_SESSION_JWKS_URL needs SALES_SESSION_ISSUER and SALES_SESSION_AUDIENCE")
            self._jwks = jwt.PyJWKClient(
                self.settings.session_jwks_url, cache_keys=True, max_cached_keys=16, lifespan=300, timeout=5
            )

    def mint(self, user_id: str, *, guest: bool = False, lifetime: float | None = None) -> str:
        """An HS256 session token for ``user_id`` (a valid shopper id), valid ``lifetime`` seconds."""
        if not is_valid_id("userId", user_id):
            raise ValueError(f"not a shopper id: {user_id!r}")
        if lifetime is None:
            lifetime = (self.settings.session_guest_days if guest else self.settings.session_days) * DAY
        now = int(time.time())
        claims = {
            "sub": user_id,
            "iat": now,
            "exp": now + int(lifetime),
            "iss": ISSUER,
            "aud": AUDIENCE,
            "guest": bool(guest),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, token: str) -> Shopper:
        """The shopper a token names, or a 401 saying why not (503 if the identity provider is unreachable)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise _refused("not a session token (a JWT)") from None
        algorithm = header.get("alg")
        options: Options = {"require": ["sub", "exp", "iat"]}
        leeway = self.settings.session_leeway_seconds
        try:
            if algorithm == "HS256":
                claims = jwt.decode(
                    token, self._key, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER, options=options,
                    leeway=leeway,
                )  # fmt: skip
            elif algorithm == "RS256" and self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token)
                claims = jwt.decode(
                    token, key, algorithms=["RS256"], audience=self.settings.session_audience,
                    issuer=self.settings.session_issuer, options=options, leeway=leeway,
                )  # fmt: skip
            else:
                raise _refused(f"tokens signed with {algorithm!r} are not accepted here")
        except jwt.ExpiredSignatureError:
            raise _refused("expired; start a new session") from None
        except jwt.PyJWKClientConnectionError:
            raise DependencyUnavailable(
                "The shop's identity provider could not be reached to check the session; try again.",
                details=[{"field": "Authorization", "message": "the JWKS URL did not answer"}],
                retryAfter=5,
            ) from None
        except jwt.PyJWKClientError:
            raise _refused("signed with a key the identity provider does not publish") from None
        except jwt.InvalidSignatureError:
            raise _refused("bad signature (tampered, or not made by this shop)") from None
        except jwt.InvalidTokenError as exc:
            raise _refused(f"not a valid session token ({exc})") from None
        user_id = claims["sub"]
        if not isinstance(user_id, str) or not is_valid_id("userId", user_id):
            raise _refused("its sub is not a shopper id")
        issuer = claims.get("iss", "")
        guest = bool(claims.get("guest")) and issuer == ISSUER  # an identity provider's tokens are accounts
        return Shopper(user_id=user_id, guest=guest, expires_at=int(claims["exp"]), issuer=issuer)

    def shopper_of(self, authorization: str | None) -> Shopper:
        """The shopper named by ``Authorization: Bearer <session token>``, or 401."""
        scheme, _, token = (authorization or "").partition(" ")
        if not authorization:
            raise _refused("missing; send 'Authorization: Bearer <session token>' (POST /sessions/guest makes one)")
        if scheme.lower() != "bearer" or not token.strip():
            raise _refused("not a bearer token")
        return self.verify(token.strip())
