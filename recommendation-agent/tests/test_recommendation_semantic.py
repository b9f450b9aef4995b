"""Recommendations read the shopper's words: occasion, recipient and "goes with" (recommendation_agent/semantic.py),
through the agent's API with the real inventory agent behind it."""

from __future__ import annotations

import pytest
import responses

from agentkit import AgentClient
from support import route_to_app

INVENTORY_URL = "http://inventory.agent.test"


@pytest.fixture
def rec(make_app):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        route_to_app(rsps, INVENTORY_URL, make_app("inventory"))
        client = AgentClient("inventory", base_url=INVENTORY_URL, retries=0)
        yield make_app("recommendation", clients={"inventory": client}).test_client()


def recommend(rec, **body):
    reply = rec.post("/get-recommendations", json={"count": 5, **body})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["products"]


def test_what_goes_well_with_a_banarasi_saree_is_its_complements_not_more_sarees(rec):
    products = recommend(rec, context="general", query="what goes well with a banarasi saree?")
    names = [p["name"] for p in products]
    assert names and not any("Saree" in n or "Kurta Set" in n for n in names), names
    assert {"Rajwada Embellished Juttis", "Zari Potli Bag", "Kashmir Valley Pashmina Stole"} & set(names), names


def test_an_anniversary_present_for_a_wife_under_3000_is_for_her_and_within_budget(rec):
    products = recommend(rec, context="gift", query="anniversary present for my wife", filters={"maxPrice": 3000})
    assert products and all(p["price"] <= 3000 for p in products)
    assert not any(n in p["name"] for p in products for n in ("Backpack", "Running Tee", "Shorts")), products


def test_a_gift_for_dad_who_likes_formal_clothes_is_men_and_formal(rec):
    products = recommend(rec, context="gift", query="gift for my dad, he likes formal stuff")
    names = [p["name"] for p in products]
    assert not any(n in name for name in names for n in ("Dress", "Saree", "Kurti", "Blouse")), names
    assert {"Classic Reversible Leather Belt", "Ballard Estate Leather Brogues", "Boardroom Oxford Shirt"} & set(
        names
    ) or any("Trousers" in n or "Overcoat" in n for n in names), names


def test_a_beach_holiday_in_goa_is_summer_wear(rec):
    products = recommend(rec, context="general", query="beach holiday in Goa")
    tags = [set(p.get("tags") or []) for p in products]
    names = [p["name"] for p in products]
    assert any({"summer", "vacation"} & t for t in tags) or any("Linen" in n or "Goa" in n for n in names), names
    assert not any("Puffer" in n or "Parka" in n for n in names), names
