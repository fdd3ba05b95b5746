"""The server's error envelope as exceptions: ``{"error": {"code", "message", "details"}}``.

Every answer of 400 or more becomes an ``ApiError`` (or the subclass its HTTP status or code
names), carrying the envelope's ``code``, ``message`` and ``details`` and the HTTP ``status``.
"""

from __future__ import annotations

from typing import Any


class MBFlowError(Exception):
    """Anything this package raises on purpose."""


class TransportError(MBFlowError):
    """The server could not be reached (or the connection broke) after the retries."""


class ApiError(MBFlowError):
    """The server answered with its error envelope."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.retry_after = retry_after

    @property
    def fields(self) -> dict[str, Any]:
        """Field problems, by field path (``details.fields``)."""
        return dict(self.details.get("fields") or {})

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Validation issues of a workflow document (``details.errors``)."""
        return list(self.details.get("errors") or [])


class BadRequest(ApiError):
    """400: the request was refused as it stands."""


class ValidationError(BadRequest):
    """400 ``validation_error`` or ``invalid_input``: ``fields`` names what is wrong."""


class InvalidWorkflow(BadRequest):
    """400 ``invalid_workflow``: ``errors`` lists the issues, each with a line and column."""


class AuthenticationError(ApiError):
    """401: no key, or a key that is unknown or revoked."""


class PermissionDenied(ApiError):
    """403: the key's role may not do this."""


class NotFound(ApiError):
    """404: nothing of that id or name in the key's tenant."""


class Conflict(ApiError):
    """409: the object is not in a state that allows it (``not_running``, ``name_taken``, ...)."""


class PayloadTooLarge(ApiError):
    """413: the body is larger than the server takes."""


class RateLimited(ApiError):
    """429: too many requests; ``retry_after`` says when to come back."""


class ServiceUnavailable(ApiError):
    """503: a backing service of the server is down; ``retry_after`` says when to come back."""


class ServerError(ApiError):
    """500 and other 5xx answers."""


_BY_CODE: dict[str, type[ApiError]] = {
    "validation_error": ValidationError,
    "invalid_input": ValidationError,
    "invalid_workflow": InvalidWorkflow,
}
_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: AuthenticationError, 403: PermissionDenied, 404: NotFound, 409: Conflict,
    413: PayloadTooLarge, 429: RateLimited, 503: ServiceUnavailable,
}


def error_for(status: int, body: Any, retry_after: float | None = None) -> ApiError:
    """The exception for an error answer: its envelope when it has one, else the status alone."""
    envelope = body.get("error") if isinstance(body, dict) else None
    if isinstance(envelope, dict):
        code = str(envelope.get("code") or "error")
        message = str(envelope.get("message") or "")
        details = envelope.get("details") if isinstance(envelope.get("details"), dict) else {}
    else:
        code, message, details = "error", str(body)[:500] if body else f"HTTP {status}", {}
    if retry_after is None and isinstance(details, dict) and isinstance(details.get("retry_after"), int | float):
        retry_after = float(details["retry_after"])
    kind = _BY_CODE.get(code) if status == 400 else None
    kind = kind or _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return kind(status, code, message, details, retry_after)
