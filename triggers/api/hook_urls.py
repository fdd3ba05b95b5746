"""The public webhook endpoint: /hooks/<token> (no API key; the token is the credential)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
