"""Opaque shopper ids (common.json's userId: 1-64 of [A-Za-z0-9._:@-]) work through every payment table:
checkout sessions, card tokens, payments and listings; a 65-character id or one with a space is a 400 naming userId."""

from __future__ import annotations

import uuid

import pytest

from payment_agent import gateway

LONGEST = "tg:" + "7" * 61  # 64 characters


@pytest.fixture
def client(make_app):
    return make_app("payment").test_client()


def visa() -> str:
    head = "4242424242424"
    return next(head + d + "42" for d in "0123456789" if gateway.luhn_ok(head + d + "42"))


def post(client, path, status, body, key=None):
    headers = {"Idempotency-Key": key or uuid.uuid4().hex} if path == "/process-payment" else {}
    reply = client.post(path, json=body, headers=headers)
    assert reply.status_code == status, reply.get_json()
    return reply.get_json()


@pytest.mark.parametrize("user_id", ["alice@example.com", "web-7f3a2c", LONGEST])
def test_an_opaque_shopper_pays_by_token_and_upi_and_reads_their_payments_back(client, user_id):
    assert len(LONGEST) == 64
    card = {"number": visa(), "expMonth": 12, "expYear": 2031, "cvc": "123"}
    token = post(client, "/tokenize-payment-method", 201, {"userId": user_id, "card": card})["paymentMethodToken"]
    session = post(client, "/initiate-checkout", 201, {"userId": user_id, "amount": 2599})
    by_card = post(
        client,
        "/process-payment",
        201,
        {
            "userId": user_id,
            "amount": 2599,
            "method": "card",
            "paymentMethodToken": token,
            "checkoutSessionId": session["checkoutSessionId"],
        },
    )
    by_upi = post(
        client, "/process-payment", 201, {"userId": user_id, "amount": 499, "method": "upi", "upiId": "alice@okaxis"}
    )
    assert by_card["status"] == by_upi["status"] == "succeeded"
    assert by_card["userId"] == by_upi["userId"] == user_id
    listed = post(client, "/list-payments", 200, {"userId": user_id, "limit": 100})["payments"]
    assert sorted(p["paymentId"] for p in listed) == sorted([by_card["paymentId"], by_upi["paymentId"]])
    status = post(client.as_caller("fulfillment"), "/check-payment-status", 200, {"paymentId": by_card["paymentId"]})
    assert status["userId"] == user_id
    # another shopper cannot use the token
    other = {"userId": user_id + "x" if len(user_id) < 64 else "U1001", "amount": 100, "method": "card"}
    refused = client.post(
        "/process-payment",
        json={**other, "paymentMethodToken": token},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert refused.status_code in (403, 404, 422), refused.get_json()
    assert refused.get_json()["error"]["details"][0]["field"] == "paymentMethodToken"


@pytest.mark.parametrize("user_id", ["a" * 65, "alice smith", "", "alice\n"])
def test_a_bad_shopper_id_is_a_400_naming_user_id(client, user_id):
    for path, body in (
        ("/list-payments", {"userId": user_id}),
        ("/initiate-checkout", {"userId": user_id, "amount": 100}),
        ("/process-payment", {"userId": user_id, "amount": 100, "method": "upi", "upiId": "alice@okaxis"}),
    ):
        reply = client.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert reply.status_code == 400, (path, reply.get_json())
        assert {d["field"] for d in reply.get_json()["error"]["details"]} == {"userId"}, reply.get_json()
