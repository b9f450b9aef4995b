"""The error envelope: every failure any agent reports is one of these, as JSON."""

from __future__ import annotations

from typing import Any, Iterable


class ApiError(Exception):
    """An error with an HTTP status, a stable code and a message a person can read."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Iterable[Any] = (), **extra: Any):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = [d.as_dict() if hasattr(d, "as_dict") else d for d in details]
        self.extra = {k: v for k, v in extra.items() if v is not None}

    def with_status(self, status: int) -> "ApiError":
        """The same error reported under another HTTP status (415, 405, ... from the HTTP layer)."""
        self.status = status
        return self

    def envelope(self, request_id: str | None = None) -> dict[str, Any]:
        error = {"code": self.code, "message": self.message, "details": self.details, **self.extra}
        if request_id:
            error["requestId"] = request_id
        return {"error": error}


class ValidationFailed(ApiError):
    status, code = 400, "validation_error"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    """403: the token is good, but its caller may not call this operation."""

    status, code = 403, "forbidden"


class PaymentDeclined(ApiError):
    """402: carries ``declineCode`` and ``suggestions`` in the envelope."""

    status, code = 402, "card_declined"


class NotFound(ApiError):
    status, code = 404, "not_found"

    @classmethod
    def of(cls, what: str, ident: Any, field: str) -> "NotFound":
        return cls(f"No {what} with id {ident!r}.", details=[{"field": field, "message": f"unknown {what}"}])


class Conflict(ApiError):
    status, code = 409, "conflict"


class BusinessRuleViolation(ApiError):
    """422: the request was well formed but a business rule said no."""

    status, code = 422, "rule_violation"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class DependencyUnavailable(ApiError):
    status, code = 503, "dependency_unavailable"


def http_error_code(status: int) -> str:
    return {
        400: "bad_request",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        415: "unsupported_media_type",
    }.get(status, "http_error")
