"""The per-shopper turn lock outside the process: two TurnLock objects (as two workers have) exclude each
other for one shopper, never across shoppers, and a wait that runs out is a 409 naming userId."""

from __future__ import annotations

import shutil
import subprocess
import threading

import pytest

from agentkit.errors import Conflict
from sales_agent.store import SalesStore
from sales_agent.turnlock import TurnLock
from support import USE_POSTGRES, free_port, fresh_database_url


@pytest.fixture
def store(tmp_path):
    s = SalesStore(fresh_database_url("sales", tmp_path, "lock"))
    yield s
    s.dispose()


@pytest.fixture(params=["database", "redis"])
def locks(request, store):
    if request.param == "database":
        yield TurnLock(store.db, wait=0.5), TurnLock(store.db, wait=0.5)
        return
    if not shutil.which("redis-server"):
        pytest.skip("no redis-server on this machine")
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    try:
        import redis

        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                threading.Event().wait(0.02)
        url = f"redis://127.0.0.1:{port}/0"
        yield TurnLock(store.db, url, wait=0.5), TurnLock(store.db, url, wait=0.5)
    finally:
        server.terminate()
        server.wait()


def test_the_kind_follows_the_configuration(store, locks):
    first, _ = locks
    expected = {"redis"} if first._client is not None else {"postgres" if USE_POSTGRES else "sqlite"}
    assert {first.kind} == expected


def test_two_workers_exclude_each_other_for_one_shopper_only(locks):
    first, second = locks
    with first("U1001"):
        with pytest.raises(Conflict) as refused:
            with second("U1001"):
                pass
        assert refused.value.details == [{"field": "userId", "message": "a turn of this shopper is still running"}]
        with second("U1002"):  # another shopper is never held up
            pass
    with second("U1001"):  # released: the other worker gets it
        pass


def test_a_waiting_turn_runs_once_the_first_ends(store, locks):
    first, _ = locks
    url = None
    if first._client is not None:
        url = f"redis://127.0.0.1:{first._client.connection_pool.connection_kwargs['port']}/0"
    second = TurnLock(store.db, url, wait=5)  # a worker that waits longer than the first one holds it
    order: list[str] = []
    entered = threading.Event()

    def hold():
        with first("U1001"):
            entered.set()
            order.append("first in")
            threading.Event().wait(0.3)
            order.append("first out")

    t = threading.Thread(target=hold)
    t.start()
    entered.wait(5)
    with second("U1001"):
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]
