"""Gift-wrapping agent: the contract's operations mapped to the rules in domain.py.

It calls no other agent: eligibility comes from its own product -> category map and wrapping rules.
"""

from agentkit import AgentApp, Database, create_agent_app

from . import domain, storage

HANDLERS = {
    "checkGiftWrapping": domain.check_gift_wrapping,
    "addGiftWrap": domain.add_gift_wrap,
    "getGiftWraps": domain.get_gift_wraps,
    "cancelGiftWrap": domain.cancel_gift_wrap,
}


def create_app(database_url: str | None = None, config: dict | None = None) -> AgentApp:
    db = Database("gift-wrapping", storage.metadata, storage.load_seed, url=database_url)
    return create_agent_app("gift-wrapping", db, HANDLERS, config)
