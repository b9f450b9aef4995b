"""Post-purchase agent: the contract's operations mapped to the rules in domain.py.

It also answers the shop's policies (policy.py) and records support tickets (tickets.py).
It calls the fulfillment agent (orders), the payment agent (refunds), the inventory agent (exchange
holds, restocking returns) and the loyalty agent (points of returned goods); tests inject other
clients through ``clients``.
"""

from __future__ import annotations

import functools

from agentkit import AgentApp, AgentClient, Database, create_agent_app

from . import domain, policy, storage, tickets


def create_app(
    database_url: str | None = None, config: dict | None = None, clients: dict[str, AgentClient] | None = None
) -> AgentApp:
    domain.return_window_days()  # a malformed RETURN_WINDOW_DAYS stops the start, not the first return
    clients = clients or {}
    fulfillment = clients.get("fulfillment") or AgentClient("fulfillment")
    payment = clients.get("payment") or AgentClient("payment")
    inventory = clients.get("inventory") or AgentClient("inventory")
    loyalty = clients.get("loyalty") or AgentClient("loyalty")
    handlers = {
        "getOrderStatus": functools.partial(domain.get_order_status, fulfillment=fulfillment, inventory=inventory),
        "initiateReturn": functools.partial(
            domain.initiate_return, fulfillment=fulfillment, payment=payment, inventory=inventory, loyalty=loyalty
        ),
        "initiateExchange": functools.partial(domain.initiate_exchange, fulfillment=fulfillment, inventory=inventory),
        "getReturnStatus": domain.get_return_status,
        "getExchangeStatus": functools.partial(domain.get_exchange_status, inventory=inventory),
        "completeExchange": functools.partial(domain.complete_exchange, fulfillment=fulfillment, inventory=inventory),
        "retryRefund": functools.partial(
            domain.retry_refund, payment=payment, fulfillment=fulfillment, inventory=inventory, loyalty=loyalty
        ),
        "submitFeedback": functools.partial(domain.submit_feedback, fulfillment=fulfillment),
        "getPolicy": policy.get_policy,
        "createSupportTicket": functools.partial(tickets.create_support_ticket, fulfillment=fulfillment),
        "getSupportTicket": tickets.get_support_ticket,
        "listSupportTickets": tickets.list_support_tickets,
        "closeSupportTicket": tickets.close_support_ticket,
    }
    db = Database("post-purchase", storage.metadata, storage.load_seed, url=database_url)
    return create_agent_app("post-purchase", db, handlers, config)
