"""The shopper messages of issue 12, each with the right answer: the offline model, the real agent graph and
the real agents in process (as the journey tests), state read back from the cart and the replies."""

from __future__ import annotations

import re

import pytest

from sales_agent.cards import CardVault
from sales_agent.offline.model import OfflineChatModel
from sales_agent.testing import session_for_tests
from support import USE_POSTGRES, WiredSystem, fresh_database_url

SHOPPER = "U1001"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("shoppers")
    wired = WiredSystem(tmp_path, tag="s")
    memory = fresh_database_url("salesmem", tmp_path, "s") if USE_POSTGRES else str(tmp_path / "memory.db")
    database = fresh_database_url("sales", tmp_path, "s")
    session = session_for_tests(
        tmp_path, OfflineChatModel(), database_url=database, memory_url=memory, vault=CardVault()
    )
    yield session
    session.close()
    wired.close()


@pytest.fixture
def say(shop):
    """A fresh conversation for the shopper: conversation and cart forgotten first."""
    shop.reset(SHOPPER)

    def send(text):
        return shop.send(SHOPPER, text)

    return send


def prices(reply: str) -> list[float]:
    return [float(m.replace(",", "")) for m in re.findall(r"₹([\d,]+(?:\.\d+)?)", reply)]


def tools(turn) -> list[str]:
    return [c.get("tool") for c in turn.tool_calls]


def names(turn) -> set[str]:
    return {line["name"] for line in turn.cart.get("lines") or []}


# --- budgets ------------------------------------------------------------------------------------------------


def test_nothing_above_5000_rupees_is_a_ceiling(say):
    say("show me winter jackets")
    turn = say("nothing above 5000 rupees")
    assert "search_products" in tools(turn)
    assert prices(turn.reply) and max(prices(turn.reply)) <= 5000, turn.reply
    assert "over ₹5,000" not in turn.reply


def test_sneakers_not_more_than_3500(say):
    turn = say("sneakers not more than 3500")
    assert "between ₹3,500 and ₹3,500" not in turn.reply
    assert "Cloud Walk Everyday Sneakers" in turn.reply and "Velocity Runner" not in turn.reply


def test_hinglish_jacket_under_3000_keeps_the_budget(say):
    turn = say("koi achhi jacket hai kya 3000 ke andar?")
    assert "search_products" in tools(turn)
    assert prices(turn.reply) and max(prices(turn.reply)) <= 3000, turn.reply
    assert "Kasauli Sherpa Fleece Jacket" in turn.reply


def test_a_budget_that_cannot_be_met_is_said(say):
    turn = say("silk saree under 500")
    assert "Banarasi" not in turn.reply and "₹12,499" not in turn.reply
    assert "₹500" in turn.reply


# --- recommendations ---------------------------------------------------------------------------------------


def test_anniversary_present_for_my_wife_under_3000(say):
    turn = say("anniversary present for my wife under 3000")
    assert tools(turn) == ["recommend_products"]
    assert "Backpack" not in turn.reply and "Running Tee" not in turn.reply
    assert prices(turn.reply) and max(prices(turn.reply)) <= 3000
    assert any(n in turn.reply for n in ("Pashmina Stole", "Potli Bag", "Tote Bag", "Dress", "Saree")), turn.reply


def test_what_goes_well_with_a_banarasi_saree_is_complements(say):
    turn = say("what goes well with a banarasi saree?")
    assert "recommend_products" in tools(turn)
    assert "Saree" not in re.sub(r"Banarasi Saree", "", turn.reply) and "Kurta Set" not in turn.reply, turn.reply
    assert any(n in turn.reply for n in ("Juttis", "Potli Bag", "Pashmina Stole")), turn.reply


def test_a_gift_for_dad_who_likes_formal_stuff(say):
    turn = say("need a gift for my dad, he likes formal stuff")
    assert tools(turn) == ["recommend_products"]
    assert "Dress" not in turn.reply and "Saree" not in turn.reply, turn.reply
    assert any(n in turn.reply for n in ("Belt", "Oxford", "Brogues", "Overcoat", "Tote", "Trousers")), turn.reply


# --- stock and stores ----------------------------------------------------------------------------------


