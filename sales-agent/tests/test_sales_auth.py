"""Shopper session tokens (sales_agent/auth.py): HS256 minted by the sales agent, RS256 from a shop's identity
provider through its JWKS URL; missing, expired, tampered or foreign tokens are 401s naming Authorization."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agentkit.errors import DependencyUnavailable, Unauthorized
from sales_agent.auth import SECRET_FILE, SessionAuth
from sales_agent.settings import Settings

SECRET = "s" * 40
IDP_SHOPPER = "alice@example.com"  # an identity provider's opaque id


def problem(excinfo) -> str:
    error = excinfo.value
    assert isinstance(error, Unauthorized) and error.status == 401
    assert error.details[0]["field"] == "Authorization"
    return error.details[0]["message"]


@pytest.fixture
def auth():
    return SessionAuth(Settings(session_secret=SECRET))


def test_a_minted_token_names_its_shopper_and_expires(auth):
    token = auth.mint("U1002")
    shopper = auth.shopper_of(f"Bearer {token}")
    assert (shopper.user_id, shopper.guest) == ("U1002", False)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="retail-sales-chat")
    assert claims["sub"] == "U1002" and claims["exp"] - claims["iat"] == 30 * 24 * 3600
    guest = auth.verify(auth.mint("U1003", guest=True))
    assert guest.guest and guest.expires_at - time.time() == pytest.approx(7 * 24 * 3600, abs=5)


def test_missing_and_malformed_headers_are_401(auth):
    for header in (None, "", "Basic abc", "Bearer ", "Bearer not-a-jwt"):
        with pytest.raises(Unauthorized) as excinfo:
            auth.shopper_of(header)
        assert problem(excinfo)


def test_an_expired_token_is_401(auth):
    token = auth.mint("U1002", lifetime=-3600)
    with pytest.raises(Unauthorized) as excinfo:
        auth.verify(token)
    assert "expired" in problem(excinfo)


def test_a_tampered_token_is_401(auth):
    header, payload, signature = auth.mint("U1002").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "U1001"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized) as excinfo:
        auth.verify(f"{header}.{forged}.{signature}")
    assert "bad signature" in problem(excinfo)


def test_tokens_of_another_secret_or_unsigned_are_401(auth):
    other = SessionAuth(Settings(session_secret="o" * 40)).mint("U1002")
    with pytest.raises(Unauthorized):
        auth.verify(other)
    unsigned = jwt.encode({"sub": "U1002", "iat": 1, "exp": 2**40}, key=None, algorithm="none")
    with pytest.raises(Unauthorized) as excinfo:
        auth.verify(unsigned)
    assert "'none'" in problem(excinfo)
    # The claims the sales agent checks: its own issuer and audience, a sub that is a shopper id
    for claims in (
        {"sub": "U1002", "iat": 1, "exp": 2**40, "iss": "someone", "aud": "retail-sales-chat"},
        {"sub": "U1002", "iat": 1, "exp": 2**40, "iss": "retail-sales", "aud": "elsewhere"},
        {"sub": "not an id!", "iat": 1, "exp": 2**40, "iss": "retail-sales", "aud": "retail-sales-chat"},
        {"sub": "U1002", "iss": "retail-sales", "aud": "retail-sales-chat"},  # no exp
    ):
        with pytest.raises(Unauthorized):
            auth.verify(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_without_a_secret_one_is_made_under_var_once(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("SALES_SESSION_SECRET", raising=False)
    first = SessionAuth()
    path = tmp_path / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = first.mint("U1004")
    assert SessionAuth().verify(token).user_id == "U1004"  # a second process reads the same secret
    path.unlink()
    with pytest.raises(Unauthorized):
        SessionAuth().verify(token)  # a new secret: the old tokens no longer work


def test_a_short_secret_is_refused():
    with pytest.raises(ValueError, match="at least 32"):
        SessionAuth(Settings(session_secret="short"))


# -- an identity provider's RS256 tokens through JWKS --------------------------------------------
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key, kid: str) -> dict:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


@pytest.fixture
def provider():
    key = rsa_key()
    fetches = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            fetches.append(self.path)
            body = json.dumps({"keys": [jwk(key, "k1")]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = Settings(
        session_secret=SECRET,
        session_jwks_url=f"http://127.0.0.1:{server.server_port}/jwks.json",
        session_issuer="https://id.shop.example",
        session_audience="shop-chat",
    )
    yield key, SessionAuth(settings), fetches, server
    server.shutdown()


def idp_token(key, kid="k1", **claims) -> str:
    now = int(time.time())
    base = {"sub": IDP_SHOPPER, "iat": now, "exp": now + 600, "iss": "https://id.shop.example"}
    base["aud"] = "shop-chat"
    return jwt.encode({**base, **claims}, key, algorithm="RS256", headers={"kid": kid})


def test_identity_provider_tokens_through_jwks(provider):
    key, auth, fetches, _ = provider
    shopper = auth.verify(idp_token(key, guest=True))
    assert (shopper.user_id, shopper.guest, shopper.issuer) == (IDP_SHOPPER, False, "https://id.shop.example")
    auth.verify(idp_token(key))
    assert len(fetches) == 1  # the keys are cached
    for bad in (
        idp_token(key, aud="another-shop"),
        idp_token(key, iss="https://evil.example"),
        idp_token(key, exp=int(time.time()) - 3600),
        idp_token(rsa_key()),  # the right kid, another key: a forged signature
    ):
        with pytest.raises(Unauthorized):
            auth.verify(bad)
    with pytest.raises(Unauthorized) as excinfo:
        auth.verify(idp_token(key, kid="unknown"))
    assert "does not publish" in problem(excinfo)
    # The provider's public key used as an HS256 secret (algorithm confusion) is refused too
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    signing_input = header + "." + idp_token(key).split(".")[1]
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    with pytest.raises(Unauthorized):
        auth.verify(signing_input + "." + signature.rstrip(b"=").decode())


def test_rs256_tokens_without_a_jwks_url_are_401(auth):
    with pytest.raises(Unauthorized) as excinfo:
        auth.verify(idp_token(rsa_key()))
    assert "RS256" in problem(excinfo)


def test_an_unreachable_identity_provider_is_503(provider):
    key, auth, _, server = provider
    server.shutdown()
    server.server_close()
    with pytest.raises(DependencyUnavailable):
        auth.verify(idp_token(key))


def test_jwks_needs_issuer_and_audience():
    with pytest.raises(ValueError, match="ISSUER"):
        SessionAuth(Settings(session_secret=SECRET, session_jwks_url="http://127.0.0.1:1/jwks.json"))
