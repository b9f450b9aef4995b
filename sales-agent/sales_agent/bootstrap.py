"""The one place the sales agent's object graph is built.

    checkout = build_checkout()        # settings, contract clients, the sales store, card tokens, the workflow
    session = build_session()          # the same, plus the tools, the model, the memory and the agent graph

The HTTP API, the webhooks, the terminal, batch orders, checkout recovery and the tests all come through
here; a test passes what it wants instead (a scripted model, fake clients, its own databases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from . import memory
from .cards import CardTokens
from .checkout import CheckoutWorkflow
from .clients import Clients
from .graph import Checkpointer, build_graph, build_model
from .guests import Deliveries, Identities
from .session import SalesSession
from .settings import Settings
from .store import SalesStore
from .tools import SalesTools, build_tools
from .turnlock import TurnLock


@dataclass
class Checkout:
    """What places orders without a model: batch orders and checkout recovery use it, and every session."""

    settings: Settings
    clients: Clients
    store: SalesStore
    vault: CardTokens
    workflow: CheckoutWorkflow

    def close(self) -> None:
        self.clients.close()
        self.store.dispose()


def build_checkout(
    settings: Settings | None = None,
    *,
    clients: Clients | None = None,
    store: SalesStore | None = None,
    vault: CardTokens | None = None,
) -> Checkout:
    settings = settings or Settings()
    clients = clients or Clients(retries=settings.client_retries)
    store = store or SalesStore(settings.database_url)
    vault = vault or CardTokens()
    workflow = CheckoutWorkflow(clients, store, vault, settings.hold_ttl)
    return Checkout(settings, clients, store, vault, workflow)


def build_session(
    settings: Settings | None = None,
    *,
    model: BaseChatModel | None = None,
    clients: Clients | None = None,
    store: SalesStore | None = None,
    vault: CardTokens | None = None,
    checkpointer: Any = None,
) -> SalesSession:
    """A session over a checkout, with the tools, the model (``settings.model`` unless given) and memory
    (the checkpointer ``settings.memory_url`` names unless given; the session closes only one it owns)."""
    checkout = build_checkout(settings, clients=clients, store=store, vault=vault)
    settings, store = checkout.settings, checkout.store
    tools = build_tools()
    model = model if model is not None else build_model(settings)
    owned = None
    if checkpointer is None:
        owned = Checkpointer(settings)
        checkpointer = owned.saver
    return SalesSession(
        settings=settings,
        clients=checkout.clients,
        store=store,
        vault=checkout.vault,
        workflow=checkout.workflow,
        service=SalesTools(checkout.clients, store, checkout.workflow, checkout.vault),
        tools=tools,
        model=model,
        checkpointer=checkpointer,
        owned_memory=owned,
        graph=build_graph(model, tools, store, checkpointer, settings.context_tokens),
        turns=memory.TurnLimiter(store.db, settings.turns_per_minute),
        # One turn at a time per shopper across workers and replicas (turnlock.py), and the checkout shown
        # for confirmation kept in the database: a shopper's turns may reach any worker.
        turn_lock=TurnLock(store.db, settings.turn_lock_url, settings.turn_lock_seconds),
        awaiting=memory.Awaiting(store.db),
        identities=Identities(store.db),
        deliveries=Deliveries(store.db),
    )
