"""SalesSession: the one object the terminal, the HTTP API, the messaging webhooks and the tests talk to.

    session = bootstrap.build_session()            # model, tools, graph and checkpointer, built once
    result = session.send("U1001", "show me winter jackets under 6000", channel="terminal")
    result = session.confirm("U1001", approve=True)    # answers a pending place_order confirmation

Conversation memory is the LangGraph checkpointer with ``thread_id = user id``: the same conversation
continues after a restart and on every channel. Every message first goes through cards.py: a typed card
is swapped for a payment-method token from the payment agent within that request, so a card number
never reaches the model, the checkpoint or a log line, and no process holds one.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langgraph.errors import GraphRecursionError
from langgraph.types import Command

from agentkit import AgentCallError
from agentkit.contracts import id_pattern, is_valid_id
from agentkit.logs import log as log_fields
from agentkit.money import format_inr

from . import events, llm, memory, names
from .answers import classify_answer
from .cards import CardTokens
from .checkout import CheckoutWorkflow
from .checkout.instrument import payment_text
from .clients import Clients
from .context import SalesContext
from .graph import Checkpointer, describe_quote
from .guests import Deliveries, Identities
from .settings import Settings
from .store import SalesStore
from .tools import SalesTools, cart_view
from .turnlock import TurnLock

log = logging.getLogger("agents.sales.session")

CHANNEL_RE = re.compile(r"^[a-z][a-z0-9_-]{0,15}$")
REJECT_MESSAGE = (
    "The shopper declined the order. Nothing was charged and the stock hold is released. "
    "Ask what they would like to change."
)
INTERRUPTED_TOOL = "Interrupted before it finished; it may or may not have taken effect. Check before repeating it."
INTERRUPTED_REPLY = "(That request was cut short before I could answer. Your cart is as shown; ask again if needed.)"


@dataclass
class TurnResult:
    reply: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    cart: dict[str, Any] = field(default_factory=dict)
    pending_confirmation: dict[str, Any] | None = None
    failed: bool = False  # the model or the graph failed (the reply says so in plain words)
    # What each tool of the turn returned, in order ({"tool", "result"}): the web page's cards are made from it
    # (web/view.py); not part of as_dict, which is the /chat answer.
    tool_results: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = {"reply": self.reply, "toolCalls": self.tool_calls, "cart": self.cart}
        if self.pending_confirmation is not None:
            out["pendingConfirmation"] = self.pending_confirmation
        return out


class SalesSession:
    """One shopper conversation service over the parts bootstrap.build_session makes (it is never built here)."""

    def __init__(
        self,
        *,
        settings: Settings,
        clients: Clients,
        store: SalesStore,
        vault: CardTokens,
        workflow: CheckoutWorkflow,
        service: SalesTools,
        tools: list,
        model: Any,
        checkpointer: Any,
        owned_memory: Checkpointer | None,
        graph: Any,
        turns: memory.TurnLimiter,
        turn_lock: TurnLock,
        awaiting: memory.Awaiting,
        identities: Identities,
        deliveries: Deliveries,
    ):
        self.settings = settings
        self.clients = clients
        self.store = store
        self.vault = vault
        self.workflow = workflow
        self.service = service
        self.tools = tools
        self.model = model
        self.checkpointer = checkpointer
        self._memory = owned_memory  # the checkpointer's owner when the session made it (closed with the session)
        self.graph = graph
        self.turns = turns
        self.turn_lock = turn_lock
        self._awaiting = awaiting  # user id -> checkout id shown in the confirmation
        self.identities = identities  # messaging senders and guests (guests.py)
        self.deliveries = deliveries  # webhook deliveries already seen

    # -- public API ----------------------------------------------------------------------------
    def send(self, user_id: str, text: str, channel: str = "terminal") -> TurnResult:
        user_id, channel = self._check(user_id, channel)
        return self._logged(user_id, channel, lambda: self._send(user_id, text, channel))

    def _send(self, user_id: str, text: str, channel: str) -> TurnResult:
        text = self.vault.redact(user_id, str(text or "")).strip()
        if not text:
            return self._result(user_id, "Tell me what you are looking for.", [], None)
        with self._lock(user_id):
            pending = self._interrupt(user_id)
            if pending is None:
                self._repair(user_id)
            if pending is not None:
                answer = classify_answer(text)
                if answer is None:
                    return self._result(
                        user_id, self._reminder(user_id, pending), [], self._pending_view(user_id, pending)
                    )
                return self._resume(user_id, channel, answer)
            before = self._message_ids(user_id)
            try:
                state = self._invoke({"messages": [HumanMessage(text)]}, user_id, channel)
            except Exception as exc:  # the model or the graph failed: answer gracefully, keep the session usable
                return self._failed_turn(user_id, exc, before)
            finally:
                self._prune(user_id)
            return self._finish(user_id, channel, state, before)

    def confirm(self, user_id: str, approve: bool, channel: str = "terminal") -> TurnResult:
        user_id, channel = self._check(user_id, channel)

        def run() -> TurnResult:
            with self._lock(user_id):
                if self._interrupt(user_id) is None:
                    return self._result(user_id, "There is no order waiting for confirmation.", [], None)
                return self._resume(user_id, channel, bool(approve))

        return self._logged(user_id, channel, run)

    def _logged(self, user_id: str, channel: str, run) -> TurnResult:
        """Run one turn under the turn's model-time budget and write its one JSON log line."""
        stats, token = llm.start_turn(self.settings.model_timeout)
        result: TurnResult | None = None
        try:
            result = run()
            return result
        finally:
            llm.end_turn(token)
            log_fields(
                log,
                logging.INFO,
                "chat turn",
                userId=user_id,
                channel=channel,
                model=self.settings.model,
                promptTokens=stats.prompt_tokens,
                completionTokens=stats.completion_tokens,
                modelCalls=stats.model_calls,
                modelMs=round(stats.model_seconds * 1000, 1),
                toolCalls=len(result.tool_calls) if result else 0,
                tools=[c.get("tool") for c in result.tool_calls] if result else [],
                malformedToolCalls=stats.malformed_tool_calls,
                totalMs=round((time.monotonic() - stats.started) * 1000, 1),
                ok=result is not None and not result.failed,
            )

    def repair(self, user_id: str) -> bool:
        """Close a turn that was cut short (Ctrl-C, a crash, a failed model call); True if one was."""
        user_id, _ = self._check(user_id, "terminal")
        return self._repair(user_id)

    def cart(self, user_id: str) -> dict[str, Any]:
        return cart_view(self.store.cart(user_id))

    def last_order(self, user_id: str) -> dict[str, Any] | None:
        return self.store.last_order(user_id)

    def pending_confirmation(self, user_id: str) -> dict[str, Any] | None:
        pending = self._interrupt(user_id)
        return self._pending_view(user_id, pending) if pending is not None else None

    def agents_down(self, timeout: float = 1.0) -> list[str]:
        """The agents the chat calls whose /health does not answer now (checked at once, in parallel)."""
        from concurrent.futures import ThreadPoolExecutor

        from agentkit.registry import agents

        names = [name for name in agents() if self.clients.available(name)]

        def down(name: str) -> bool:
            try:
                client = self.clients.client(name)
                return client.session.get(client.base_url + "/health", timeout=timeout).status_code != 200
            except Exception:
                return True

        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            return [name for name, is_down in zip(names, pool.map(down, names)) if is_down]

    def shopper(self, user_id: str) -> dict[str, Any] | None:
        try:
            profile = self.clients.call("recommendation", "getShopperProfile", {"userId": user_id})
        except AgentCallError:
            return None
        # A new shopper's profile may have no name or city yet.
        return {k: profile.get(k) for k in ("userId", "name", "city", "tier")}

    def first_contact(self, user_id: str, name: str | None = None) -> None:
        """A shopper the shop has not seen: their profile is made at the recommendation agent (upserted, so a
        second first contact changes nothing). A failure is logged, never the shopper's problem: the chat
        serves a shopper with no profile too, and the next first contact tries again."""
        body: dict[str, Any] = {"userId": user_id}
        if name and name.strip():
            body["name"] = name.strip()[:100]
        try:
            self.clients.call("recommendation", "upsertShopperProfile", body)
        except AgentCallError as exc:
            log.warning("no profile made for the new shopper %s: %s", user_id, exc)

    def reset(self, user_id: str) -> None:
        """Forget the conversation, the cart, the remembered cards and any pending checkout (releasing its hold)."""
        user_id, _ = self._check(user_id, "terminal")
        with self._lock(user_id):
            self.workflow.cancel(user_id)
            self.checkpointer.delete_thread(user_id)
            self.store.forget_user(user_id)
            self.vault.forget(user_id)
            self._awaiting.pop(user_id, None)

    def history(self, user_id: str) -> list[dict[str, str]]:
        """The conversation as role/text pairs (tool traffic left out)."""
        out = []
        for message in self._messages(user_id):
            if isinstance(message, HumanMessage) and message.additional_kwargs.get("lc_source") == "summarization":
                out.append({"role": "summary", "text": _text(message)})
            elif isinstance(message, HumanMessage):
                out.append({"role": "user", "text": _text(message)})
            elif isinstance(message, AIMessage) and _text(message):
                out.append({"role": "assistant", "text": _text(message)})
        return out

    def close(self) -> None:
        self.clients.close()
        if self._memory is not None:
            self._memory.close()
        self.store.dispose()

    # -- turns ---------------------------------------------------------------------------------
    def _resume(self, user_id: str, channel: str, approve: bool) -> TurnResult:
        pending = self._interrupt(user_id)
        count = len((pending or {}).get("action_requests", [])) or 1
        checkout = self.store.pending_checkout(user_id)
        shown = self._awaiting.pop(user_id, None)
        stale = checkout is None or (shown is not None and checkout["checkoutId"] != shown)
        if approve and not stale:
            decision: dict[str, Any] = {"type": "approve"}
        elif approve:
            decision = {
                "type": "reject",
                "message": "The checkout changed or expired before it was confirmed; "
                "nothing was charged. Prepare the checkout again.",
            }
        else:
            decision = {"type": "reject", "message": REJECT_MESSAGE}
        before = self._message_ids(user_id)
        try:
            state = self._invoke(Command(resume={"decisions": [decision] * count}), user_id, channel)
        except Exception as exc:
            return self._failed_turn(user_id, exc, before)
        finally:
            if not approve:
                self.workflow.cancel(user_id)
            self._prune(user_id)
        return self._finish(user_id, channel, state, before)

    def _finish(
        self, user_id: str, channel: str, state: dict[str, Any], before: set[str], depth: int = 0
    ) -> TurnResult:
        messages = state.get("messages", [])
        new = [m for m in messages if m.id not in before]  # ids, not positions: a summary shortens the list
        calls = _tool_calls(new)
        reply = _plain(_last_reply(new))
        interrupts = state.get("__interrupt__") or []
        if interrupts:
            request = interrupts[0].value if hasattr(interrupts[0], "value") else interrupts[0]
            checkout = self.store.pending_checkout(user_id)
            refusal = None
            if _place_order_beside_prepare(new):
                # The gate stops place_order before prepare_checkout in the same message has run: the total the
                # shopper would confirm does not exist yet (or is an older one). Refuse, so the model asks again.
                refusal = (
                    "place_order was called in the same message as prepare_checkout. Show the shopper the "
                    "total prepare_checkout returned, then call place_order on its own."
                )
            elif checkout is None:  # place_order without a prepared checkout: refuse instead of confirming nothing
                refusal = "There is no prepared checkout. Call prepare_checkout first."
            if refusal is not None and depth < 3:
                count = len(request.get("action_requests", [])) or 1
                try:
                    state = self._invoke(
                        Command(resume={"decisions": [{"type": "reject", "message": refusal}] * count}),
                        user_id,
                        channel,
                    )
                except Exception as exc:
                    return self._failed_turn(user_id, exc, before)
                return self._finish(user_id, channel, state, before, depth + 1)
            if checkout is not None:
                self._awaiting[user_id] = checkout["checkoutId"]
                view = self._pending_view(user_id, request)
                text = (reply + "\n\n" if reply else "") + view["description"] + " (yes/no)"
                return self._result(user_id, text, calls, view, new)
        pending = self.pending_confirmation(user_id)  # whenever one is pending, the answer says so
        reply = reply or _order_outcome(new) or "(no reply)"
        if pending is not None and pending["description"] not in reply:
            reply = reply + "\n\n" + pending["description"] + " (yes/no)"
        return self._result(user_id, reply, calls, pending, new)

    def _failed_turn(self, user_id: str, exc: Exception, before: set[str] | None = None) -> TurnResult:
        """The model or the graph failed. The shopper gets plain words (the exception goes to the log); when
        place_order ran in this turn they learn the order's outcome from its result; memory is closed at once
        with the same words, so no message is left unanswered."""
        log.exception("chat turn failed for %s (%s)", user_id, type(exc).__name__)
        new = [m for m in self._messages(user_id) if m.id not in before] if before is not None else []
        reply = _order_outcome(new) or (
            LOOPING_REPLY
            if isinstance(exc, GraphRecursionError)
            else "Sorry, I could not finish that just now. Please try again in a moment; your cart is safe."
        )
        if self._interrupt(user_id) is None:
            try:
                self._repair(user_id, reply)
            except Exception:
                log.exception("closing the failed turn of %s in memory failed", user_id)
        result = self._result(user_id, reply, _tool_calls(new), self.pending_confirmation(user_id), new)
        result.failed = True
        return result

    def _reminder(self, user_id: str, pending: dict[str, Any]) -> str:
        view = self._pending_view(user_id, pending)
        return (
            f"You have an order waiting for your confirmation: {view['description']} Reply yes to place it, "
            "or no to cancel it and change something."
        )

    def _pending_view(self, user_id: str, request: dict[str, Any]) -> dict[str, Any]:
        checkout = self.store.pending_checkout(user_id)
        if checkout is None:
            actions = request.get("action_requests") or [{}]
            return {
                "checkoutId": None,
                "total": None,
                "items": [],
                "paymentMethod": None,
                "description": actions[0].get("description", "Confirm the order?"),
            }
        quote = checkout["quote"]
        return {
            "checkoutId": checkout["checkoutId"],
            "total": quote["total"],
            "items": [
                {k: i[k] for k in ("productId", "name", "size", "color", "quantity", "unitPrice")}
                for i in quote["items"]
            ],
            "paymentMethod": payment_text(quote.get("payment") or {}),
            "expiresAt": checkout["expiresAt"],
            "description": describe_quote(quote),
        }

    def _result(
        self, user_id: str, reply: str, calls: list, pending: dict | None, new: list | None = None
    ) -> TurnResult:
        cart = self.cart(user_id)
        return TurnResult(
            reply=self._named(user_id, reply, cart),
            tool_calls=calls,
            cart=cart,
            pending_confirmation=pending,
            tool_results=_tool_results(new or []),
        )

    def _named(self, user_id: str, reply: str, cart: dict[str, Any]) -> str:
        """The reply with product and store names where a model wrote their ids (names.py), from what the tools
        of this conversation returned and the cart. Only read when the reply has an id in it."""
        if not names.has_ids(reply):
            return reply
        results = [m.content for m in self._messages(user_id) if isinstance(m, ToolMessage)]
        products, stores = names.names_in([*results, cart])
        return names.without_ids(reply, products, stores)

    # -- graph state -----------------------------------------------------------------------------
    def _invoke(self, graph_input: Any, user_id: str, channel: str) -> dict[str, Any]:
        """``graph.invoke``; while a turn observer is installed (events.py), the same run streamed, so the model's
        text reaches the observer as it is written (LangGraph's ``messages`` mode: chat models stream when it
        is on, the offline one in chunks of a few words). What it returns is what ``invoke`` returns: the last
        state, with ``__interrupt__`` when the run stopped at one."""
        config, context = self._config(user_id), self._context(user_id, channel)
        observer = events.current()
        if observer is None:
            return self.graph.invoke(graph_input, config, context=context)
        state: dict[str, Any] = {}
        interrupts: list[Any] = []
        for mode, chunk in self.graph.stream(
            graph_input, config, context=context, stream_mode=["messages", "updates", "values"]
        ):
            if mode == "messages":
                message, meta = chunk
                # Chunks of the agent's own model call only: not whole messages a node returned, nor a
                # middleware's model call.
                if isinstance(message, AIMessageChunk) and meta.get("langgraph_node") == "model" and message.text:
                    observer.token(message.text)
            elif mode == "updates" and isinstance(chunk, dict) and chunk.get("__interrupt__"):
                interrupts.extend(chunk["__interrupt__"])
            elif mode == "values":
                state = chunk
        return {**state, "__interrupt__": interrupts} if interrupts else state

    def _context(self, user_id: str, channel: str) -> SalesContext:
        return SalesContext(user_id, channel, self.service)

    def _config(self, user_id: str) -> dict[str, Any]:
        # ModelCallLimitMiddleware is the real bound on a turn's steps; this one only backs it up.
        return {"configurable": {"thread_id": user_id}, "recursion_limit": 250}

    def _snapshot(self, user_id: str):
        return self.graph.get_state(self._config(user_id))

    def _messages(self, user_id: str) -> list:
        return list((self._snapshot(user_id).values or {}).get("messages", []))

    def _message_ids(self, user_id: str) -> set[str]:
        return {m.id for m in self._messages(user_id)}

    def _prune(self, user_id: str) -> None:
        """One checkpoint per shopper: the older ones are never read again (memory.prune)."""
        try:
            memory.prune(self.checkpointer, user_id)
        except Exception:  # pruning is housekeeping: a failure must not fail the shopper's turn
            log.exception("pruning the checkpoints of %s failed", user_id)

    def _interrupt(self, user_id: str) -> dict[str, Any] | None:
        snapshot = self._snapshot(user_id)
        for interrupt in getattr(snapshot, "interrupts", ()) or ():
            value = getattr(interrupt, "value", interrupt)
            if isinstance(value, dict) and "action_requests" in value:
                return value
        return None

    def _repair(self, user_id: str, reply: str | None = None) -> bool:
        """A turn cut short leaves the shopper's message unanswered, or a tool call without its result; both
        would confuse the next model call. Answer them in memory, saying so. The cart, holds and checkouts
        are facts in their own stores and need no repair here. A pending confirmation is not a cut-short turn."""
        if self._interrupt(user_id) is not None:
            return False
        messages = self._messages(user_id)
        if not messages:
            return False
        answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
        last = messages[-1]
        patch: list = []
        if isinstance(last, AIMessage) and last.tool_calls:
            patch = [
                ToolMessage(INTERRUPTED_TOOL, tool_call_id=c["id"], name=c["name"], status="error")
                for c in last.tool_calls
                if c["id"] not in answered
            ]
        if patch or isinstance(last, (HumanMessage, ToolMessage)):
            patch.append(AIMessage(reply or INTERRUPTED_REPLY))
            self.graph.update_state(self._config(user_id), {"messages": patch}, as_node="model")
            return True
        return False

    def _check(self, user_id: str, channel: str) -> tuple[str, str]:
        user_id = str(user_id or "").strip()  # ids are opaque: compared as they are, never re-cased
        if not is_valid_id("userId", user_id):
            raise ValueError(f"userId must match {id_pattern('userId').pattern}, not {user_id!r}")
        channel = str(channel or "terminal").strip().lower()
        if not CHANNEL_RE.match(channel):
            raise ValueError(f"channel must be a short lowercase name such as terminal, web, whatsapp, not {channel!r}")
        return user_id, channel

    def _lock(self, user_id: str):
        return self.turn_lock(user_id)


