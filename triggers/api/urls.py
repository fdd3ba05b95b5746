"""The trigger API under /api/v1/ (workflows' triggers, the tenant's triggers, events)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
