"""The chat API acts only for the shopper its session token names: guest sessions, tokens for one shopper
refused for another (403), missing, expired or tampered tokens refused (401), and a guest's cart kept when
they sign in."""

from __future__ import annotations

import pytest
from shops import chat_app

from sales_agent.testing import ScriptedChatModel, call


def model():
    return ScriptedChatModel(
        rules=[
            (r"jacket", [[call("add_to_cart", product_id="P1001", size="M", color="Black")], "Added."]),
            (r"buy", [[call("prepare_checkout", card_ref="card_ending_4242")], [call("place_order")], "Placed."]),
        ],
        default_reply="(scripted) hello",
    )


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    with chat_app(tmp_path_factory.mktemp("sessions"), "sessions", model()) as built:
        yield built


@pytest.fixture
def client(system):
    return system[0].test_client()


ROUTES = [
    ("POST", "/chat", {"message": "hi"}),
    ("POST", "/chat/confirm", {"approve": False}),
    ("GET", "/chat/state", None),
]


def request(client, method, path, body, headers, user_id=None):
    if method == "GET":
        query = f"?userId={user_id}" if user_id else ""
        response = client.get(path + query, headers=headers)
    else:
        response = client.post(path, json={**body, **({"userId": user_id} if user_id else {})}, headers=headers)
    return response.status_code, response.get_json()


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_a_token_for_one_shopper_cannot_act_for_another(client, system, shopper_headers, method, path, body):
    app, session = system
    session.store.add_line("U1002", {"productId": "P1001", "size": "M", "color": "Black", "quantity": 1, "sku": "X"})
    status, answer = request(client, method, path, body, shopper_headers(app, "U1003"), user_id="U1002")
    assert status == 403, answer
    assert answer["error"]["code"] == "forbidden" and answer["error"]["details"][0]["field"] == "userId"
    assert "U1002" not in str({k: v for k, v in answer.items() if k != "error"})
    # the same token, for its own shopper (named or left out), works
    for named in ("U1003", None):
        status, answer = request(client, method, path, body, shopper_headers(app, "U1003"), user_id=named)
        assert status == 200, answer
    status, answer = request(client, "GET", "/chat/state", None, shopper_headers(app, "U1003"))
    assert answer["userId"] == "U1003" and answer["cart"]["itemCount"] == 0  # not U1002's one line
    session.store.clear_cart("U1002")


@pytest.mark.parametrize("method,path,body", ROUTES)
@pytest.mark.parametrize("kind", ["missing", "expired", "tampered", "another secret", "not bearer"])
def test_missing_expired_or_tampered_tokens_are_401(client, system, shopper_headers, method, path, body, kind):
    app, _ = system
    good = shopper_headers(app, "U1004")["Authorization"]
    header, payload, signature = good.split(".")
    headers = {
        "missing": {},
        "expired": shopper_headers(app, "U1004", lifetime=-3600),
        "tampered": {"Authorization": f"{header}.{payload}.{signature[:-4]}AAAA"},
        "another secret": {"Authorization": "Bearer " + _foreign_token("U1004")},
        "not bearer": {"Authorization": good.replace("Bearer ", "Token ")},
    }[kind]
    status, answer = request(client, method, path, body, headers, user_id="U1004")
    assert status == 401, answer
    assert answer["error"]["code"] == "unauthorized" and answer["error"]["details"][0]["field"] == "Authorization"


def _foreign_token(user_id: str) -> str:
    from sales_agent.auth import SessionAuth
    from sales_agent.settings import Settings

    return SessionAuth(Settings(session_secret="f" * 40)).mint(user_id)


def test_guest_sessions_are_new_shoppers_each_time(client, system):
    session = system[1]
    first = client.post("/sessions/guest")
    second = client.post("/sessions/guest", json={})
    assert first.status_code == second.status_code == 201
    a, b = first.get_json(), second.get_json()
    assert a["userId"] != b["userId"] and session.identities.is_guest(a["userId"]) and a["expiresAt"]
    status, answer = request(client, "POST", "/chat", {"message": "the black jacket"}, _bearer(a["token"]))
    assert status == 200 and answer["cart"]["itemCount"] == 1
    status, answer = request(client, "GET", "/chat/state", None, _bearer(a["token"]))
    assert status == 200 and answer["userId"] == a["userId"] and answer["cart"]["itemCount"] == 1
    status, answer = request(client, "GET", "/chat/state", None, _bearer(b["token"]))
    assert status == 200 and answer["cart"]["itemCount"] == 0  # b sees its own, empty cart
    status, answer = request(client, "GET", "/chat/state", None, _bearer(b["token"]), user_id=a["userId"])
    assert status == 403


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_only_guest_sessions_health_and_ready_are_open(client):
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200
    assert client.post("/sessions/guest").status_code == 201
    assert client.post("/sessions/claim", json={"guestToken": "x"}).status_code == 401
    for method, path, body in ROUTES:
        assert request(client, method, path, body, {})[0] == 401


def test_a_guest_who_signs_in_keeps_their_cart(client, system, shopper_headers):
    app, session = system
    guest = client.post("/sessions/guest").get_json()
    request(client, "POST", "/chat", {"message": "the black jacket"}, _bearer(guest["token"]))
    session.store.add_line("U1006", {"productId": "P1001", "size": "M", "color": "Black", "quantity": 2, "sku": "S"})
    account = shopper_headers(app, "U1006")
    response = client.post("/sessions/claim", json={"guestToken": guest["token"]}, headers=account)
    assert response.status_code == 200, response.get_json()
    claimed = response.get_json()
    assert claimed["userId"] == "U1006" and claimed["merged"] == 1
    assert claimed["cart"]["itemCount"] == 3  # the same variant: quantities add up
    assert session.cart(guest["userId"])["itemCount"] == 0
    # claiming again merges nothing more; a guest token cannot claim for itself or another guest
    again = client.post("/sessions/claim", json={"guestToken": guest["token"]}, headers=account).get_json()
    assert again["merged"] == 0 and again["cart"]["itemCount"] == 3
    other = client.post("/sessions/guest").get_json()
    refused = client.post("/sessions/claim", json={"guestToken": guest["token"]}, headers=_bearer(other["token"]))
    assert refused.status_code == 403
    not_a_guest = client.post(
        "/sessions/claim", json={"guestToken": account["Authorization"].split()[1]}, headers=account
    )
    assert not_a_guest.status_code == 400 and not_a_guest.get_json()["error"]["details"][0]["field"] == "guestToken"
    session.store.clear_cart("U1006")


def test_the_operator_mints_tokens_for_existing_shoppers_only(client, capsys):
    from sales_agent.__main__ import main

    assert main(["token", "U1002"]) == 0
    token = capsys.readouterr().out.strip()
    status, answer = request(client, "GET", "/chat/state", None, _bearer(token))
    assert status == 200 and answer["userId"] == "U1002"
    assert main(["token", "U9999"]) == 2 and "no shopper has the id 'U9999'" in capsys.readouterr().err
    assert main(["token", "not an id"]) == 2 and capsys.readouterr().out == ""


def test_a_guest_gets_a_profile_on_first_contact(client, system):
    guest = client.post("/sessions/guest").get_json()
    assert system[1].shopper(guest["userId"])["userId"] == guest["userId"]
