"""Who is writing on a messaging channel: (channel, sender id) -> shopper user id.

1. The ``sales_identities`` table in the sales database (linked ids; ``SalesStore.link_identity``).
2. ``seed/identities.json``: the seed shoppers' WhatsApp numbers (digits, no "+", as WhatsApp sends them)
   and demo Telegram ids 700000001-700000008 for U1001-U1008.
3. Anyone else becomes a guest with the next free id from U9000-U9999, remembered in the table, so the
   same sender keeps the same cart and conversation. A guest can browse, keep a cart and check out;
   member-only things (points, profile offers) simply do not apply.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from .store import SalesStore

SEED_FILE = Path(__file__).resolve().parent / "seed" / "identities.json"


@functools.lru_cache(maxsize=1)
def seed_identities() -> dict[str, dict[str, str]]:
    data = json.loads(SEED_FILE.read_text())
    return {channel: dict(ids) for channel, ids in data.items() if isinstance(ids, dict)}


def normalise(channel: str, external_id: str) -> str:
    value = str(external_id).strip()
    if channel == "whatsapp":
        value = re.sub(r"\D", "", value)
    return value[:64]


def resolve_user(store: SalesStore, channel: str, external_id: str) -> str:
    external = normalise(channel, external_id)
    if not external:
        raise ValueError("the sender id is empty")
    found = store.identity(channel, external)
    if found:
        return found
    seeded = seed_identities().get(channel, {}).get(external)
    user_id = seeded or store.new_guest(channel)
    store.link_identity(channel, external, user_id)
    return user_id
