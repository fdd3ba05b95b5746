"""The public webhook endpoint: /hooks/<token> (no API key; the token is the credential)."""

from __future__ import annotations

from django.urls import re_path

from triggers.api.hooks import HookView

urlpatterns = [
    re_path(r"^(?P<token>[A-Za-z0-9_-]{1,64})/?$", HookView.as_view()),
]
