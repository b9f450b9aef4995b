"""The gift-wrapping tools (sales_agent/tools/gift_wrapping.py) against the gift-wrapping agent faked from
its contract with ``responses``: a 2xx, a 4xx error envelope, a timeout and a refused connection all come back as
JSON the model can use. Also the registry: a module dropped into sales_agent/tools is picked up."""

from __future__ import annotations

import sys

import pytest
from shops import JACKET, USER, FakeShop

from sales_agent.tools import build_tools

OPTIONS = [
    {
        "optionId": "standard",
        "name": "Standard wrap",
        "description": "Kraft paper.",
        "price": 49,
        "currency": "INR",
        "messageCardIncluded": True,
    },
    {
        "optionId": "premium",
        "name": "Premium gift box",
        "description": "A gift box.",
        "price": 149,
        "currency": "INR",
        "messageCardIncluded": True,
    },
    {
        "optionId": "festive",
        "name": "Festive wrap",
        "description": "Festive paper.",
        "price": 199,
        "currency": "INR",
        "messageCardIncluded": True,
    },
]
JACKET_CHECK = {
    "productId": "P1001",
    "productName": "Alpine Puffer Jacket",
    "category": "jackets",
    "wrappable": True,
    "reason": None,
    "note": None,
    "options": OPTIONS,
}


class Rig(FakeShop):
    def __init__(self, tmp_path):
        super().__init__(tmp_path, "gifttools")
        self.fake.answer("gift-wrapping", "checkGiftWrapping", 200, JACKET_CHECK)
        self.store.add_line(USER, dict(JACKET))


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    r.close()


CASES = [
    ("check_gift_wrapping", {"product_id": "P1001"}),
    ("check_gift_wrapping", {}),
    (
        "add_gift_wrap",
        {"product_id": "P1001", "option": "premium", "message": "Happy birthday Anu", "recipient_name": "Anu"},
    ),
    ("add_gift_wrap", {"option": "standard"}),
]


