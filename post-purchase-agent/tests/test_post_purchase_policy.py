"""getPolicy: the words come from the seed, every number from the rule an agent enforces, so they cannot drift."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agentkit.contracts import load_contract
from fulfillment_agent import claims
from post_purchase_agent import domain, policy


@pytest.fixture
def client(make_app):
    return make_app("post-purchase").test_client()


def get_policy(client, topic, status=200):
    reply = client.post("/get-policy", json={"topic": topic})
    assert reply.status_code == status, reply.get_json()
    return reply.get_json()


def facts(client, topic):
    (entry,) = get_policy(client, topic)["policies"]
    return entry["facts"], entry["summary"]


def test_the_delivery_numbers_are_the_ones_fulfillment_charges(client):
    found, summary = facts(client, "delivery")
    fee, threshold = Decimal(str(found["deliveryFee"])), Decimal(str(found["freeDeliveryAbove"]))
    assert (fee, threshold) == (claims.SHIPPING_FEE, claims.FREE_SHIPPING_ABOVE)
    # and as fulfillment applies them: the fee up to the threshold, free above it, click and collect free
    assert claims.delivery_fee("ship_to_home", threshold) == fee
    assert claims.delivery_fee("ship_to_home", threshold + Decimal("0.01")) == 0
    assert claims.delivery_fee("click_and_collect", Decimal(1)) == Decimal(str(found["clickAndCollectFee"]))
    assert "₹99" in summary and "₹999" in summary


def test_the_return_window_is_the_one_returns_are_refused_by(client, make_app, monkeypatch):
    found, summary = facts(client, "returns")
    assert found["returnWindowDays"] == domain.return_window_days() == 30
    assert "within 30 days of delivery" in summary and found["refundMethod"] == "original_payment_method"
    monkeypatch.setenv("RETURN_WINDOW_DAYS", "14")  # the operator shortens the window: the policy follows at once
    found, summary = facts(client, "returns")
    assert found["returnWindowDays"] == 14 and "within 14 days" in summary
    exchanges, _ = facts(client, "exchanges")
    assert exchanges["exchangeWindowDays"] == 14


def test_the_exchange_hold_is_the_one_exchanges_hold_for(client):
    found, summary = facts(client, "exchanges")
    assert found["exchangeHoldDays"] * 86400 == domain.exchange_hold_seconds(load_contract("inventory"))
    assert f"held for you for {found['exchangeHoldDays']} days" in summary


def test_the_payment_methods_are_the_ones_the_payment_agent_takes(client):
    found, summary = facts(client, "payment")
    method = load_contract("payment").operation("processPayment").request_schema["properties"]["method"]
    assert found["paymentMethods"] == method["enum"] == ["card", "upi"]
    assert "cards and UPI" in summary and found["currency"] == "INR"


def test_all_answers_every_topic_once_in_order(client):
    answer = get_policy(client, "all")
    assert answer["topic"] == "all"
    assert [p["topic"] for p in answer["policies"]] == list(policy.TOPICS)
    for entry in answer["policies"]:
        assert entry == get_policy(client, entry["topic"])["policies"][0]
        assert "{" not in entry["summary"]  # every placeholder was filled


def test_an_unknown_topic_is_a_400_naming_topic(client):
    for body in ({"topic": "warranty"}, {}, {"topic": "returns", "extra": 1}):
        reply = client.post("/get-policy", json=body)
        assert reply.status_code == 400
        assert reply.get_json()["error"]["details"][0]["field"] in ("topic", "extra")
