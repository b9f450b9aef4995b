"""The shared agent kit: contracts, the Flask app factory, the contract client and database helpers."""

from .app import AgentApp, create_agent_app
from .client import AgentCallError, AgentClient
from .contracts import Contract, Operation, load_contract
from .db import Database
from .errors import (
    ApiError,
    BusinessRuleViolation,
    Conflict,
    DependencyUnavailable,
    NotFound,
    PaymentDeclined,
    ValidationFailed,
)

__all__ = [
    "AgentApp",
    "create_agent_app",
    "AgentCallError",
    "AgentClient",
    "Contract",
    "Operation",
    "load_contract",
    "Database",
    "ApiError",
    "BusinessRuleViolation",
    "Conflict",
    "DependencyUnavailable",
    "NotFound",
    "PaymentDeclined",
    "ValidationFailed",
]
