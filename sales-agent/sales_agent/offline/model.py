"""OfflineChatModel: a deterministic, rule-based chat model that drives the same agent graph as an LLM.

On a new shopper message it parses the intent (intents.py) and answers with tool calls; once the tool
results are in it may chain one more step (search -> add_to_cart, check_stock -> find_alternatives,
prepare_checkout -> place_order, order_status -> exchange_item) and then writes the reply from the
results (replies.py). It makes no network calls and has no randomness: the same conversation always
gets the same answer. It only calls tools it was given through ``bind_tools``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from .. import names
from ..events import word_chunks
from . import replies as rp
from . import resolve
from .intents import Intent, Memory, cart_lines, is_error, load_json, match_product, parse, product_list, remember
from .skills import by_name

MAX_ROUNDS = 4
PRODUCT_LIST_LIMIT = 5
STREAM_WORDS = 4  # words per streamed chunk of a reply


@dataclass
class Result:
    tool: str
    args: dict
    data: Any
    rejected: bool = False
    round: int = 0

    @property
    def ok(self) -> bool:
        return not self.rejected and not is_error(self.data) and not isinstance(self.data, str)


@dataclass
class Step:
    """What the model says next: tool calls, or a reply (with the state to remember for the next turn)."""

    calls: list[dict] = field(default_factory=list)
    reply: str = ""
    awaiting: list[str] | None = None
    offer: dict | None = None


class OfflineChatModel(BaseChatModel):
    """The built-in sales model for offline mode (no API key, no network)."""

    tool_names: tuple[str, ...] = ()
    tool_args: dict[str, list[str]] = {}

    @property
    def _llm_type(self) -> str:
        return "offline-sales"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": "offline-sales", "tools": list(self.tool_names)}

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> "OfflineChatModel":
        names: list[str] = []
        args: dict[str, list[str]] = {}
        for tool in tools:
            try:
                spec = convert_to_openai_tool(tool)["function"]
            except (TypeError, ValueError, KeyError):
                continue
            names.append(spec["name"])
            args[spec["name"]] = list((spec.get("parameters") or {}).get("properties", {}))
        return self.model_copy(update={"tool_names": tuple(names), "tool_args": args})

    # -- the model ---------------------------------------------------------------------------------

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        step, state = self.respond(messages)
        message = AIMessage(
            content=rp.clean(step.reply) if not step.calls else "",
            tool_calls=step.calls,
            additional_kwargs={"offline": state},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        """The same answer as ``_generate``, its reply in chunks of a few words (what a streaming client sees
        of an LLM); tool calls come whole, in one chunk. The chunks concatenate to the reply exactly."""
        step, state = self.respond(messages)
        text = rp.clean(step.reply) if not step.calls else ""
        pieces = word_chunks(text, STREAM_WORDS) or [""]
        for i, piece in enumerate(pieces):
            first, last = i == 0, i == len(pieces) - 1
            chunk = AIMessageChunk(
                content=piece,
                tool_calls=step.calls if first else [],  # type: ignore[arg-type]  # the planner's ToolCall dicts
                additional_kwargs={"offline": state} if first else {},
                chunk_position="last" if last else None,
            )
            yield ChatGenerationChunk(message=chunk)

    def respond(self, messages: list[BaseMessage]) -> tuple[Step, dict]:
        human_at = max((i for i, m in enumerate(messages) if getattr(m, "type", "") == "human"), default=-1)
        if human_at < 0:
            memory = remember(messages)
            return Step(reply=rp.greeting(memory.first_name)), {"intent": "greeting", "slots": {}}
        text = messages[human_at].content
        text = (
            text
            if isinstance(text, str)
            else " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in text)
        )
        turn = messages[human_at + 1 :]
        planner = Planner(self, len(messages))
        ai_turns = [m for m in turn if getattr(m, "type", "") == "ai"]
        if not ai_turns:
            intent = parse(text, remember(messages[:human_at]))
            memory = remember(messages)
            step = planner.start(intent, memory)
        else:
            state = (ai_turns[0].additional_kwargs or {}).get("offline") or {}
            intent = Intent(state.get("intent", "general_chat"), dict(state.get("slots") or {}))
            memory = remember(messages)
            results = collect_results(turn)
            if len(ai_turns) >= MAX_ROUNDS:
                step = Step(reply=planner.compose(intent, results, memory))
            else:
                step = planner.follow(intent, results, memory)
        if step.reply:
            step.reply = names.without_ids(step.reply, memory.products, memory.stores)
        state = {"intent": intent.name, "slots": _jsonable(intent.slots)}
        if step.awaiting:
            state["awaiting"] = step.awaiting
        if step.offer:
            state["offer"] = step.offer
        return step, state


def _jsonable(slots: dict) -> dict:
    return {k: v for k, v in slots.items() if isinstance(v, (str, int, float, bool)) or v is None}


def collect_results(turn: list[BaseMessage]) -> list[Result]:
    calls: dict[str, tuple[dict, int]] = {}
    results: list[Result] = []
    round_no = 0
    for message in turn:
        kind = getattr(message, "type", "")
        if kind == "ai":
            round_no += 1
            for call in getattr(message, "tool_calls", None) or []:
                calls[call.get("id") or ""] = (call, round_no)
        elif kind == "tool":
            call, number = calls.get(getattr(message, "tool_call_id", "") or "", ({}, round_no))
            content = message.content if isinstance(message.content, str) else str(message.content)
            rejected = getattr(message, "status", "success") == "error" and content.startswith("User rejected")
            results.append(
                Result(
                    tool=getattr(message, "name", None) or call.get("name", ""),
                    args=dict(call.get("args") or {}),
                    data=load_json(message.content),
                    rejected=rejected,
                    round=number,
                )
            )
    return results


class Planner:
    """Maps an intent (and, later in the turn, the tool results) to the next step."""

    def __init__(self, model: OfflineChatModel, position: int):
        self.model = model
        self.position = position
        self.counter = 0

    # -- tool calls ------------------------------------------------------------------------------

    def can(self, tool: str) -> bool:
        return tool in self.model.tool_names

    def call(self, tool: str, **args: Any) -> dict | None:
        if not self.can(tool):
            return None
        allowed = self.model.tool_args.get(tool)
        clean = {k: v for k, v in args.items() if v is not None and (not allowed or k in allowed)}
        self.counter += 1
        return {
            "name": tool,
            "args": clean,
            "id": f"call_{self.position:04d}_{self.counter}_{tool}",
            "type": "tool_call",
        }

    def calls(self, *calls: dict | None) -> Step | None:
        real = [c for c in calls if c]
        return Step(calls=real) if real else None

    # -- the first step of a turn --------------------------------------------------------------------

    def start(self, intent: Intent, memory: Memory) -> Step:
        step = self.run_skill(intent.name, intent.slots, memory)
        return step or self.fallback(intent, memory)

    def run_skill(self, name: str, s: dict, memory: Memory) -> Step | None:
        """The plan of the skill named ``name`` (skills/, or an agent tool module's SKILLS)."""
        skill = by_name(name)
        return skill.plan(self, s, memory) if skill else None

    def fallback(self, intent: Intent, memory: Memory) -> Step:
        if intent.name in ("general_chat",):
            return Step(reply=rp.not_understood())
        return Step(reply=f"I can't do that in offline mode right now. {rp.CAPABILITIES}")

    def start_greeting(self, s: dict, memory: Memory) -> Step:
        profile = None if memory.first_name else self.call("my_profile")
        if profile is not None:
            return Step(calls=[profile])
        return Step(reply=rp.greeting(memory.first_name))

    def start_help(self, s: dict, memory: Memory) -> Step:
        return Step(reply=rp.help_text())

    def start_thanks(self, s: dict, memory: Memory) -> Step:
        return Step(reply="You're welcome! Anything else I can find for you?")

    def start_goodbye(self, s: dict, memory: Memory) -> Step:
        return Step(reply="Bye for now — your cart is saved for next time.")

    def start_affirm(self, s: dict, memory: Memory) -> Step:
        return Step(reply="Great — what would you like to do next? You can search, check your cart or checkout.")

    def start_deny(self, s: dict, memory: Memory) -> Step:
        return Step(reply="Okay, no problem. Anything else?")

    def start_general_chat(self, s: dict, memory: Memory) -> Step:
        return Step(reply=rp.not_understood())

    def start_small_talk(self, s: dict, memory: Memory) -> Step:
        return Step(reply=rp.small_talk())

    def start_decline(self, s: dict, memory: Memory) -> Step:
        return Step(reply=rp.decline())

    def _search_args(self, s: dict, limit: int = PRODUCT_LIST_LIMIT) -> dict:
        return dict(
            query=s.get("query") or "",
            category=s.get("category"),
            max_price=s.get("max_price"),
            min_price=s.get("min_price"),
            size=s.get("size"),
            color=s.get("color"),
            season=s.get("season"),
            limit=limit,
        )

    def start_search(self, s: dict, memory: Memory) -> Step | None:
        return self.calls(self.call("search_products", **self._search_args(s)))

    def start_browse(self, s: dict, memory: Memory) -> Step | None:
        if not any(s.get(k) for k in ("category", "query", "season", "max_price", "color")):
            return Step(reply=rp.browse_menu())
        return self.start_search(s, memory)

    def start_product_details(self, s: dict, memory: Memory) -> Step | None:
        if s.get("product_id"):
            return self.calls(self.call("get_product_details", product_id=s["product_id"]))
        return self.resolve(s) or Step(reply="Which product would you like to know more about?")

    def start_recommend(self, s: dict, memory: Memory) -> Step | None:
        if s.get("product_id"):
            context = "product_view"
        else:
            occasion = s.get("occasion")
            if re.search(r"\b(?:gifts?|present|anniversary|birthday)\b", str(s.get("words") or "")):
                occasion = "gift"  # a present for someone: their taste and the budget, not the shopper's
            context = (
                "gift"
                if occasion == "gift"
                else "occasion"
                if occasion in ("festive", "party", "work") or s.get("season") == "festive"
                else "general"
            )
        return self.calls(
            self.call(
                "recommend_products",
                context=context,
                product_id=s.get("product_id"),
                category=s.get("category"),
                max_price=s.get("max_price"),
                size=s.get("size"),
                color=s.get("color"),
                count=PRODUCT_LIST_LIMIT,
                query=s.get("words"),
            )
        )

    def resolve(self, s: dict) -> Step | None:
        """Find a product named in the text but not seen yet: search for it first."""
        words = " ".join(filter(None, [s.get("product_name"), s.get("term") or s.get("noun")]))
        if not words:
            return None
        return self.calls(self.call("search_products", query=words, category=s.get("category"), limit=3))

    def _variant(self, s: dict, memory: Memory) -> tuple[str | None, str | None]:
        pid = s.get("product_id")
        size, colour = s.get("size"), s.get("color")
        info = memory.products.get(pid or "", {})
        sizes = info.get("availableSizes") or info.get("sizes") or []
        if not size and s.get("size_hints") and isinstance(sizes, list):
            size = next((str(x) for x in sizes if str(x) in str(s["size_hints"]).split()), None)
        last = memory.last_variant or {}
        if last.get("product_id") == pid:
            size = size or last.get("size")
            colour = colour or last.get("color")
        colours = info.get("availableColors") or info.get("colors") or []
        if not size and isinstance(sizes, list) and len(sizes) == 1:
            size = sizes[0]
        if not colour and isinstance(colours, list) and len(colours) == 1:
            colour = colours[0]
        if size and isinstance(sizes, list) and sizes:
            match = [x for x in sizes if str(x).lower() == str(size).lower()]
            size = match[0] if match else size
        if colour and isinstance(colours, list) and colours:
            match = [x for x in colours if str(x).lower() == str(colour).lower()]
            colour = match[0] if match else colour
        return size, colour

    def _ask_variant(self, s: dict, memory: Memory, size, colour, action: str) -> Step:
        pid = s["product_id"]
        info = memory.products.get(pid, {})
        name = info.get("name") or pid
        missing = [w for w, v in (("size", size), ("colour", colour)) if not v]
        text = f"Which {' and '.join(missing)} would you like for the **{name}**?"
        sizes = info.get("availableSizes") or info.get("sizes")
        colours = info.get("availableColors") or info.get("colors")
        if not size and sizes:
            text += f" Sizes: {', '.join(map(str, sizes))}."
        if not colour and colours:
            text += f" Colours: {', '.join(map(str, colours))}."
        text += (
            f" (e.g. “{sizes[0] if sizes and not size else size or 'M'}, "
            f"{colours[0] if colours and not colour else colour or 'Black'}”)"
        )
        return Step(reply=text, awaiting=["size" if not size else "", "color" if not colour else ""])

    def start_add_to_cart(self, s: dict, memory: Memory, allow_lookup: bool = True) -> Step | None:
        pid = s.get("product_id")
        if not pid:
            return self.resolve(s) or Step(
                reply="Which product should I add? Search first (e.g. “show me kurtas”) and then say "
                "“add the first one in M”.",
                awaiting=["product"],
            )
        size, colour = self._variant(s, memory)
        if size and colour:
            return self.calls(
                self.call("add_to_cart", product_id=pid, size=size, color=colour, quantity=int(s.get("quantity") or 1))
            )
        info = memory.products.get(pid, {})
        if allow_lookup and not (info.get("sizes") or info.get("availableSizes")) and self.can("get_product_details"):
            return self.calls(self.call("get_product_details", product_id=pid))
        return self._ask_variant(s, memory, size, colour, "add")

    def start_view_cart(self, s: dict, memory: Memory) -> Step | None:
        return self.calls(self.call("view_cart"))

    def _cart_target(self, s: dict, memory: Memory) -> dict | None:
        lines = memory.cart_lines()
        if not lines:
            return None
        pid = s.get("product_id")
        matches = [ln for ln in lines if pid and ln.get("productId") == pid]
        if not matches:
            pool = {str(ln.get("productId")): {"name": ln.get("name", "")} for ln in lines}
            words = " ".join(filter(None, [s.get("product_name"), s.get("term"), s.get("noun")]))
            found, _ = match_product(words.lower(), pool, list(pool), generic_ok=True) if words else (None, None)
            matches = [ln for ln in lines if found and ln.get("productId") == found]
        named = pid or any(s.get(k) for k in ("product_name", "term", "noun"))
        if not matches and len(lines) == 1 and not named:
            matches = lines
        if s.get("size"):
            matches = [ln for ln in matches if str(ln.get("size")).lower() == str(s["size"]).lower()] or matches
        if s.get("color"):
            matches = [ln for ln in matches if str(ln.get("color")).lower() == str(s["color"]).lower()] or matches
        return matches[0] if len(matches) >= 1 else None

    def start_remove_from_cart(self, s: dict, memory: Memory, looked: bool = False) -> Step | None:
        if s.get("all"):  # "empty my cart": every line
            lines = memory.cart_lines()
            if not lines and not looked and self.can("view_cart"):
                return self.calls(self.call("view_cart"))
            if not lines:
                return Step(reply="Your cart is already empty.")
            return self.calls(
                *(
                    self.call(
                        "remove_from_cart", product_id=ln.get("productId"), size=ln.get("size"), color=ln.get("color")
                    )
                    for ln in lines
                )
            )
        line = self._cart_target(s, memory)
        if line:
            return self.calls(
                self.call(
                    "remove_from_cart", product_id=line.get("productId"), size=line.get("size"), color=line.get("color")
                )
            )
        if memory.cart is not None and not memory.cart_lines():
            return Step(reply="Your cart is empty — nothing to remove.")
        if s.get("product_id") and not memory.cart_lines():
            return self.calls(
                self.call("remove_from_cart", product_id=s["product_id"], size=s.get("size"), color=s.get("color"))
            )
        if not looked and self.can("view_cart"):
            return self.calls(self.call("view_cart"))
        if not memory.cart_lines():
            return Step(reply="Your cart is empty — nothing to remove.")
        named = memory.products.get(s.get("product_id") or "", {}).get("name") or s.get("product_name") or s.get("noun")
        head = f"I don't see {named} in your cart." if named else "Which item should I remove?"
        return Step(reply=head + "\n" + rp.cart_summary(memory.cart, memory), awaiting=["product"])

    def start_update_quantity(self, s: dict, memory: Memory, looked: bool = False) -> Step | None:
        if not s.get("quantity"):
            return Step(reply="How many would you like?", awaiting=["quantity"])
        line = self._cart_target(s, memory)
        if line:
            return self.calls(
                self.call(
                    "update_cart_quantity",
                    product_id=line.get("productId"),
                    quantity=int(s["quantity"]),
                    size=line.get("size"),
                    color=line.get("color"),
                )
            )
        if not looked and self.can("view_cart"):
            return self.calls(self.call("view_cart"))
        if not memory.cart_lines():
            return Step(reply="Your cart is empty.")
        return Step(reply="Which item should I change?\n" + rp.cart_summary(memory.cart, memory), awaiting=["product"])

    def start_checkout(self, s: dict, memory: Memory) -> Step | None:
        if s.get("payment_method") == "cash":
            return Step(
                reply="Cash on delivery isn't available — you can pay by card or UPI. "
                "Type your card number, expiry and CVC, or your UPI id (name@bank).",
                awaiting=["payment"],
            )
        card_ref = s.get("card_ref")
        upi_id = s.get("upi_id")
        method = s.get("payment_method")
        if not card_ref and not upi_id:
            if method == "upi" and memory.upi_id:
                upi_id = memory.upi_id
            elif method != "upi" and memory.card_ref:
                card_ref = memory.card_ref
            elif not method and memory.upi_id and not memory.card_ref:
                upi_id = memory.upi_id
        if not card_ref and not upi_id:
            if self.can("view_cart"):
                return self.calls(self.call("view_cart"))
            return Step(reply=self._ask_payment(), awaiting=["payment"])
        fulfillment = s.get("fulfillment") or "ship_to_home"
        store_id = s.get("store_id")
        if fulfillment == "click_and_collect" and not store_id:
            city = (s.get("city") or memory.shopper.get("city") or "").lower()
            store_id = next(
                (sid for sid, info in memory.stores.items() if city and str(info.get("city", "")).lower() == city), None
            )
        return self.calls(
            self.call(
                "prepare_checkout",
                payment_method="upi" if upi_id else "card",
                card_ref=card_ref,
                upi_id=upi_id,
                fulfillment=fulfillment,
                store_id=store_id,
                address=s.get("address") if fulfillment == "ship_to_home" else None,
            )
        )

    def _ask_payment(self) -> str:
        return (
            "How would you like to pay? Type your card number with expiry and CVC (I only keep the last "
            "four digits), or your UPI id like name@okhdfc. Add “click and collect” to pick it up in a store."
        )

    def start_cancel_checkout(self, s: dict, memory: Memory) -> Step | None:
        return self.calls(self.call("cancel_checkout"))

    def start_inventory_check(self, s: dict, memory: Memory) -> Step | None:
        pid = s.get("product_id")
        if not pid:
            return self.resolve(s) or Step(
                reply="Which product should I check? Tell me its name, or search first (e.g. “show me jackets”).",
                awaiting=["product"],
            )
        size, colour = self._variant(s, memory) if not (s.get("size") and s.get("color")) else (s["size"], s["color"])
        city = s.get("city") or memory.shopper.get("city")
        return self.calls(self.call("check_stock", product_id=pid, size=size, color=colour, city=city))

    def start_reserve_in_store(self, s: dict, memory: Memory, allow_lookup: bool = True) -> Step | None:
        pid = s.get("product_id")
        if not pid:
            return self.resolve(s) or Step(reply="Which product would you like to reserve?", awaiting=["product"])
        size, colour = self._variant(s, memory)
        if not (size and colour):
            info = memory.products.get(pid, {})
            if (
                allow_lookup
                and not (info.get("sizes") or info.get("availableSizes"))
                and self.can("get_product_details")
            ):
                return self.calls(self.call("get_product_details", product_id=pid))
            return self._ask_variant(s, memory, size, colour, "reserve")
        last = memory.last_variant or {}
        city = s.get("city") or (last.get("city") if last.get("product_id") == pid else None)
        if not city and not s.get("store_id"):
            city = memory.shopper.get("city")
        return self.calls(
            self.call(
                "reserve_in_store", product_id=pid, size=size, color=colour, store_id=s.get("store_id"), city=city
            )
        )

    def start_loyalty(self, s: dict, memory: Memory) -> Step | None:
        return self.calls(self.call("get_offers_and_points"))

    def start_apply_coupon(self, s: dict, memory: Memory) -> Step | None:
        if s.get("coupon"):
            return self.calls(self.call("apply_coupon", code=s["coupon"]))
        return self.calls(self.call("get_offers_and_points"))

    def start_redeem_points(self, s: dict, memory: Memory) -> Step | None:
        if s.get("points"):
            return self.calls(self.call("redeem_points", points=int(s["points"])))
        return self.calls(self.call("get_offers_and_points"))

    def start_my_profile(self, s: dict, memory: Memory) -> Step | None:
        return self.calls(self.call("my_profile"))

    def start_order_status(self, s: dict, memory: Memory) -> Step | None:
        return self.calls(self.call("order_status", order_id=s.get("order_id")))

    def start_support(self, s: dict, memory: Memory) -> Step | None:
        if s.get("order_id"):
            return self.start_order_status(s, memory)
        offer = {"intent": "human_handoff", "slots": {"text": s.get("text"), "order_id": s.get("order_id")}}
        return Step(
            reply="I'm sorry about the trouble. I can track an order (“where is my order?”), start a return "
            "(“I want to return it”) or an exchange for another size or colour, or pass this to a person in "
            "customer care with our conversation so far. Shall I pass it to a person?",
            offer=offer if self.can("contact_human") else None,
        )

    def _order_item(self, s: dict, memory: Memory) -> tuple[str | None, dict | None, list[dict]]:
        oid = s.get("order_id") or memory.last_order_id
        order = memory.orders.get(oid or "", {})
        items = [i for i in order.get("items") or [] if isinstance(i, dict)]
        if s.get("sku"):
            return oid, {"sku": s["sku"]}, items
        candidates = [i for i in items if i.get("returnableQuantity", 1)] or items
        picked = []
        if s.get("product_id"):
            picked = [i for i in candidates if _item_product(i) == s["product_id"]]
        words = " ".join(filter(None, [s.get("product_name"), s.get("term"), s.get("noun")]))
        if not picked and words:
            pool = {str(i.get("sku")): {"name": i.get("name", "")} for i in candidates}
            found, _ = match_product(words, pool, generic_ok=True)
            picked = [i for i in candidates if found and i.get("sku") == found]
        if picked:
            candidates = picked
        if s.get("color") and len(candidates) > 1:
            candidates = [i for i in candidates if str(i.get("color")).lower() == s["color"].lower()] or candidates
        if s.get("size") and len(candidates) > 1:
            candidates = [i for i in candidates if str(i.get("size")).lower() == str(s["size"]).lower()] or candidates
        return oid, (candidates[0] if len(candidates) == 1 else None), items

    def start_return_item(self, s: dict, memory: Memory, looked: bool = False) -> Step | None:
        oid, item, items = self._order_item(s, memory)
        if not items and not looked and not s.get("sku") and self.can("order_status"):
            return self.calls(self.call("order_status", order_id=oid))
        if items and not item and len(items) > 1 and (s.get("product_id") or s.get("product_name")):
            return Step(reply="Which item would you like to return?\n" + self._items_list(items), awaiting=["product"])
        return self.calls(
            self.call("return_item", order_id=oid, reason=s.get("reason") or "other", sku=(item or {}).get("sku"))
        )

    def start_exchange_item(self, s: dict, memory: Memory, looked: bool = False) -> Step | None:
        oid, item, items = self._order_item(s, memory)
        if not item and not looked and self.can("order_status"):
            return self.calls(self.call("order_status", order_id=oid))
        if not item:
            if not items:
                return Step(reply="Which order is it? Give me the order id (like ORD-100001).", awaiting=["order_id"])
            return Step(
                reply="Which item would you like to exchange?\n" + self._items_list(items), awaiting=["product"]
            )
        if not (s.get("new_size") or s.get("new_color")):
            return Step(
                reply=f"Which size or colour would you like instead of the {item.get('name', 'item')}"
                f"{rp.variant_text(item.get('size'), item.get('color'))}?",
                awaiting=["new_size", "new_color"],
            )
        return self.calls(
            self.call(
                "exchange_item",
                order_id=oid,
                sku=item.get("sku"),
                new_size=s.get("new_size"),
                new_color=s.get("new_color"),
                reason=s.get("reason") or "wrong_size",
            )
        )

    def _items_list(self, items: list[dict]) -> str:
        return "\n".join(
            f"• {i.get('name')}{rp.variant_text(i.get('size'), i.get('color'))} `{i.get('sku')}`" for i in items
        )

    # -- after tool results --------------------------------------------------------------------------

    def follow(self, intent: Intent, results: list[Result], memory: Memory) -> Step:
        skill = by_name(intent.name)
        if skill is not None and skill.follow is not None:
            step = skill.follow(self, intent, results, memory)
            if step is not None:
                return step
        last_round = max(r.round for r in results) if results else 0
        latest = [r for r in results if r.round == last_round]
        s = dict(intent.slots)
        done = {r.tool for r in results}
        for r in latest:
            if not r.ok:
                if r.tool == "add_to_cart" and _code(r.data) == "out_of_stock" and "find_alternatives" not in done:
                    step = self.calls(
                        self.call(
                            "find_alternatives",
                            product_id=r.args.get("product_id"),
                            size=r.args.get("size"),
                            color=r.args.get("color"),
                        )
                    )
                    if step:
                        return step
                continue
            step = self._chain(intent, s, r, results, memory, done)
            if step:
                return step
        return self.finish(intent, results, memory)

    def _chain(
        self, intent: Intent, s: dict, r: Result, results: list[Result], memory: Memory, done: set[str]
    ) -> Step | None:
        name = intent.name
        if (
            r.tool == "search_products"
            and name in ("add_to_cart", "inventory_check", "reserve_in_store", "product_details", "gift_wrap")
            and not s.get("product_id")
        ):
            items = product_list(r.data)
            if not items:
                return None
            words = " ".join(filter(None, [s.get("product_name"), s.get("term")]))
            pid, close = resolve.pick(words, items)
            if not pid:  # two fit equally well: ask, never pick a wrong one silently
                return Step(reply=resolve.which_one(close), awaiting=["product"])
            s["product_id"] = pid
            intent.slots["product_id"] = s["product_id"]
            if name == "add_to_cart":
                return self.start_add_to_cart(s, memory)
            if name == "reserve_in_store":
                return self.start_reserve_in_store(s, memory)
            if name == "product_details":
                return self.start_product_details(s, memory)
            if name == "gift_wrap":
                return self.run_skill("gift_wrap", s, memory)
            return self.start_inventory_check(s, memory)
        if (
            r.tool == "search_products"
            and name in ("search", "browse")
            and not product_list(r.data)
            and r.args.get("query")
            and sum(1 for x in results if x.tool == "search_products") == 1
            and any(r.args.get(k) for k in ("category", "max_price", "season", "color", "size"))
        ):
            args = dict(r.args)
            args["query"] = ""
            return self.calls(self.call("search_products", **args))
        if r.tool == "get_product_details" and name in ("add_to_cart", "reserve_in_store"):
            if name == "add_to_cart":
                step = self.start_add_to_cart(s, memory, allow_lookup=False)
            else:
                step = self.start_reserve_in_store(s, memory, allow_lookup=False)
            return step if step and step.calls else None
        if (
            r.tool == "check_stock"
            and rp.stock_is_out(r.data)
            and r.args.get("size")
            and r.args.get("color")
            and "find_alternatives" not in done
        ):
            return self.calls(
                self.call(
                    "find_alternatives",
                    product_id=r.args.get("product_id"),
                    size=r.args.get("size"),
                    color=r.args.get("color"),
                )
            )
        if r.tool == "prepare_checkout" and "place_order" not in done:
            return self.calls(self.call("place_order"))
        if r.tool == "view_cart" and name == "remove_from_cart":
            step = self.start_remove_from_cart(s, memory, looked=True)
            return step if step and step.calls and step.calls[0]["name"] != "view_cart" else None
        if r.tool == "view_cart" and name == "update_quantity":
            step = self.start_update_quantity(s, memory, looked=True)
            return step if step and step.calls and step.calls[0]["name"] != "view_cart" else None
        if r.tool == "order_status" and name in ("return_item", "exchange_item"):
            if name == "return_item":
                step = self.start_return_item(s, memory, looked=True)
            else:
                step = self.start_exchange_item(s, memory, looked=True)
            return step if step and step.calls else None
        return None

    def finish(self, intent: Intent, results: list[Result], memory: Memory) -> Step:
        """Write the reply once no more tools are needed."""
        name = intent.name
        s = intent.slots
        step = Step(reply=self.compose(intent, results, memory))
        ok = {r.tool for r in results if r.ok}
        if name == "checkout" and "prepare_checkout" not in {r.tool for r in results}:
            cart = next((r.data for r in results if r.tool == "view_cart" and r.ok), None)
            if cart is not None and not cart_lines(cart):
                step.reply = "Your cart is empty — add something first, then say “checkout”."
            else:
                step.reply = (rp.cart_summary(cart, memory) + "\n\n" if cart is not None else "") + self._ask_payment()
                if s.get("address"):
                    step.reply += f"\nIt will be delivered to {s['address']}."
                step.awaiting = ["payment"]
        elif name in ("add_to_cart", "reserve_in_store") and not (
            {"add_to_cart", "reserve_in_store"} & {r.tool for r in results}
        ):
            pid = s.get("product_id")
            if pid and any(r.tool in ("get_product_details", "search_products") and r.ok for r in results):
                size, colour = self._variant(s, memory)
                asked = self._ask_variant(s, memory, size, colour, name)
                step.reply = asked.reply
                step.awaiting = asked.awaiting
        elif (
            name == "redeem_points"
            and "redeem_points" not in {r.tool for r in results}
            and "get_offers_and_points" in ok
        ):
            step.reply += "\nHow many points would you like to redeem? (e.g. “redeem 500 points”)"
            step.awaiting = ["points"]
        elif name == "greeting":
            step.reply = rp.greeting(memory.first_name)
        if "add_to_cart" in ok:
            step.offer = {"intent": "checkout", "slots": {}}
        return step

    def compose(self, intent: Intent, results: list[Result], memory: Memory) -> str:
        if intent.name == "greeting":
            return rp.greeting(memory.first_name)
        used_ids = {r.args.get("product_id") for r in results if r.args.get("product_id")}
        paragraphs: list[str] = []
        for index, r in enumerate(results):
            later = results[index + 1 :]
            if self._intermediate(r, later, used_ids, intent):
                continue
            paragraphs.append(rp.describe(r.tool, r.args, r.data, memory, intent.name, r.rejected))
        if not paragraphs:
            return rp.not_understood()
        return "\n\n".join(paragraphs)

    @staticmethod
    def _intermediate(r: Result, later: list[Result], used_ids: set, intent: Intent) -> bool:
        tools_later = {x.tool for x in later}
        if r.tool == "search_products" and later:
            if "search_products" in tools_later and not product_list(r.data):
                return True
            if intent.name in ("add_to_cart", "inventory_check", "reserve_in_store", "product_details", "gift_wrap"):
                return any(p.get("productId") in used_ids for p in product_list(r.data))
        if r.tool == "prepare_checkout" and "place_order" in tools_later:
            return r.ok
        if r.tool == "order_status" and tools_later & {"return_item", "exchange_item"}:
            return True
        if r.tool in ("view_cart",) and tools_later & {"remove_from_cart", "update_cart_quantity"}:
            return True
        if r.tool == "get_product_details" and tools_later & {"add_to_cart", "reserve_in_store"}:
            return True
        if r.tool == "my_profile" and intent.name == "greeting":
            return True
        return False


def _item_product(item: dict) -> str | None:
    return item.get("productId") or (str(item.get("sku") or "").split("-")[0] or None)


def _code(data: Any) -> str:
    return str(data.get("error", {}).get("code", "")) if is_error(data) else ""
