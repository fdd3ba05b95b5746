"""The API's page-number pagination (DRF's), reading the first page as ``mbflow_site.listing``
says."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination as DrfPageNumberPagination

from mbflow_site.listing import FirstPageCountingPaginator


class PageNumberPagination(DrfPageNumberPagination):
    django_paginator_class = FirstPageCountingPaginator
    page_size_query_param = "page_size"
    max_page_size = 500
