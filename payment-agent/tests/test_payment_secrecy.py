"""Card numbers and CVCs never reach the database, an answer or a log line; data survives a restart."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from agentkit.logs import JsonFormatter
from payment_agent import gateway
from payment_agent.app import create_app

PAN = "4539148803436467"  # a valid Visa number: succeeds
DECLINED_PAN = "4539148803281111"  # ends in 1111: insufficient funds
CVC = "9731"
CVC_ALONE = re.compile(r"(?<![0-9A-Fa-f])9731(?![0-9A-Fa-f])")  # not inside a random hex id
LONG_DIGITS = re.compile(r"(?<![0-9A-Fa-f])\d(?:[ -]?\d){11,}(?![0-9A-Fa-f])")  # not inside a hash


def test_the_test_cards_are_what_they_claim():
    assert gateway.luhn_ok(PAN) and gateway.luhn_ok(DECLINED_PAN)
    assert gateway.card_brand(PAN) == "visa"


def pay(client, number=PAN, cvc=CVC, **body):
    body = {
        "userId": "U1001",
        "amount": 1999,
        "method": "card",
        "card": {"number": number, "expMonth": 11, "expYear": 2031, "cvc": cvc, "holderName": "Priya Sharma"},
        **body,
    }
    return client.post("/process-payment", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})


def assert_no_card_data(text: str, *numbers: str) -> None:
    for number in numbers or (PAN, DECLINED_PAN):
        assert number not in text
        assert number[:12] not in text
    assert not LONG_DIGITS.search(text), LONG_DIGITS.search(text).group(0)
    assert not CVC_ALONE.search(text)


@pytest.fixture
def app(make_app):
    return make_app("payment")


def test_the_database_never_holds_a_card_number_or_cvc(app):
    client = app.test_client()
    ok = pay(client)
    assert ok.status_code == 201
    assert pay(client, number=DECLINED_PAN).status_code == 402
    assert pay(client, number=PAN[:-1] + "0").status_code == 400  # fails Luhn
    payment_id = ok.get_json()["paymentId"]
    assert (
        client.post("/refund-payment", json={"paymentId": payment_id, "amount": 100, "reason": "goodwill"}).status_code
        == 201
    )

    with app.db.read() as conn:
        cells = [
            str(value)
            for table in app.db.metadata.sorted_tables
            for row in conn.execute(sa.select(table))
            for value in row
        ]
    assert payment_id in cells and PAN[-4:] in cells  # the scan sees the data: only last4 is kept
    everything = "\n".join(cells)
    assert_no_card_data(everything)
    assert "cvc" not in everything.lower() and "holder" not in everything.lower()

    if app.db.is_sqlite:
        app.db.dispose()
        database = Path(app.db.engine.url.database)
        raw = b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))
        assert payment_id.encode() in raw
        for number in (PAN, DECLINED_PAN):
            assert number.encode() not in raw and number[:12].encode() not in raw


BAD_CARD_BODIES = [
    ("spaces in the number", {"card": {"number": "4539 1488 0343 6467", "expMonth": 11, "expYear": 2031, "cvc": CVC}}),
    ("number as a JSON number", {"card": {"number": int(PAN), "expMonth": 11, "expYear": 2031, "cvc": CVC}}),
    ("cvc as a JSON number", {"card": {"number": PAN, "expMonth": 11, "expYear": 2031, "cvc": int(CVC)}}),
    ("cvc too long", {"card": {"number": PAN, "expMonth": 11, "expYear": 2031, "cvc": CVC + "5"}}),
    ("card as a string", {"card": PAN + " 11/31 " + CVC}),
    ("card as a list", {"card": [PAN, CVC]}),
    ("expiry month wrong", {"card": {"number": PAN, "expMonth": 13, "expYear": 2031, "cvc": CVC}}),
    ("cvv instead of cvc", {"card": {"number": PAN, "expMonth": 11, "expYear": 2031, "cvv": CVC}}),
    ("number too long", {"card": {"number": PAN + PAN, "expMonth": 11, "expYear": 2031, "cvc": CVC}}),
]


@pytest.mark.parametrize("label,change", BAD_CARD_BODIES, ids=[b[0] for b in BAD_CARD_BODIES])
def test_a_400_never_repeats_the_card_number_or_cvc(app, label, change):
    body = {"userId": "U1001", "amount": 1999, "method": "card", **change}
    reply = app.test_client().post("/process-payment", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert reply.status_code == 400, reply.get_json()
    assert reply.get_json()["error"]["details"], "the 400 still names what is wrong"
    text = reply.get_data(as_text=True)
    assert_no_card_data(text, PAN, PAN + PAN)
    assert "4539 1488" not in text and CVC + "5" not in text


def test_a_non_object_body_with_card_data_is_not_echoed(app):
    body = [
        {
            "userId": "U1001",
            "amount": 1999,
            "method": "card",
            "card": {"number": PAN, "expMonth": 11, "expYear": 2031, "cvc": CVC},
        }
    ]
    reply = app.test_client().post("/process-payment", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert reply.status_code == 400
    assert_no_card_data(reply.get_data(as_text=True))


def test_answers_to_good_and_declined_cards_never_repeat_them(app):
    client = app.test_client()
    for reply in (pay(client), pay(client, number=DECLINED_PAN), pay(client, number=PAN[:-1] + "0")):
        text = reply.get_data(as_text=True)
        assert_no_card_data(text, PAN, DECLINED_PAN, PAN[:-1] + "0")
        assert "Priya Sharma" not in text


def test_log_lines_never_carry_card_data(app):
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(JsonFormatter().format(record))

    logger = logging.getLogger("agents")
    handler, level = Collect(level=logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        client = app.test_client()
        pay(client)
        pay(client, number=DECLINED_PAN)
        pay(client, number=PAN[:-1] + "0")
        client.post(
            "/process-payment",
            json={"userId": "U1001", "amount": 1, "method": "card", "card": PAN},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert len(lines) >= 4, "every request is logged"
    assert_no_card_data("\n".join(lines))


def test_payments_refunds_and_sessions_survive_a_restart(make_app):
    first = make_app("payment")
    client = first.test_client()
    session = client.post("/initiate-checkout", json={"userId": "U1002", "amount": 1999}).get_json()
    key = "restart-pay-000001"
    body = {
        "checkoutSessionId": session["checkoutSessionId"],
        "userId": "U1002",
        "amount": 1999,
        "method": "card",
        "card": {"number": PAN, "expMonth": 11, "expYear": 2031, "cvc": CVC},
    }
    paid = client.post("/process-payment", json=body, headers={"Idempotency-Key": key}).get_json()
    refunded = client.post(
        "/refund-payment", json={"paymentId": paid["paymentId"], "amount": 500, "reason": "size exchange"}
    ).get_json()
    first.db.dispose()

    second = create_app(database_url=first.db.url)
    second.testing = True
    try:
        again = second.test_client()
        payment = again.post("/check-payment-status", json={"paymentId": paid["paymentId"]}).get_json()
        assert (payment["status"], payment["refundedAmount"]) == ("partially_refunded", 500)
        assert [r["refundId"] for r in payment["refunds"]] == [refunded["refundId"]]
        stored_session = again.post(
            "/get-checkout-session", json={"checkoutSessionId": session["checkoutSessionId"]}
        ).get_json()
        assert (stored_session["status"], stored_session["paymentId"]) == ("paid", paid["paymentId"])
        replay = again.post("/process-payment", json=body, headers={"Idempotency-Key": key})
        assert replay.status_code == 201 and replay.get_json()["paymentId"] == paid["paymentId"]
        seeded = again.post("/check-payment-status", json={"paymentId": "PAY-6C2Z8H4R"}).get_json()
        assert len(seeded["refunds"]) == 1, "the seed is loaded once, not again on restart"
    finally:
        second.db.dispose()
