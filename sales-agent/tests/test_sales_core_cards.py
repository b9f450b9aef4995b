"""Cards: what the shopper types is redacted before anything else sees it, and a complete card is swapped
for the payment agent's token within that one request (nothing keeps the number or the CVC)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit.cards import luhn_ok as kit_luhn_ok
from sales_agent.cards import CardTokens, brand_of, luhn_ok, mask_numbers, redact_text
from sales_agent.store import SalesStore
from support import fresh_database_url


class FakePayment:
    """The payment agent's tokenizePaymentMethod, answering a token per card; records what it was sent."""

    def __init__(self):
        self.sent: list[dict] = []

    def call(self, agent, operation, body, idempotency_key=None):
        assert (agent, operation) == ("payment", "tokenizePaymentMethod")
        self.sent.append(body)
        card = body["card"]
        return {
            "paymentMethodToken": f"pm_{len(self.sent):024x}",
            "userId": body["userId"],
            "type": "card",
            "cardBrand": brand_of(card["number"]),
            "cardLast4": card["number"][-4:],
            "expMonth": card["expMonth"],
            "expYear": card["expYear"],
            "createdAt": "2026-11-21T10:00:00Z",
        }


@pytest.fixture
def store(tmp_path):
    s = SalesStore(fresh_database_url("sales", tmp_path, "cards"))
    yield s
    s.dispose()


@pytest.fixture
def payment():
    return FakePayment()


@pytest.fixture
def vault(store, payment):
    return CardTokens().bind(payment, store)


@pytest.mark.parametrize(
    "text,expected,number,expiry,cvc",
    [
        (
            "pay with 4242 4242 4242 4242 exp 12/28 cvv 123",
            "pay with card ending 4242 (saved for payment)",
            "4242424242424242",
            (12, 2028),
            "123",
        ),
        (
            "card: 4111-1111-1111-1111, 09/2027, CVC: 999 thanks",
            "card: card ending 1111 (saved for payment), thanks",
            "4111111111111111",
            (9, 2027),
            "999",
        ),
        (
            "use 5555555555554444 expiry 01/30 security code 321",
            "use card ending 4444 (saved for payment)",
            "5555555555554444",
            (1, 2030),
            "321",
        ),
        (
            "my card is 4000.0566.5566.5556 12/29 the cvc number is 456",
            "my card is card ending 5556 (saved for payment)",
            "4000056655665556",
            (12, 2029),
            "456",
        ),
        (
            "4000056655665556 exp 11/30 code 2468",
            "card ending 5556 (saved for payment)",
            "4000056655665556",
            (11, 2030),
            "2468",
        ),
        (
            "amex 3782 822463 10005 exp 12/28 1234",
            "amex card ending 0005 (saved for payment)",
            "378282246310005",
            (12, 2028),
            "1234",
        ),
        (
            "amex 378282246310005 1234 12/28",
            "amex card ending 0005 (saved for payment)",
            "378282246310005",
            (12, 2028),
            "1234",
        ),
        (
            "ｃａｒｄ ４２４２ ４２４２ ４２４２ ４２４２ ｅｘｐ １２／２８ ｃｖｖ ９８７",
            "card card ending 4242 (saved for payment)",
            "4242424242424242",
            (12, 2028),
            "987",
        ),
    ],
)
def test_a_complete_card_is_tokenized_once_and_only_its_last_four_digits_stay(
    vault, payment, text, expected, number, expiry, cvc
):
    out = vault.redact("U1001", text)
    assert out == expected
    assert payment.sent == [
        {"userId": "U1001", "card": {"number": number, "expMonth": expiry[0], "expYear": expiry[1], "cvc": cvc}}
    ]
    assert cvc not in out and number[:12] not in re.sub(r"\D", "", out)
    card = vault.get("U1001")
    assert (card.last4, card.exp_month, card.exp_year) == (number[-4:], *expiry)
    assert card.token == "pm_" + "1".rjust(24, "0")