def test_is_the_bomber_jacket_sold_out_checks_stock(say):
    turn = say("is the bomber jacket sold out?")
    assert "check_stock" in tools(turn), tools(turn)
    assert "Bandra Bomber Jacket" in turn.reply


def test_trench_coats_in_m_beige_left_online(say):
    turn = say("how many trench coats in M beige are left online?")
    assert "check_stock" in tools(turn), tools(turn)
    assert "Gulmarg Belted Trench Coat" in turn.reply and "online" in turn.reply.lower()


def test_reserve_the_denim_trucker_jacket_at_orion_mall(say):
    turn = say("reserve the denim trucker jacket in L indigo at Orion Mall")
    assert "reserve_in_store" in tools(turn), (tools(turn), turn.reply)
    # the right jacket at the right store: Orion Mall has none in Indigo L, so it says where to find one
    assert "Orion Mall" in turn.reply and "Indigo L" in turn.reply, turn.reply
    assert "P1023" not in turn.reply and "Jeans" not in turn.reply
    assert not re.search(r"\bST-[A-Z]{3}-\d{2}\b|\bP\d{4}\b", turn.reply), "no internal ids in replies"


# --- the cart --------------------------------------------------------------------------------------------


def test_add_the_banarasi_saree_in_red(say):
    turn = say("add the Varanasi Zari Banarasi Saree in red")
    # the saree, in red: sold out online in the seed stock, which it says (with similar sarees to buy)
    assert "add_to_cart" in tools(turn)
    assert "Varanasi Zari Banarasi Saree in Red" in turn.reply and "sold out" in turn.reply, turn.reply
    assert "Potli" not in turn.reply and names(turn) <= {"Varanasi Zari Banarasi Saree"}


def test_a_stale_question_is_dropped_and_the_right_shoe_is_added(say):
    say("cancel my reservation")
    found = say("show me running shoes")
    assert "Velocity Runner Sneakers" in found.reply
    say("9, Black")
    turn = say("add it in 9 Black")
    assert "Cargo" not in turn.reply and "Cargo" not in " ".join(names(turn))
    assert names(turn) <= {"Velocity Runner Sneakers"}
    if not names(turn):  # not sure which: it asks, never picks a wrong one
        assert "?" in turn.reply


def test_drop_the_muffler(say):
    say("add the Snowfall Ribbed Muffler in grey")
    say("add the Essential Crew Tee in M white")
    turn = say("drop the muffler")
    assert names(turn) == {"Essential Crew Tee"}, turn.reply


def test_empty_my_cart(say):
    say("add the Snowfall Ribbed Muffler in grey")
    say("add the Essential Crew Tee in M white")
    turn = say("empty my cart")
    assert turn.cart.get("lines") == [] and "search_products" not in tools(turn), turn.reply


def test_actually_just_one_kurta(say):
    say("add 2 Chikankari Cotton Kurta in M white")
    turn = say("actually just one kurta")
    lines = turn.cart["lines"]
    assert [(ln["name"], ln["quantity"]) for ln in lines] == [("Chikankari Cotton Kurta", 1)], turn.reply


# --- Hinglish, Hindi, orders, small talk and off-topic ----------------------------------------------------


def test_mera_order_kahan_hai(say):
    turn = say("mera order kahan hai?")
    assert "order_status" in tools(turn) and "didn't catch" not in turn.reply


def test_kurta_dikhao(say):
    turn = say("kurta dikhao")
    assert "search_products" in tools(turn) and "Kurta" in turn.reply


def test_devanagari_show_me_sarees(say):
    turn = say("मुझे साड़ी दिखाओ")
    assert "search_products" in tools(turn) and "Saree" in turn.reply


def test_what_did_i_order_last_time(say):
    turn = say("what did I order last time?")
    assert "order_status" in tools(turn) and "didn't catch" not in turn.reply


def test_are_you_a_bot(say):
    turn = say("are you a bot?")
    assert tools(turn) == [] and "not a person" in turn.reply


def test_write_me_a_python_script_is_declined_in_one_line(say):
    turn = say("write me a python script to sort a list")
    assert tools(turn) == [] and "can't help with that" in turn.reply and "\n" not in turn.reply.strip()
