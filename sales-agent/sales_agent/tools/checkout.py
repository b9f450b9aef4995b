"""Checkout (every agent, through the checkout workflow in ``sales_agent/checkout``): prepare holds the stock and
prices the cart, place pays and creates the order once the shopper has confirmed, cancel releases the hold.

  prepare_checkout     quote: {checkoutId, items, subtotal, discounts: [{kind, code|offerId, title, amount}],
                        pointsRedeemed, pointsValue, deliveryFee, giftWraps?, giftWrapTotal?, total,
                        payment: {method, cardRef, brand, last4 | upiId}, fulfillment: {type, storeId, city,
                        address (one line), estimatedDate}, holdExpiresAt, status: "awaiting_confirmation"}
  place_order          {orderId, status, total, paymentId, pointsEarned, pointsBalance, estimatedDelivery, items, ...}
                        or {"error": {..., declineCode?, suggestions}, "undo": [{step, ok, detail}], "charged",
                        "refunded"}
  cancel_checkout      {checkoutId, status: "cancelled", holdReleased}
"""

from __future__ import annotations

from typing import Literal

from langchain.tools import ToolRuntime

from ..context import SalesContext
from ..errors import ToolFailure
from .address_book import address_from_book, written_address
from .registry import declare, service, user_id


@declare(
    ("recommendation", "getProduct"),
    ("recommendation", "getShopperProfile"),
    ("inventory", "createHold"),
    ("inventory", "releaseHold"),
    ("loyalty", "getApplicableOffers"),
    ("loyalty", "applyCoupon"),
    ("fulfillment", "getDeliveryOptions"),
    ("fulfillment", "listAddresses"),
    ("payment", "initiateCheckout"),
    ("gift-wrapping", "checkGiftWrapping"),
)
def prepare_checkout(
    runtime: ToolRuntime[SalesContext],
    payment_method: Literal["card", "upi"] = "card",
    card_ref: str | None = None,
    upi_id: str | None = None,
    fulfillment: Literal["ship_to_home", "click_and_collect"] = "ship_to_home",
    store_id: str | None = None,
    address: str | None = None,
    address_id: str | None = None,
):
    """Start checkout for the cart: holds the stock and prices it with offers, coupon and points.
    card_ref is like card_ending_4242 (the card the shopper typed). address: where to ship, as the shopper wrote it
    with its PIN code ("Flat 3, 14 Park Street, Kolkata 700016"), or address_id of a saved one; default: the one on
    file. Returns the quote (and where it goes); then call place_order."""
    parts, uid = service(runtime), user_id(runtime)
    where = None
    if fulfillment == "ship_to_home" and address_id:
        where = address_from_book(parts, uid, address_id)
    elif fulfillment == "ship_to_home" and address:
        where = written_address(parts, uid, address, None, None)
    return parts.workflow.prepare(
        uid,
        payment_method=payment_method,
        card_ref=card_ref,
        upi_id=upi_id,
        fulfillment=fulfillment,
        store_id=store_id,
        address=where,
    )


@declare(
    ("payment", "processPayment"),
    ("fulfillment", "createOrder"),
    ("inventory", "commitHold"),
    ("loyalty", "applyCoupon"),
    ("loyalty", "redeemLoyaltyPoints"),
    ("loyalty", "earnPoints"),
    ("payment", "refundPayment"),
    ("payment", "listPayments"),
    ("inventory", "releaseHold"),
    ("inventory", "getHold"),
    ("fulfillment", "cancelOrder"),
    ("loyalty", "reversePoints"),
    ("gift-wrapping", "addGiftWrap"),
    ("gift-wrapping", "getGiftWraps"),
    ("gift-wrapping", "cancelGiftWrap"),
)
def place_order(runtime: ToolRuntime[SalesContext]):
    """Pay for and place the prepared checkout. The shopper is always asked to confirm first."""
    parts, uid = service(runtime), user_id(runtime)
    pending = parts.store.pending_checkout(uid)
    if pending is None:
        raise ToolFailure(
            "no_pending_checkout",
            "There is no checkout waiting to be placed.",
            suggestions=["Call prepare_checkout first."],
        )
    return parts.workflow.place(uid, pending["checkoutId"])


@declare(("inventory", "releaseHold"))
def cancel_checkout(runtime: ToolRuntime[SalesContext]):
    """Cancel the prepared checkout and release the held stock."""
    parts, uid = service(runtime), user_id(runtime)
    return parts.workflow.cancel(uid)
