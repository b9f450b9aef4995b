"""Settings for the sales agent, read from the environment once.

SALES_AGENT_MODEL     "offline" (the built-in model; the default when there is no OPENAI_API_KEY) or a LangChain
                      init_chat_model string "<provider>:<model>": "openai:gpt-4o-mini" (the default when a key is
                      set; langchain-openai is installed), "anthropic:...", "ollama:..." (pip install the
                      provider's package, e.g. langchain-anthropic)
OPENAI_API_KEY        key for the OpenAI-compatible server
OPENAI_BASE_URL       any OpenAI-compatible server (Ollama, vLLM, LM Studio, a test double)
SALES_DATABASE_URL    the sales agent's own database (carts, pending checkouts, last orders, channel
                      identities); default sqlite file var/sales.db
SALES_MEMORY_URL      conversation memory (LangGraph checkpointer): a postgres URL, or a SQLite file path /
                      sqlite:/// URL; default var/sales-memory.db
SALES_HOLD_TTL        seconds a checkout holds the stock (default 900)
SALES_MODEL_TIMEOUT   seconds of model time one turn may use in all, retries included (default 60)
SALES_CONTEXT_TOKENS  every model call stays under this many prompt tokens (default 8000): older history is
                      summarised, then trimmed if one turn still goes over
SALES_MAX_MESSAGE_CHARS  longest shopper message accepted (default 2000 characters)
SALES_TURNS_PER_MINUTE   turns per shopper in any 60 seconds (default 20; 0 = no limit)
SALES_WEBHOOK_MAX_MESSAGES  messages one WhatsApp webhook call may carry (default 20)
SALES_TURN_LOCK_URL   redis://... for the per-shopper turn lock; unset: the sales database (PostgreSQL advisory
                      lock, or BEGIN IMMEDIATE on a per-shopper SQLite lock file)
SALES_TURN_LOCK_SECONDS  how long a shopper's message waits for their previous turn (default 120)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from agentkit.db import database_url, var_dir

OFFLINE = "offline"


def default_model(env: dict[str, str] | os._Environ = os.environ) -> str:
    return "openai:gpt-4o-mini" if env.get("OPENAI_API_KEY") else OFFLINE


@dataclass(frozen=True)
class Settings:
    model: str = OFFLINE
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    database_url: str = ""
    memory_url: str = ""
    hold_ttl: int = 900
    model_timeout: float = 60.0
    # 8000: the fixed part of every call (system prompt and ~23 tool definitions) is ~2,700 tokens, so this
    # leaves ~4,300 tokens of history (a dozen turns verbatim, the rest summarised) and 1,000 for the reply,
    # and it fits the smallest context window a model one would point this at has (8k), at a fifth of the
    # 18,000-token calls an unbounded history reached by turn 48.
    context_tokens: int = 8000
    max_message_chars: int = 2000
    turns_per_minute: int = 20
    webhook_max_messages: int = 20
    turn_lock_url: str | None = None
    turn_lock_seconds: float = 120.0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        settings = cls(
            model=(env.get("SALES_AGENT_MODEL") or default_model(env)).strip(),
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            database_url=database_url("sales"),
            memory_url=env.get("SALES_MEMORY_URL") or str(var_dir() / "sales-memory.db"),
            hold_ttl=int(env.get("SALES_HOLD_TTL", 900)),
            model_timeout=float(env.get("SALES_MODEL_TIMEOUT", 60)),
            context_tokens=int(env.get("SALES_CONTEXT_TOKENS", 8000)),
            max_message_chars=int(env.get("SALES_MAX_MESSAGE_CHARS", 2000)),
            turns_per_minute=int(env.get("SALES_TURNS_PER_MINUTE", 20)),
            webhook_max_messages=int(env.get("SALES_WEBHOOK_MAX_MESSAGES", 20)),
            turn_lock_url=env.get("SALES_TURN_LOCK_URL") or None,
            turn_lock_seconds=float(env.get("SALES_TURN_LOCK_SECONDS", 120)),
        )
        return replace(settings, **overrides) if overrides else settings

    @property
    def is_offline(self) -> bool:
        return self.model == OFFLINE

    @property
    def openai_model(self) -> str:
        """The model name after ``openai:``."""
        if not self.model.startswith("openai:"):
            raise ValueError(f"SALES_AGENT_MODEL={self.model!r} is not an openai:<model> setting")
        return self.model.split(":", 1)[1]

    @property
    def memory_is_postgres(self) -> bool:
        return self.memory_url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://"))

    @property
    def memory_path(self) -> Path:
        url = self.memory_url
        if url.startswith("sqlite:///"):
            url = url[len("sqlite:///") :]
        return Path(url)

    @property
    def provider(self) -> str:
        """``openai`` of ``openai:gpt-4o-mini``: a LangChain ``init_chat_model`` provider."""
        return self.model.split(":", 1)[0] if ":" in self.model else ""

    def validate(self) -> None:
        if self.model == OFFLINE:
            return
        provider, _, name = self.model.partition(":")
        if not provider or not name:
            raise ValueError(
                f"SALES_AGENT_MODEL must be 'offline' or '<provider>:<model>' (openai:gpt-4o-mini, "
                f"anthropic:claude-sonnet-4-5, ollama:llama3.1, ...), not {self.model!r}"
            )