def _text(message) -> str:
    content = message.content
    if isinstance(content, str):
        return content.strip()
    parts = [c.get("text", "") if isinstance(c, dict) else str(c) for c in content or []]
    return "".join(parts).strip()


def _tool_calls(messages: list) -> list[dict[str, Any]]:
    calls = []
    for message in messages:
        if isinstance(message, ToolMessage):
            artifact = message.artifact if isinstance(message.artifact, dict) else {}
            recorded = artifact.get("calls")
            if recorded:
                calls.extend(recorded)
            else:  # a refused or failed call (e.g. rejected confirmation): still show it
                calls.append(
                    {
                        "tool": message.name,
                        "agent": "sales",
                        "operation": message.name,
                        "ms": 0.0,
                        "ok": message.status != "error",
                    }
                )
    return calls


def _tool_results(messages: list) -> list[dict[str, Any]]:
    out = []
    for message in messages:
        if isinstance(message, ToolMessage):
            try:
                result = json.loads(message.text)
            except (TypeError, ValueError):
                result = None
            out.append({"tool": message.name, "result": result})
    return out


LOOPING_REPLY = (
    "Sorry, I went round in circles on that one and stopped. Your cart is as shown; please ask again in other words."
)


def _plain(reply: str) -> str:
    """The call limits end a looping model with a message meant for developers: the shopper gets plain words."""
    if reply.startswith(("Model call limits exceeded", "Tool call limit")):
        return LOOPING_REPLY
    return reply


def _place_order_beside_prepare(messages: list) -> bool:
    for message in reversed(messages):
        if isinstance(message, AIMessage) and any(c["name"] == "place_order" for c in message.tool_calls):
            return any(c["name"] == "prepare_checkout" for c in message.tool_calls)
    return False


def _order_outcome(messages: list) -> str:
    """What place_order's result in these messages says, in the shopper's words ("" when it did not run)."""
    for message in reversed(messages):
        if not (isinstance(message, ToolMessage) and message.name == "place_order"):
            continue
        try:
            result = json.loads(message.text)
        except (TypeError, ValueError):
            return ""
        if not isinstance(result, dict):
            return ""
        if result.get("orderId") and "error" not in result:
            total = result.get("total")
            paid = f": {format_inr(total)} paid" if isinstance(total, (int, float)) else ""
            return f"Your order {result['orderId']} is placed{paid}. I will keep you posted on its status."
        error = result.get("error") or {}
        if isinstance(error, dict) and error.get("message"):
            return f"The order was not placed: {error['message']}"
        return ""
    return ""


def _last_reply(messages: list) -> str:
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            text = _text(message)
            if text:
                return text
    return ""
