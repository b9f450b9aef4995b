"""Offline mode: a rule-based chat model that drives the sales agent graph without any LLM or network.

``OfflineChatModel`` (model.py) is a real langchain ``BaseChatModel``; ``parse`` (intents.py) reads a
shopper message into an ``Intent``; replies.py writes answers from tool results; lexicon.py is the vocabulary.
"""

from .intents import FAMILIES, Intent, Memory, parse, remember
from .model import OfflineChatModel

__all__ = ["FAMILIES", "Intent", "Memory", "OfflineChatModel", "parse", "remember"]
