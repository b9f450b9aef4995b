"""Card tokens: tokenizePaymentMethod takes a card once; processPayment charges the token."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from agentkit import clock
from payment_agent import gateway

PAN = "4539148803436467"  # a valid Visa number: succeeds
CVC = "9731"


def with_last4(prefix: str, last4: str, length: int = 16) -> str:
    head = prefix.ljust(length - 5, "0")
    return next(head + d + last4 for d in "0123456789" if gateway.luhn_ok(head + d + last4))


@pytest.fixture
def app(make_app):
    return make_app("payment")


@pytest.fixture
def client(app):
    return app.test_client()


def tokenize(client, number=PAN, exp_month=11, exp_year=2031, cvc=CVC, user="U1001"):
    card = {"number": number, "expMonth": exp_month, "expYear": exp_year, "cvc": cvc}
    return client.post("/tokenize-payment-method", json={"userId": user, "card": card})


def pay_token(client, token, user="U1001", amount=1999):
    body = {"userId": user, "amount": amount, "method": "card", "paymentMethodToken": token}
    return client.post("/process-payment", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})


def test_a_token_carries_brand_last4_and_expiry_and_pays(client):
    reply = tokenize(client)
    assert reply.status_code == 201, reply.get_json()
    method = reply.get_json()
    assert method["paymentMethodToken"].startswith("pm_")
    assert (method["cardBrand"], method["cardLast4"], method["expMonth"], method["expYear"]) == (
        "visa",
        "6467",
        11,
        2031,
    )
    paid = pay_token(client, method["paymentMethodToken"])
    assert paid.status_code == 201, paid.get_json()
    payment = client.post("/check-payment-status", json={"paymentId": paid.get_json()["paymentId"]}).get_json()
    assert (payment["status"], payment["cardBrand"], payment["cardLast4"]) == ("succeeded", "visa", "6467")


def test_the_token_store_holds_no_number_and_no_cvc(app, client):
    token = tokenize(client).get_json()["paymentMethodToken"]
    declined = tokenize(client, number=with_last4("4", "1111")).get_json()["paymentMethodToken"]
    assert pay_token(client, token).status_code == 201
    assert pay_token(client, declined).status_code == 402
    with app.db.read() as conn:
        cells = "\n".join(
            str(value)
            for table in app.db.metadata.sorted_tables
            for row in conn.execute(sa.select(table))
            for value in row
        )
    assert token in cells and "6467" in cells, "the scan sees the token store"
    assert PAN not in cells and PAN[:12] not in cells and with_last4("4", "1111") not in cells
    assert CVC not in cells.replace(token, "").replace(declined, "")


def test_the_verdict_on_the_number_is_kept_with_the_token(client):
    for last4, code in (("1111", "insufficient_funds"), ("2222", "expired_card"), ("3333", "processing_error")):
        token = tokenize(client, number=with_last4("4", last4)).get_json()["paymentMethodToken"]
        reply = pay_token(client, token)
        assert reply.status_code == 402
        error = reply.get_json()["error"]
        assert error["declineCode"] == code
        assert error["details"] == [{"field": "paymentMethodToken", "message": code}]


def test_an_expired_card_is_tokenized_and_declined_when_charged(client):
    last_month = clock.now().replace(day=1) - timedelta(days=1)
    reply = tokenize(client, exp_month=last_month.month, exp_year=last_month.year)
    assert reply.status_code == 201
    charged = pay_token(client, reply.get_json()["paymentMethodToken"])
    assert charged.status_code == 402 and charged.get_json()["error"]["declineCode"] == "expired_card"


def test_a_luhn_failure_is_a_400_naming_card_number_and_makes_no_token(app, client):
    reply = tokenize(client, number=PAN[:-1] + "0")
    assert reply.status_code == 400
    assert [d["field"] for d in reply.get_json()["error"]["details"]] == ["card.number"]
    assert PAN[:-1] + "0" not in reply.get_data(as_text=True)
    with app.db.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM payment_methods WHERE user_id = 'U1001'")).scalar() == 1


def test_a_token_pays_only_for_its_own_shopper_and_an_unknown_one_is_404(client):
    token = tokenize(client, user="U1002").get_json()["paymentMethodToken"]
    other = pay_token(client, token, user="U1003")
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "payment_method_user_mismatch"
    unknown = pay_token(client, "pm_" + "0" * 24)
    assert unknown.status_code == 404
    assert [d["field"] for d in unknown.get_json()["error"]["details"]] == ["paymentMethodToken"]


def test_a_token_and_a_card_together_are_a_400(client):
    token = tokenize(client).get_json()["paymentMethodToken"]
    body = {
        "userId": "U1001",
        "amount": 10,
        "method": "card",
        "paymentMethodToken": token,
        "card": {"number": PAN, "expMonth": 11, "expYear": 2031, "cvc": CVC},
    }
    reply = client.post("/process-payment", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert reply.status_code == 400
    assert PAN not in reply.get_data(as_text=True)
    upi = {"userId": "U1001", "amount": 10, "method": "upi", "upiId": "priya@okaxis", "paymentMethodToken": token}
    reply = client.post("/process-payment", json=upi, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert reply.status_code == 400
    assert [d["field"] for d in reply.get_json()["error"]["details"]] == ["paymentMethodToken"]
