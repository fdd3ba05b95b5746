"""``POST /hooks/<token>``: a webhook call starts its trigger's workflow.

No API key: the token in the URL (and, for a signed webhook, ``X-MBFlow-Signature``) is the
credential. Answers use the API's error envelope.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mbflow_site.errors import envelope
from mbflow_site.parsers import SafeFormParser, SafeJSONParser
from triggers.api.serializers import HookAcceptedSerializer
from triggers.services.specs import parse
from triggers.services.webhooks import (
    HookRequest,
    SyncAnswer,
    rate_limit_wait,
    receive_webhook,
    recent_webhook,
    wait_for_answer,
)
from triggers.signatures import HEADER

# Headers a webhook_response node may not set: the server frames the response itself, and it
# is served from the API's origin, so a workflow sets no cookie there and loosens none of its
# protections (SECURITY_HEADERS are the server's, whatever the node says).
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
                             "trailer", "te", "proxy-connection"})
SECURITY_HEADERS = {
    # A browser shown the answer (an HTML body, say) runs none of its scripts and treats it as
    # coming from an origin of its own: it cannot reach the API with the caller's session.
    "Content-Security-Policy": "sandbox",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
RESERVED_HEADERS = FRAMING_HEADERS | {name.lower() for name in SECURITY_HEADERS} | {
    "set-cookie", "content-security-policy-report-only", "strict-transport-security"}
# Statuses whose answer has no body (RFC 9110): the node's body is left out.
BODILESS = frozenset({204, 205, 304})
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")


def _query(request: Request) -> dict[str, Any]:
    return {key: values[0] if len(values) == 1 else values for key, values in request.query_params.lists()}


def _data(request: Request) -> Any:
    if not request.body:
        return None
    data = request.data
    return data.dict() if hasattr(data, "dict") else data


def _status_url(request: Request, execution_id: Any) -> str:
    return request.build_absolute_uri(f"/api/v1/executions/{execution_id}")


def _respond(answer: SyncAnswer, execution_id: Any, request: Request) -> HttpResponse:
    """The HTTP answer of a sync webhook: what its webhook_response node said, else the run's output."""
    if answer.kind == "pending":
        return Response({"execution_id": str(execution_id), "status_url": _status_url(request, execution_id),
                         "status": "running"}, status=status.HTTP_202_ACCEPTED)
    if answer.kind == "failed":
        error = answer.body.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else None
        return Response(envelope(f"execution_{answer.body['status']}", message or f"The run {answer.body['status']}.",
                                 {"execution_id": str(execution_id), "status_url": _status_url(request, execution_id),
                                  "error": error}), status=status.HTTP_502_BAD_GATEWAY)
    headers = {str(name): str(value) for name, value in (answer.headers or {}).items()
               if HEADER_NAME.match(str(name)) and str(name).lower() not in RESERVED_HEADERS
               and "\r" not in str(value) and "\n" not in str(value)}
    content_type = next((value for name, value in headers.items() if name.lower() == "content-type"), None)
    body = answer.body
    if isinstance(body, str):
        payload, content_type = body.encode(), content_type or "text/plain; charset=utf-8"
    elif body is None:
        payload = b""
    else:
        payload, content_type = json.dumps(body).encode(), content_type or "application/json"
    code = answer.status
    if not 200 <= code <= 599:  # 1xx are the protocol's own (101 would switch it): no answer of a node
        return Response(envelope("invalid_webhook_response", f"The workflow's webhook_response node answered "
                                 f"status {code}; a webhook answers with 200 to 599.",
                                 {"execution_id": str(execution_id), "status_url": _status_url(request, execution_id)}),
                        status=status.HTTP_502_BAD_GATEWAY)
    if code in BODILESS:
        payload, content_type = b"", None
    response = HttpResponse(payload, status=code, content_type=content_type)
    if content_type is None:
        del response["Content-Type"]
    for name, value in headers.items():
        if name.lower() != "content-type":
            response[name] = value
    for name, value in SECURITY_HEADERS.items():
        response[name] = value
    return response


class HookView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [SafeJSONParser, SafeFormParser]

    @extend_schema(request=OpenApiTypes.OBJECT, auth=[],
                   responses={202: HookAcceptedSerializer, 200: OpenApiTypes.OBJECT})
    def post(self, request: Request, token: str) -> HttpResponse:
        trigger, only_if = recent_webhook(token)
        wait = rate_limit_wait(trigger)
        if wait is not None:
            raise Throttled(wait=wait, detail="This webhook takes no more calls for now.")  # DRF adds the wait
        headers = {name.lower(): value for name, value in request.headers.items()}
        # The signature first, over the raw body: an unsigned call is a 401 whatever its body.
        call = cache(lambda: HookRequest(body=request.body, data=_data(request), query=_query(request),
                                         headers=headers, method=request.method or "POST"))
        signature = headers.get(HEADER.lower())
        trigger, execution = receive_webhook(token, trigger, only_if, request.body, signature, call)
        model = parse(trigger.spec)
        if model.mode == "sync":
            return _respond(wait_for_answer(execution, model.timeout), execution.pk, request)
        return Response({"execution_id": str(execution.pk), "status_url": _status_url(request, execution.pk)},
                        status=status.HTTP_202_ACCEPTED)
