"""How the API's views answer an error: DRF's exception handler (``REST_FRAMEWORK``'s
``EXCEPTION_HANDLER``), in the one envelope of ``mbflow_site.errors``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from mbflow_site.errors import RETRY_AFTER, UNAVAILABLE, ApiError, NotFound, envelope, unavailable

logger = logging.getLogger(__name__)

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
        return Response(unavailable(exc), status=503, headers=RETRY_AFTER)
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
