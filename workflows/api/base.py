from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from workflows.tenancy import Caller


class TenantView(APIView):
    """Every view of the API works inside the caller's tenant."""

    def caller(self) -> Caller:
        caller = self.request.auth
        assert isinstance(caller, Caller), "TenantRolePermission runs first"
        return caller

    def paginate(self, request: Request, items: Any, serialize: Any) -> Any:
        paginator = api_settings.DEFAULT_PAGINATION_CLASS()
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response([serialize(item) for item in page or []])