@pytest.mark.parametrize("mode", ["ok", "error", "timeout", "refused"])
@pytest.mark.parametrize("name,args", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_gift_tools_answer_every_outcome(rig, name, args, mode):
    rig.fake.fail("gift-wrapping", "checkGiftWrapping", mode)
    result, calls = rig.run(name, **args)

    assert rig.fake.problems == [], "requests that break the contract"
    assert calls and all({"tool", "agent", "operation", "ms", "ok"} <= set(c) for c in calls)
    assert [(c["agent"], c["operation"], c["tool"]) for c in calls][0] == ("gift-wrapping", "checkGiftWrapping", name)
    assert rig.fake.calls("gift-wrapping", "checkGiftWrapping") == [{"productId": "P1001"}] * len(
        rig.fake.calls("gift-wrapping", "checkGiftWrapping")
    )
    line = rig.store.cart(USER)["lines"][0]
    if mode == "ok":
        assert "error" not in result, result
        if name == "check_gift_wrapping":
            assert [(o["optionId"], o["price"]) for o in result["options"]] == [
                ("standard", 49),
                ("premium", 149),
                ("festive", 199),
            ]
            assert result["inCart"] is True and result["currentWrap"] is None and "giftWrap" not in line
        else:
            wrap = result["giftWrap"]
            assert (
                wrap["optionId"] == args["option"] and wrap["price"] == {"premium": 149, "standard": 49}[args["option"]]
            )
            assert line["giftWrap"]["optionId"] == args["option"]
            assert line["giftWrap"]["message"] == args.get("message")
            assert result["cart"]["giftWrapTotal"] == wrap["price"]
            assert result["cart"]["lines"][0]["giftWrap"]["price"] == wrap["price"]
        return
    error = result["error"]
    assert error["agent"] == "gift-wrapping" and error["operation"] == "checkGiftWrapping" and error["message"]
    assert "giftWrap" not in line  # nothing remembered when the wrap could not be priced
    if mode == "error":
        assert error["code"] == "fake_404" and error["status"] == 404
    else:
        assert error["code"] == ("timeout" if mode == "timeout" else "unavailable")
        assert error["retryable"] is True and "temporarily unavailable" in error["message"]
        assert len(rig.fake.calls("gift-wrapping", "checkGiftWrapping")) == 2  # safe: retried once


def test_option_the_product_does_not_offer_is_refused_with_what_is_offered(rig):
    shoes = {**JACKET_CHECK, "category": "footwear", "note": "Shoes: standard wrap only.", "options": OPTIONS[:1]}
    rig.fake.answer("gift-wrapping", "checkGiftWrapping", 200, shoes)
    result, _ = rig.run("add_gift_wrap", option="premium")
    assert result["error"]["code"] == "option_unavailable" and "Standard wrap ₹49" in result["error"]["message"]
    assert result["error"]["suggestions"] == ["Use the standard wrap (₹49)"]
    assert "giftWrap" not in rig.store.cart(USER)["lines"][0]


def test_a_product_that_cannot_be_wrapped_says_why(rig):
    rig.fake.answer(
        "gift-wrapping",
        "checkGiftWrapping",
        200,
        {**JACKET_CHECK, "wrappable": False, "options": [], "reason": "It is oversized."},
    )
    result, _ = rig.run("add_gift_wrap", option="standard")
    assert result["error"]["code"] == "not_wrappable" and result["error"]["message"] == "It is oversized."


def test_bad_arguments_are_refused_before_any_call(rig):
    result, _ = rig.run("add_gift_wrap", option="golden")
    assert result["error"]["code"] == "invalid_argument" and "standard, premium, festive" in result["error"]["message"]
    result, _ = rig.run("add_gift_wrap", option="premium", message="x" * 201)
    assert result["error"]["code"] == "invalid_argument" and "200" in result["error"]["message"]
    result, _ = rig.run("add_gift_wrap", product_id="P1002", option="premium")
    assert result["error"]["code"] == "not_in_cart"
    result, _ = rig.run("check_gift_wrapping", product_id="jacket")
    assert result["error"]["code"] == "invalid_argument"
    assert rig.fake.calls("gift-wrapping", "checkGiftWrapping") == []


def test_the_note_is_one_clean_line_and_a_second_wrap_replaces_the_first(rig):
    rig.run("add_gift_wrap", option="premium", message="  Happy\nbirthday\tAnu ", recipient_name="Anu")
    assert rig.store.cart(USER)["lines"][0]["giftWrap"]["message"] == "Happy birthday Anu"
    rig.run("add_gift_wrap", option="festive")
    cart = rig.store.cart(USER)
    assert cart["lines"][0]["giftWrap"]["optionId"] == "festive" and cart["lines"][0]["giftWrap"]["price"] == 199


def test_remove_gift_wrap(rig):
    missing, calls = rig.run("remove_gift_wrap")
    assert missing["error"]["code"] == "not_wrapped" and calls[0]["agent"] == "sales"
    rig.run("add_gift_wrap", option="premium")
    removed, _ = rig.run("remove_gift_wrap")
    assert removed["removed"] == ["P1001"] and "giftWrapTotal" not in removed["cart"]
    assert "giftWrap" not in rig.store.cart(USER)["lines"][0]


def test_a_product_added_again_keeps_its_wrap(rig):
    rig.run("add_gift_wrap", option="premium")
    rig.store.add_line(USER, dict(JACKET))
    line = rig.store.cart(USER)["lines"][0]
    assert line["quantity"] == 2 and line["giftWrap"]["optionId"] == "premium"


# ---------------------------------------------------------------------------------------------
# the extension hook
# ---------------------------------------------------------------------------------------------
DROPPED = '''
from langchain.tools import ToolRuntime

from sales_agent.context import SalesContext
from sales_agent.tools.registry import declare, user_id


@declare(("inventory", "checkInventory"))
def say_hello_{n}(runtime: ToolRuntime[SalesContext]):
    """A tool from a module dropped into sales_agent/tools."""
    return {{"hello": user_id(runtime)}}
'''


def test_gift_wrapping_tools_come_in_through_the_registry():
    from sales_agent import tools
    from sales_agent.tools import gift_wrapping, registry

    assert gift_wrapping in registry.modules()
    assert {"check_gift_wrapping", "add_gift_wrap", "remove_gift_wrap"} <= set(tools.TOOL_NAMES)
    assert {"check_gift_wrapping", "add_gift_wrap", "remove_gift_wrap"} <= {t.name for t in build_tools()}
    assert tools.TOOL_OPERATIONS["check_gift_wrapping"] == [("gift-wrapping", "checkGiftWrapping")]
    assert ("gift-wrapping", "addGiftWrap") in tools.TOOL_OPERATIONS["place_order"]


def test_a_module_dropped_into_the_tools_package_is_picked_up(tmp_path, monkeypatch):
    import sales_agent.tools as package
    from sales_agent import tools
    from sales_agent.tools import registry

    (tmp_path / "zz_hello.py").write_text(DROPPED.format(n=1))
    (tmp_path / "_private.py").write_text("raise RuntimeError('modules starting with _ are skipped')\n")
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "sales_agent.tools.zz_hello", raising=False)
    try:
        names = [m.__name__ for m in registry.modules()]
        assert "sales_agent.tools.zz_hello" in names and "sales_agent.tools.gift_wrapping" in names
        assert "sales_agent.tools._private" not in names
        assert "sales_agent.tools.registry" not in names and "sales_agent.tools.common" not in names
        found = registry.collect(registry.modules())
        assert sorted(d.name for d in found) == sorted([*tools.TOOL_NAMES, "say_hello_1"])
        (hello,) = [d for d in found if d.name == "say_hello_1"]
        assert hello.operations == (("inventory", "checkInventory"),)
        # the tool works like any other: JSON content and the recorded calls
        from langchain.tools import ToolRuntime, tool

        from sales_agent.context import SalesContext

        built = tool(hello.name, response_format="content_and_artifact")(hello.run)
        runtime = ToolRuntime(
            state={"messages": []},
            context=SalesContext(USER, "test", None),
            config={},
            stream_writer=lambda _c: None,
            tool_call_id="call_1",
            store=None,
        )
        message = built.invoke(
            {"type": "tool_call", "name": "say_hello_1", "id": "call_1", "args": {"runtime": runtime}}
        )
        assert message.content == '{"hello":"U1001"}' and message.artifact["calls"][0]["tool"] == "say_hello_1"
    finally:
        sys.modules.pop("sales_agent.tools.zz_hello", None)


def test_a_tool_name_declared_twice_is_refused_loudly():
    from sales_agent import tools
    from sales_agent.tools import cart, registry

    with pytest.raises(ValueError, match="already exists"):
        registry.collect([cart], taken=tools.TOOL_NAMES)
    with pytest.raises(ValueError, match="'add_to_cart' already exists"):
        registry.collect([cart, cart])
