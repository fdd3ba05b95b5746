"""The admin's trigger pages: read-only rows, what they fired, and a new URL for a webhook."""

from __future__ import annotations

from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.triggers.conftest import Store, doc
from triggers.models import Trigger


def test_an_admin_sees_the_triggers_and_gives_a_webhook_a_new_url(store: Store, editor: APIClient, db: Any) -> None:
    workflow = store(doc("admin-flow", "  nodes: [{id: a, type: noop}]\n  triggers: [{type: webhook}, "
                                       "{type: interval, every: 1m}]\n"))
    editor.get(f"/api/v1/workflows/{workflow['id']}/triggers")  # derives the rows
    hook = Trigger.objects.get(kind="webhook")
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    listed = admin.get("/admin/triggers/trigger/")
    assert listed.status_code == 200 and b"webhook:1" in listed.content and b"interval:1" in listed.content
    page = admin.get(f"/admin/triggers/trigger/{hook.pk}/change/")
    assert page.status_code == 200 and b"Save" not in page.content
    renewed = admin.post("/admin/triggers/trigger/", {"action": "regenerate_tokens", "_selected_action": [hook.pk]})
    assert renewed.status_code == 302
    old = hook.token
    hook.refresh_from_db()
    assert hook.token and hook.token != old
