"""One JSON error envelope for every 4xx/5xx: ``{"error": {"code", "message", "details"}}``.

Domain errors raised anywhere below a view map to HTTP here, once; views never repeat
try/except blocks to build error responses.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import kombu.exceptions
import psycopg
import redis.exceptions
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A domain error with a machine-readable code, raised by services and views alike."""

    status_code = status.HTTP_400_BAD_REQUEST
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
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class PermissionDeniedError(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"


class InvalidDocument(ApiError):
    """The workflow document is readable but invalid: ``details.errors`` lists each issue."""

    status_code = status.HTTP_400_BAD_REQUEST
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


def _unavailable(exc: BaseException) -> dict[str, Any]:
    """The 503's body for ``exc`` (one of UNAVAILABLE), logged without the request's data."""
    logger.warning("A backing service is unavailable: %s: %s", type(exc).__name__, exc)
    return envelope("service_unavailable", "A backing service is unavailable; retry shortly.",
                    {"retry_after": RETRY_AFTER_SECONDS})


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
}


def _field_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {str(k): _field_errors(v) if isinstance(v, dict) else [str(i) for i in _as_list(v)]
                for k, v in detail.items()}
    return {"non_field_errors": [str(i) for i in _as_list(detail)]}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, UNAVAILABLE):
        return Response(_unavailable(exc), status=503, headers=RETRY_AFTER)
    if isinstance(exc, Http404):
        exc = NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiError("The request body is too large.", code="payload_too_large", status_code=413)

    if isinstance(exc, ApiError):
        response = Response(envelope(exc.code, exc.message, exc.details), status=exc.status_code)
    elif isinstance(exc, exceptions.ValidationError):
        response = Response(
            envelope("validation_error", "The request is not valid.", {"fields": _field_errors(exc.detail)}),
            status=status.HTTP_400_BAD_REQUEST,
        )
    elif isinstance(exc, exceptions.APIException):
        base = drf_exception_handler(exc, context)
        code = next((c for t, c in _DRF_CODES.items() if isinstance(exc, t)), "error")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response = Response(envelope(code, str(detail)), status=exc.status_code)
        if base is not None:
            for header in ("WWW-Authenticate", "Allow", "Retry-After"):
                if header in base:
                    response[header] = base[header]
    else:
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        response = Response(envelope("internal_error", "Internal server error."), status=500)
    return response


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
        return JsonResponse(_unavailable(exc), status=503, headers=RETRY_AFTER)
    return json_error(request, "internal_error", "Internal server error.", 500)


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(request, "permission_denied", "Permission denied.", 403)


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(request, "bad_request", "Bad request.", 400)
