"""Checkout as a deterministic workflow, never a chain the model improvises.

workflow.py (prepare, place, cancel, recover, batch runs), pricing.py (lines, wraps and the quote),
destination.py (store or address), instrument.py (card or UPI), placement.py (the saga of steps 4-8),
undo.py (what a failed placement gives back) and failures.py.

    prepare:  1. hold the stock (inventory createHold, 15 minutes)
              2. price it: catalog prices, the best of the shopper's coupon and the applicable offers
                 (loyalty applyCoupon commit=false / getApplicableOffers), points as rupees off, the
                 delivery fee (fulfillment getDeliveryOptions); open a payment session (payment initiateCheckout)
              -> a quote, stored as the shopper's pending checkout
              3. the shopper confirms (HumanInTheLoopMiddleware in the chat; the batch confirms itself)
    place:    4. pay (payment processPayment: a retry never charges twice)
              5. create the order (fulfillment createOrder)
              6. commit the stock (inventory commitHold)
                 commit the coupon (loyalty applyCoupon commit=true) and redeem the points (redeemLoyaltyPoints)
              7. gift-wrap the wrapped lines (gift-wrapping addGiftWrap with the new order id)
              8. earn points (loyalty earnPoints)
    Every step that takes an Idempotency-Key (payment, order, points, gift wraps, refund) sends the one
    idempotency.checkout_key makes from the shopper, the checkout id (stored with the checkout) and the step.

Gift wraps: a wrap chosen in the chat is kept on its cart line (``giftWrap``). prepare re-prices it with
gift-wrapping checkGiftWrapping (so the price and the option are current; if that agent is down the checkout
is refused before anything is held, suggesting to try again or remove the wrap) and adds it to the quote:
``giftWraps`` and ``giftWrapTotal``, included in ``total`` and so in the payment amount and the confirmation.
The order carries it as ``giftWrapFee`` (fulfillment checks total = subtotal - discount + deliveryFee +
giftWrapFee). Discounts and points apply to the items only.
A failed addGiftWrap is undone like any other step (order cancelled, charge refunded, coupon/points given back,
and any wrap already recorded for the order cancelled), not recorded-and-reported: the shopper confirmed and paid
a total that includes the wrap, so an order quietly placed without it would break that promise, and a partial
refund of the wrap would be a second money movement to get right. addGiftWrap is idempotent per key, so a
retried placement never wraps twice; the shopper can try again or remove the wrap and check out without it.

Every failure undoes what was done, each undo step attempted even if an earlier one failed:
before payment the hold is released; after payment the order is cancelled (which gives the stock back),
the charge refunded, and the coupon/points given back (loyalty reversePoints); if the order could not
be cancelled the hold is released directly. The result lists every undo step and whether it worked.
Earning points is the one step that does not undo a paid order: earnPoints is idempotent per order, so
a failure there is reported (``pointsPending``) and can be credited later.
"""

from __future__ import annotations

from .workflow import STALE_PLACING_SECONDS, CheckoutWorkflow

__all__ = ["STALE_PLACING_SECONDS", "CheckoutWorkflow"]
