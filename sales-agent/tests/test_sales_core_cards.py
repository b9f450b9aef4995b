"""The card vault: what the shopper types is redacted before anything else sees it."""

from __future__ import annotations

import pytest

from sales_agent.cards import CardVault, brand_of, luhn_ok, mask_numbers


@pytest.mark.parametrize(
    "text,expected",
    [
        ("pay with 4242 4242 4242 4242 exp 12/28 cvv 123", "pay with card ending 4242"),
        ("card: 4111-1111-1111-1111, 09/2027, CVC: 999 thanks", "card: card ending 1111, thanks"),
        ("use 5555555555554444 expiry 01/30 security code 321", "use card ending 4444"),
    ],
)
def test_redact_keeps_only_the_last_four_digits(text, expected):
    vault = CardVault()
    out = vault.redact("U1001", text)
    assert out == expected
    digits = "".join(ch for ch in text if ch.isdigit())
    assert digits[:12] not in "".join(ch for ch in out if ch.isdigit())
    card = vault.get("U1001")
    assert card.complete and card.luhn_valid
    assert card.number.endswith(out.split("card ending ")[1][:4])


def test_text_without_cards_is_left_alone():
    vault = CardVault()
    for text in ["call me on +91 98200 11001", "order ORD-100001 please", "under 6000 in size 32", "P1001 black M"]:
        assert vault.redact("U1001", text) == text
    assert vault.get("U1001") is None


def test_expiry_and_cvc_typed_later_complete_the_latest_card():
    vault = CardVault()
    vault.redact("U1001", "my card is 4242424242424242")
    assert vault.get("U1001").missing() == ["expiry", "cvc"]
    out = vault.redact("U1001", "exp 12/29 cvv 456")
    assert "456" not in out and "card ending 4242" in out
    card = vault.get("U1001", "card_ending_4242")
    assert (card.exp_month, card.exp_year, card.cvc) == (12, 2029, "456")


def test_cards_are_per_user_and_can_be_forgotten():
    vault = CardVault()
    vault.redact("U1001", "4242424242424242 12/28 cvc 123")
    assert vault.get("U1002") is None
    assert vault.get("U1001", "card ending 4242") is not None
    assert vault.get("U1001", "card_ending_1111") is None
    vault.forget("U1001")
    assert vault.get("U1001") is None


def test_cards_expire_from_memory():
    vault = CardVault(ttl=0)
    vault.redact("U1001", "4242424242424242 12/28 cvc 123")
    assert vault.get("U1001") is None


def test_a_card_never_prints_in_full():
    vault = CardVault()
    vault.redact("U1001", "4242424242424242 12/28 cvc 123")
    card = vault.get("U1001")
    assert "4242424242424242" not in repr(card) + str(card) + str(card.public()) + str(vault.cards("U1001"))
    assert "123" not in str(card.public())


def test_helpers():
    assert luhn_ok("4242424242424242") and not luhn_ok("4242424242424241")
    assert brand_of("4242424242424242") == "visa" and brand_of("5555555555554444") == "mastercard"
    assert mask_numbers("paid with 4242 4242 4242 4242 cvv 123") == "paid with card ending 4242 [cvc removed]"


def test_batch_card_dict():
    vault = CardVault()
    card = vault.put_card_dict("U1001", {"number": "4000 0000 0000 0002", "expiry": "11/27", "cvc": 123})
    assert (card.last4, card.exp_month, card.exp_year, card.cvc) == ("0002", 11, 2027, "123")
