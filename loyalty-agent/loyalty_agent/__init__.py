"""The loyalty agent: members, tiers, the points ledger, coupons and automatic offers."""
