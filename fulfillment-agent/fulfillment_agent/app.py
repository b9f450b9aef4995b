"""Fulfillment agent: the contract's operations mapped to the rules in domain.py."""

from __future__ import annotations

import functools
import os
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from agentkit import AgentApp, AgentClient, Database, create_agent_app

from . import addresses, domain, storage

HANDLERS: dict[str, Callable[..., Any]] = {
    "createOrder": domain.create_order,
    "getOrder": domain.get_order,
    "listOrders": domain.list_orders,
    "listAllOrders": domain.list_all_orders,
    "updateOrderStatus": domain.update_order_status,
    "approveOrder": domain.approve_order,
    "cancelOrder": domain.cancel_order,
    "updateOrderAddress": domain.update_order_address,
    "getDeliveryOptions": domain.get_delivery_options,
    "reserveInStore": domain.reserve_in_store,
    "cancelReservation": domain.cancel_reservation,
    "listReservations": domain.list_reservations,
    "saveAddress": addresses.save_address,
    "listAddresses": addresses.list_addresses,
    "deleteAddress": addresses.delete_address,
    "listStores": addresses.list_stores,
}
USES_INVENTORY = {"reserveInStore", "cancelReservation"}
# Operations that check claims with, or undo an order through, the agents that own the facts.
USES_OWNERS = {"createOrder", "updateOrderStatus", "approveOrder", "cancelOrder"}
OWNERS = {"inventory": "inventory", "catalog": "recommendation", "payment": "payment", "loyalty": "loyalty"}


def approval_threshold(config: dict) -> Decimal:
    """Orders whose total is above this (rupees) wait for approval: config, else ORDER_APPROVAL_THRESHOLD."""
    raw = config.get("ORDER_APPROVAL_THRESHOLD", os.environ.get("ORDER_APPROVAL_THRESHOLD"))
    if raw is None or raw == "":
        return domain.DEFAULT_APPROVAL_THRESHOLD
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"ORDER_APPROVAL_THRESHOLD must be a number of rupees, not {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"ORDER_APPROVAL_THRESHOLD must be a positive number of rupees, not {raw!r}")
    return value


def create_app(
    database_url: str | None = None, config: dict | None = None, clients: dict[str, AgentClient] | None = None
) -> AgentApp:
    """``clients`` replaces the contract clients by agent name (inventory, recommendation, payment, loyalty)."""
    config = config or {}
    clients = dict(clients or {})
    for agent in OWNERS.values():
        clients.setdefault(agent, AgentClient(agent))
    owners = domain.Owners(**{role: clients[agent] for role, agent in OWNERS.items()})
    handlers: dict[str, Callable[..., Any]] = {}
    for op_id, handler in HANDLERS.items():
        if op_id in USES_INVENTORY:
            handler = functools.partial(handler, inventory=clients["inventory"])
        elif op_id in USES_OWNERS:
            handler = functools.partial(handler, owners=owners)
        if op_id == "createOrder":
            handler = functools.partial(handler, approval_threshold=approval_threshold(config))
        handlers[op_id] = handler
    db = Database("fulfillment", storage.metadata, storage.load_seed, url=database_url)
    return create_agent_app("fulfillment", db, handlers, config)
