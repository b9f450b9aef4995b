"""How well the offline model recognises what shoppers mean, on labelled phrasings (sales-agent/tests/nlu/):
the dev set (tuned on) and the held-out set (never tuned on). `make nlu-report` prints the figures per intent."""

from __future__ import annotations

from sales_agent.offline import report
from sales_agent.offline.skills import all_skills


def test_the_labelled_sets_cover_every_skill_with_at_least_400_dev_phrasings():
    dev, heldout = report.load("dev"), report.load("heldout")
    assert len(dev) >= 400
    skills = {s.name for s in all_skills()}
    assert {intent for intent, _ in dev} == skills
    assert {intent for intent, _ in heldout} == skills
    assert not {text.lower() for _, text in dev} & {text.lower() for _, text in heldout}, "held-out is unseen"
    examples = {e.lower() for s in all_skills() for e in s.examples}
    assert not examples & {text.lower() for _, text in heldout}, "no held-out phrasing is a skill example"


def test_dev_accuracy_is_at_least_95_percent():
    accuracy, per_intent, wrong = report.evaluate("dev")
    assert accuracy >= 0.95, wrong


def test_held_out_accuracy_is_at_least_90_percent():
    accuracy, per_intent, wrong = report.evaluate("heldout")
    assert accuracy >= 0.90, wrong


def test_the_report_prints_every_intent_for_both_sets(capsys):
    assert report.main([]) == 0
    out = capsys.readouterr().out
    for skill in all_skills():
        assert skill.name in out
    assert "overall" in out and "dev" in out and "heldout" in out


def test_a_pending_question_is_dropped_when_the_next_message_is_something_else():
    from sales_agent.offline.intents import parse

    memory = report.memory()
    memory.previous = {"intent": "add_to_cart", "slots": {"product_id": "P1001"}, "awaiting": ["size", "color"]}
    assert parse("M in black", memory).name == "add_to_cart"  # the answer to the question
    assert parse("M in black", memory).slots["product_id"] == "P1001"
    for text, name in [
        ("show me running shoes", "browse"),
        ("sneakers under 3000", "search"),
        ("kurta dikhao", "browse"),
        ("where is my order", "order_status"),
    ]:
        intent = parse(text, memory)
        assert intent.name == name and "product_id" not in intent.slots, (text, intent)
