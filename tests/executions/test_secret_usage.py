"""Which workflows use each secret: `GET /secrets` names, for every secret, the workflows whose
active version reads `secrets.NAME` (or `secrets['NAME']`), and with `?with_unset=true` also the
names read that have no value yet."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.executions.conftest import Store

pytestmark = pytest.mark.django_db


def reads(name: str, *expressions: str, title: str = "") -> str:
    """A workflow whose one node sends each expression as a header."""
    headers = ", ".join(f'H{i}: "{text}"' for i, text in enumerate(expressions))
    head = f"apiVersion: mbflow/v1\nkind: Workflow\nmetadata:\n  name: {name}\n  title: {title or name}\nspec:\n"
    return head + f"""\
  nodes:
    - id: call
      type: http
      config: {{url: "https://api.example.com", headers: {{{headers}}}}}
"""


def listed(client: APIClient, query: str = "") -> dict[str, dict[str, Any]]:
    response = client.get(f"/api/v1/secrets{query}")
    assert response.status_code == 200, response.json()
    return {item["name"]: item for item in response.json()["results"]}


def users(item: dict[str, Any]) -> list[str]:
    return [ref["name"] for ref in item["used_by"]]


def test_each_secret_names_the_workflows_whose_active_version_reads_it(
        store: Store, admin_client: APIClient, editor: APIClient, outsider: APIClient) -> None:
    for name in ("CRM_TOKEN", "UNUSED", "SLACK_URL"):
        created = admin_client.post("/api/v1/secrets", {"name": name, "value": "v-" + name}, format="json")
        assert created.status_code == 201
    crm = store(reads("crm-sync", "Bearer {{ secrets.CRM_TOKEN }}", "{{ secrets['SLACK_URL'] }}", title="CRM sync"))
    store(reads("billing", "{{ 'Bearer ' ~ secrets.CRM_TOKEN }}"))
    store(reads("no-secrets", "{{ input.x }}"))
    archived = store(reads("old-crm", "{{ secrets.CRM_TOKEN }}"))
    assert editor.patch(f"/api/v1/workflows/{archived['id']}", {"archived": True}, format="json").status_code == 200
    outsider.post("/api/v1/workflows", {"yaml": reads("theirs", "{{ secrets.CRM_TOKEN }}")}, format="json")

    secrets = listed(admin_client)

    assert list(secrets) == ["CRM_TOKEN", "SLACK_URL", "UNUSED"]
    assert users(secrets["CRM_TOKEN"]) == ["billing", "crm-sync"]
    assert secrets["CRM_TOKEN"]["used_by"][1] == {"id": crm["id"], "name": "crm-sync", "title": "CRM sync"}
    assert users(secrets["SLACK_URL"]) == ["crm-sync"] and users(secrets["UNUSED"]) == []
    assert all(item["set"] for item in secrets.values()) and "value" not in secrets["CRM_TOKEN"]

    # A new version that stops reading SLACK_URL takes the workflow off its users.
    editor.put(f"/api/v1/workflows/{crm['id']}", {"yaml": reads("crm-sync", "{{ secrets.CRM_TOKEN }}")},
               format="json")
    assert users(listed(admin_client)["SLACK_URL"]) == []


def test_with_unset_lists_the_names_workflows_read_that_have_no_value(
        store: Store, admin_client: APIClient) -> None:
    admin_client.post("/api/v1/secrets", {"name": "SET_ONE", "value": "v"}, format="json")
    store(reads("needs-two", "{{ secrets.SET_ONE }}", "{{ secrets.MISSING_ONE }}"))

    assert list(listed(admin_client)) == ["SET_ONE"]
    every = listed(admin_client, "?with_unset=true")
    assert list(every) == ["MISSING_ONE", "SET_ONE"]
    assert every["MISSING_ONE"] == {"name": "MISSING_ONE", "set": False, "created_at": None, "updated_at": None,
                                    "used_by": [every["SET_ONE"]["used_by"][0]]}
    assert users(every["MISSING_ONE"]) == ["needs-two"]


def test_a_bad_with_unset_is_a_400_naming_it(admin_client: APIClient) -> None:
    response = admin_client.get("/api/v1/secrets?with_unset=perhaps")
    assert response.status_code == 400
    assert "with_unset" in response.json()["error"]["details"]["fields"]


def test_the_usage_reads_each_version_once_then_only_the_list_of_workflows(
        store: Store, admin_client: APIClient) -> None:
    """GIVEN 25 workflows WHEN the secrets are listed twice THEN the first listing reads their
    versions in one query and the second reads none (a version's names are cached by checksum)."""
    cache.clear()
    for i in range(25):
        store(reads(f"flow-{i:02}", f"{{{{ secrets.TOKEN_{i % 3} }}}}"))

    def version_reads() -> int:
        with CaptureQueriesContext(connection) as queries:
            every = listed(admin_client, "?with_unset=true")
        assert [len(every[f"TOKEN_{k}"]["used_by"]) for k in range(3)] == [9, 8, 8]
        return sum('"spec"' in query["sql"] for query in queries.captured_queries)

    assert version_reads() == 1
    assert version_reads() == 0
