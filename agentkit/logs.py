"""JSON log lines carrying the agent's name and the request id.

Only metadata is logged (method, path, status, time): never request or response bodies, so a card
number a shopper sends can never reach a log.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

from .settings import KitSettings

# A backstop: bodies are never logged, but if a card-like number reaches a message anyway, mask it.
CARD_LIKE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}(\d{4})(?!\d)")

_configured = False


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return CARD_LIKE.sub(r"[card ending \1]", json.dumps(entry, default=str))


def configure(level: str | None = None) -> None:
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("agents")
    root.addHandler(handler)
    root.setLevel((level or KitSettings().log_level).upper())
    root.propagate = False
    _configured = True


def get_logger(name: str) -> logging.Logger:
    configure()
    return logging.getLogger(f"agents.{name}")


def log(logger: logging.Logger, level: int, msg: str, **fields: object) -> None:
    logger.log(level, msg, extra={"fields": fields})
