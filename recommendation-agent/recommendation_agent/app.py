"""Recommendation agent: the contract's operations mapped to the rules in domain.py, and the catalog's pictures."""

import functools

from agentkit import AgentApp, AgentClient, Database, create_agent_app

from . import domain, images, profiles, storage

HANDLERS = {
    "getRecommendations": domain.get_recommendations,
    "searchProducts": domain.search_products,
    "getProduct": domain.get_product,
    "getAlternatives": domain.get_alternatives,
    "getShopperProfile": profiles.get_shopper_profile,
    "upsertShopperProfile": profiles.upsert_shopper_profile,
    "listCategories": domain.list_categories,
}
NEEDS_INVENTORY = ("getRecommendations", "getAlternatives")


def create_app(database_url: str | None = None, config: dict | None = None, clients: dict | None = None) -> AgentApp:
    clients = clients or {"inventory": AgentClient("inventory")}
    handlers = {
        **HANDLERS,
        **{op_id: functools.partial(HANDLERS[op_id], inventory=clients["inventory"]) for op_id in NEEDS_INVENTORY},
    }
    db = Database("recommendation", storage.metadata, storage.load_seed, url=database_url)
    app = create_agent_app("recommendation", db, handlers, config)
    app.serve_files(images.URL_PREFIX, images.IMAGES_DIR, images.CACHE_SECONDS)
    return app
