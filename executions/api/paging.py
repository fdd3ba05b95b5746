"""Paging through a long list of executions by position, not by page number."""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from mbflow_site.errors import ApiError


class ExecutionCursor(CursorPagination):
    """Newest first, each page after the last one's ``created_at`` (ties kept in ``id`` order):
    a page costs the same at any depth of a million rows, without the OFFSET a page number means
    or the COUNT of the whole list. Asked for with ``?cursor=`` (empty for the first page)."""

    ordering = ("-created_at", "-pk")
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Cursor | None:
        invalid = ApiError("Not a cursor of this list: follow `next` or `previous`, or send `cursor=` for "
                           "the first page.", code="validation_error", details={"fields": {"cursor": ["Not valid."]}})
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise invalid from None
        if cursor is not None and cursor.position is not None and parse_datetime(cursor.position) is None:
            raise invalid
        return cursor

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return []  # documented with the list's other parameters
