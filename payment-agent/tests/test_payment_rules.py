"""Payment agent business rules: the mock gateway, checkout sessions and refunds."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from agentkit import clock
from payment_agent import gateway, storage

CVC = "123"


def luhn_complete(prefix: str, length: int = 16) -> str:
    """``prefix`` padded with zeros and finished with the right check digit."""
    body = prefix.ljust(length - 1, "0")
    return next(body + d for d in "0123456789" if gateway.luhn_ok(body + d))


def with_last4(prefix: str, last4: str, length: int = 16) -> str:
    """A Luhn-valid number that starts with ``prefix`` and ends in ``last4`` (one middle digit varies)."""
    head = prefix.ljust(length - 5, "0")
    return next(head + d + last4 for d in "0123456789" if gateway.luhn_ok(head + d + last4))


def card(number: str, exp_month: int = 12, exp_year: int = 2030, cvc: str = CVC) -> dict:
    return {"number": number, "expMonth": exp_month, "expYear": exp_year, "cvc": cvc, "holderName": "Test Shopper"}


@pytest.fixture
def app(make_app):
    return make_app("payment")


@pytest.fixture
def client(app):
    return app.test_client()


def pay(client, key: str | None = None, **body):
    body.setdefault("userId", "U1001")
    body.setdefault("amount", 1000)
    body.setdefault("method", "card" if "card" in body else "upi")
    return client.post("/process-payment", json=body, headers={"Idempotency-Key": key or uuid.uuid4().hex})


def status_of(client, payment_id: str) -> dict:
    reply = client.post("/check-payment-status", json={"paymentId": payment_id})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def recorded_attempt(error: dict) -> str:
    return re.search(r"PAY-[0-9A-Z]+", error["message"]).group(0)


def fields(reply) -> list[str]:
    return [d["field"] for d in reply.get_json()["error"]["details"]]


# --- cards -------------------------------------------------------------------------------------


def test_luhn_failure_is_a_400_naming_card_number_and_records_nothing(client):
    reply = pay(client, card=card("4242424242424241"), userId="U1099")
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "invalid_card_number"
    assert fields(reply) == ["card.number"]
    assert "4242424242424241" not in reply.get_data(as_text=True)
    assert client.post("/list-payments", json={"userId": "U1099"}).get_json()["payments"] == []


def test_card_number_must_be_digits_only(client):
    reply = pay(client, card=card("4242 4242 4242 4242"))
    assert reply.status_code == 400
    assert "card.number" in fields(reply)


def test_method_and_instrument_must_match(client):
    missing = pay(client, method="card")
    assert missing.status_code == 400 and "card" in fields(missing)
    missing_upi = pay(client, method="upi")
    assert missing_upi.status_code == 400 and "upiId" in fields(missing_upi)
    both = pay(client, method="card", card=card("4242424242424242"), upiId="priya@okaxis")
    assert both.status_code == 400 and fields(both) == ["upiId"]
    card_with_upi = pay(client, method="upi", upiId="priya@okaxis", card=card("4242424242424242"))
    assert card_with_upi.status_code == 400 and fields(card_with_upi) == ["card"]


def test_4242_succeeds_and_keeps_only_brand_and_last4(client):
    reply = pay(client, card=card("4242424242424242"), amount=4999)
    assert reply.status_code == 201
    body = reply.get_json()
    assert body["status"] == "succeeded" and body["paymentId"].startswith("PAY-")
    assert (body["method"], body["cardBrand"], body["cardLast4"], body["upiId"]) == ("card", "visa", "4242", None)
    assert body["amount"] == 4999 and body["currency"] == "INR"
    assert body["refundedAmount"] == 0 and body["refunds"] == [] and body["declineCode"] is None
    assert status_of(client, body["paymentId"]) == body


def test_any_other_valid_card_succeeds(client):
    reply = pay(client, card=card("5555555555554444"))
    assert reply.status_code == 201
    assert (reply.get_json()["cardBrand"], reply.get_json()["cardLast4"]) == ("mastercard", "4444")


DECLINES = [
    (
        "1111",
        "insufficient_funds",
        False,
        ["Try another card", "Pay by UPI instead", "Use fewer items or redeem loyalty points to lower the total"],
    ),
    ("2222", "expired_card", False, list(gateway.SUGGESTIONS["expired_card"])),
    ("3333", "processing_error", True, list(gateway.SUGGESTIONS["card_processing_error"])),
]


@pytest.mark.parametrize("last4,decline_code,retryable,suggestions", DECLINES, ids=[d[0] for d in DECLINES])
def test_magic_cards_are_declined_with_a_code_and_suggestions(client, last4, decline_code, retryable, suggestions):
    number = with_last4("4", last4)
    reply = pay(client, card=card(number), userId="U1004", amount=2599)
    assert reply.status_code == 402
    error = reply.get_json()["error"]
    assert error["code"] == "card_declined"
    assert error["declineCode"] == decline_code
    assert error["retryable"] is retryable
    assert error["suggestions"] == suggestions
    assert error["details"] == [{"field": "card", "message": decline_code}]
    assert number not in reply.get_data(as_text=True)

    attempt = status_of(client, recorded_attempt(error))
    assert (attempt["status"], attempt["declineCode"], attempt["cardLast4"]) == ("failed", decline_code, last4)
    assert attempt["amount"] == 2599 and attempt["refundedAmount"] == 0
    failed = client.post("/list-payments", json={"userId": "U1004", "status": "failed"}).get_json()["payments"]
    assert [p["paymentId"] for p in failed] == [attempt["paymentId"]]


def test_3333_keeps_failing_even_with_a_new_key(client):
    for _ in range(2):
        reply = pay(client, card=card(with_last4("5", "3333")))
        assert reply.status_code == 402 and reply.get_json()["error"]["retryable"] is True


def test_an_expiry_in_the_past_is_declined_expired_card(client):
    today = clock.now()
    last_month = today.replace(day=1) - timedelta(days=1)
    reply = pay(client, card=card("4242424242424242", exp_month=last_month.month, exp_year=last_month.year))
    assert reply.status_code == 402
    assert reply.get_json()["error"]["declineCode"] == "expired_card"
    this_month = pay(client, card=card("4242424242424242", exp_month=today.month, exp_year=today.year))
    assert this_month.status_code == 201, "a card is good through the end of its expiry month"


@pytest.mark.parametrize(
    "prefix,brand",
    [
        ("4", "visa"),
        ("51", "mastercard"),
        ("55", "mastercard"),
        ("2221", "mastercard"),
        ("2720", "mastercard"),
        ("34", "amex"),
        ("37", "amex"),
        ("60", "rupay"),
        ("65", "rupay"),
        ("81", "rupay"),
        ("82", "rupay"),
        ("508", "rupay"),
        ("35", "unknown"),
        ("2721", "unknown"),
    ],
)
def test_brand_comes_from_the_bin(client, prefix, brand):
    number = luhn_complete(prefix + "12345678", 15 if brand == "amex" else 16)
    assert number[-4:] not in {"1111", "2222", "3333"}
    reply = pay(client, card=card(number))
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["cardBrand"] == brand


def test_amounts_have_at_most_two_decimals(client):
    reply = pay(client, card=card("4242424242424242"), amount=10.005)
    assert reply.status_code == 400 and fields(reply) == ["amount"]
    ok = pay(client, card=card("4242424242424242"), amount=10.05)
    assert ok.status_code == 201 and ok.get_json()["amount"] == 10.05


# --- UPI ---------------------------------------------------------------------------------------


def test_upi_success_is_stored_masked(client):
    reply = pay(client, upiId="priya.sharma@okaxis", amount=2599)
    assert reply.status_code == 201
    body = reply.get_json()
    assert (body["method"], body["upiId"], body["cardBrand"], body["cardLast4"]) == ("upi", "pr***@okaxis", None, None)
    assert "priya.sharma" not in reply.get_data(as_text=True)


@pytest.mark.parametrize(
    "upi_id,decline_code,retryable",
    [
        ("ananya@okfail", "upi_declined", False),
        ("rohan.k@timeout", "processing_error", True),
    ],
)
def test_upi_declines(client, upi_id, decline_code, retryable):
    reply = pay(client, upiId=upi_id, userId="U1003")
    assert reply.status_code == 402
    error = reply.get_json()["error"]
    assert (error["code"], error["declineCode"], error["retryable"]) == ("payment_declined", decline_code, retryable)
    assert error["suggestions"] and all(isinstance(s, str) and s for s in error["suggestions"])
    assert error["details"] == [{"field": "upiId", "message": decline_code}]
    attempt = status_of(client, recorded_attempt(error))
    assert (attempt["status"], attempt["declineCode"], attempt["upiId"]) == (
        "failed",
        decline_code,
        gateway.mask_upi(upi_id),
    )


@pytest.mark.parametrize("upi_id", ["priya", "p@okaxis", "priya@ok-axis", "priya@okaxis1", "pri ya@okaxis"])
def test_malformed_upi_ids_are_a_400_naming_upi_id(client, upi_id):
    reply = pay(client, upiId=upi_id)
    assert reply.status_code == 400 and "upiId" in fields(reply)


# --- checkout sessions -------------------------------------------------------------------------


def open_session(client, amount=4999, user="U1001", **extra):
    reply = client.post("/initiate-checkout", json={"userId": user, "amount": amount, **extra})
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def test_a_checkout_session_is_open_for_30_minutes(client):
    session = open_session(client, orderReference="cart-42", description="Alpine Puffer Jacket")
    assert session["checkoutSessionId"].startswith("CHK-")
    assert (session["status"], session["currency"], session["paymentId"]) == ("open", "INR", None)
    assert (session["orderReference"], session["description"]) == ("cart-42", "Alpine Puffer Jacket")
    lifetime = clock.parse(session["expiresAt"]) - clock.parse(session["createdAt"])
    assert lifetime == timedelta(minutes=30)
    again = client.post("/get-checkout-session", json={"checkoutSessionId": session["checkoutSessionId"]})
    assert again.get_json() == session


def test_the_amount_must_equal_the_sessions(client):
    session = open_session(client, amount=4999)
    reply = pay(client, checkoutSessionId=session["checkoutSessionId"], amount=4998, card=card("4242424242424242"))
    assert reply.status_code == 422
    assert reply.get_json()["error"]["code"] == "amount_mismatch" and fields(reply) == ["amount"]
    still = client.post("/get-checkout-session", json={"checkoutSessionId": session["checkoutSessionId"]}).get_json()
    assert still["status"] == "open"
    listed = client.post("/list-payments", json={"userId": "U1001", "limit": 100}).get_json()["payments"]
    assert all(p["checkoutSessionId"] != session["checkoutSessionId"] for p in listed), (
        "a mismatch is refused before the gateway: no attempt is recorded"
    )


def test_paying_a_session_marks_it_paid_once(client):
    session = open_session(client, amount=4999.5, orderReference="cart-7")
    sid = session["checkoutSessionId"]
    declined = pay(client, checkoutSessionId=sid, amount=4999.5, card=card(with_last4("4", "1111")))
    assert declined.status_code == 402
    assert client.post("/get-checkout-session", json={"checkoutSessionId": sid}).get_json()["status"] == "open"

    paid = pay(client, checkoutSessionId=sid, amount=4999.5, upiId="priya@okaxis")
    assert paid.status_code == 201
    payment = paid.get_json()
    assert (payment["checkoutSessionId"], payment["orderReference"]) == (sid, "cart-7")
    now = client.post("/get-checkout-session", json={"checkoutSessionId": sid}).get_json()
    assert (now["status"], now["paymentId"]) == ("paid", payment["paymentId"])

    twice = pay(client, checkoutSessionId=sid, amount=4999.5, upiId="priya@okaxis")
    assert twice.status_code == 409
    assert twice.get_json()["error"]["code"] == "checkout_already_paid"


def test_session_of_another_shopper_or_unknown(client):
    session = open_session(client, user="U1002")
    other = pay(client, checkoutSessionId=session["checkoutSessionId"], amount=4999, upiId="priya@okaxis")
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "session_user_mismatch"
    unknown = pay(client, checkoutSessionId="CHK-0000000000", amount=4999, upiId="priya@okaxis")
    assert unknown.status_code == 404 and fields(unknown) == ["checkoutSessionId"]


def test_an_expired_session_cannot_be_paid(app, client):
    session = open_session(client)
    sid = session["checkoutSessionId"]
    with app.db.write() as conn:
        conn.execute(
            storage.checkout_sessions.update()
            .where(storage.checkout_sessions.c.checkout_session_id == sid)
            .values(expires_at=clock.later_iso(-1))
        )
    assert client.post("/get-checkout-session", json={"checkoutSessionId": sid}).get_json()["status"] == "expired"
    reply = pay(client, checkoutSessionId=sid, amount=4999, upiId="priya@okaxis")
    assert reply.status_code == 409 and reply.get_json()["error"]["code"] == "checkout_expired"


# --- refunds -----------------------------------------------------------------------------------


def refund(client, payment_id, amount=None, reason="return accepted", key=None):
    body = {"paymentId": payment_id, "reason": reason}
    if amount is not None:
        body["amount"] = amount
    return client.post("/refund-payment", json=body, headers={"Idempotency-Key": key} if key else {})


def test_refunds_never_exceed_what_was_paid(client):
    payment_id = pay(client, card=card("4242424242424242"), amount=1000).get_json()["paymentId"]
    first = refund(client, payment_id, 400)
    assert first.status_code == 201
    receipt = first.get_json()
    assert receipt["refundId"].startswith("RFD-")
    assert (receipt["amount"], receipt["status"], receipt["paymentStatus"], receipt["refundedAmount"]) == (
        400,
        "succeeded",
        "partially_refunded",
        400,
    )

    too_much = refund(client, payment_id, 600.01)
    assert too_much.status_code == 422
    assert too_much.get_json()["error"]["code"] == "refund_exceeds_payment" and fields(too_much) == ["amount"]
    assert status_of(client, payment_id)["refundedAmount"] == 400

    rest = refund(client, payment_id)  # no amount: everything that is left
    assert rest.status_code == 201
    assert (rest.get_json()["amount"], rest.get_json()["paymentStatus"], rest.get_json()["refundedAmount"]) == (
        600,
        "refunded",
        1000,
    )
    assert refund(client, payment_id, 1).status_code == 422
    assert refund(client, payment_id).get_json()["error"]["code"] == "refund_exceeds_payment"

    final = status_of(client, payment_id)
    assert (final["status"], final["refundedAmount"]) == ("refunded", 1000)
    assert [r["amount"] for r in final["refunds"]] == [400, 600]
    assert [r["refundId"] for r in final["refunds"]] == [receipt["refundId"], rest.get_json()["refundId"]]


def test_a_full_refund_flips_the_status(client):
    payment_id = pay(client, upiId="priya@okaxis", amount=2599).get_json()["paymentId"]
    reply = refund(client, payment_id, 2599, reason="order cancelled")
    assert reply.status_code == 201 and reply.get_json()["paymentStatus"] == "refunded"
    assert status_of(client, payment_id)["status"] == "refunded"


def test_paise_add_up_exactly(client):
    payment_id = pay(client, upiId="priya@okaxis", amount=100.3).get_json()["paymentId"]
    for part in (0.1, 0.2, 100):
        assert refund(client, payment_id, part).status_code == 201
    final = status_of(client, payment_id)
    assert (final["status"], final["refundedAmount"]) == ("refunded", 100.3)


def test_failed_payments_and_unknown_ids_cannot_be_refunded(client):
    error = pay(client, card=card(with_last4("4", "1111"))).get_json()["error"]
    failed = refund(client, recorded_attempt(error))
    assert failed.status_code == 422 and failed.get_json()["error"]["code"] == "payment_not_refundable"
    assert refund(client, "PAY-000000").status_code == 404


def test_the_seeded_refunded_payment(client):
    seeded = status_of(client, "PAY-6C2Z8H4R")
    assert (seeded["status"], seeded["refundedAmount"], seeded["orderReference"]) == ("refunded", 3598, "ORD-100008")
    assert [r["refundId"] for r in seeded["refunds"]] == ["RFD-6C2Z8H4R"]
    assert refund(client, "PAY-6C2Z8H4R").status_code == 422


def test_concurrent_refunds_cannot_exceed_the_amount(app):
    payment_id = pay(app.test_client(), card=card("4242424242424242"), amount=1000).get_json()["paymentId"]
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker():
        client = app.test_client()
        start.wait()
        status = refund(client, payment_id, 300).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 3 + [422] * 5
    final = status_of(app.test_client(), payment_id)
    assert (final["refundedAmount"], final["status"], len(final["refunds"])) == (900, "partially_refunded", 3)
    with app.db.read() as conn:
        total = conn.execute(
            sa.select(sa.func.sum(storage.refunds.c.amount)).where(storage.refunds.c.payment_id == payment_id)
        ).scalar()
    assert float(total) == 900


def test_a_refund_with_an_idempotency_key_happens_once(client):
    payment_id = pay(client, upiId="priya@okaxis", amount=500).get_json()["paymentId"]
    first = refund(client, payment_id, 100, key="refund-once-0001")
    again = refund(client, payment_id, 100, key="refund-once-0001")
    assert first.status_code == again.status_code == 201
    assert first.get_json()["refundId"] == again.get_json()["refundId"]
    assert status_of(client, payment_id)["refundedAmount"] == 100


def test_a_replayed_payment_charges_once(client):
    body = {"card": card("4242424242424242"), "userId": "U1006", "amount": 799}
    first = pay(client, key="pay-once-000001", **body)
    again = pay(client, key="pay-once-000001", **body)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["paymentId"] == again.get_json()["paymentId"]
    listed = client.post("/list-payments", json={"userId": "U1006"}).get_json()["payments"]
    assert [p["paymentId"] for p in listed if p["amount"] == 799] == [first.get_json()["paymentId"]]


def test_list_payments_newest_first(client):
    ids = [pay(client, upiId="priya@okaxis", userId="U1007", amount=a).get_json()["paymentId"] for a in (10, 20)]
    listed = client.post("/list-payments", json={"userId": "U1007", "limit": 100}).get_json()["payments"]
    assert {p["paymentId"] for p in listed} >= set(ids)
    assert [p["createdAt"] for p in listed] == sorted((p["createdAt"] for p in listed), reverse=True)
    assert client.post("/list-payments", json={"userId": "U9999"}).get_json() == {"userId": "U9999", "payments": []}
