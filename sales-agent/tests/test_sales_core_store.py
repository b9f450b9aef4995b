"""The sales store under concurrency: carts change atomically on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from sales_agent.store import SalesStore
from support import fresh_database_url


@pytest.fixture
def store(tmp_path):
    s = SalesStore(fresh_database_url("sales", tmp_path, "store"))
    yield s
    s.dispose()


def test_concurrent_cart_changes_are_never_lost(store):
    """Two answers' add_to_cart calls at once must both land (a row lock on PostgreSQL, IMMEDIATE on SQLite)."""
    from concurrent.futures import ThreadPoolExecutor

    def add(n: int) -> None:
        store.add_line(
            "U1007",
            {"productId": f"P{1001 + n}", "size": "M", "color": "Black", "quantity": 1, "name": f"item {n}"},
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add, range(16)))
    lines = store.cart("U1007")["lines"]
    assert sorted(line["productId"] for line in lines) == [f"P{1001 + n}" for n in range(16)]
