"""A WorkflowContext (Magic Flow's context.yaml) through any route that takes a document: it sets
the input and output schemas of the workflow it names, in a new version, or is kept until that
workflow is imported or created."""

from __future__ import annotations

from typing import Any

import yaml
from rest_framework.test import APIClient

from tests.workflows.api.documents import hello, magic_flow_user_onboarding, magic_flow_user_onboarding_context
from workflows.models import PendingContext, Workflow

CONTEXT_VERSION_MESSAGE = "The input schema and output schema of WorkflowContext user-onboarding-context"


def _context_schemas() -> dict[str, Any]:
    """The schemas as written in context.yaml, with `required: true` on properties made a list."""
    spec = yaml.safe_load(magic_flow_user_onboarding_context())["spec"]
    for schema in spec.values():
        required = [name for name, prop in schema["properties"].items() if prop.pop("required", False)]
        if required:
            schema["required"] = required
    return spec


def _import(client: APIClient, text: str) -> Any:
    return client.post("/api/v1/workflows/import", text, content_type="application/yaml")


def test_a_context_imported_first_is_kept_then_applied_when_its_workflow_is_imported(editor: APIClient) -> None:
    kept = _import(editor, magic_flow_user_onboarding_context())
    assert kept.status_code == 202, kept.json()
    body = kept.json()
    assert (body["kind"], body["dialect"], body["warnings"]) == ("WorkflowContext", "magic_flow", [])
    assert body["context"]["action"] == "kept"
    assert (body["context"]["name"], body["context"]["workflow"]) == ("user-onboarding-context", "user-onboarding")
    assert body["context"]["version"] is None
    assert "No workflow 'user-onboarding' yet" in body["context"]["message"]
    assert not Workflow.objects.exists()  # not an empty workflow
    assert PendingContext.objects.get().workflow_name == "user-onboarding"

    imported = _import(editor, magic_flow_user_onboarding())
    assert imported.status_code == 201, imported.json()
    body = imported.json()
    assert (body["name"], body["kind"]) == ("user-onboarding", "Workflow")
    assert body["context"]["action"] == "applied"
    assert body["context"]["version"] == 2
    assert body["version"]["number"] == 2
    assert body["version"]["message"] == CONTEXT_VERSION_MESSAGE
    schemas = _context_schemas()
    assert body["spec"]["spec"]["input_schema"] == schemas["input_schema"]
    assert body["spec"]["spec"]["output_schema"] == schemas["output_schema"]
    # The first version is the file as imported; the nodes are unchanged by the context.
    first = editor.get(f"/api/v1/workflows/{body['id']}/versions/1").json()
    assert first["message"] == "Imported (magic_flow dialect)"
    assert "input_schema" not in first["spec"]["spec"]
    assert first["spec"]["spec"]["nodes"] == body["spec"]["spec"]["nodes"]
    assert not PendingContext.objects.exists()

    # The input schema now guards the runs.
    refused = editor.post("/api/v1/executions", {"workflow": "user-onboarding", "input": {"name": "Ada"}},
                          format="json")
    assert refused.status_code == 400, refused.json()
    assert refused.json()["error"]["code"] == "invalid_input"
    assert "'email' is a required property" in refused.json()["error"]["message"]


def test_a_context_imported_after_its_workflow_sets_its_schemas_in_a_new_version(editor: APIClient) -> None:
    created = _import(editor, magic_flow_user_onboarding()).json()
    assert created["version"]["number"] == 1

    applied = _import(editor, magic_flow_user_onboarding_context())
    assert applied.status_code == 200, applied.json()
    body = applied.json()
    assert (body["id"], body["kind"], body["dialect"]) == (created["id"], "WorkflowContext", "magic_flow")
    assert body["context"] == {
        "action": "applied", "name": "user-onboarding-context", "workflow": "user-onboarding", "version": 2,
        "message": "Set the input schema and output schema of workflow 'user-onboarding' from WorkflowContext "
                   "'user-onboarding-context' (version 2).",
    }
    assert body["version"]["message"] == CONTEXT_VERSION_MESSAGE
    assert body["spec"]["spec"]["input_schema"] == _context_schemas()["input_schema"]
    assert yaml.safe_load(editor.get(f"/api/v1/workflows/{created['id']}/export").content)["spec"][
        "output_schema"] == _context_schemas()["output_schema"]

    again = _import(editor, magic_flow_user_onboarding_context())
    assert again.status_code == 200
    assert again.json()["context"]["action"] == "unchanged"
    assert again.json()["version"]["number"] == 2
    assert Workflow.objects.get().versions.count() == 2
    assert not PendingContext.objects.exists()


