"""The sales agent's tools: one per thing a shopper needs, each a thin call through a contract client.

Every tool returns compact JSON and never raises into the model; a failure is
``{"error": {"agent", "operation", "code", "message", "suggestions"?, "declineCode"?, "retryable"?}}``.
registry.py declares each tool once with the operations it may call; the tools live in one module per agent
(recommendation, inventory, cart, loyalty, checkout, fulfillment, post_purchase, gift_wrapping), each listing
the shapes of its results. A tool that changes something (return_item, exchange_item, reserve_in_store) sends
the Idempotency-Key ``registry.action_key`` gets from idempotency.py; no tool makes its own.
"""

from __future__ import annotations

from .common import cart_view
from .registry import SalesTools, build_tools, declared_tools

TOOL_NAMES: tuple[str, ...] = tuple(d.name for d in declared_tools())
# Which agent operations each tool may call (the consistency test and the terminal read it).
TOOL_OPERATIONS: dict[str, list[tuple[str, str]]] = {d.name: list(d.operations) for d in declared_tools()}

__all__ = ["TOOL_NAMES", "TOOL_OPERATIONS", "SalesTools", "build_tools", "cart_view"]