def test_the_sales_database_keeps_the_token_never_the_number_or_cvc(vault, store):
    import sqlalchemy as sa

    vault.redact("U1001", "4539 1488 0343 6467 exp 11/31 cvc 9731")
    with store.db.read() as conn:
        cells = "\n".join(
            str(value)
            for name in sa.inspect(conn).get_table_names()
            for row in conn.execute(sa.text(f"SELECT * FROM {name}"))
            for value in row
        )
    assert "6467" in cells and "pm_" in cells, "the scan sees the token row"
    assert "4539148803436467" not in cells and "453914880343" not in cells and "9731" not in cells


def test_text_without_cards_is_left_alone(vault, payment):
    for text in [
        "call me on +91 98200 11001",
        "my phone is 9820011001",
        "order ORD-100001 please",
        "under 6000 in size 32",
        "P1001 black M",
        "shirts under 4999.00, pincode 560001",
        "payment PAY-3F9A1C7E20 for U1001",
    ]:
        assert vault.redact("U1001", text) == text
    assert vault.get("U1001") is None and payment.sent == []


def test_a_card_without_its_expiry_or_cvc_is_not_kept(vault, payment):
    out = vault.redact("U1001", "my card is 4242424242424242")
    assert "4242424242424242" not in out and "card ending 4242" in out and "one message" in out
    assert vault.get("U1001") is None and payment.sent == []
    out = vault.redact("U1001", "exp 12/29 cvv 456")
    assert "456" not in out and "12/29" not in out
    assert vault.get("U1001") is None and payment.sent == []


def test_a_number_split_across_two_messages_leaves_no_piece_behind(vault, payment):
    first = vault.redact("U1001", "my card is 4000 0566")
    second = vault.redact("U1001", "5566 5556 and 12/28 456")
    joined = re.sub(r"\D", "", first + second)
    assert "40000566" not in joined and "55665556" not in joined and "456" not in second
    assert payment.sent == []


def test_an_invalid_number_is_removed_and_not_sent(vault, payment):
    out = vault.redact("U1001", "4242424242424241 12/28 cvc 123")
    assert "4242424242424241" not in out and "not a valid card number" in out
    assert payment.sent == []


def test_cards_are_per_user_and_can_be_forgotten(vault):
    vault.redact("U1001", "4242424242424242 12/28 cvc 123")
    assert vault.get("U1002") is None
    assert vault.get("U1001", "card ending 4242") is not None
    assert vault.get("U1001", "card_ending_1111") is None
    vault.forget("U1001")
    assert vault.get("U1001") is None


def test_tokens_are_forgotten_after_the_ttl(store, payment):
    vault = CardTokens(ttl=0).bind(payment, store)
    vault.redact("U1001", "4242424242424242 12/28 cvc 123")
    assert vault.get("U1001") is None


def test_every_worker_sees_the_same_tokens(vault, store, payment):
    vault.redact("U1001", "4242424242424242 12/28 cvc 123")
    other_worker = CardTokens().bind(payment, store)
    assert other_worker.get("U1001", "card_ending_4242").token == vault.get("U1001").token


def test_a_card_never_prints_in_full(vault):
    vault.redact("U1001", "4242424242424242 12/28 cvc 123")
    card = vault.get("U1001")
    assert "4242424242424242" not in repr(card) + str(card) + str(card.public()) + str(vault.cards("U1001"))
    assert "123" not in str(card.public())


def test_helpers():
    assert luhn_ok("4242424242424242") and not luhn_ok("4242424242424241")
    assert brand_of("4242424242424242") == "visa" and brand_of("5555555555554444") == "mastercard"
    assert mask_numbers("paid with 4242 4242 4242 4242 cvv 123") == "paid with card ending 4242"


def test_batch_card_dict(vault, payment):
    card = vault.put_card_dict("U1001", {"number": "4000 0000 0000 0002", "expiry": "11/27", "cvc": 123})
    assert (card.last4, card.exp_month, card.exp_year) == ("0002", 11, 2027)
    assert payment.sent[0]["card"] == {"number": "4000000000000002", "expMonth": 11, "expYear": 2027, "cvc": "123"}


