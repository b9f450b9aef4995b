"""Payment agent: the contract's operations mapped to the rules in domain.py."""

from agentkit import AgentApp, Database, create_agent_app

from . import domain, storage

HANDLERS = {
    "initiateCheckout": domain.initiate_checkout,
    "getCheckoutSession": domain.get_checkout_session,
    "processPayment": domain.process_payment,
    "checkPaymentStatus": domain.check_payment_status,
    "refundPayment": domain.refund_payment,
    "listPayments": domain.list_payments,
    "listAllPayments": domain.list_all_payments,
}


def create_app(database_url: str | None = None, config: dict | None = None) -> AgentApp:
    db = Database("payment", storage.metadata, storage.load_seed, url=database_url)
    return create_agent_app("payment", db, HANDLERS, config)
