"""Fixtures the fulfillment suites share: the agents an order's facts belong to (in process),
and the fulfillment app wired to them."""

from __future__ import annotations

import pytest
from order_owners import OrderOwners


@pytest.fixture
def owners(make_app):
    """The catalog, inventory, payment and loyalty agents the orders' facts belong to, in process."""
    wired = OrderOwners(make_app)
    yield wired
    wired.close()


@pytest.fixture
def app(make_app, owners):
    """The fulfillment agent checking every claim with those owners; loyalty reads its orders from it."""
    built = make_app("fulfillment", clients=owners.clients())
    built.owners = owners
    owners.serve_fulfillment(built)
    return built


@pytest.fixture
def client(app):
    return app.test_client()
