from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from workflows.tenancy import Caller


class TenantView(APIView):
    """Every view of the API works inside the caller's tenant."""

    def caller(self) -> Caller:
        caller = self.request.auth
        assert isinstance(caller, Caller), "TenantRolePermission runs first"
        return caller

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
