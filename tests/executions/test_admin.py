"""Django admin for runs: read-only executions and events, and secrets whose values never show."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from executions.dispatch.embedded import EmbeddedDispatcher
from executions.models import Execution, ExecutionEvent, NodeRun, Secret
from executions.vault import secrets_for
from tests.executions.conftest import Run, Store, doc
from workflows.models import Tenant

CHAIN = doc("admin-chain", """
  nodes:
    - {id: first, type: transform, config: {mapping: {n: "{{ input.n + 1 }}"}}}
    - {id: second, type: transform, config: {mapping: {n: "{{ upstream.n * 2 }}"}}}
  edges:
    - {from: first, to: second}
  output: {result: "{{ nodes.second.output.n }}"}
""")


@pytest.fixture
def staff_client(client: Client, db: None) -> Client:
    get_user_model().objects.create_superuser("root", "root@localhost", "pass-word-123")
    client.login(username="root", password="pass-word-123")
    return client


@pytest.fixture
def finished(embedded: EmbeddedDispatcher, store: Store, run: Run) -> Execution:
    """A real execution of a two-node workflow, run to the end by the embedded dispatcher."""
    store(CHAIN)
    answer = run("admin-chain", {"n": 1}, expect=200)
    assert answer["status"] == "succeeded", answer["error"]
    return Execution.objects.select_related("workflow").get(pk=answer["id"])


@pytest.mark.parametrize("path", [
    "execution/?q=x&status__exact=failed",
    "execution/?q=3f2a&tenant__id__exact=1",
    "executionevent/?q=3f2a-9c&type__exact=node_succeeded",
    "secret/?q=x&tenant__id__exact=1",
])
def test_every_changelist_loads_with_a_search_and_a_filter(staff_client: Client, path: str) -> None:
    response = staff_client.get(f"/admin/executions/{path}")
    assert response.status_code == 200  # an unknown filter or search error would redirect to ?e=1


def test_the_change_page_of_a_finished_execution_shows_its_node_runs_read_only(
        staff_client: Client, finished: Execution) -> None:
    page = staff_client.get(f"/admin/executions/execution/{finished.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for node_run in NodeRun.objects.filter(execution=finished):
        assert f">{node_run.node_id}<" in html
    assert "admin-chain" in html
    assert "&quot;result&quot;: 4" in html  # the output, pretty-printed
    assert 'name="_save"' not in html  # view only: no save button
    assert f"/admin/executions/executionevent/?execution__id__exact={finished.pk}" in html


def test_an_execution_is_found_by_id_prefix_workflow_and_filters(staff_client: Client, finished: Execution) -> None:
    prefix = str(finished.pk)[:13]
    for query in [f"q={prefix}", f"q={str(finished.pk).upper()}", "q=admin-chain",
                  f"workflow__id__exact={finished.workflow_id}", "status__exact=succeeded"]:
        html = staff_client.get(f"/admin/executions/execution/?{query}").content.decode()
        assert f"/admin/executions/execution/{finished.pk}/change/" in html, query
    html = staff_client.get("/admin/executions/execution/?status__exact=failed").content.decode()
    assert str(finished.pk) not in html


def test_the_events_of_an_execution_are_listed_and_searchable(staff_client: Client, finished: Execution) -> None:
    events = ExecutionEvent.objects.filter(execution=finished)
    assert events.exists()
    filtered = staff_client.get(f"/admin/executions/executionevent/?execution__id__exact={finished.pk}")
    assert filtered.status_code == 200
    assert f"{events.count()} execution events" in filtered.content.decode()
    searched = staff_client.get(f"/admin/executions/executionevent/?q={str(finished.pk)[:8]}").content.decode()
    assert f"{events.count()} execution events" in searched
    event = events.first()
    assert event is not None
    detail = staff_client.get(f"/admin/executions/executionevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()


@pytest.mark.parametrize("model", ["execution", "executionevent"])
def test_executions_and_events_cannot_be_added_from_the_admin(staff_client: Client, model: str) -> None:
    assert staff_client.get(f"/admin/executions/{model}/add/").status_code == 403
    assert staff_client.post(f"/admin/executions/{model}/add/", {}).status_code == 403


def test_an_event_cannot_be_edited_or_deleted_on_its_own(staff_client: Client, finished: Execution) -> None:
    event = ExecutionEvent.objects.filter(execution=finished).first()
    assert event is not None
    edited = staff_client.post(f"/admin/executions/executionevent/{event.pk}/change/", {"type": "forged"})
    assert edited.status_code == 403
    assert staff_client.post(f"/admin/executions/executionevent/{event.pk}/delete/",
                             {"post": "yes"}).status_code == 403
    assert ExecutionEvent.objects.get(pk=event.pk).type == event.type


def test_a_superuser_deletes_an_execution_with_its_node_runs_and_events(
        staff_client: Client, finished: Execution) -> None:
    confirm = staff_client.get(f"/admin/executions/execution/{finished.pk}/delete/")
    assert confirm.status_code == 200
    assert "permission to delete" not in confirm.content.decode()
    deleted = staff_client.post(f"/admin/executions/execution/{finished.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not Execution.objects.filter(pk=finished.pk).exists()
    assert not ExecutionEvent.objects.filter(execution_id=finished.pk).exists()
    assert not NodeRun.objects.filter(execution_id=finished.pk).exists()


def test_an_admin_sets_a_secret_whose_value_never_appears_again(staff_client: Client, tenant: Tenant) -> None:
    """GIVEN a secret set through the admin form
    WHEN its list, search, filter and change pages are shown
    THEN neither the plaintext nor its ciphertext is in any of them."""
    added = staff_client.post("/admin/executions/secret/add/",
                              {"tenant": str(tenant.pk), "name": "CRM_TOKEN", "value": "pl41n-t3xt-value"},
                              follow=True)
    assert added.status_code == 200
    secret = Secret.objects.get(tenant=tenant, name="CRM_TOKEN")
    assert secrets_for(tenant.pk) == {"CRM_TOKEN": "pl41n-t3xt-value"}  # encrypted by the service
    ciphertext = bytes(secret.ciphertext).decode()
    assert "pl41n-t3xt-value" not in ciphertext
    pages = [
        added.content.decode(),
        staff_client.get("/admin/executions/secret/").content.decode(),
        staff_client.get(f"/admin/executions/secret/?q=CRM&tenant__id__exact={tenant.pk}").content.decode(),
        staff_client.get(f"/admin/executions/secret/{secret.pk}/change/").content.decode(),
        staff_client.get(f"/admin/executions/secret/{secret.pk}/history/").content.decode(),
    ]
    assert "CRM_TOKEN" in pages[2]
    for html in pages:
        assert "pl41n-t3xt-value" not in html
        assert ciphertext not in html
        assert ciphertext[:24] not in html
    # Searching by the value (or a piece of the ciphertext) finds nothing.
    for term in ["pl41n-t3xt-value", ciphertext[:24]]:
        assert "0 secrets" in staff_client.get(f"/admin/executions/secret/?q={term}").content.decode()


def test_a_secret_is_rotated_but_not_renamed_and_bad_input_is_refused(staff_client: Client, tenant: Tenant) -> None:
    staff_client.post("/admin/executions/secret/add/",
                      {"tenant": str(tenant.pk), "name": "API_TOKEN", "value": "first-value"})
    secret = Secret.objects.get(name="API_TOKEN")
    kept = staff_client.post(f"/admin/executions/secret/{secret.pk}/change/", {"value": ""})
    assert kept.status_code == 302
    assert secrets_for(tenant.pk) == {"API_TOKEN": "first-value"}
    rotated = staff_client.post(f"/admin/executions/secret/{secret.pk}/change/",
                                {"value": "second-value", "name": "RENAMED"})
    assert rotated.status_code == 302
    assert secrets_for(tenant.pk) == {"API_TOKEN": "second-value"}
    bad = staff_client.post("/admin/executions/secret/add/",
                            {"tenant": str(tenant.pk), "name": "1 bad", "value": "refused-value"})
    assert bad.status_code == 200  # the form again, with its error
    assert "Letters, digits and underscores" in bad.content.decode()
    taken = staff_client.post("/admin/executions/secret/add/",
                              {"tenant": str(tenant.pk), "name": "API_TOKEN", "value": "overwrite"})
    assert taken.status_code == 200
    assert "already exists" in taken.content.decode()
    assert secrets_for(tenant.pk) == {"API_TOKEN": "second-value"}
    # A refused form is shown again without the typed value.
    assert "refused-value" not in bad.content.decode()
    assert "overwrite" not in taken.content.decode()


def test_a_superuser_still_deletes_a_workflow_that_has_executions(staff_client: Client, finished: Execution) -> None:
    """Events refuse deletion on their own pages only: a cascade from another admin goes through."""
    url = f"/admin/workflows/workflow/{finished.workflow_id}/delete/"
    assert "permission to delete" not in staff_client.get(url).content.decode()
    assert staff_client.post(url, {"post": "yes"}).status_code == 302
    assert not Execution.objects.filter(pk=finished.pk).exists()
