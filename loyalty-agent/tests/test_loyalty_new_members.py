"""New shoppers: enrolMember makes a bronze member once, a first real order enrols and earns, opaque ids work."""

from __future__ import annotations

import threading

import pytest
from orders import place_order

LONGEST = "s" * 60 + ":a@b"  # 64 characters, the most common.json's userId allows


@pytest.fixture
def client(make_app):
    return make_app("loyalty").test_client()


def post(client, path, status, **body):
    reply = client.post(path, json=body)
    assert reply.status_code == status, reply.get_json()
    return reply.get_json()


@pytest.mark.parametrize("user_id", ["alice@example.com", "web-7f3a2c", LONGEST])
def test_enrol_makes_a_bronze_member_with_no_points_once(client, user_id):
    assert len(LONGEST) == 64
    post(client, "/get-member", 404, userId=user_id)
    joined = post(client, "/enrol-member", 201, userId=user_id, name="  Alice  ")
    assert joined | {"joinedAt": None} == {
        "userId": user_id,
        "name": "Alice",
        "tier": "bronze",
        "pointsBalance": 0,
        "pointsOwed": 0,
        "pointValue": 0.25,
        "pointsValue": 0,
        "lifetimePoints": 0,
        "earnRate": 1,
        "nextTier": "silver",
        "pointsToNextTier": 2000,
        "minimumRedeemablePoints": 100,
        "joinedAt": None,
        "recentActivity": [],
    }
    again = post(client, "/enrol-member", 200, userId=user_id, name="Somebody Else")
    assert again == joined  # unchanged: no new member, no rename
    assert post(client, "/get-member", 200, userId=user_id) == joined
    listed = post(client.as_caller("operator"), "/list-members", 200, limit=200)["members"]
    assert [m for m in listed if m["userId"] == user_id] == [
        {"userId": user_id, "tier": "bronze", "pointsBalance": 0, "lifetimePoints": 0}
    ]


def test_enrolling_a_member_changes_nothing(client):
    before = post(client, "/get-member", 200, userId="U1005", activityLimit=1)
    assert post(client, "/enrol-member", 200, userId="U1005", name="Not Sneha") == before


def test_enrol_without_a_name_stores_an_empty_one(client):
    assert post(client, "/enrol-member", 201, userId="tg:700000002")["name"] == ""


def test_two_first_enrolments_at_once_make_one_member(make_app):
    app = make_app("loyalty")
    barrier, statuses = threading.Barrier(6), []

    def enrol():
        barrier.wait()
        statuses.append(app.test_client().post("/enrol-member", json={"userId": "web-race"}).status_code)

    threads = [threading.Thread(target=enrol) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 5 + [201]


@pytest.mark.parametrize(
    "user_id,message",
    [
        ("a" * 65, "longer than 64"),
        ("alice smith", "does not match"),
        ("", "does not match"),
        ("ünï", "does not match"),
    ],
)
def test_a_bad_id_is_a_400_naming_user_id(client, user_id, message):
    for path in ("/enrol-member", "/get-member"):
        reply = client.post(path, json={"userId": user_id})
        assert reply.status_code == 400, reply.get_json()
        details = reply.get_json()["error"]["details"]
        assert details[0]["field"] == "userId" and message in details[0]["message"], details


def test_a_name_with_control_characters_or_too_long_is_refused(client):
    for name in ("A\nB", "x" * 101):
        reply = client.post("/enrol-member", json={"userId": "web-1", "name": name})
        assert reply.status_code == 400 and reply.get_json()["error"]["details"][0]["field"] == "name"
    post(client, "/get-member", 404, userId="web-1")  # nothing enrolled


def test_a_new_shoppers_first_order_enrols_them_and_earns(system):
    loyalty = system.client("loyalty")
    post(loyalty, "/get-member", 404, userId="alice@example.com")
    order = place_order(system, "alice@example.com", [("P1001", "M", "Black", 1)])  # ₹4,999
    earned = post(loyalty, "/earn-points", 201, userId="alice@example.com", orderId=order["orderId"])
    assert (earned["pointsEarned"], earned["pointsBalance"], earned["tier"], earned["previousTier"]) == (
        49,
        49,
        "bronze",
        "bronze",
    )
    member = post(loyalty, "/get-member", 200, userId="alice@example.com")
    assert (member["tier"], member["pointsBalance"], member["lifetimePoints"]) == ("bronze", 49, 49)
    assert member["recentActivity"][0]["orderId"] == order["orderId"]
    replay = post(loyalty, "/earn-points", 200, userId="alice@example.com", orderId=order["orderId"])
    assert replay["replayed"] is True and replay["pointsBalance"] == 49


def test_a_new_shopper_cannot_enrol_by_claiming_someone_elses_order(system):
    loyalty = system.client("loyalty")
    order = place_order(system, "U1003", [("P1001", "M", "Black", 1)])
    reply = loyalty.post("/earn-points", json={"userId": "web-7f3a2c", "orderId": order["orderId"]})
    assert reply.status_code == 404, reply.get_json()
    assert reply.get_json()["error"]["details"] == [{"field": "orderId", "message": "unknown order"}]
    post(loyalty, "/get-member", 404, userId="web-7f3a2c")  # nobody was enrolled
