"""The tool registry: every tool the model sees is declared once, by the function that does its work, with the
contract operations it may call.

    @declare(("inventory", "checkInventory"))
    def check_stock(runtime: ToolRuntime[SalesContext], product_id: str, ...) -> dict:
        \"\"\"What the model reads about the tool.\"\"\"
        return ...  # the result; a ToolFailure or an AgentCallError becomes {"error": ...}

The tool's name is the function's. Its body runs inside ``run_tool``: compact JSON content plus the agent calls
it made (``{"calls": [{tool, agent, operation, ms, ok}]}``, what the terminal shows), and it never raises into
the model. The shopper's id and the parts a tool calls through come from the runtime context (``user_id``,
``service``), never from tool arguments.

Every module of this package except this one and ``common`` holds the tools of one agent; they are found by
name (``modules``), so a module the scaffold adds here joins the model's tools with no other edit. A module may
export ``SKILLS`` for the offline model too (gift_wrapping.py does).
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import pkgutil
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from langchain.tools import ToolRuntime, tool
from langchain_core.tools import BaseTool

from agentkit import AgentCallError

from .. import idempotency
from ..cards import CardTokens
from ..clients import Clients, recording
from ..context import SalesContext
from ..errors import ToolFailure, error_from_call
from ..store import SalesStore

log = logging.getLogger("agents.sales.tools")

PACKAGE = __name__.rpartition(".")[0]
NOT_AGENT_MODULES = frozenset({"registry", "common"})
Operation = tuple[str, str]


@dataclass
class SalesTools:
    """What every tool calls through, found in the runtime context (``SalesContext.service``)."""

    clients: Clients
    store: SalesStore
    workflow: Any  # checkout.CheckoutWorkflow
    vault: CardTokens


@dataclass(frozen=True)
class Declared:
    name: str
    run: Callable[..., tuple[str, dict[str, Any]]]
    operations: tuple[Operation, ...]


_declared: dict[str, dict[str, Declared]] = {}  # module name -> tool name -> its declaration


def declare(*operations: Operation) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the function a tool the model can call, which may call these ``(agent, operation)``s."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        name = fn.__name__

        @functools.wraps(fn)  # LangChain reads the arguments and the description through the wrapper
        def run(*args: Any, **kwargs: Any) -> tuple[str, dict[str, Any]]:
            return run_tool(name, lambda: fn(*args, **kwargs))

        _declared.setdefault(fn.__module__, {})[name] = Declared(name, run, tuple(operations))
        return fn

    return register


def declared_in(module: ModuleType) -> list[Declared]:
    return list(_declared.get(module.__name__, {}).values())


def modules() -> list[ModuleType]:
    """The per-agent tool modules of this package, imported in name order (``_private`` ones skipped). A module
    that does not import stops the import of the tools with the reason: a tool silently missing is worse."""
    package = importlib.import_module(PACKAGE)
    found = sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name)
    return [
        importlib.import_module(f"{PACKAGE}.{info.name}")
        for info in found
        if not info.name.startswith("_") and info.name not in NOT_AGENT_MODULES
    ]


def collect(found: list[ModuleType], taken: tuple[str, ...] = ()) -> list[Declared]:
    """Every tool the modules declare, checked: no name twice."""
    tools: list[Declared] = []
    seen = set(taken)
    for module in found:
        for declared in declared_in(module):
            if declared.name in seen:
                raise ValueError(f"{module.__name__}: a tool named {declared.name!r} already exists")
            seen.add(declared.name)
            tools.append(declared)
    return tools


@functools.lru_cache(maxsize=1)
def declared_tools() -> tuple[Declared, ...]:
    return tuple(collect(modules()))


@functools.lru_cache(maxsize=1)
def _langchain_tools() -> tuple[BaseTool, ...]:
    return tuple(tool(d.name, response_format="content_and_artifact")(d.run) for d in declared_tools())


def build_tools() -> list[BaseTool]:
    """The LangChain tools, built once per process (building them costs about a second of schema work)."""
    return list(_langchain_tools())


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def run_tool(name: str, fn: Callable[[], Any]) -> tuple[str, dict[str, Any]]:
    """Run a tool body: JSON content plus the calls it made; never raises."""
    started = time.perf_counter()
    with recording(name) as calls:
        try:
            result = fn()
        except AgentCallError as exc:
            result = {"error": error_from_call(exc)}
        except ToolFailure as exc:
            result = {"error": exc.payload}
        except Exception as exc:  # a tool must never raise into the model: log it, report it
            log.exception("tool %s failed", name)
            result = {
                "error": {
                    "agent": "sales",
                    "operation": name,
                    "code": "internal_error",
                    "message": f"Something went wrong on our side ({type(exc).__name__}); "
                    "it has been logged. Please try again.",
                }
            }
    if not calls:
        ok = not (isinstance(result, dict) and "error" in result)
        calls = [
            {
                "tool": name,
                "agent": "sales",
                "operation": name,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "ok": ok,
            }
        ]
    return dumps(result), {"calls": list(calls)}


def user_id(runtime: ToolRuntime[SalesContext]) -> str:
    context = runtime.context
    if isinstance(context, dict):
        return context["user_id"]
    return context.user_id


def service(runtime: ToolRuntime[SalesContext]) -> SalesTools:
    context = runtime.context
    found = context.get("service") if isinstance(context, dict) else getattr(context, "service", None)
    if found is None:
        raise ToolFailure(
            "not_configured", "The sales tools are not connected to the agents (no service in the context)."
        )
    return found


def action_key(runtime: ToolRuntime[SalesContext], name: str, **args: Any) -> str:
    """The Idempotency-Key of a tool call that changes something: made in idempotency.py from the shopper, the
    conversation, the model answer and the call (never the model's tool-call id alone)."""
    return idempotency.tool_call_key(runtime, user_id(runtime), name, args)
