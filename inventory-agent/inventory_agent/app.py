"""Inventory agent: the contract's operations mapped to the rules in domain.py."""

from agentkit import AgentApp, Database, create_agent_app

from . import domain, storage

HANDLERS = {
    "checkInventory": domain.check_inventory,
    "getAvailability": domain.availability,
    "createHold": domain.create_hold,
    "getHold": domain.get_hold,
    "releaseHold": domain.release_hold,
    "commitHold": domain.commit_hold,
    "restock": domain.restock,
    "getStockHistory": domain.stock_history,
    "listLowStock": domain.low_stock,
    "listHolds": domain.list_holds,
}


def create_app(database_url: str | None = None, config: dict | None = None) -> AgentApp:
    db = Database("inventory", storage.metadata, storage.load_seed, url=database_url)
    return create_agent_app("inventory", db, HANDLERS, config)
