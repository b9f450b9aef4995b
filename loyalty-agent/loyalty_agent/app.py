"""Loyalty agent: the contract's operations mapped to the rules in domain.py."""

from agentkit import AgentApp, Database, create_agent_app

from . import domain, storage

HANDLERS = {
    "getApplicableOffers": domain.get_applicable_offers,
    "applyCoupon": domain.apply_coupon,
    "redeemLoyaltyPoints": domain.redeem_points,
    "cancelRedemption": domain.cancel_redemption,
    "earnPoints": domain.earn_points,
    "reversePoints": domain.reverse_points,
    "getMember": domain.get_member,
    "listMembers": domain.list_members,
    "listLedger": domain.list_ledger,
}


def create_app(database_url: str | None = None, config: dict | None = None) -> AgentApp:
    db = Database("loyalty", storage.metadata, storage.load_seed, url=database_url)
    return create_agent_app("loyalty", db, HANDLERS, config)
