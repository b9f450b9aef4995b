"""Messaging senders get durable guest ids (no pool, no collisions), bad sender ids are 400s, and webhook
deliveries are seen once (sales_agent/guests.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from agentkit import Database, clock
from agentkit.contracts import is_valid_id
from agentkit.errors import ValidationFailed
from sales_agent.guests import Deliveries, Identities, sender_id
from support import fresh_database_url


@pytest.fixture
def url(tmp_path):
    return fresh_database_url("sales", tmp_path, "guests")


def open_db(url: str) -> Database:
    return Database("sales", sa.MetaData(), None, url=url)


def test_two_thousand_new_senders_get_two_thousand_durable_ids(url):
    db = open_db(url)
    identities = Identities(db)
    senders = [str(919000000000 + n) for n in range(1000)]
    ids = {("whatsapp", s): identities.resolve("whatsapp", s) for s in senders}
    ids |= {("telegram", str(5_000_000 + n)): identities.resolve("telegram", str(5_000_000 + n)) for n in range(1000)}
    assert len(set(ids.values())) == 2000
    assert all(is_valid_id("userId", u) for u in ids.values())
    assert identities.resolve("whatsapp", senders[7]) == ids[("whatsapp", senders[7])]  # the same sender again
    db.dispose()
    # after a restart (a new engine, tables already there) every sender keeps their id
    again = Identities(open_db(url))
    assert all(again.resolve(channel, sender) == user for (channel, sender), user in list(ids.items())[::97])
    assert again.is_guest(ids[("telegram", "5000000")]) and again.known(ids[("whatsapp", senders[0])])
    again.db.dispose()


def test_seed_shoppers_keep_their_ids_and_channels_do_not_share_guests(url):
    identities = Identities(open_db(url))
    assert identities.resolve("whatsapp", "919845012002") == "U1002"
    assert identities.resolve("telegram", "700000002") == "U1002"
    assert not identities.is_guest("U1002")
    # the same number on two channels is two senders, and the web's guests are a third kind
    on_whatsapp = identities.resolve("whatsapp", "447700900123")
    on_telegram = identities.resolve("telegram", "447700900123")
    web = identities.new_guest("web")
    assert len({on_whatsapp, on_telegram, web}) == 3
    assert all(identities.is_guest(u) and is_valid_id("userId", u) for u in (on_whatsapp, on_telegram, web))
    assert not identities.known("guest-0000000000000000")
    identities.db.dispose()


@pytest.mark.parametrize(
    "channel,raw,expected",
    [("whatsapp", "919820011001", "919820011001"), ("whatsapp", "+447700900123", "447700900123"), ("telegram", 7, "7")],
)
def test_sender_ids_in_their_channel_shape(channel, raw, expected):
    assert sender_id(channel, raw, "from") == expected


@pytest.mark.parametrize(
    "channel,raw",
    [("whatsapp", "abc"), ("whatsapp", ""), ("whatsapp", "12"), ("whatsapp", "9198200110011234567"),
     ("whatsapp", "91 98200 11001"), ("telegram", -5), ("telegram", 0), ("telegram", "1e9")],
)  # fmt: skip
def test_bad_sender_ids_are_a_400_naming_the_field(channel, raw):
    with pytest.raises(ValidationFailed) as excinfo:
        sender_id(channel, raw, "entry[0].changes[0].value.messages[0].from")
    assert excinfo.value.status == 400
    assert excinfo.value.details[0]["field"] == "entry[0].changes[0].value.messages[0].from"


def test_a_delivery_is_claimed_once_and_a_failed_one_can_be_retried(url):
    deliveries = Deliveries(open_db(url))
    assert deliveries.claim("telegram", "1001") is True
    assert deliveries.claim("telegram", "1001") is False  # in progress
    deliveries.done("telegram", "1001")
    assert deliveries.claim("telegram", "1001") is False  # processed
    assert deliveries.claim("whatsapp", "1001") is True  # another channel's id space
    deliveries.release("whatsapp", "1001")  # processing failed: the redelivery is processed
    assert deliveries.claim("whatsapp", "1001") is True
    deliveries.done("whatsapp", "1001")
    deliveries.release("whatsapp", "1001")  # releasing a finished one changes nothing
    assert deliveries.claim("whatsapp", "1001") is False
    deliveries.db.dispose()


def test_a_claim_left_by_a_dead_process_is_taken_over_once(url, monkeypatch):
    deliveries = Deliveries(open_db(url))
    assert deliveries.claim("whatsapp", "wamid.1")
    later = clock.now() + timedelta(minutes=11)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert deliveries.claim("whatsapp", "wamid.1") is True
    assert deliveries.claim("whatsapp", "wamid.1") is False
    deliveries.db.dispose()


def test_deliveries_older_than_the_retention_are_deleted(url, monkeypatch):
    deliveries = Deliveries(open_db(url), retention=timedelta(days=7))
    for n in range(5):
        deliveries.claim("telegram", str(n))
        deliveries.done("telegram", str(n))
    assert deliveries.count() == 5
    later = clock.now() + timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert deliveries.claim("telegram", "99") and deliveries.count() == 1
    deliveries.db.dispose()


def test_only_ids_somebody_has_are_shoppers(tmp_path, url):
    from sales_agent.clients import Clients
    from sales_agent.shoppers import ShopperUnknown, check_exists
    from support import WiredSystem

    wired = WiredSystem(tmp_path, tag="shoppers")
    identities = Identities(open_db(url))
    clients = Clients()
    try:
        assert check_exists(clients, identities, "U1001") == "U1001"  # a profile at the recommendation agent
        guest = identities.resolve("telegram", "123456")
        assert check_exists(clients, identities, guest) == guest  # the sales agent's own guest
        for nobody in ("U9999", "Alex", "not an id!"):
            with pytest.raises(ShopperUnknown):
                check_exists(clients, identities, nobody)
    finally:
        clients.close()
        identities.db.dispose()
        wired.close()
