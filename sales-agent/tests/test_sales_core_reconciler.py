"""The reconciler's rules in process: one claimant per stale checkout, a recovery whose own process died is
taken up again, a moving placement is left alone, and its settings are checked."""

from __future__ import annotations

import pytest

from agentkit import clock
from sales_agent.reconciler import MIN_STALE_AFTER, stale_after
from sales_agent.settings import Settings
from sales_agent.store import SalesStore, checkouts
from support import fresh_database_url


@pytest.fixture
def store(tmp_path):
    s = SalesStore(fresh_database_url("sales", tmp_path, "rec"))
    yield s
    s.dispose()


def _checkout(store: SalesStore, checkout_id: str, status: str, updated_at: str) -> dict:
    store.create_checkout(
        "U1001",
        checkout_id=checkout_id,
        source="batch",
        hold_id="HOLD-1",
        items=[],
        quote={},
        payment={},
        fulfillment={},
        ttl=900,
    )
    with store.db.write() as conn:
        conn.execute(
            checkouts.update()
            .where(checkouts.c.checkout_id == checkout_id)
            .values(status=status, updated_at=updated_at)
        )
    found = store.checkout(checkout_id)
    assert found is not None
    return found


def test_one_claimant_wins_a_stale_checkout(store):
    seen = _checkout(store, "CHK-1", "placing", "2026-01-01T00:00:00Z")["updatedAt"]
    assert store.claim_stale("CHK-1", seen) is True
    assert store.claim_stale("CHK-1", seen) is False  # a second worker read the same row: it loses
    assert store.checkout("CHK-1")["status"] == "recovering"


def test_a_recovery_left_behind_is_claimed_again_and_a_moving_one_is_not(store):
    seen = _checkout(store, "CHK-2", "recovering", "2026-01-01T00:00:00Z")["updatedAt"]
    store.touch("CHK-2")  # it moved after it was read
    assert store.claim_stale("CHK-2", seen) is False
    fresh = store.checkout("CHK-2")["updatedAt"]
    assert store.claim_stale("CHK-2", fresh) is True


def test_placed_and_quoted_checkouts_are_never_claimed(store):
    for status in ("placed", "quoted", "failed"):
        seen = _checkout(store, f"CHK-{status}", status, clock.now_iso())["updatedAt"]
        assert store.claim_stale(f"CHK-{status}", seen) is False


def test_settings(monkeypatch):
    monkeypatch.delenv("SALES_RECONCILE_SECONDS", raising=False)
    monkeypatch.delenv("SALES_RECONCILE_STALE_SECONDS", raising=False)
    settings = Settings()
    assert settings.reconcile_seconds == 60 and settings.reconcile_stale_seconds is None
    assert stale_after(60) == 60 and stale_after(5) == MIN_STALE_AFTER and stale_after(3600) == 300
    monkeypatch.setenv("SALES_RECONCILE_SECONDS", "soon")
    with pytest.raises(ValueError, match="SALES_RECONCILE_SECONDS"):
        Settings()
    monkeypatch.setenv("SALES_RECONCILE_SECONDS", "-1")
    with pytest.raises(ValueError, match="0 \\(off\\)"):
        Settings()
    monkeypatch.setenv("SALES_RECONCILE_SECONDS", "60")
    monkeypatch.setenv("SALES_RECONCILE_STALE_SECONDS", "2")
    assert stale_after(60, Settings().reconcile_stale_seconds) == 2
