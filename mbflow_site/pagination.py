from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination as DrfPageNumberPagination


class FirstPageCountingPaginator(Paginator):
    """Reads the first page with one row more than fits: when that is all there is, its length is
    the count and the COUNT query is not made. (Most lists people open are the first page of a
    short list.) A longer list is counted as usual, and its first page is not read twice."""

    def page(self, number: Any) -> Page:
        if str(number) != "1" or not isinstance(self.object_list, QuerySet) or self.orphans:
            return super().page(number)
        rows = list(self.object_list[: self.per_page + 1])
        if len(rows) <= self.per_page:
            self.__dict__["count"] = len(rows)  # the cached_property, already known
        return self._get_page(rows[: self.per_page], 1, self)


class PageNumberPagination(DrfPageNumberPagination):
    django_paginator_class = FirstPageCountingPaginator
    page_size_query_param = "page_size"
    max_page_size = 500