# --- property-based: every way of typing a card ------------------------------------------------

PREFIXES = ["4", "51", "55", "2221", "34", "37", "60", "65", "81"]
FULL_WIDTH = str.maketrans("0123456789/", "０１２３４５６７８９／")


@st.composite
def card_numbers(draw):
    prefix = draw(st.sampled_from(PREFIXES))
    length = 15 if prefix in ("34", "37") else draw(st.sampled_from([16, 16, 19]))
    body = prefix + "".join(
        draw(
            st.lists(
                st.sampled_from("0123456789"), min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1
            )
        )
    )
    return next(body + d for d in "0123456789" if kit_luhn_ok(body + d))


@st.composite
def typed_cards(draw):
    number = draw(card_numbers())
    sep = draw(st.sampled_from(["", " ", "-", ".", "  ", " - "]))
    if number.startswith(("34", "37")) and draw(st.booleans()):
        groups = [number[:4], number[4:10], number[10:]]
    else:
        groups = [number[i : i + 4] for i in range(0, len(number), 4)]
    typed_number = sep.join(groups)
    month, year = draw(st.integers(1, 12)), draw(st.integers(2026, 2040))
    expiry = draw(
        st.sampled_from([f"{month:02d}/{year % 100:02d}", f"{month}/{year}", f"exp {month:02d}/{year % 100}"])
    )
    cvc = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=3, max_size=4)))
    cvc_text = draw(
        st.sampled_from(
            [f"cvv {cvc}", f"CVC: {cvc}", f"the cvc number is {cvc}", f"security code {cvc}", f"code {cvc}", cvc]
        )
    )
    lead = draw(st.sampled_from(["", "my card is ", "pay with ", "card: "]))
    text = f"{lead}{typed_number} {expiry} {cvc_text}"
    if draw(st.booleans()):
        text = text.translate(FULL_WIDTH)
    return text, number, (month, year), cvc


def _digits(text: str) -> str:
    import unicodedata

    return re.sub(r"\D", "", unicodedata.normalize("NFKC", text))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=typed_cards())
def test_any_typed_card_is_tokenized_and_nothing_card_like_remains(typed):
    text, number, (month, year), cvc = typed
    payment = FakePayment()
    vault = CardTokens()
    vault.clients = payment
    vault.db = _MemoryDb()
    out = vault.redact("U1001", text)
    assert payment.sent == [
        {"userId": "U1001", "card": {"number": number, "expMonth": month, "expYear": year, "cvc": cvc}}
    ], (text, out)
    assert _digits(out) == number[-4:], (text, out)


@settings(max_examples=200, deadline=None)
@given(number=card_numbers(), cut=st.integers(1, 18), sep=st.sampled_from(["", " ", "-", "."]))
def test_a_card_split_across_two_messages_never_survives(number, cut, sep):
    cut = min(cut, len(number) - 1)
    groups = lambda part: sep.join(part[i : i + 4] for i in range(0, len(part), 4))  # noqa: E731
    first, _ = redact_text(groups(number[:cut]))
    second, _ = redact_text(groups(number[cut:]))
    kept = _digits(first) + _digits(second)
    assert number not in kept
    assert len(kept) <= 7 + 4, (number, cut, first, second)  # at most a BIN-sized head and the last four


@settings(max_examples=200, deadline=None)
@given(number=card_numbers(), sep=st.sampled_from(["", " ", "-", "."]))
def test_mask_numbers_never_leaves_a_card_in_a_log_line(number, sep):
    line = f"shopper said: {sep.join(number[i : i + 4] for i in range(0, len(number), 4))} ok"
    assert _digits(mask_numbers(line)) == number[-4:]


class _MemoryDb:
    """Enough of agentkit.Database for CardTokens under hypothesis (no file per example)."""

    def __init__(self):
        import sqlalchemy as sa

        from sales_agent.cards import metadata

        self.engine = sa.create_engine("sqlite://")
        metadata.create_all(self.engine)

    def write(self):
        return self.engine.begin()

    read = write
