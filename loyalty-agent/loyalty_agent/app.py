"""Loyalty agent: the contract's operations mapped to the rules in domain.py.

It asks the fulfillment agent for the orders points are earned on, and the post-purchase agent for
the returns whose points are taken back; tests inject other clients through ``clients``.
"""

from __future__ import annotations

import functools

from agentkit import AgentApp, AgentClient, Database, create_agent_app

from . import domain, storage


def create_app(
    database_url: str | None = None, config: dict | None = None, clients: dict[str, AgentClient] | None = None
) -> AgentApp:
    clients = clients or {}
    fulfillment = clients.get("fulfillment") or AgentClient("fulfillment")
    post_purchase = clients.get("post-purchase") or AgentClient("post-purchase")
    handlers = {
        "getApplicableOffers": domain.get_applicable_offers,
        "applyCoupon": domain.apply_coupon,
        "redeemLoyaltyPoints": domain.redeem_points,
        "cancelRedemption": domain.cancel_redemption,
        "earnPoints": functools.partial(domain.earn_points, fulfillment=fulfillment),
        "reversePoints": functools.partial(domain.reverse_points, fulfillment=fulfillment, post_purchase=post_purchase),
        "getMember": domain.get_member,
        "enrolMember": domain.enrol_member,
        "listMembers": domain.list_members,
        "listLedger": domain.list_ledger,
    }
    db = Database("loyalty", storage.metadata, storage.load_seed, url=database_url)
    return create_agent_app("loyalty", db, handlers, config)
