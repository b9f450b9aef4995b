"""How a failure looks to the model, the terminal, the HTTP API and the batch report.

Always ``{"error": {"agent", "operation", "code", "message", "suggestions"?, "declineCode"?, "retryable"?}}``.
"""

from __future__ import annotations

from typing import Any

from agentkit import AgentCallError

from .cards import mask_numbers

AGENT_LABELS = {
    "recommendation": "product catalogue",
    "inventory": "stock",
    "fulfillment": "orders and delivery",
    "payment": "payment",
    "loyalty": "offers and points",
    "post-purchase": "order tracking and returns",
    "gift-wrapping": "gift wrapping",
}


class ToolFailure(Exception):
    """A refusal of the sales agent itself (bad argument, empty cart, no card on file...)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        suggestions: list[str] | None = None,
        agent: str = "sales",
        operation: str | None = None,
        **extra: Any,
    ):
        super().__init__(message)
        self.payload: dict[str, Any] = {"agent": agent, "operation": operation, "code": code, "message": message}
        if suggestions:
            self.payload["suggestions"] = suggestions
        self.payload.update({k: v for k, v in extra.items() if v is not None})

    def as_result(self) -> dict[str, Any]:
        return {"error": self.payload}


def is_down(exc: AgentCallError) -> bool:
    """The agent could not be reached or did not answer (not: we refused to send a malformed request)."""
    return exc.unavailable


def error_from_call(exc: AgentCallError) -> dict[str, Any]:
    """An AgentCallError as the error object a model can explain and act on."""
    # An error message can quote the request (a schema error does): mask anything that looks like a card.
    out: dict[str, Any] = {
        "agent": exc.agent,
        "operation": exc.operation,
        "code": exc.code,
        "message": mask_numbers(str(exc.message)),
        "status": exc.status,
    }
    if is_down(exc):
        what = AGENT_LABELS.get(exc.agent, exc.agent)
        out["message"] = (
            f"The {what} service ({exc.agent} agent) is temporarily unavailable: {out['message']} "
            "Please try that again in a moment; everything else still works."
        )
        out["retryable"] = True
    for key in ("declineCode", "suggestions", "retryAfter", "retryable"):
        if key in exc.extra:
            out[key] = exc.extra[key]
    if exc.details and exc.status and 400 <= exc.status < 500:
        out["details"] = [
            {k: mask_numbers(str(v)) for k, v in d.items()} if isinstance(d, dict) else d for d in exc.details[:3]
        ]
    return out
