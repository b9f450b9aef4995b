"""How a placement step fails: a refusal or an error to undo after (``StepFailed``), an outcome that cannot be
known yet (``Unresolved``), and which failed checkouts still owe the shopper a refund."""

from __future__ import annotations

from typing import Any

from agentkit import AgentCallError

from ..errors import error_from_call


def refund_owed(result: dict[str, Any]) -> bool:
    """A failed checkout that charged the shopper and could not refund yet, or may have charged them."""
    if "error" not in result:
        return False
    return bool(result.get("chargeUncertain")) or (bool(result.get("charged")) and not result.get("refunded"))


class Unresolved(Exception):
    """Whether the order exists cannot be known now (fulfillment is unreachable after createOrder went
    out): nothing is undone, the checkout stays "placing", and recover_stale settles it once fulfillment
    answers again (cancelling the order and refunding if it was created, refunding if it was not)."""

    def __init__(self, exc: AgentCallError):
        super().__init__(exc.code)
        self.exc = exc

    def result(self, checkout_id: str) -> dict[str, Any]:
        return {
            "unresolved": True,
            "checkoutId": checkout_id,
            "charged": True,
            "refunded": False,
            "orderId": None,
            "error": {
                "agent": "fulfillment",
                "operation": "createOrder",
                "code": "order_unconfirmed",
                "failedStep": "createOrder",
                "message": "The payment went through but the order service stopped answering before it "
                "confirmed the order. It will be checked automatically within a few minutes: "
                "either the order stands or the payment is refunded in full.",
                "suggestions": ["Ask 'where is my order?' in a few minutes"],
            },
        }


class StepFailed(Exception):
    def __init__(
        self,
        step: str,
        exc: AgentCallError | None,
        *,
        code: str | None = None,
        message: str | None = None,
        **extra: Any,
    ):
        super().__init__(step)
        self.step, self.exc = step, exc
        self.extra = extra
        if exc is not None:
            self.error = error_from_call(exc)
        else:
            self.error = {
                "agent": extra.pop("agent", "payment"),
                "operation": "processPayment" if step == "pay" else step,
                "code": code,
                "message": message,
            }
        for key in ("declineCode", "suggestions"):
            if extra.get(key) is not None:
                self.error[key] = extra[key]
