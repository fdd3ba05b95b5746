"""Django admin: every model is there, and a new API key's secret is shown exactly once."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from workflows.models import ApiKey
from workflows.models.keys import hash_key


@pytest.fixture
def staff_client(client, db):
    get_user_model().objects.create_superuser("root", "root@localhost", "pass-word-123")
    client.login(username="root", password="pass-word-123")
    return client


@pytest.mark.parametrize("model", ["tenant", "membership", "apikey", "workflow", "workflowversion", "template"])
def test_every_model_has_an_admin_list_with_search(staff_client, model: str) -> None:
    response = staff_client.get(f"/admin/workflows/{model}/?q=x")
    assert response.status_code == 200


def test_an_admin_creates_a_key_and_sees_its_secret_once(staff_client, tenant) -> None:
    response = staff_client.post(
        "/admin/workflows/apikey/add/",
        {"tenant": str(tenant.pk), "name": "deploy", "role": "editor", "revoked_at_0": "", "revoked_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    shown = re.search(r"The new API key is (mbf_[A-Za-z0-9_\-]+)", response.content.decode())
    assert shown, response.content.decode()[:2000]
    key = ApiKey.objects.get(name="deploy")
    assert key.key_hash == hash_key(shown.group(1))
    again = staff_client.get(f"/admin/workflows/apikey/{key.pk}/change/").content.decode()
    assert shown.group(1) not in again
