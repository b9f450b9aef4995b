"""Shopper profiles made on first contact: upsertShopperProfile creates once, changes only what is sent,
opaque ids of any form the contracts allow, bounded fields, and unknown shoppers stay a 404."""

from __future__ import annotations

import threading

import pytest

LONGEST = "web-" + "7f3a2c" * 10  # 64 characters
EMPTY = {"categories": [], "sizes": {}, "colors": [], "styles": []}


@pytest.fixture
def app(make_app):
    return make_app("recommendation", clients={"inventory": None})


@pytest.fixture
def client(app):
    return app.test_client()


def post(client, path, status, **body):
    reply = client.post(path, json=body)
    assert reply.status_code == status, reply.get_json()
    return reply.get_json()


@pytest.mark.parametrize("user_id", ["alice@example.com", "web-7f3a2c", LONGEST, "tg:700000002"])
def test_a_new_shopper_gets_a_usable_profile_once(client, user_id):
    assert len(LONGEST) == 64
    post(client, "/get-shopper-profile", 404, userId=user_id)
    made = post(client, "/upsert-shopper-profile", 201, userId=user_id, name="Asha Rao")
    assert made == {
        "userId": user_id,
        "name": "Asha Rao",
        "email": "",
        "city": "",
        "tier": "bronze",
        "preferences": EMPTY,
        "purchaseHistory": [],
    }
    assert post(client, "/get-shopper-profile", 200, userId=user_id) == made


def test_a_later_call_changes_only_the_fields_it_sends(client):
    post(client, "/upsert-shopper-profile", 201, userId="web-7f3a2c", name="Asha")
    changed = post(
        client, "/upsert-shopper-profile", 200, userId="web-7f3a2c", email="asha@example.com", phone="+91 98200 11001"
    )
    assert (changed["name"], changed["email"], changed["phone"], changed["city"]) == (
        "Asha",
        "asha@example.com",
        "+91 98200 11001",
        "",
    )
    moved = post(client, "/upsert-shopper-profile", 200, userId="web-7f3a2c", city="Pune")
    assert post(client, "/get-shopper-profile", 200, userId="web-7f3a2c") == moved
    assert moved["city"] == "Pune" and moved["email"] == "asha@example.com"


def test_a_profile_with_nothing_given_is_made_too(client):
    assert post(client, "/upsert-shopper-profile", 201, userId="guest-1")["name"] == ""
    assert post(client, "/upsert-shopper-profile", 200, userId="guest-1")["name"] == ""


def test_a_seeded_profile_keeps_its_address_history_and_preferences(client):
    before = post(client, "/get-shopper-profile", 200, userId="U1001")
    after = post(client, "/upsert-shopper-profile", 200, userId="U1001", phone="+919820011001")
    assert after == {**before, "phone": "+919820011001"}
    assert after["address"]["postalCode"] == "400053" and after["purchaseHistory"]


def test_two_first_contacts_at_once_make_one_profile(app):
    barrier, statuses = threading.Barrier(6), []

    def upsert():
        barrier.wait()
        reply = app.test_client().post("/upsert-shopper-profile", json={"userId": "web-race"})
        statuses.append(reply.status_code)

    threads = [threading.Thread(target=upsert) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 5 + [201]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"userId": "a" * 65}, "userId"),
        ({"userId": "alice smith"}, "userId"),
        ({"userId": "web-1", "name": "x" * 101}, "name"),
        ({"userId": "web-1", "name": ""}, "name"),
        ({"userId": "web-1", "name": "A\u0007B"}, "name"),
        ({"userId": "web-1", "email": "not an email"}, "email"),
        ({"userId": "web-1", "email": "a@" + "b" * 200 + ".com"}, "email"),
        ({"userId": "web-1", "phone": "12"}, "phone"),
        ({"userId": "web-1", "city": "x" * 61}, "city"),
        ({"userId": "web-1", "address": {"line1": "x"}}, "address"),
    ],
)
def test_bad_fields_are_a_400_naming_the_field_and_nothing_is_made(client, body, field):
    reply = client.post("/upsert-shopper-profile", json=body)
    assert reply.status_code == 400, reply.get_json()
    assert reply.get_json()["error"]["details"][0]["field"] == field
    if field != "userId":
        post(client, "/get-shopper-profile", 404, userId="web-1")


def test_a_65_character_id_or_one_with_a_space_is_refused_by_the_profile_read_too(client):
    for user_id in ("a" * 65, "alice smith"):
        reply = client.post("/get-shopper-profile", json={"userId": user_id})
        assert reply.status_code == 400 and reply.get_json()["error"]["details"][0]["field"] == "userId"
