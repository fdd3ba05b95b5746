"""The trigger API: the active version's triggers listed, changed through new versions, webhook
tokens and secrets, tenant isolation, and executions filtered by what started them."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.triggers.conftest import Store, doc, finished
from triggers.models import Trigger

FLOW = doc("intake", """\
  nodes: [{id: a, type: noop}]
  triggers:
    - {type: webhook, name: form}
    - {type: cron, schedule: "*/5 * * * *"}
    - {type: event, event: order.created, filter: {paid: true}}
""")


def triggers(client: APIClient, workflow_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/workflows/{workflow_id}/triggers")
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def versions(client: APIClient, workflow_id: str) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/workflows/{workflow_id}/versions").json()["results"]


def test_a_workflow_lists_the_triggers_of_its_active_version(store: Store, editor: APIClient) -> None:
    workflow = store(FLOW)
    webhook, cron, event = triggers(editor, workflow["id"])
    assert [(t["type"], t["name"], t["key"], t["enabled"], t["live"]) for t in (webhook, cron, event)] == [
        ("webhook", "form", "name:form", True, True), ("cron", None, "cron:1", True, True),
        ("event", None, "event:1", True, True)]
    assert webhook["webhook"]["url"].startswith("http://testserver/hooks/")
    assert webhook["webhook"] | {"url": None} == {"url": None, "mode": "async", "input": "body", "signed": False,
                                                  "signature_header": "X-MBFlow-Signature"}
    assert len(cron["schedule"]["next_fire_times"]) == 5 and webhook["schedule"] is None
    assert event["spec"] == {"type": "event", "event": "order.created", "filter": {"paid": True}}
    assert cron["workflow"] == {"id": workflow["id"], "name": "intake", "active": True} and cron["version"] == 1
    listed = editor.get("/api/v1/triggers?type=webhook,event").json()
    assert [t["id"] for t in listed["results"]] == [webhook["id"], event["id"]]


def test_a_saved_version_keeps_each_trigger_url_and_a_rollback_brings_a_removed_one_back(
        store: Store, editor: APIClient) -> None:
    workflow = store(FLOW)
    url = triggers(editor, workflow["id"])[0]["webhook"]["url"]
    without = FLOW.replace("    - {type: webhook, name: form}\n", "")
    assert editor.put(f"/api/v1/workflows/{workflow['id']}", {"yaml": without}, format="json").status_code == 200
    assert [t["type"] for t in triggers(editor, workflow["id"])] == ["cron", "event"]
    edited = FLOW.replace("*/5 * * * *", "0 * * * *")
    editor.put(f"/api/v1/workflows/{workflow['id']}", {"yaml": edited}, format="json")
    assert triggers(editor, workflow["id"])[0]["webhook"]["url"] == url
    editor.post(f"/api/v1/workflows/{workflow['id']}/rollback", {"version": 2}, format="json")
    assert [t["type"] for t in triggers(editor, workflow["id"])] == ["cron", "event"]


def test_adding_changing_disabling_and_removing_a_trigger_each_save_a_version(store: Store, editor: APIClient
                                                                              ) -> None:
    workflow = store(doc("ops", "  nodes: [{id: a, type: noop}]\n"))
    added = editor.post(f"/api/v1/workflows/{workflow['id']}/triggers",
                        {"type": "webhook", "name": "alerts", "mode": "sync", "secret": "s" * 20}, format="json")
    assert added.status_code == 201, added.json()
    hook = added.json()
    assert hook["webhook"]["signed"] is True and hook["webhook"]["mode"] == "sync" and hook["version"] == 2
    assert "secret" not in str(editor.get(f"/api/v1/workflows/{workflow['id']}").json()["yaml"])

    changed = editor.patch(f"/api/v1/triggers/{hook['id']}", {"name": "pager", "mode": None}, format="json")
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["id"], changed.json()["name"], changed.json()["webhook"]) == (
        hook["id"], "pager", {**hook["webhook"], "mode": "async"})

    disabled = editor.post(f"/api/v1/triggers/{hook['id']}/disable").json()
    assert (disabled["enabled"], disabled["live"]) == (False, False)
    assert "enabled: false" in editor.get(f"/api/v1/workflows/{workflow['id']}").json()["yaml"]
    assert editor.post(f"/api/v1/triggers/{hook['id']}/enable").json()["enabled"] is True

    assert editor.delete(f"/api/v1/triggers/{hook['id']}").status_code == 204
    assert triggers(editor, workflow["id"]) == []
    assert [v["message"] for v in versions(editor, workflow["id"])] == [
        "Removed the pager trigger", "Enabled the pager trigger", "Disabled the pager trigger",
        "Changed the alerts trigger", "Added a webhook trigger", "Created"]


@pytest.mark.parametrize(("body", "field"), [
    ({"type": "cron", "schedule": "every day"}, "schedule"),
    ({"type": "webhook", "mode": "later"}, "mode"),
    ({"type": "email"}, "type"),
    ({"type": "webhook", "secret": "short"}, "secret"),
    ({"type": "cron", "schedule": "* * * * *", "secret": "s" * 20}, "secret"),
    ({"type": "webhook", "colour": "red"}, "colour"),
])
def test_a_bad_trigger_is_a_400_naming_the_field(store: Store, editor: APIClient, body: dict[str, Any],
                                                 field: str) -> None:
    workflow = store(doc("ops", "  nodes: [{id: a, type: noop}]\n"))
    response = editor.post(f"/api/v1/workflows/{workflow['id']}/triggers", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]["fields"], response.json()
    assert len(versions(editor, workflow["id"])) == 1


@pytest.mark.parametrize(("body", "fields"), [
    ({"type": "event", "event": "order.created", "filter": 5}, ["filter"]),
    ({"type": "event", "event": "order.created", "filter": "amount > 1"}, ["filter"]),
    ({"type": "cron", "schedule": "* * * * *", "timezone": "Mars/Olympus"}, ["timezone"]),
    ({"type": "interval", "every": "soon", "missed": "always"}, ["every", "missed"]),
    ({"type": "interval", "every": "5s", "name": "form"}, ["name"]),
])
def test_a_bad_trigger_names_exactly_its_fields_and_saves_nothing(store: Store, editor: APIClient,
                                                                 body: dict[str, Any], fields: list[str]) -> None:
    """A filter that is neither a mapping nor an expression is an error of `filter` (not of the
    union's member types), and a name another trigger has is an error of `name`."""
    workflow = store(FLOW)
    response = editor.post(f"/api/v1/workflows/{workflow['id']}/triggers", body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert (error["code"], sorted(error["details"]["fields"])) == ("validation_error", fields), error
    cron = triggers(editor, workflow["id"])[1]
    renamed = editor.patch(f"/api/v1/triggers/{cron['id']}", {"name": "form"}, format="json")
    assert renamed.status_code == 400 and list(renamed.json()["error"]["details"]["fields"]) == ["name"]
    assert len(versions(editor, workflow["id"])) == 1


def test_unknown_filters_and_keys_are_400s_naming_them(store: Store, editor: APIClient) -> None:
    """A list filter of an unknown trigger type is an error (not an empty page), and neither the
    secret route nor a change takes keys it does not know: the secret has its own route."""
    workflow = store(FLOW)
    hook = triggers(editor, workflow["id"])[0]
    listed = editor.get("/api/v1/triggers?type=webhook,email")
    assert listed.status_code == 400 and list(listed.json()["error"]["details"]["fields"]) == ["type"]
    assert editor.get("/api/v1/triggers?type=webhook,cron").json()["count"] == 2
    extra = editor.post(f"/api/v1/triggers/{hook['id']}/secret", {"secret": "s" * 20, "rotate": True}, format="json")
    assert extra.status_code == 400 and list(extra.json()["error"]["details"]["fields"]) == ["rotate"]
    patched = editor.patch(f"/api/v1/triggers/{hook['id']}", {"secret": "s" * 20}, format="json")
    assert patched.status_code == 400, patched.json()
    assert "/secret" in patched.json()["error"]["details"]["fields"]["secret"][0]
    assert triggers(editor, workflow["id"])[0]["webhook"]["signed"] is False
    assert len(versions(editor, workflow["id"])) == 1


def test_a_version_message_reads_well(store: Store, editor: APIClient) -> None:
    workflow = store(doc("ops", "  nodes: [{id: a, type: noop}]\n"))
    for body in ({"type": "interval", "every": "1h"}, {"type": "event", "event": "a.b"}, {"type": "cron",
                                                                                          "schedule": "0 9 * * *"}):
        assert editor.post(f"/api/v1/workflows/{workflow['id']}/triggers", body, format="json").status_code == 201
    assert [v["message"] for v in versions(editor, workflow["id"])][:3] == [
        "Added a cron trigger", "Added an event trigger", "Added an interval trigger"]


def test_a_new_token_replaces_the_url_and_a_generated_secret_is_shown_once(store: Store, editor: APIClient
                                                                           ) -> None:
    workflow = store(FLOW)
    hook = triggers(editor, workflow["id"])[0]
    renewed = editor.post(f"/api/v1/triggers/{hook['id']}/regenerate").json()
    assert renewed["webhook"]["url"] != hook["webhook"]["url"]
    made = editor.post(f"/api/v1/triggers/{hook['id']}/secret").json()
    assert len(made["secret"]) >= 32 and made["trigger"]["webhook"]["signed"] is True
    assert made["secret"] not in str(editor.get(f"/api/v1/triggers/{hook['id']}").json())
    assert editor.delete(f"/api/v1/triggers/{hook['id']}/secret").status_code == 204
    assert editor.get(f"/api/v1/triggers/{hook['id']}").json()["webhook"]["signed"] is False
    cron = triggers(editor, workflow["id"])[1]
    assert editor.post(f"/api/v1/triggers/{cron['id']}/secret").json()["error"]["code"] == "not_a_webhook"


def test_viewers_read_and_editors_change(store: Store, editor: APIClient, viewer: APIClient) -> None:
    """Viewers read the triggers but not a webhook's URL: its token starts runs, which they may not."""
    workflow = store(FLOW)
    hook = triggers(viewer, workflow["id"])[0]
    token = Trigger.objects.get(pk=hook["id"]).token
    assert hook["webhook"]["url"] is None and hook["webhook"]["signed"] is False
    for path in (f"/api/v1/triggers/{hook['id']}", "/api/v1/triggers?type=webhook",
                 f"/api/v1/workflows/{workflow['id']}/triggers"):
        assert token not in viewer.get(path).content.decode(), path
    assert editor.get(f"/api/v1/triggers/{hook['id']}").json()["webhook"]["url"].endswith(f"/hooks/{token}")
    assert viewer.post(f"/api/v1/triggers/{hook['id']}/disable").status_code == 403
    assert viewer.post(f"/api/v1/triggers/{hook['id']}/regenerate").status_code == 403
    assert viewer.post("/api/v1/events", {"type": "order.created"}, format="json").status_code == 403


def test_another_tenant_sees_and_changes_none_of_them(store: Store, editor: APIClient, outsider: APIClient) -> None:
    workflow = store(FLOW)
    hook = triggers(editor, workflow["id"])[0]
    trigger = f"/api/v1/triggers/{hook['id']}"
    assert outsider.get("/api/v1/triggers").json()["count"] == 0
    assert outsider.get(f"/api/v1/workflows/{workflow['id']}/triggers").status_code == 404
    assert outsider.post(f"/api/v1/workflows/{workflow['id']}/triggers", {"type": "manual"},
                         format="json").status_code == 404
    for method, path in [("get", trigger), ("patch", trigger), ("delete", trigger), ("post", trigger + "/enable"),
                         ("post", trigger + "/disable"), ("post", trigger + "/regenerate"),
                         ("post", trigger + "/secret"), ("delete", trigger + "/secret")]:
        response = getattr(outsider, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path, response.json())
        assert response.json()["error"]["code"] == "not_found"
    assert outsider.post("/api/v1/events", {"type": "order.created", "data": {"paid": True}},
                         format="json").json()["executions"] == []
    assert Trigger.objects.get(pk=hook["id"]).token in hook["webhook"]["url"]
    assert len(versions(editor, workflow["id"])) == 1


def test_executions_filter_by_the_kind_or_the_trigger_that_started_them(embedded: object, store: Store,
                                                                          editor: APIClient) -> None:
    workflow = store(FLOW)
    hook = triggers(editor, workflow["id"])[0]
    by_api = editor.post(f"/api/v1/workflows/{workflow['id']}/execute", {"input": {}}, format="json").json()
    by_hook = editor.post(hook["webhook"]["url"].removeprefix("http://testserver"), {"a": 1}, format="json")
    assert by_hook.status_code == 202, by_hook.json()
    by_event = editor.post("/api/v1/events", {"type": "order.created", "data": {"paid": True}}, format="json")
    assert by_event.status_code == 202, by_event.json()
    started = {"api": by_api["id"], "webhook": by_hook.json()["execution_id"],
               "event": by_event.json()["executions"][0]["execution"]}
    for execution_id in started.values():
        finished(execution_id)

    def ids(query: str) -> set[str]:
        response = editor.get(f"/api/v1/executions?{query}")
        assert response.status_code == 200, response.json()
        return {e["id"] for e in response.json()["results"]}

    assert ids("trigger=webhook") == {started["webhook"]}
    assert ids("trigger=webhook,event") == {started["webhook"], started["event"]}
    assert ids(f"trigger={hook['id']}") == {started["webhook"]}
    assert ids("trigger=api") == {started["api"]}
    assert editor.get("/api/v1/executions?trigger=DROP TABLE").status_code == 400
