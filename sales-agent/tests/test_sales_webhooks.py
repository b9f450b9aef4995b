"""The messaging webhooks: a channel works only with its secret, checks the platform's signature, processes a
redelivery once, refuses a batch over the limit with nothing processed, answers a bad sender with a 4xx and
replies in the channel's own formatting."""

from __future__ import annotations

import json
import logging

import pytest
from shops import chat_app

from sales_agent.entrypoints.app import create_app
from sales_agent.testing import ScriptedChatModel, call, telegram_headers, whatsapp_headers

WHATSAPP_SECRET = "wa-app-secret-for-tests"
TELEGRAM_SECRET = "tg-secret-token-for-tests"


def model():
    return ScriptedChatModel(
        rules=[
            (r"jacket", [[call("add_to_cart", product_id="P1001", size="M", color="Black")], "Added **the jacket**."])
        ],
        default_reply="(scripted) **hello** <there> & welcome",
    )


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    config = {"WHATSAPP_APP_SECRET": WHATSAPP_SECRET, "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET}
    overrides = {"webhook_max_messages": 3}
    with chat_app(
        tmp_path_factory.mktemp("webhooks"), "webhooks", model(), config, settings_overrides=overrides
    ) as built:
        yield built


@pytest.fixture
def client(system):
    return system[0].test_client()


def whatsapp(*messages: tuple[str, str, str]) -> dict:
    """A Cloud API notification carrying (message id, sender, text) messages."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "value": {
                            "messages": [
                                {"id": mid, "from": sender, "type": "text", "text": {"body": text}}
                                for mid, sender, text in messages
                            ]
                        }
                    }
                ]
            }
        ],
    }


def telegram(update_id: int, sender: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "text": text, "from": {"id": sender}, "chat": {"id": sender}},
    }


def post_whatsapp(client, body, secret=WHATSAPP_SECRET):
    raw = json.dumps(body).encode()
    response = client.post(
        "/webhooks/whatsapp", data=raw, content_type="application/json", headers=whatsapp_headers(raw, secret)
    )
    return response.status_code, response.get_json()


def post_telegram(client, body, secret=TELEGRAM_SECRET):
    response = client.post("/webhooks/telegram", json=body, headers=telegram_headers(secret))
    return response.status_code, response.get_json()


def test_a_channel_without_its_secret_is_disabled_and_says_so_at_start(system, caplog):
    _, session = system
    with caplog.at_level(logging.INFO, logger="agents.sales"):
        app = create_app(session, config={"WHATSAPP_APP_SECRET": None, "TELEGRAM_SECRET_TOKEN": None})
    said = [r.getMessage() for r in caplog.records if "webhook" in r.getMessage()]
    assert any("WHATSAPP_APP_SECRET" in line for line in said) and any("TELEGRAM_SECRET_TOKEN" in line for line in said)
    client = app.test_client()
    for path, body in (("/webhooks/whatsapp", whatsapp(("m0", "919800000001", "hi"))), ("/webhooks/telegram", {})):
        response = client.post(path, json=body)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_bad_signatures_are_401(client, system):
    _, session = system
    status, body = post_whatsapp(client, whatsapp(("m1", "447700900001", "a jacket")), secret="wrong")
    assert status == 401 and body["error"]["details"][0]["field"] == "X-Hub-Signature-256"
    unsigned = client.post("/webhooks/whatsapp", json=whatsapp(("m1", "447700900001", "a jacket")))
    assert unsigned.status_code == 401
    status, body = post_telegram(client, telegram(1, 900000001, "a jacket"), secret="wrong")
    assert status == 401 and body["error"]["details"][0]["field"] == "X-Telegram-Bot-Api-Secret-Token"
    assert client.post("/webhooks/telegram", json=telegram(1, 900000001, "a jacket")).status_code == 401
    # nothing was processed: the same ids, signed, are new deliveries
    status, body = post_whatsapp(client, whatsapp(("m1", "447700900001", "a jacket")))
    assert status == 200 and len(body["replies"]) == 1


def test_the_same_message_twice_is_processed_once(client, system):
    _, session = system
    status, first = post_whatsapp(client, whatsapp(("wamid.A", "447700900002", "a jacket")))
    assert status == 200
    user = first["replies"][0]["userId"]
    assert session.identities.is_guest(user) and first["replies"][0]["text"] == "Added *the jacket*."
    status, again = post_whatsapp(client, whatsapp(("wamid.A", "447700900002", "a jacket")))
    assert status == 200 and again["replies"] == [] and again["duplicates"] == ["wamid.A"]
    assert session.cart(user)["lines"][0]["quantity"] == 1

    status, first = post_telegram(client, telegram(5001, 900000002, "a jacket"))
    assert status == 200 and first["parse_mode"] == "HTML" and first["text"] == "Added <b>the jacket</b>."
    assert post_telegram(client, telegram(5001, 900000002, "a jacket")) == (200, {})
    tg_user = session.identities.identity("telegram", "900000002")
    assert session.identities.is_guest(tg_user) and session.cart(tg_user)["lines"][0]["quantity"] == 1


def test_a_batch_over_the_limit_is_refused_with_nothing_processed(client, system, caplog):
    _, session = system
    messages = [(f"wamid.B{n}", f"44770090010{n}", "a jacket") for n in range(4)]
    with caplog.at_level(logging.WARNING, logger="agents.sales"):
        status, body = post_whatsapp(client, whatsapp(*messages))
    assert status == 400 and body["error"]["details"][0]["field"] == "entry[].changes[].value.messages"
    assert any("4 messages" in r.getMessage() for r in caplog.records)
    assert all(session.identities.identity("whatsapp", sender) is None for _, sender, _ in messages)
    # within the limit, every message is processed, and then none of them again
    status, body = post_whatsapp(client, whatsapp(*messages[:3]))
    assert status == 200 and len(body["replies"]) == 3


def test_a_bad_sender_is_a_400_and_nothing_of_its_batch_runs(client, system):
    _, session = system
    good, bad = ("wamid.C1", "447700900201", "a jacket"), ("wamid.C2", "abc", "a jacket")
    status, body = post_whatsapp(client, whatsapp(good, bad))
    assert status == 400 and body["error"]["details"][0]["field"] == "entry[0].changes[0].value.messages[1].from"
    assert session.identities.identity("whatsapp", "447700900201") is None
    status, body = post_telegram(client, telegram(6001, -5, "a jacket"))
    assert status == 400 and body["error"]["details"][0]["field"] == "message.from.id"


def test_replies_use_the_channels_formatting(client):
    _, body = post_whatsapp(client, whatsapp(("wamid.D", "447700900301", "hello")))
    assert body["replies"][0]["text"] == "(scripted) *hello* <there> & welcome"
    _, body = post_telegram(client, telegram(7001, 900000003, "hello"))
    assert body["text"] == "(scripted) <b>hello</b> &lt;there&gt; &amp; welcome" and body["parse_mode"] == "HTML"


def test_seed_senders_are_their_shoppers(client):
    _, body = post_whatsapp(client, whatsapp(("wamid.E", "919822015005", "hello")))
    assert body["replies"][0]["userId"] == "U1005"


def test_a_new_sender_gets_a_profile_on_first_contact(client, system):
    _, session = system
    body = whatsapp(("wamid.F", "447700900401", "hello"))
    body["entry"][0]["changes"][0]["value"]["contacts"] = [{"profile": {"name": "Meg Rao"}, "wa_id": "447700900401"}]
    _, answer = post_whatsapp(client, body)
    user = answer["replies"][0]["userId"]
    assert session.shopper(user) == {"userId": user, "name": "Meg Rao", "city": "", "tier": "bronze"}
    post_telegram(
        client,
        {
            **telegram(8001, 900000004, "hello"),
            "message": {
                "message_id": 1,
                "text": "hello",
                "from": {"id": 900000004, "first_name": "Tara"},
                "chat": {"id": 900000004},
            },
        },
    )
    tg_user = session.identities.identity("telegram", "900000004")
    assert session.shopper(tg_user)["name"] == "Tara"


def test_a_whatsapp_guest_buys_click_and_collect(tmp_path):
    """A sender the shop has never seen, on WhatsApp, with the offline model: browse, cart, collect in a store,
    pay, confirm. The order stands at fulfillment under the guest's own id, paid once, for collection."""
    with chat_app(tmp_path, "wa-guest", config={"WHATSAPP_APP_SECRET": WHATSAPP_SECRET}) as (app, session):
        client = app.test_client()
        sender = "447700900777"
        replies = []
        for n, text in enumerate(
            [
                "show me winter jackets under 6000",
                "add the first one in M black",
                "checkout, I'll pick it up at Phoenix Palladium in Lower Parel, pay by UPI guest.buyer@okaxis",
                "yes",
            ]
        ):
            status, body = post_whatsapp(client, whatsapp((f"wamid.G{n}", sender, text)))
            assert status == 200, body
            replies.append(body["replies"][0])
        guest = replies[0]["userId"]
        assert session.identities.is_guest(guest) and all(r["userId"] == guest for r in replies)
        assert "**" not in replies[-1]["text"]  # WhatsApp's own formatting
        orders = session.clients.call("fulfillment", "listOrders", {"userId": guest, "limit": 5})["orders"]
        assert len(orders) == 1, [r["text"] for r in replies]
        order = session.clients.call("fulfillment", "getOrder", {"orderId": orders[0]["orderId"]})
        assert order["fulfillmentType"] == "click_and_collect" and order["storeId"].startswith("ST-MUM"), order
        paid = session.clients.call("payment", "listPayments", {"userId": guest, "limit": 5})["payments"]
        assert [p["status"] for p in paid] == ["succeeded"] and paid[0]["amount"] == order["total"]
