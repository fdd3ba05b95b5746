"""What the API's lists page through, without DRF: a service returns a ``Listing`` and the
pagination of ``mbflow_site.pagination`` reads its pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


class Listing:
    """What a list pages through: its queryset, built only when a page needs it, and ``first``,
    a cheaper reader of the first ``n`` rows in the same order (SQL compiled once, say) for the
    first page, which is what most requests ask for."""

    ordered = True  # the queryset orders its rows (Paginator warns otherwise)

    def __init__(self, build: Callable[[], QuerySet[Any]], first: Callable[[int], list[Any]] | None = None) -> None:
        self.build = build
        self.first = first or (lambda n: list(self.queryset[:n]))

    @cached_property
    def queryset(self) -> QuerySet[Any]:
        return self.build()

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, index: slice) -> QuerySet[Any]:
        return self.queryset[index]


class FirstPageCountingPaginator(Paginator):
    """Reads the first page with one row more than fits: when that is all there is, its length is
    the count and the COUNT query is not made. (Most lists people open are the first page of a
    short list.) A longer list is counted as usual, and its first page is not read twice."""

    def page(self, number: Any) -> Page:
        items = self.object_list
        if str(number) != "1" or self.orphans:
            return super().page(number)
        if isinstance(items, Listing):
            rows = items.first(self.per_page + 1)
        elif isinstance(items, QuerySet):
            rows = list(items[: self.per_page + 1])
        else:
            return super().page(number)
        if len(rows) <= self.per_page:
            self.__dict__["count"] = len(rows)  # the cached_property, already known
        return self._get_page(rows[: self.per_page], 1, self)
