"""Every environment variable the sales agent reads, read once (pydantic-settings).

``Settings()`` reads the environment when it is made; bootstrap.py makes one and hands it to everything it
builds, so nothing else in the sales agent reads ``os.environ``. docs/configuration.md documents each
variable (the alias of its field here); the kit's own variables are in ``agentkit.settings``.

SALES_AGENT_MODEL     "offline" (the built-in model; the default when there is no OPENAI_API_KEY) or a LangChain
                      init_chat_model string "<provider>:<model>": "openai:gpt-4o-mini" (the default when a key is
                      set; langchain-openai is installed), "anthropic:...", "ollama:..." (pip install the
                      provider's package, e.g. langchain-anthropic)
SALES_DATABASE_URL    the sales agent's own database (carts, pending checkouts, last orders, channel
                      identities); default sqlite file var/sales.db (read through agentkit.db.database_url)
SALES_MEMORY_URL      conversation memory (LangGraph checkpointer): a postgres URL, or a SQLite file path /
                      sqlite:/// URL; default var/sales-memory.db
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentkit.db import database_url, var_dir

OFFLINE = "offline"
DEFAULT_OPENAI_MODEL = "openai:gpt-4o-mini"


class Settings(BaseSettings):
    """The sales agent's configuration. ``Settings(model="offline", database_url=...)`` overrides a value."""

    model_config = SettingsConfigDict(
        env_ignore_empty=True, extra="ignore", populate_by_name=True, protected_namespaces=()
    )

    # Unset: offline, or openai:gpt-4o-mini when there is an OPENAI_API_KEY.
    model: str = Field(default="", validation_alias="SALES_AGENT_MODEL")
    openai_api_key: str | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    model_timeout: float = Field(default=60.0, validation_alias="SALES_MODEL_TIMEOUT")
    # 8000: the fixed part of every call (system prompt and ~23 tool definitions) is ~2,700 tokens, so this
    # leaves ~4,300 tokens of history (a dozen turns verbatim, the rest summarised) and 1,000 for the reply,
    # and it fits the smallest context window a model one would point this at has (8k), at a fifth of the
    # 18,000-token calls an unbounded history reached by turn 48.
    context_tokens: int = Field(default=8000, validation_alias="SALES_CONTEXT_TOKENS")

    database_url: str = Field(default="", validation_alias="SALES_DATABASE_URL")
    memory_url: str = Field(default="", validation_alias="SALES_MEMORY_URL")

    hold_ttl: int = Field(default=900, validation_alias="SALES_HOLD_TTL")
    client_retries: int = Field(default=1, ge=0, validation_alias="SALES_CLIENT_RETRIES")
    reconcile_seconds: float = Field(default=60.0, validation_alias="SALES_RECONCILE_SECONDS")
    reconcile_stale_seconds: float | None = Field(default=None, validation_alias="SALES_RECONCILE_STALE_SECONDS")

    max_message_chars: int = Field(default=2000, validation_alias="SALES_MAX_MESSAGE_CHARS")
    turns_per_minute: int = Field(default=20, validation_alias="SALES_TURNS_PER_MINUTE")
    webhook_max_messages: int = Field(default=10, ge=1, validation_alias="SALES_WEBHOOK_MAX_MESSAGES")
    turn_lock_url: str | None = Field(default=None, validation_alias="SALES_TURN_LOCK_URL")
    turn_lock_seconds: float = Field(default=120.0, validation_alias="SALES_TURN_LOCK_SECONDS")

    # The kit reads MAX_BODY_BYTES too; the chat's default is smaller than the agents'.
    max_body_bytes: int = Field(default=64 * 1024, ge=1, validation_alias="MAX_BODY_BYTES")
    # Shopper sessions (auth.py): the HS256 secret (unset: one made in var/sales-session.secret), an identity
    # provider's JWKS URL with the issuer and audience its tokens must carry, and how long minted ones last.
    session_secret: SecretStr | None = Field(default=None, validation_alias="SALES_SESSION_SECRET")
    session_jwks_url: str | None = Field(default=None, validation_alias="SALES_SESSION_JWKS_URL")
    session_issuer: str | None = Field(default=None, validation_alias="SALES_SESSION_ISSUER")
    session_audience: str | None = Field(default=None, validation_alias="SALES_SESSION_AUDIENCE")
    session_guest_days: float = Field(default=7.0, gt=0, validation_alias="SALES_SESSION_GUEST_DAYS")
    session_days: float = Field(default=30.0, gt=0, validation_alias="SALES_SESSION_DAYS")
    session_leeway_seconds: float = Field(default=30.0, ge=0, validation_alias="SALES_SESSION_LEEWAY_SECONDS")
    whatsapp_verify_token: SecretStr | None = Field(default=None, validation_alias="WHATSAPP_VERIFY_TOKEN")
    whatsapp_app_secret: SecretStr | None = Field(default=None, validation_alias="WHATSAPP_APP_SECRET")
    telegram_secret_token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_SECRET_TOKEN")

    chat_no_start: bool = Field(default=False, validation_alias="SALES_CHAT_NO_START")
    # Development only: the chat page offers "continue as" a seeded shopper and mints their session token.
    web_dev_login: bool = Field(default=False, validation_alias="SALES_WEB_DEV_LOGIN")

    @field_validator("reconcile_seconds")
    @classmethod
    def _reconcile_not_negative(cls, every: float) -> float:
        if every < 0:
            raise ValueError("SALES_RECONCILE_SECONDS must be 0 (off) or more")
        return every

    @model_validator(mode="after")
    def _defaults(self) -> "Settings":
        self.model = (self.model or (DEFAULT_OPENAI_MODEL if self.openai_api_key else OFFLINE)).strip()
        # Unset, agentkit.db's rule for every agent (var/sales.db); postgresql:// means the psycopg 3 driver.
        url = self.database_url or database_url("sales")
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        self.database_url = url
        self.memory_url = self.memory_url or str(var_dir() / "sales-memory.db")
        return self

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

    def validate_model(self) -> None:
        if self.model == OFFLINE:
            return
        provider, _, name = self.model.partition(":")
        if not provider or not name:
            raise ValueError(
                f"SALES_AGENT_MODEL must be 'offline' or '<provider>:<model>' (openai:gpt-4o-mini, "
                f"anthropic:claude-sonnet-4-5, ollama:llama3.1, ...), not {self.model!r}"
            )


def secret(value: SecretStr | None) -> str | None:
    """The text of a secret setting, None when unset."""
    return value.get_secret_value() if value is not None else None
