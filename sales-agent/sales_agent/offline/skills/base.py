"""What a skill is: one intent the offline model understands, in one small module.

A skill holds what recognises its intent (``examples``: phrasings a shopper might write, matched by
meaning with sentence embeddings), the slots it needs (``slots``), the tools its plan calls (``tools``),
the plan itself (``plan(planner, slots, memory) -> Step | None``: the first tool calls of the turn, or a
reply) and, optionally, how it writes its own reply from tool results (``reply``).

Skills are registered in one ordered list (``skills/__init__.py``); an agent's tool module
(``sales_agent/tools/<agent>.py``) may export ``SKILLS`` and they join that list with no other edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

Plan = Callable[[Any, dict, Any], Any]  # (Planner, slots, Memory) -> Step | None


@dataclass(frozen=True)
class Skill:
    name: str
    examples: tuple[str, ...]
    plan: Plan
    family: str = "general_chat"
    slots: tuple[str, ...] = ()  # the slots the plan needs (it asks for the missing ones)
    tools: tuple[str, ...] = ()  # the tools the plan may call
    product: bool = False  # acts on one product: resolve "it", "the first one", a name
    reply: Callable[..., str | None] | None = None  # (tool, args, data, memory) -> text, or None for the default
    keywords: tuple[str, ...] = field(default=())  # exact phrases that decide the intent outright (regex parts)
    # reads the skill's own slots: (typo-fixed text, raw text, slots to fill, Memory, gift-card note or None)
    read: Callable[[str, str, dict, Any, str | None], None] | None = None
    # once the tools have answered: (Planner, Intent, results, Memory) -> the next Step (more calls, or a reply
    # with what to remember, e.g. an offer a "yes" takes up), or None for the default reply
    follow: Callable[[Any, Any, list, Any], Any] | None = None


def delegate(method: str) -> Plan:
    """A plan that runs one of the Planner's shared building blocks (``Planner.<method>``)."""

    def plan(planner: Any, slots: dict, memory: Any) -> Any:
        return getattr(planner, method)(slots, memory)

    plan.__name__ = f"plan_{method}"
    return plan
