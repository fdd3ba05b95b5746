"""Hostile and malformed input: a 4xx with the envelope and a pointer, and nothing stored changes."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from tests.workflows.api.documents import hello
from workflows.models import Workflow, WorkflowVersion


@pytest.fixture
def stored(editor: APIClient) -> dict:
    return editor.post("/api/v1/workflows", {"yaml": hello()}, format="json").json()


@pytest.fixture
def unchanged(stored: dict):
    before = list(WorkflowVersion.objects.values_list("pk", "yaml_text").order_by("pk"))
    yield
    after = list(WorkflowVersion.objects.values_list("pk", "yaml_text").order_by("pk"))
    assert after == before
    assert Workflow.objects.count() == 1


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.mark.parametrize("path", ["/api/v1/workflows", "/api/v1/workflows/hello", "/api/v1/workflows/validate",
                                  "/api/v1/workflows/import"])
def test_malformed_yaml_points_at_the_line(path: str, editor: APIClient, unchanged) -> None:
    text = "apiVersion: mbflow/v1\nkind: Workflow\nmetadata:\n  name: [unclosed\nspec: {}\n"
    method = editor.put if path.endswith("hello") else editor.post
    error = error_of(method(path, text, content_type="application/yaml"), 400)
    assert error["code"] == "yaml_syntax"
    assert error["details"]["line"] in (4, 5)
    assert error["details"]["column"]


def test_a_yaml_bomb_is_refused(editor: APIClient, unchanged) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    error = error_of(editor.post("/api/v1/workflows", "\n".join(lines), content_type="application/yaml"), 400)
    assert error["code"] == "alias_expansion_too_large"
    assert error["details"]["line"]


def test_a_10_mb_body_is_refused_before_reading(editor: APIClient, unchanged) -> None:
    big = "# " + "x" * (10 * 1024 * 1024) + "\n" + hello()
    error = error_of(editor.post("/api/v1/workflows", big, content_type="application/yaml"), 413)
    assert error["code"] == "payload_too_large"
    assert error["details"]["limit"] < error["details"]["size"]


def test_unknown_fields_are_named_with_their_line(editor: APIClient, unchanged) -> None:
    text = hello(name="other").replace("      type: noop", "      type: noop\n      colour: red")
    error = error_of(editor.post("/api/v1/workflows", text, content_type="application/yaml"), 400)
    assert error["code"] == "invalid_workflow"
    problem = error["details"]["errors"][0]
    assert problem["node_id"] == "start"
    assert "colour" in problem["message"] or "colour" in problem["path"]
    assert text.splitlines()[problem["line"] - 1].strip() == "colour: red"


def test_wrong_types_are_named_with_their_line(editor: APIClient, unchanged) -> None:
    text = hello(name="other").replace("  tags: [demo, crm]", "  tags: 42")
    error = error_of(editor.post("/api/v1/workflows", text, content_type="application/yaml"), 400)
    problem = error["details"]["errors"][0]
    assert problem["path"][:2] == ["metadata", "tags"]
    assert problem["line"] == 7


@pytest.mark.parametrize("kind", ["yaml", "json"])
def test_a_10000_deep_nesting_is_refused(kind: str, editor: APIClient, unchanged) -> None:
    depth = 10_000
    if kind == "yaml":
        text = "apiVersion: mbflow/v1\nspec: " + "[" * depth + "]" * depth + "\n"
        response = editor.post("/api/v1/workflows", text, content_type="application/yaml")
        error = error_of(response, 400)
        assert error["code"] == "nesting_too_deep"
        assert error["details"]["line"] == 2
    else:
        raw = '{"document": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
        response = editor.post("/api/v1/workflows", raw, content_type="application/json")
        error = error_of(response, 400)
        assert error["code"] in {"parse_error", "nesting_too_deep"}


def test_a_duplicate_name_is_a_conflict(editor: APIClient, unchanged) -> None:
    error = error_of(editor.post("/api/v1/workflows", {"yaml": hello()}, format="json"), 409)
    assert error["code"] == "name_taken"
    assert error["details"]["name"] == "hello"


def test_renaming_onto_another_workflow_is_a_conflict(editor: APIClient, stored: dict) -> None:
    other = editor.post("/api/v1/workflows", {"yaml": hello(name="other")}, format="json").json()
    error = error_of(editor.put(f"/api/v1/workflows/{other['id']}", {"yaml": hello()}, format="json"), 409)
    assert error["code"] == "name_taken"
    assert Workflow.objects.get(pk=other["id"]).versions.count() == 1


def test_an_invalid_update_keeps_the_stored_version(editor: APIClient, stored: dict, unchanged) -> None:
    text = hello().replace("type: transform", "type: teleport")
    error = error_of(editor.put("/api/v1/workflows/hello", text, content_type="application/yaml"), 400)
    problem = next(e for e in error["details"]["errors"] if e["code"] == "unknown_node_type")
    assert problem["node_id"] == "shape"
    assert "teleport" in text.splitlines()[problem["line"] - 1]


@pytest.mark.parametrize("body", ["{not json", "[1, 2", '{"yaml": 12}', '{"nothing": true}', "NaN"])
def test_bad_json_bodies_get_the_envelope(body: str, editor: APIClient, unchanged) -> None:
    error_of(editor.post("/api/v1/workflows", body, content_type="application/json"), 400)


def test_a_non_mapping_document_is_refused(editor: APIClient, unchanged) -> None:
    error = error_of(editor.post("/api/v1/workflows", "- just\n- a list\n", content_type="application/yaml"), 400)
    assert error["code"] == "not_a_mapping"


def test_unknown_versions_and_bad_queries_are_clean_errors(editor: APIClient, stored: dict) -> None:
    assert error_of(editor.get("/api/v1/workflows/hello/versions/99"), 404)["code"] == "not_found"
    assert error_of(editor.get("/api/v1/workflows/hello/diff?from=x"), 400)["code"] == "validation_error"
    assert error_of(editor.get("/api/v1/workflows/hello/export?version=abc"), 400)["code"] == "validation_error"
    assert error_of(editor.post("/api/v1/workflows/hello/rollback", {"version": 7}, format="json"), 404)
    assert error_of(editor.patch("/api/v1/workflows/hello", {"archived": "maybe"}, format="json"), 400)


def test_an_unknown_path_gets_the_envelope(editor: APIClient) -> None:
    response = editor.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert json.loads(response.content)["error"]["code"] == "not_found"


# --- Text and numbers no database can store (issue 15, part 3) --------------------------------
# PostgreSQL refuses NUL in text and jsonb, no driver encodes a lone surrogate, jsonb has no
# infinity: each is a 400 naming the field, before anything is stored, on SQLite as well.

@pytest.mark.parametrize(("url", "field"), [
    ("/api/v1/workflows/%00", "path"),
    ("/api/v1/templates/%00", "path"),
    ("/api/v1/workflows/hello/versions?page=%00", "page"),
    ("/api/v1/workflows?search=%00", "search"),
    ("/api/v1/workflows?tag=a%00b", "tag"),
    ("/api/v1/executions?workflow=%00", "workflow"),
])
def test_a_nul_in_the_url_is_a_400_naming_it(url: str, field: str, editor: APIClient, unchanged) -> None:
    error = error_of(editor.get(url), 400)
    assert error["code"] == "validation_error"
    assert "NUL" in error["details"]["fields"][field][0]


STORED_NOTHING = [
    ('{"input": {"s": "\\u0000\\ud800"}}', "input.s", "NUL"),
    ('{"input": {"s": "ok \\ud800"}}', "input.s", "surrogate"),
    ('{"input": {"n": 1e400}}', "input.n", "not finite"),
    ('{"input": {"n": -1e400}}', "input.n", "not finite"),
    ('{"input": {"n": 123456789012345678901234567890}}', "input.n", "out of range"),
    ('{"input": {"n": 1' + "0" * 5000 + "}}", "input.n", "out of range"),
    ('{"input": {"items": [1, {"a": "x\\u0000"}]}}', "input.items[1].a", "NUL"),
    ('{"input": {"\\u0000": 1}}', "input", "key"),
    ('{"input": {}, "idempotency_key": "k\\u0000"}', "idempotency_key", "NUL"),
    ('{"input": ' + '{"a": ' * 150 + "1" + "}" * 150 + "}", "input", "deeper"),
]


@pytest.mark.parametrize(("body", "field", "says"), STORED_NOTHING)
def test_an_input_no_database_can_store_is_a_400_naming_the_field(
        body: str, field: str, says: str, editor: APIClient, stored: dict, unchanged) -> None:
    from executions.models import Execution

    response = editor.post("/api/v1/workflows/hello/execute", body, content_type="application/json")
    error = error_of(response, 400)
    assert error["code"] == "validation_error"
    assert says in error["details"]["fields"][field][0]
    assert not Execution.objects.exists()


def test_a_lone_surrogate_in_the_yaml_of_a_json_body_is_a_400(editor: APIClient, unchanged) -> None:
    body = '{"yaml": ' + '"' + hello(name="other").replace("\n", "\\n").replace('"', '\\"') + '# \\udfff"}'
    error = error_of(editor.post("/api/v1/workflows", body, content_type="application/json"), 400)
    assert "surrogate" in error["details"]["fields"]["yaml"][0]


@pytest.mark.parametrize(("value", "says"), [
    ('"a\\0b"', "NUL"), (".inf", "not finite"), ("-.Inf", "not finite"), (".nan", "not finite"),
    ("1" + "0" * 30, "out of range"), ("1" + "0" * 5000, "not finite"), ("1e400", "not finite"),
])
@pytest.mark.parametrize("path", ["/api/v1/workflows", "/api/v1/workflows/validate", "/api/v1/templates"])
def test_a_yaml_value_no_database_can_store_is_a_400_naming_field_and_line(
        value: str, says: str, path: str, editor: APIClient, unchanged) -> None:
    text = hello(name="other").replace('greeting: "Hello {{ input.name }}"', f"greeting: {value}")
    error = error_of(editor.post(path, text, content_type="application/yaml"), 400)
    assert error["code"] == "validation_error"
    assert says in error["details"]["fields"]["spec.nodes[1].config.mapping.greeting"][0]
    assert text.splitlines()[error["details"]["line"] - 1].strip().startswith("greeting:")


def test_a_nul_in_a_form_body_is_a_400_naming_the_field(editor: APIClient, unchanged) -> None:
    response = editor.post("/api/v1/workflows/hello/duplicate", "name=copy%00",
                           content_type="application/x-www-form-urlencoded")
    error = error_of(response, 400)
    assert "NUL" in error["details"]["fields"]["name"][0]
