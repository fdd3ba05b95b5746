from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from workflows.models import Role
from workflows.tenancy import Caller


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """For views answering a file or a stream of their own (a zip, YAML, server-sent events):
    whatever the client accepts (``Accept: application/zip``, ``text/event-stream``), which no DRF
    renderer offers, so DRF would refuse it with 406 before the view runs. The answer itself is an
    ``HttpResponse`` no renderer touches; only an error is rendered, as the JSON envelope."""

    def select_renderer(self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
                        ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


# A key of error details meant for the server's operators (a setting to change): answered to admins only.
OPERATOR_HINT = "operator_hint"


_HINT_KEY = b'"operator_hint":'


def without_operator_hints(data: Any) -> Any:
    """``data`` without any ``operator_hint`` key, at any depth (``data`` itself when it holds
    none: an answer is encoded once in C to look for the key rather than walked in Python)."""
    try:
        if _HINT_KEY not in orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS):
            return data
    except (orjson.JSONEncodeError, TypeError):
        pass  # an integer past 64 bits, say: walk it
    return _without_hints(data)


def _without_hints(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _without_hints(value) for key, value in data.items() if key != OPERATOR_HINT}
    if isinstance(data, list | tuple):
        return [_without_hints(value) for value in data]
    return data


class TenantView(APIView):
    """Every view of the API works inside the caller's tenant."""

    def caller(self) -> Caller:
        caller = self.request.auth
        assert isinstance(caller, Caller), "TenantRolePermission runs first"
        return caller

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        """Operator hints (``details.operator_hint`` of a node's error) reach admins only."""
        caller = getattr(request, "auth", None)
        if (isinstance(caller, Caller) and not caller.can(Role.ADMIN) and isinstance(response, Response)
                and isinstance(response.data, dict | list)):
            response.data = without_operator_hints(response.data)
        return super().finalize_response(request, response, *args, **kwargs)

    def paginate(
        self, request: Request, items: Any, serialize: type[BaseSerializer] | Callable[[Any], Any]
    ) -> Any:
        """One page of ``items`` in DRF's page shape, each item through ``serialize``.

        A serializer class serializes the page with ``many=True``: its fields are built once per
        page instead of once per item, which is most of a list's cost in DRF.
        """
        paginator = api_settings.DEFAULT_PAGINATION_CLASS()
        page = list(paginator.paginate_queryset(items, request, view=self) or [])
        if isinstance(serialize, type) and issubclass(serialize, BaseSerializer):
            data = serialize(page, many=True).data
        else:
            data = [serialize(item) for item in page]
        return paginator.get_paginated_response(data)
