"""The offline model's skills, one module per intent, in one ordered list.

``SKILLS`` is the built-in list; ``all_skills()`` adds the ones that agent tool modules bring
(``sales_agent/tools/<agent>.py`` exporting ``SKILLS``), so a new agent's intent needs no edit here.
Order matters only when two skills recognise a phrasing equally well: the earlier one wins.
"""

from __future__ import annotations

import functools

from . import (
    add_to_cart,
    affirm,
    browse,
    cancel_checkout,
    cancel_order,
    cancel_reservation,
    change_address,
    checkout,
    decline,
    delivery_info,
    deny,
    exchange_item,
    goodbye,
    greeting,
    help,
    human_handoff,
    inventory_check,
    loyalty,
    my_profile,
    order_history,
    order_status,
    policy,
    product_details,
    recommend,
    redeem_points,
    remove_from_cart,
    reserve_in_store,
    return_item,
    saved_addresses,
    search,
    small_talk,
    store_finder,
    support,
    thanks,
    update_quantity,
    view_cart,
    wrap_order,
)
from . import apply_coupon as apply_coupon
from .base import Skill, delegate

SKILLS: list[Skill] = [
    module.SKILL
    for module in (
        greeting,
        cancel_order,
        cancel_reservation,
        change_address,
        wrap_order,
        order_history,
        order_status,
        return_item,
        exchange_item,
        cancel_checkout,
        checkout,
        apply_coupon,
        redeem_points,
        my_profile,
        loyalty,
        remove_from_cart,
        update_quantity,
        view_cart,
        add_to_cart,
        reserve_in_store,
        store_finder,
        delivery_info,
        saved_addresses,
        inventory_check,
        product_details,
        recommend,
        search,
        browse,
        policy,
        human_handoff,
        support,
        small_talk,
        help,
        thanks,
        goodbye,
        affirm,
        deny,
        decline,
    )
]


@functools.lru_cache(maxsize=1)
def all_skills() -> tuple[Skill, ...]:
    """The built-in skills, then those of every agent tool module (in module name order)."""
    from ...tools import registry

    found = list(SKILLS)
    names = {s.name for s in found}
    for module in registry.modules():
        for skill in getattr(module, "SKILLS", None) or []:
            if isinstance(skill, Skill) and skill.name not in names:
                found.append(skill)
                names.add(skill.name)
    return tuple(found)


def by_name(name: str) -> Skill | None:
    return next((s for s in all_skills() if s.name == name), None)


__all__ = ["SKILLS", "Skill", "all_skills", "by_name", "delegate"]
