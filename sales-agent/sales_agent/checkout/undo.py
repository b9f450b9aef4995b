"""Undoing a placement that failed half-way: each step undone with the agent that did it, every one attempted
even if an earlier one failed, and the result saying what was undone and whether the shopper was charged.

Before payment the hold is released; after payment the order is cancelled (which gives the stock back), the
charge refunded, and the coupon/points given back (loyalty reversePoints); if the order could not be cancelled
the hold is released directly.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from agentkit import AgentCallError
from agentkit.money import format_inr

from ..errors import is_down
from .failures import StepFailed

if TYPE_CHECKING:
    from .placement import Placement

log = logging.getLogger("agents.sales.checkout")


def release_hold(clients: Any, hold_id: str | None) -> dict[str, Any]:
    if not hold_id:
        return {"step": "releaseHold", "ok": True, "detail": "nothing held"}
    try:
        hold = clients.call("inventory", "releaseHold", {"holdId": hold_id})
        return {"step": "releaseHold", "ok": True, "detail": f"hold {hold_id} {hold['status']}"}
    except AgentCallError as exc:
        if exc.status == 409:  # already released or expired: the stock is back either way
            return {"step": "releaseHold", "ok": True, "detail": f"hold {hold_id}: {exc.message}"}
        log.warning("could not release hold %s: %s", hold_id, exc.code)
        return {
            "step": "releaseHold",
            "ok": False,
            "detail": f"hold {hold_id} not released ({exc.code}); it expires by itself within 15 minutes",
        }


def refund(run: Placement) -> dict[str, Any]:
    try:
        receipt = run.clients.call(
            "payment",
            "refundPayment",
            {"paymentId": run.paid["paymentId"], "reason": f"checkout {run.checkout_id} could not complete"},
            idempotency_key=run.step_key("refundPayment"),
        )
        return {
            "step": "refundPayment",
            "ok": True,
            "detail": f"{format_inr(receipt['amount'])} refunded ({receipt['refundId']})",
        }
    except AgentCallError as exc:
        if _refunded_in_full(run):  # an earlier attempt (or the order's own cancellation) refunded it
            return {"step": "refundPayment", "ok": True, "detail": f"{run.paid['paymentId']} already refunded"}
        return {
            "step": "refundPayment",
            "ok": False,
            "detail": f"refund of {run.paid['paymentId']} failed ({exc.code}); retried until it goes through",
        }


def _refunded_in_full(run: Placement) -> bool:
    try:
        payment = run.clients.call("payment", "checkPaymentStatus", {"paymentId": run.paid["paymentId"]})
    except AgentCallError:
        return False
    return payment["status"] == "refunded"


def cancel_order(run: Placement) -> dict[str, Any]:
    try:
        run.clients.call(
            "fulfillment",
            "cancelOrder",
            {
                "orderId": run.placed["orderId"],
                "userId": run.user_id,
                "reason": f"checkout {run.checkout_id} could not complete",
            },
        )
        return {
            "step": "cancelOrder",
            "ok": True,
            "detail": f"order {run.placed['orderId']} cancelled, stock returned",
        }
    except AgentCallError as exc:
        released = release_hold(run.clients, run.c["holdId"])
        return {
            "step": "cancelOrder",
            "ok": False,
            "detail": f"order {run.placed['orderId']} not cancelled ({exc.code}); {released['detail']}",
        }


def reverse_loyalty(run: Placement) -> dict[str, Any]:
    try:
        r = run.clients.call(
            "loyalty",
            "reversePoints",
            {
                "userId": run.user_id,
                "orderId": run.placed["orderId"],
                "reason": f"checkout {run.checkout_id} could not complete",
                "restoreRedeemed": True,
            },
        )
        return {
            "step": "reversePoints",
            "ok": True,
            "detail": f"{r['pointsRestored']} points restored, coupons released: {r['couponsReleased']}",
        }
    except AgentCallError as exc:
        return {"step": "reversePoints", "ok": False, "detail": f"loyalty not reversed ({exc.code})"}


def cancel_wraps(run: Placement) -> dict[str, Any]:
    """Cancel every wrap still requested for this order (read back, so a wrap whose answer was lost counts)."""
    order_id = run.placed["orderId"]
    try:
        listed = run.clients.call("gift-wrapping", "getGiftWraps", {"orderReference": order_id})["wraps"]
        cancelled = []
        for wrap in listed:
            if wrap["status"] == "requested":
                run.clients.call("gift-wrapping", "cancelGiftWrap", {"wrapId": wrap["wrapId"]})
                cancelled.append(wrap["wrapId"])
    except AgentCallError as exc:
        return {
            "step": "cancelGiftWrap",
            "ok": False,
            "detail": f"gift wraps of {order_id} not cancelled ({exc.code}); the order is cancelled, so "
            "they will not be made",
        }
    return {
        "step": "cancelGiftWrap",
        "ok": True,
        "detail": f"gift wraps cancelled: {', '.join(cancelled)}" if cancelled else "no gift wrap was recorded",
    }


def roll_back(run: Placement, failed: StepFailed) -> dict[str, Any]:
    undone: list[dict[str, Any]] = []
    for name, action in run.undo:
        if name == "refundPayment" and any(u["step"] == "cancelOrder" and not u["ok"] for u in undone):
            # The order still stands: refunding now would leave it shipped unpaid. The checkout stays open
            # and the reconciler cancels, then refunds, once fulfillment answers.
            undone.append({"step": name, "ok": False, "detail": "not refunded while the order stands; retried"})
            continue
        try:
            undone.append(action())
        except Exception as exc:  # every undo step is attempted; one failing must not stop the rest
            log.exception("undo step %s failed", name)
            undone.append({"step": name, "ok": False, "detail": f"{type(exc).__name__}"})
    charged = run.payment is not None
    refunded = any(u["step"] == "refundPayment" and u["ok"] for u in undone)
    uncertain = False
    error = failed.error
    error["failedStep"] = failed.step
    if charged:
        error["message"] += (
            " The payment was refunded."
            if refunded
            else " The refund did not go through yet; it is retried until it does."
        )
    elif (
        failed.extra.get("charged") is None and failed.step == "pay" and failed.exc is not None and is_down(failed.exc)
    ):
        uncertain = True
        error["message"] += (
            " It is not certain whether the payment went through; if a charge appears it will be refunded."
        )
    else:
        error["message"] += " Nothing was charged."
    return {
        "error": error,
        "checkoutId": run.checkout_id,
        "charged": charged,
        "refunded": refunded,
        **({"chargeUncertain": True} if uncertain else {}),
        "orderId": run.placed["orderId"] if run.order else None,
        "holdReleased": any(u["step"] in ("releaseHold", "cancelOrder") and u["ok"] for u in undone),
        "undo": undone,
    }
