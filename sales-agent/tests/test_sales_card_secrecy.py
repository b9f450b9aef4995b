"""A card typed in any format, through a whole checkout: afterwards it is in no database (sales, conversation
memory, payment), no file under var/, no log line and no /chat/state answer. The scanner is shown to find a
planted card first, so a clean scan means something."""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

import pytest
import sqlalchemy as sa

from agentkit.logs import JsonFormatter
from sales_agent.cards import CardVault
from sales_agent.entrypoints.app import create_app
from sales_agent.offline.model import OfflineChatModel
from sales_agent.testing import session_for_tests
from support import USE_POSTGRES, WiredSystem, fresh_database_url

FORMATS = [
    ("4000.0566.5566.5556", "exp 12/29 the cvc number is 456", "4000056655665556", "456"),
    ("4000-0566-5566-5556", "12/29 code 2468", "4000056655665556", "2468"),
    ("3782 822463 10005", "12/29 1234", "378282246310005", "1234"),
    ("４０００ ０５６６ ５５６６ ５５５６", "ｅｘｐ １２／２９ ｃｖｖ ７３１", "4000056655665556", "731"),
]


def leaks(text: str, number: str, cvc: str) -> list[str]:
    """Every way ``number`` (or the CVC after a card keyword) shows in ``text``."""
    plain = unicodedata.normalize("NFKC", text)
    found = []
    squeezed = re.sub(r"(?<=\d)[ .\-]+(?=\d)", "", plain)
    if number in squeezed or number[:12] in squeezed:
        found.append("number")
    if re.search(rf"(?i)(cvc|cvv|code)\W{{0,20}}{cvc}(?!\d)", plain):
        found.append("cvc")
    return found


def everything_stored(paths: list[Path], urls: list[str]) -> str:
    chunks = [p.read_bytes().decode("utf-8", "replace") for p in paths if p.is_file()]
    for url in urls:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            for name in sa.inspect(conn).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                    chunks.append(" ".join(str(v) for v in row))
        engine.dispose()
    return "\n".join(chunks)


def test_the_scanner_finds_a_planted_card(tmp_path):
    planted = tmp_path / "planted.db"
    planted.write_bytes(b"\x00junk 4000 0566 5566 5556 junk\x00 cvv: 456")
    assert leaks(everything_stored([planted], []), "4000056655665556", "456") == ["number", "cvc"]


@pytest.mark.parametrize("typed,rest,number,cvc", FORMATS, ids=[f[0] for f in FORMATS])
def test_a_typed_card_is_found_nowhere_after_a_full_checkout(tmp_path, shopper_headers, typed, rest, number, cvc):
    wired = WiredSystem(tmp_path, tag="sec")
    memory = fresh_database_url("salesmem", tmp_path, "sec") if USE_POSTGRES else str(tmp_path / "var" / "memory.db")
    database = fresh_database_url("sales", tmp_path, "sec")
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(JsonFormatter().format(record))

    logger = logging.getLogger()
    handler, level = Collect(level=logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    s = session_for_tests(tmp_path, OfflineChatModel(), database_url=database, memory_url=memory, vault=CardVault())
    try:
        s.send("U1003", "add the Alpine Puffer Jacket in black size M to my cart")
        quote = s.send("U1003", f"checkout with card {typed} {rest}")
        assert quote.pending_confirmation, quote.reply
        placed = s.send("U1003", "yes")
        order = s.last_order("U1003")
        assert order and order["orderId"] in placed.reply, placed.reply
        payments = wired.client("payment").post("/list-payments", json={"userId": "U1003"}).get_json()["payments"]
        assert payments[0]["cardLast4"] == number[-4:] and payments[0]["status"] == "succeeded"
        app = create_app(s)
        state = app.test_client().get("/chat/state", headers=shopper_headers(app, "U1003")).get_data(as_text=True)
        answers = "\n".join([quote.reply, placed.reply, state])
    finally:
        s.close()
        logger.removeHandler(handler)
        logger.setLevel(level)
        wired.close()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    urls = [database, *(app.db.url for app in wired.apps.values())] if USE_POSTGRES else []
    if USE_POSTGRES:
        urls.append(memory)
    assert leaks(everything_stored(files, urls), number, cvc) == []
    assert leaks("\n".join(lines), number, cvc) == []
    assert leaks(answers, number, cvc) == [] and number[-4:] in answers
