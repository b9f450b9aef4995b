"""Gift-wrapping agent: the contract's operations mapped to the rules in domain.py.

Eligibility comes from its own product -> category map and wrapping rules. Orders are checked with the
fulfillment agent (getOrder) before a wrap is added, and a cancelled wrap's fee is refunded through the payment
agent (checkPaymentStatus, refundPayment).
"""

import functools

from agentkit import AgentApp, AgentClient, Database, create_agent_app
from agentkit.app import Handler

from . import domain, storage

HANDLERS: dict[str, Handler] = {
    "checkGiftWrapping": domain.check_gift_wrapping,
    "addGiftWrap": domain.add_gift_wrap,
    "getGiftWraps": domain.get_gift_wraps,
    "cancelGiftWrap": domain.cancel_gift_wrap,
}


def create_app(database_url: str | None = None, config: dict | None = None, clients: dict | None = None) -> AgentApp:
    clients = clients or {"fulfillment": AgentClient("fulfillment"), "payment": AgentClient("payment")}
    handlers: dict[str, Handler] = {
        **HANDLERS,
        "addGiftWrap": functools.partial(domain.add_gift_wrap, fulfillment=clients["fulfillment"]),
        "cancelGiftWrap": functools.partial(
            domain.cancel_gift_wrap, fulfillment=clients["fulfillment"], payment=clients["payment"]
        ),
    }
    db = Database("gift-wrapping", storage.metadata, storage.load_seed, url=database_url)
    return create_agent_app("gift-wrapping", db, handlers, config)
