from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from mbflow_site.errors import json_error
from mbflow_site.parsers import form_problem, problem_fields
from mbflow_site.storable import text_problem


class BodySizeLimitMiddleware:
    """Refuses bodies over MBFLOW_MAX_BODY_BYTES before anything reads them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.MBFLOW_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(request, "bad_request", "Content-Length is not a number.", 400)
        if length > limit:
            return json_error(
                request,
                "payload_too_large",
                f"The request body is {length} bytes; the limit is {limit} bytes.",
                413,
                {"limit": limit, "size": length},
            )
        return self.get_response(request)


class RequestTextMiddleware:
    """Refuses a URL whose path or query holds text the database cannot store (a NUL
    character, ``%00``) with a 400 naming it, before any view puts it into a query. Bodies are
    checked by the parsers (mbflow_site/parsers.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = text_problem(request.path_info)
        if problem:
            return json_error(request, "validation_error", f"The URL path is not valid: {problem}", 400,
                              {"fields": {"path": [problem]}})
        bad_query = form_problem(request.GET)
        if bad_query is not None:
            return json_error(request, "validation_error", "The request is not valid.", 400,
                              {"fields": problem_fields(bad_query)})
        return self.get_response(request)


class CorsMiddleware:
    """Adds CORS headers for the origins listed in CORS_ALLOWED_ORIGINS (none by default)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.origins = set(settings.CORS_ALLOWED_ORIGINS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin")
        allowed = bool(origin) and ("*" in self.origins or origin in self.origins)
        if allowed and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
        else:
            response = self.get_response(request)
        if allowed:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Credentials"] = "true"
            response["Access-Control-Allow-Headers"] = "Authorization, X-API-Key, Content-Type, X-CSRFToken"
            response["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            response["Vary"] = "Origin"
        return response
