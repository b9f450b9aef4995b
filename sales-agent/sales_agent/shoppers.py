"""Whether a shopper id names somebody: the shop's (a profile at the recommendation agent) or the sales
agent's own (a guest, or a messaging sender linked to an id). Used where a person picks a shopper by id (the
operator's ``token`` command, the terminal's ``/user``), so a typo never becomes somebody else.
"""

from __future__ import annotations

from typing import Any

from agentkit import AgentCallError
from agentkit.contracts import is_valid_id

from .guests import Identities


class ShopperUnknown(LookupError):
    """No shopper has this id."""


def profile(clients: Any, user_id: str) -> dict[str, Any] | None:
    """The shopper's profile, None when the recommendation agent has none; AgentCallError when it is down."""
    try:
        return clients.call("recommendation", "getShopperProfile", {"userId": user_id})
    except AgentCallError as exc:
        if exc.status == 404:
            return None
        raise


def check_exists(clients: Any, identities: Identities, user_id: str) -> str:
    """``user_id`` if it is a shopper id somebody has; ShopperUnknown otherwise (AgentCallError: cannot tell)."""
    if identities.known(user_id):
        return user_id
    if not is_valid_id("userId", user_id):
        raise ShopperUnknown(f"{user_id!r} is not a shopper id")
    if profile(clients, user_id) is not None:
        return user_id
    raise ShopperUnknown(f"no shopper has the id {user_id!r}")