def test_validate_says_what_a_context_is_and_what_importing_it_would_do(editor: APIClient) -> None:
    text = magic_flow_user_onboarding_context()
    body = editor.post("/api/v1/workflows/validate", text, content_type="application/yaml").json()
    assert (body["valid"], body["kind"], body["dialect"], body["workflow"]) == (
        True, "WorkflowContext", "magic_flow", "user-onboarding")
    assert body["errors"] == [] and body["warnings"] == []
    assert "does not exist yet" in body["message"]
    native = yaml.safe_load(body["yaml"])
    assert (native["apiVersion"], native["kind"], native["spec"]["workflow"]) == (
        "mbflow/v1", "WorkflowContext", "user-onboarding")
    assert not PendingContext.objects.exists()  # validating stores nothing

    _import(editor, magic_flow_user_onboarding())
    body = editor.post("/api/v1/workflows/validate", text, content_type="application/yaml").json()
    assert "importing it sets them in a new version" in body["message"]

    broken = text.replace("format: email", "format: [email]")
    body = editor.post("/api/v1/workflows/validate", broken, content_type="application/yaml").json()
    assert (body["valid"], body["kind"]) == (False, "WorkflowContext")
    assert body["errors"][0]["code"] == "invalid_schema"
    assert "format: [email]" in broken.splitlines()[body["errors"][0]["line"] - 1]


def test_create_and_save_take_a_context_too(editor: APIClient) -> None:
    """POST /workflows keeps it like import does, a workflow created there gets it, and PUT to a
    workflow applies a context for that workflow (the designer's save)."""
    context = magic_flow_user_onboarding_context()
    for_hello = context.replace("name: user-onboarding-context", "name: hello-context")
    kept = editor.post("/api/v1/workflows", {"yaml": for_hello}, format="json")
    assert kept.status_code == 202, kept.json()
    assert kept.json()["context"]["workflow"] == "hello"

    created = editor.post("/api/v1/workflows", {"yaml": hello()}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["context"]["action"] == "applied"
    assert created.json()["spec"]["spec"]["input_schema"] == _context_schemas()["input_schema"]

    other = editor.post("/api/v1/workflows", {"yaml": hello(name="other")}, format="json").json()
    assert "context" not in other and other["version"]["number"] == 1
    wrong = editor.put(f"/api/v1/workflows/{other['id']}", {"yaml": for_hello}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["details"]["fields"] == {
        "spec.workflow": ["This WorkflowContext is for workflow 'hello', not 'other'."]}
    for_other = context.replace("name: user-onboarding-context", "name: other-context")
    saved = editor.put(f"/api/v1/workflows/{other['id']}", {"yaml": for_other}, format="json")
    assert saved.status_code == 200, saved.json()
    assert saved.json()["context"]["action"] == "applied"
    assert saved.json()["version"]["number"] == 2


def test_a_later_context_for_the_same_workflow_replaces_the_kept_one(editor: APIClient) -> None:
    context = magic_flow_user_onboarding_context()
    _import(editor, context)
    second = context.replace('description: "Generated user ID"', 'description: "The new user\'s id"')
    assert _import(editor, second).json()["context"]["action"] == "kept"
    assert PendingContext.objects.count() == 1
    created = _import(editor, magic_flow_user_onboarding()).json()
    assert created["spec"]["spec"]["output_schema"]["properties"]["user_id"]["description"] == "The new user's id"


def test_a_kept_context_stays_in_its_tenant(editor: APIClient, outsider: APIClient) -> None:
    assert _import(editor, magic_flow_user_onboarding_context()).status_code == 202
    theirs = _import(outsider, magic_flow_user_onboarding())
    assert theirs.status_code == 201
    assert "context" not in theirs.json()
    assert "input_schema" not in theirs.json()["spec"]["spec"]
    assert PendingContext.objects.count() == 1


def test_routes_that_need_a_workflow_refuse_a_context_saying_where_it_goes(editor: APIClient) -> None:
    response = editor.post("/api/v1/templates", {"yaml": magic_flow_user_onboarding_context()}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "not_a_workflow"
    assert "POST /api/v1/workflows/import" in error["message"]
    assert error["details"] == {"kind": "WorkflowContext", "workflow": "user-onboarding"}


def test_an_invalid_context_is_a_400_listing_its_errors(editor: APIClient) -> None:
    broken = magic_flow_user_onboarding_context().replace("type: object\n    properties:\n      email",
                                                          "type: objekt\n    properties:\n      email", 1)
    response = _import(editor, broken)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith("The WorkflowContext has 1 error(s)")
    assert [e["code"] for e in error["details"]["errors"]] == ["invalid_schema"]
    assert not PendingContext.objects.exists()


def test_a_go_workflow_is_named_by_its_top_level_name(editor: APIClient) -> None:
    text = """\
name: "My Workflow"
description: Fetches the data
nodes:
  - {id: node-1, name: Fetch Data, type: http, config: {method: GET, url: "https://api.example.com/data"}}
"""
    response = _import(editor, text)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["title"], body["description"]) == ("my-workflow", "My Workflow", "Fetches the data")
    assert body["dialect"] == "mbflow" and body["warnings"] == []
