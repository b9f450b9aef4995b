"""The runtime context every tool sees (LangChain ``context_schema``): who is shopping, on which channel,
and the services the tools call through (contract clients, the sales store, the checkout workflow).

The shopper's id never comes from the model's tool arguments, so a model cannot act for another shopper.
The context is passed to each run and is never written to the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SalesContext:
    user_id: str
    channel: str = "terminal"
    service: Any = field(default=None, compare=False, repr=False)
