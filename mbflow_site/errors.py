"""One JSON error envelope for every 4xx/5xx: ``{"error": {"code", "message", "details"}}``.

Domain errors raised anywhere below a view map to HTTP once: the API's views through
``mbflow_site.api_errors`` (DRF's exception handler), the rest through Django's handlers here;
views never repeat try/except blocks to build error responses. This module needs no DRF, so the
services and the engine that raise these errors do not load it in a worker.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import kombu.exceptions
import psycopg
import redis.exceptions
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A domain error with a machine-readable code, raised by services and views alike."""

    status_code = 400
    default_code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.details = details or {}
        if status_code is not None:
            self.status_code = status_code


class NotFound(ApiError):
    status_code = 404
    default_code = "not_found"


class Conflict(ApiError):
    status_code = 409
    default_code = "conflict"


class PermissionDeniedError(ApiError):
    status_code = 403
    default_code = "permission_denied"


class InvalidDocument(ApiError):
    """The workflow document is readable but invalid: ``details.errors`` lists each issue."""

    status_code = 400
    default_code = "invalid_workflow"


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


# A backing service that is down, restarting or out of connections: the database (Django's
# wrapped errors, and psycopg's own where Django does not wrap them, as the pool's PoolTimeout),
# Redis (cache, channel layer, finish notices) and the Celery broker. The request did not fail
# for what it asked, so it is a 503 the client may retry after RETRY_AFTER_SECONDS.
UNAVAILABLE = (
    OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError,
    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError, kombu.exceptions.ConnectionError, kombu.exceptions.BatchPublishError,
)
RETRY_AFTER_SECONDS = 5
RETRY_AFTER = {"Retry-After": str(RETRY_AFTER_SECONDS)}


def unavailable(exc: BaseException) -> dict[str, Any]:
    """The 503's body for ``exc`` (one of UNAVAILABLE), logged without the request's data."""
    logger.warning("A backing service is unavailable: %s: %s", type(exc).__name__, exc)
    return envelope("service_unavailable", "A backing service is unavailable; retry shortly.",
                    {"retry_after": RETRY_AFTER_SECONDS})


def json_error(request: HttpRequest, code: str, message: str, status_code: int,
               details: dict[str, Any] | None = None) -> JsonResponse:
    return JsonResponse(envelope(code, message, details), status=status_code)


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(request, "not_found", "Not found.", 404)


def handler500(request: HttpRequest) -> JsonResponse:
    """Django's last resort, for errors outside the API's views (middleware, the designer's
    pages); it runs while the exception is being handled."""
    exc = sys.exc_info()[1]
    if isinstance(exc, UNAVAILABLE):
        return JsonResponse(unavailable(exc), status=503, headers=RETRY_AFTER)
    return json_error(request, "internal_error", "Internal server error.", 500)


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(request, "permission_denied", "Permission denied.", 403)


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(request, "bad_request", "Bad request.", 400)
